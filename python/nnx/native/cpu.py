"""CPU op table: native kernels from nnx._C for the heavy ops, NumPy for cheap elementwise work.

Every function takes and returns NumPy arrays and allocates its outputs. Kernels need C-contiguous
inputs, so inputs are made contiguous here, at the boundary, and only when they are not already.
"""
import numpy as np

from .loader import _C

# --- elementwise math: NumPy is as fast as a kernel call for these ----------------------------------
# (Backward rules and the other cheap ops use the arrays' own NumPy operators, not this table.)
exp = np.exp
log = np.log
sqrt = np.sqrt
abs = np.abs  # noqa: A001 (the op's name)

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

device_type = "cpu"
array_type = np.ndarray


# --- creation and transfer (the same names as native/cuda.py; `index` is the device index, always 0 here) ----------
def from_numpy(array, index=0):
    """The array itself: NumPy arrays already live on the CPU."""
    return array


def to_numpy(array):
    return array


def empty(shape, dtype, index=0):
    return np.empty(shape, dtype=dtype)


def zeros(shape, dtype, index=0):
    return np.zeros(shape, dtype=dtype)


def ones(shape, dtype, index=0):
    return np.ones(shape, dtype=dtype)


def full(shape, value, dtype, index=0):
    return np.full(shape, value, dtype=dtype)


def arange(start, stop, step, dtype, index=0):
    return np.arange(start, stop, step, dtype=dtype)


def device_index(array):
    return 0


def synchronize(index=-1):
    """Nothing to wait for: CPU kernels return when done."""


def contiguous(array):
    return array if array.flags.c_contiguous else np.ascontiguousarray(array)


def empty_c(array):
    """A fresh C-ordered output of array's shape and dtype (np.empty_like would copy a Fortran or strided
    input's layout, which the kernels refuse for outputs)."""
    return np.empty(array.shape, dtype=array.dtype)


def is_native_float(array):
    """True when the native kernels take this array's dtype (float32/float64)."""
    return array.dtype in _FLOAT_DTYPES


# --- matmul (gemm.cpp) -------------------------------------------------------------------------------
def _gemm_operand(array, transposed):
    """(C-contiguous array, transpose flag) for gemm: a Fortran-ordered matrix is its C-ordered transpose."""
    if array.flags.c_contiguous:
        return array, transposed
    if array.flags.f_contiguous:
        return array.T, not transposed
    return np.ascontiguousarray(array), transposed


def matmul2d(a, b, trans_a=False, trans_b=False):
    """op(a) @ op(b) for 2-D float arrays of one dtype through BLAS."""
    a, trans_a = _gemm_operand(a, trans_a)
    b, trans_b = _gemm_operand(b, trans_b)
    rows = a.shape[1] if trans_a else a.shape[0]
    cols = b.shape[0] if trans_b else b.shape[1]
    out = np.empty((rows, cols), dtype=a.dtype)
    _C.gemm(a, b, out, trans_a, trans_b)
    return out


def matmul(a, b):
    """a @ b with NumPy's semantics; 2-D float operands of one dtype go to BLAS through _C.gemm."""
    if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype and a.dtype in _FLOAT_DTYPES:
        return matmul2d(a, b)
    return np.matmul(a, b)


# --- linear.cpp ----------------------------------------------------------------------------------------
_NEEDS_PREACT = ("gelu", "gelu_tanh")


def linear_forward(x, weight, bias, activation="none", negative_slope=0.01):
    """(out, saved): out = act(x @ weight.T + bias); saved is what linear_backward needs."""
    x = contiguous(x)
    out = np.empty((x.shape[0], weight.shape[0]), dtype=x.dtype)
    preact = np.empty_like(out) if activation in _NEEDS_PREACT else None
    _C.linear_forward(x, contiguous(weight), None if bias is None else contiguous(bias), out, activation,
                      negative_slope, preact)
    return out, (preact if preact is not None else out)


