"""CUDA op table: the names of native/cpu.py over CudaArray, each calling the kernels of nnx._cuda.

Every function takes and returns CudaArrays and allocates its outputs on the inputs' device. Kernels need
C-contiguous inputs, made contiguous here, at the boundary. The native module is held in `_native` so that
tests can run this whole path on a NumPy stand-in (use_native_module(tests/fake_cuda)).
"""
import numpy as np

from . import cuda_array as _arrays
from .cuda_array import CudaArray, ascontiguous, empty as _empty_array, full as _full_array
from .cuda_numpy import gemm2d, matmul as _matmul

device_type = "cuda"
array_type = CudaArray

_native = _arrays._native  # nnx._cuda (None when nnx was built without it)


def use_native_module(module):
    """Swaps the native module the CUDA backend calls (tests install tests/fake_cuda.py); returns the previous one."""
    global _native
    previous = _native
    _native = module
    _arrays._native = module
    return previous


def unavailable_reason():
    """Why CUDA cannot be used, or None when it can."""
    if _native is None:
        return "nnx was built without the CUDA module"
    if _native.device_count() == 0:
        return "no CUDA device is visible"
    return None


def is_available():
    return unavailable_reason() is None


def device_count():
    return 0 if _native is None else _native.device_count()


def synchronize(index=-1):
    _arrays.native().synchronize(index)


# --- creation and transfer ------------------------------------------------------------------------------------------
def from_numpy(array, index=0):
    """A device copy of any NumPy array (made C-contiguous, dtype kept)."""
    return _arrays.from_host(np.asarray(array), index)


def to_numpy(array):
    """A new host copy (synchronises)."""
    return _arrays.to_host(array)


def from_dlpack(obj):
    """A CudaArray sharing the CUDA memory of any DLPack producer (a torch/CuPy/JAX array, an nnx tensor).

    The capsule is asked for with stream=None: DLPack's "the consumer uses the legacy default stream", so the
    producer orders its pending writes before that stream. nnx exposes no stream of its own to name instead,
    and the native import waits for the whole device anyway, which covers the producer's other streams too.
    max_version is not passed: the native module reads the unversioned ('dltensor') capsule."""
    capsule = obj.__dlpack__(stream=None)
    return CudaArray(_arrays.native().from_dlpack(capsule), base=obj)  # (its memory is obj's, as NumPy's base says)


def empty(shape, dtype, index=0):
    return _empty_array(shape, dtype, index)


def zeros(shape, dtype, index=0):
    return _full_array(shape, 0, dtype, index)


def ones(shape, dtype, index=0):
    return _full_array(shape, 1, dtype, index)


def full(shape, value, dtype, index=0):
    return _full_array(shape, value, dtype, index)


def arange(start, stop, step, dtype, index=0):
    like = _empty_array((0,), np.int64, index)
    return np.arange(start, stop, step, dtype=dtype, like=like)


def device_index(array):
    return array.device_index


# --- elementwise math (CudaArray's ufuncs run on the device) --------------------------------------------------------
exp = np.exp
log = np.log
sqrt = np.sqrt
abs = np.abs  # noqa: A001 (the op's name)

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def contiguous(array):
    return ascontiguous(array)


def empty_c(array):
    """A fresh C-ordered output of array's shape and dtype on its device."""
    return _empty_array(array.shape, array.dtype, array.device_index)


def is_native_float(array):
    return array.dtype in _FLOAT_DTYPES


def _handle(array):
    return None if array is None else array._handle


def _empty(shape, like, dtype=None):
    return _empty_array(shape, like.dtype if dtype is None else dtype, like.device_index)


# --- matmul (gemm.cu) ------------------------------------------------------------------------------------------------
def matmul2d(a, b, trans_a=False, trans_b=False):
    """op(a) @ op(b) for 2-D float arrays of one dtype through cuBLAS."""
    return gemm2d(a, b, trans_a, trans_b)


def matmul(a, b):
    return _matmul(a, b)


# --- linear.cu ----------------------------------------------------------------------------------------------------
_NEEDS_PREACT = ("gelu", "gelu_tanh")


def linear_forward(x, weight, bias, activation="none", negative_slope=0.01):
    x = contiguous(x)
    out = _empty((x.shape[0], weight.shape[0]), x)
    preact = empty_c(out) if activation in _NEEDS_PREACT else None
    _native.linear_forward(x._handle, contiguous(weight)._handle, _handle(None if bias is None else contiguous(bias)),
                           out._handle, activation, negative_slope, _handle(preact))
    return out, (preact if preact is not None else out)


def linear_backward(grad_out, x, weight, saved, activation, negative_slope, need_x, need_weight, need_bias):
    grad_out = contiguous(grad_out)
    grad_preact = grad_out if activation == "none" and grad_out.flags.writeable else empty_c(grad_out)
    grad_x = empty_c(x) if need_x else None
    grad_weight = empty_c(weight) if need_weight else None
    grad_bias = _empty((weight.shape[0],), weight) if need_bias else None
    _native.linear_backward(grad_out._handle, contiguous(x)._handle, contiguous(weight)._handle, _handle(saved),
                            grad_preact._handle, _handle(grad_x), _handle(grad_weight), _handle(grad_bias),
                            activation, negative_slope)
    return grad_x, grad_weight, grad_bias


# --- activations.cu ---------------------------------------------------------------------------------------------------
def activation_forward(kind, x, negative_slope=0.01, beta=1.0, threshold=20.0, out=None):
    x = contiguous(x)
    if out is None:
        out = empty_c(x)
    _native.activation_forward(kind, x._handle, out._handle, negative_slope, beta, threshold)
    return out


def activation_backward(kind, grad_out, x, out, negative_slope=0.01, beta=1.0, threshold=20.0):
    grad_out = contiguous(grad_out)
    grad_in = empty_c(grad_out)
    _native.activation_backward(kind, grad_out._handle, contiguous(x)._handle, contiguous(out)._handle,
                                grad_in._handle, negative_slope, beta, threshold)
    return grad_in


# --- softmax.cu (last axis) ----------------------------------------------------------------------------------------------
def softmax_forward(x, log=False):
    x = contiguous(x)
    out = empty_c(x)
    _native.softmax_forward(x._handle, out._handle, log)
    return out


def softmax_backward(grad_out, out, log=False):
    grad_out = contiguous(grad_out)
    grad_in = empty_c(grad_out)
    _native.softmax_backward(grad_out._handle, contiguous(out)._handle, grad_in._handle, log)
    return grad_in


# --- losses.cu ---------------------------------------------------------------------------------------------------------
def _loss_buffer(input, reduction):
    return _empty((), input) if reduction != "none" else empty_c(input)


def cross_entropy_forward(logits, target, reduction, ignore_index, label_smoothing, with_grad):
    """(loss, logsumexp, grad_logits or None); grad_logits is dloss/dlogits for an upstream gradient of 1."""
    logits, target = contiguous(logits), contiguous(target)
    rows = logits.shape[0]
    loss = _empty((), logits) if reduction != "none" else _empty((rows,), logits)
    logsumexp = _empty((rows,), logits)
    grad_logits = empty_c(logits) if with_grad else None
    _native.cross_entropy_forward(logits._handle, target._handle, loss._handle, logsumexp._handle,
                                  _handle(grad_logits), reduction, ignore_index, label_smoothing)
    return loss, logsumexp, grad_logits


def _options(options):
    return {key: _handle(value) if isinstance(value, CudaArray) else value for key, value in options.items()}


def pointwise_loss_forward(name, input, target, reduction, **options):
    input, target = contiguous(input), contiguous(target)
    loss = _loss_buffer(input, reduction)
    getattr(_native, name + "_forward")(input._handle, target._handle, loss._handle, reduction, **_options(options))
    return loss


def pointwise_loss_backward(name, grad_loss, input, target, reduction, **options):
    grad_input = empty_c(input)
    getattr(_native, name + "_backward")(contiguous(grad_loss)._handle, contiguous(input)._handle,
                                         contiguous(target)._handle, grad_input._handle, reduction,
                                         **_options(options))
    return grad_input


# --- dropout.cu ------------------------------------------------------------------------------------------------------------
def dropout_forward(x, p, seed, offset):
    x = contiguous(x)
    out = empty_c(x)
    mask = _empty(x.shape, x, np.uint8)
    _native.dropout_forward(x._handle, out._handle, mask._handle, p, seed, offset)
    return out, mask


def dropout_backward(grad_out, mask, p):
    grad_out = contiguous(grad_out)
    grad_in = empty_c(grad_out)
    _native.dropout_backward(grad_out._handle, contiguous(mask)._handle, grad_in._handle, p)
    return grad_in


# --- embedding.cu ------------------------------------------------------------------------------------------------------------
def embedding_forward(weight, indices):
    indices = contiguous(indices)
    out = _empty(indices.shape + (weight.shape[1],), weight)
    _native.embedding_forward(contiguous(weight)._handle, indices._handle, out._handle)
    return out


def embedding_backward(grad_out, indices, num_embeddings, padding_idx):
    grad_weight = _full_array((num_embeddings, grad_out.shape[-1]), 0, grad_out.dtype, grad_out.device_index)
    _native.embedding_backward(contiguous(grad_out)._handle, contiguous(indices)._handle, grad_weight._handle,
                               padding_idx)
    return grad_weight


# --- normalization.cu ------------------------------------------------------------------------------------------------------------
def _optional_contiguous(array):
    return None if array is None else contiguous(array)._handle