def linear_backward(grad_out, x, weight, saved, activation, negative_slope, need_x, need_weight, need_bias):
    """(grad_x, grad_weight, grad_bias), None where not needed. grad_out is never modified."""
    grad_out = contiguous(grad_out)
    if activation == "none" and grad_out.flags.writeable:
        grad_preact = grad_out  # the kernel writes the values it already holds
    else:
        grad_preact = np.empty_like(grad_out)
    grad_x = empty_c(x) if need_x else None
    grad_weight = empty_c(weight) if need_weight else None
    grad_bias = np.empty(weight.shape[0], dtype=weight.dtype) if need_bias else None
    _C.linear_backward(grad_out, contiguous(x), contiguous(weight), saved, grad_preact, grad_x, grad_weight,
                       grad_bias, activation, negative_slope)
    return grad_x, grad_weight, grad_bias


# --- activations.cpp ------------------------------------------------------------------------------------
def activation_forward(kind, x, negative_slope=0.01, beta=1.0, threshold=20.0, out=None):
    x = contiguous(x)
    if out is None:
        out = np.empty_like(x)
    _C.activation_forward(kind, x, out, negative_slope, beta, threshold)
    return out


def activation_backward(kind, grad_out, x, out, negative_slope=0.01, beta=1.0, threshold=20.0):
    grad_out = contiguous(grad_out)
    grad_in = np.empty_like(grad_out)
    _C.activation_backward(kind, grad_out, x, out, grad_in, negative_slope, beta, threshold)
    return grad_in


# --- softmax.cpp (last axis) ----------------------------------------------------------------------------
def softmax_forward(x, log=False):
    x = contiguous(x)
    out = np.empty_like(x)
    _C.softmax_forward(x, out, log)
    return out


def softmax_backward(grad_out, out, log=False):
    grad_out = contiguous(grad_out)
    grad_in = np.empty_like(grad_out)
    _C.softmax_backward(grad_out, out, grad_in, log)
    return grad_in


# --- losses.cpp ------------------------------------------------------------------------------------------
def _loss_buffer(input, reduction):
    return np.empty((), dtype=input.dtype) if reduction != "none" else np.empty_like(input)


def cross_entropy_forward(logits, target, reduction, ignore_index, label_smoothing, with_grad):
    """(loss, logsumexp, grad_logits or None); grad_logits is dloss/dlogits for an upstream gradient of 1."""
    logits = contiguous(logits)
    target = contiguous(target)
    loss = np.empty((), dtype=logits.dtype) if reduction != "none" else np.empty(logits.shape[0], logits.dtype)
    logsumexp = np.empty(logits.shape[0], dtype=logits.dtype)
    grad_logits = np.empty_like(logits) if with_grad else None
    _C.cross_entropy_forward(logits, target, loss, logsumexp, grad_logits, reduction, ignore_index, label_smoothing)
    return loss, logsumexp, grad_logits


# mse / l1 / bce-with-logits: input and target of one shape; extra options (pos_weight) pass through.
def pointwise_loss_forward(name, input, target, reduction, **options):
    input, target = contiguous(input), contiguous(target)
    loss = _loss_buffer(input, reduction)
    getattr(_C, name + "_forward")(input, target, loss, reduction, **options)
    return loss


def pointwise_loss_backward(name, grad_loss, input, target, reduction, **options):
    grad_input = empty_c(input)
    getattr(_C, name + "_backward")(contiguous(grad_loss), contiguous(input), contiguous(target), grad_input,
                                    reduction, **options)
    return grad_input


# --- dropout.cpp -------------------------------------------------------------------------------------------
def dropout_forward(x, p, seed, offset):
    """(out, mask) of inverted dropout drawn from Philox(seed, offset)."""
    x = contiguous(x)
    out = np.empty_like(x)
    mask = np.empty(x.shape, dtype=np.uint8)
    _C.dropout_forward(x, out, mask, p, seed, offset)
    return out, mask


def dropout_backward(grad_out, mask, p):
    grad_out = contiguous(grad_out)
    grad_in = np.empty_like(grad_out)
    _C.dropout_backward(grad_out, mask, grad_in, p)
    return grad_in