def batch_norm_forward(x, weight, bias, running_mean, running_var, training, momentum, eps):
    """(out, saved) for x (N, C); running_mean/running_var (or None) are updated in place when training."""
    x = contiguous(x)
    channels = x.shape[1]
    out = empty_c(x)
    save_mean, save_invstd = _empty((channels,), x), _empty((channels,), x)
    stats = [None if s is None else contiguous(s) for s in (running_mean, running_var)]
    _native.batch_norm_forward(x._handle, _optional_contiguous(weight), _optional_contiguous(bias),
                               *(_handle(s) for s in stats), out._handle, save_mean._handle, save_invstd._handle,
                               training, momentum, eps)
    for target, written in zip((running_mean, running_var), stats):
        if written is not target:
            target[...] = written
    return out, (x, save_mean, save_invstd)


def batch_norm_backward(grad_out, weight, saved, training, need_x, need_weight, need_bias):
    x, save_mean, save_invstd = saved
    channels = x.shape[1]
    grad_x = empty_c(x) if need_x else None
    grad_weight = _empty((channels,), x) if need_weight else None
    grad_bias = _empty((channels,), x) if need_bias else None
    _native.batch_norm_backward(contiguous(grad_out)._handle, x._handle, _optional_contiguous(weight),
                                save_mean._handle, save_invstd._handle, _handle(grad_x), _handle(grad_weight),
                                _handle(grad_bias), training)
    return grad_x, grad_weight, grad_bias


def layer_norm_forward(x, weight, bias, eps):
    x = contiguous(x)
    rows = x.shape[0]
    out = empty_c(x)
    mean, rstd = _empty((rows,), x), _empty((rows,), x)
    _native.layer_norm_forward(x._handle, _optional_contiguous(weight), _optional_contiguous(bias), out._handle,
                               mean._handle, rstd._handle, eps)
    return out, (x, mean, rstd)


def layer_norm_backward(grad_out, weight, saved, need_x, need_weight, need_bias):
    x, mean, rstd = saved
    grad_x = empty_c(x) if need_x else None
    grad_weight = _empty((x.shape[1],), x) if need_weight else None
    grad_bias = _empty((x.shape[1],), x) if need_bias else None
    _native.layer_norm_backward(contiguous(grad_out)._handle, x._handle, _optional_contiguous(weight), mean._handle,
                                rstd._handle, _handle(grad_x), _handle(grad_weight), _handle(grad_bias))
    return grad_x, grad_weight, grad_bias


# --- optim.cu: one launch per parameter group (the arrays are updated in place) ----------------------------------------
def _handles(arrays):
    return None if arrays is None else [array._handle for array in arrays]


def sgd_step(params, grads, momentum_buffers, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
             maximize=False, first_step=False):
    _native.sgd_step(_handles(params), _handles(grads), _handles(momentum_buffers), lr, momentum, dampening,
                     weight_decay, nesterov, maximize, first_step)


def adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, decoupled_weight_decay=False, amsgrad=False, maximize=False):
    _native.adam_step(_handles(params), _handles(grads), _handles(exp_avgs), _handles(exp_avg_sqs),
                      _handles(max_exp_avg_sqs), step, lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay,
                      amsgrad, maximize)


def rmsprop_step(params, grads, square_avgs, grad_avgs, momentum_buffers, lr, alpha=0.99, eps=1e-8,
                 weight_decay=0.0, momentum=0.0, centered=False, maximize=False):
    _native.rmsprop_step(_handles(params), _handles(grads), _handles(square_avgs), _handles(grad_avgs),
                         _handles(momentum_buffers), lr, alpha, eps, weight_decay, momentum, centered, maximize)


def adagrad_step(params, grads, state_sums, step, lr=1e-2, lr_decay=0.0, weight_decay=0.0, eps=1e-10, maximize=False):
    _native.adagrad_step(_handles(params), _handles(grads), _handles(state_sums), step, lr, lr_decay, weight_decay,
                         eps, maximize)


def adadelta_step(params, grads, square_avgs, acc_deltas, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0,
                  maximize=False):
    _native.adadelta_step(_handles(params), _handles(grads), _handles(square_avgs), _handles(acc_deltas), lr, rho,
                          eps, weight_decay, maximize)


def adamax_step(params, grads, exp_avgs, exp_infs, step, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                maximize=False):
    _native.adamax_step(_handles(params), _handles(grads), _handles(exp_avgs), _handles(exp_infs), step, lr, beta1,
                        beta2, eps, weight_decay, maximize)


def nadam_step(params, grads, exp_avgs, exp_avg_sqs, step, mu_product, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8,
               weight_decay=0.0, momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False):
    _native.nadam_step(_handles(params), _handles(grads), _handles(exp_avgs), _handles(exp_avg_sqs), step, mu_product,
                       lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize)


def radam_step(params, grads, exp_avgs, exp_avg_sqs, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
               weight_decay=0.0, decoupled_weight_decay=False, maximize=False):
    _native.radam_step(_handles(params), _handles(grads), _handles(exp_avgs), _handles(exp_avg_sqs), step, lr, beta1,
                       beta2, eps, weight_decay, decoupled_weight_decay, maximize)