# --- embedding.cpp -----------------------------------------------------------------------------------------
def embedding_forward(weight, indices):
    indices = contiguous(indices)
    out = np.empty(indices.shape + (weight.shape[1],), dtype=weight.dtype)
    _C.embedding_forward(contiguous(weight), indices, out)
    return out


def embedding_backward(grad_out, indices, num_embeddings, padding_idx):
    grad_weight = np.zeros((num_embeddings, grad_out.shape[-1]), dtype=grad_out.dtype)
    _C.embedding_backward(contiguous(grad_out), contiguous(indices), grad_weight, padding_idx)
    return grad_weight


# --- normalization.cpp (batch_norm over (N, C) per column, layer_norm over (N, D) per row) ---------------------
def _optional_contiguous(array):
    return None if array is None else contiguous(array)


def batch_norm_forward(x, weight, bias, running_mean, running_var, training, momentum, eps):
    """(out, saved) for x (N, C); running_mean/running_var (or None) are updated in place when training."""
    x = contiguous(x)
    out = np.empty(x.shape, dtype=x.dtype)
    save_mean, save_invstd = np.empty(x.shape[1], dtype=x.dtype), np.empty(x.shape[1], dtype=x.dtype)
    # The kernel writes the running statistics in place, so a strided one goes through a contiguous copy.
    stats = [None if s is None else contiguous(s) for s in (running_mean, running_var)]
    _C.batch_norm_forward(x, _optional_contiguous(weight), _optional_contiguous(bias), *stats, out, save_mean,
                          save_invstd, training, momentum, eps)
    for target, written in zip((running_mean, running_var), stats):
        if written is not target:
            target[...] = written
    return out, (x, save_mean, save_invstd)


def batch_norm_backward(grad_out, weight, saved, training, need_x, need_weight, need_bias):
    """(grad_x, grad_weight, grad_bias), None where not needed; saved comes from batch_norm_forward."""
    x, save_mean, save_invstd = saved
    channels = x.shape[1]
    grad_x = np.empty(x.shape, dtype=x.dtype) if need_x else None
    grad_weight = np.empty(channels, dtype=x.dtype) if need_weight else None
    grad_bias = np.empty(channels, dtype=x.dtype) if need_bias else None
    _C.batch_norm_backward(contiguous(grad_out), x, _optional_contiguous(weight), save_mean, save_invstd, grad_x,
                           grad_weight, grad_bias, training)
    return grad_x, grad_weight, grad_bias


def layer_norm_forward(x, weight, bias, eps):
    """(out, saved) for x (N, D) normalised per row; weight and bias (D,) or None."""
    x = contiguous(x)
    out = np.empty(x.shape, dtype=x.dtype)
    mean, rstd = np.empty(x.shape[0], dtype=x.dtype), np.empty(x.shape[0], dtype=x.dtype)
    _C.layer_norm_forward(x, _optional_contiguous(weight), _optional_contiguous(bias), out, mean, rstd, eps)
    return out, (x, mean, rstd)


def layer_norm_backward(grad_out, weight, saved, need_x, need_weight, need_bias):
    """(grad_x, grad_weight, grad_bias), None where not needed; saved comes from layer_norm_forward."""
    x, mean, rstd = saved
    grad_x = np.empty(x.shape, dtype=x.dtype) if need_x else None
    grad_weight = np.empty(x.shape[1], dtype=x.dtype) if need_weight else None
    grad_bias = np.empty(x.shape[1], dtype=x.dtype) if need_bias else None
    _C.layer_norm_backward(contiguous(grad_out), x, _optional_contiguous(weight), mean, rstd, grad_x, grad_weight,
                           grad_bias)
    return grad_x, grad_weight, grad_bias


# --- optim.cpp: one native call per parameter group (the arrays are updated in place) -------------------------------
sgd_step = _C.sgd_step
adam_step = _C.adam_step
rmsprop_step = _C.rmsprop_step
adagrad_step = _C.adagrad_step
adadelta_step = _C.adadelta_step
adamax_step = _C.adamax_step
nadam_step = _C.nadam_step
radam_step = _C.radam_step
