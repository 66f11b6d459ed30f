"""Type stubs and contracts of nnx._cuda, the optional CUDA kernels (built when nvcc is present).

The module is the CUDA twin of nnx._C: every op-family function of _C.pyi exists here with the same
name, argument names, defaults and semantics, taking DeviceArray where _C takes numpy.ndarray.
On top of those it has the device array type itself, the caching allocator, and the generic kernels
(strided copy with dtype cast, unary/binary elementwise ops, reductions, gathers) that the Python class
nnx.backend.cuda_array.CudaArray builds NumPy's semantics on.

Conventions for every function (as in _C):
- Array arguments are DeviceArray on one device; a numpy.ndarray raises TypeError naming the argument
  (nothing is copied through the host implicitly).
- Op-family functions need C-contiguous arrays (DeviceArray.is_contiguous) and dtypes as in _C
  (float32/float64 floats of one dtype per call, int64 indices, uint8 masks). The generic kernels
  (copy, unary, binary, binary_scalar, where) take any strided input view, zero strides included (that
  is how broadcasting reaches them); their outputs are contiguous unless stated.
- Outputs are caller-provided and fully written; an output may not overlap an input unless stated.
- Bad arguments raise TypeError/ValueError whose message starts with the argument's name; indices out
  of range raise IndexError where the binding can see them (host-side sizes) -- device-side index
  values are checked by the kernel, which records the first bad index and the next synchronising call
  raises IndexError (PyTorch raises a device-side assert at that point).
- Work is queued on one CUDA stream per device (non-blocking with respect to the legacy default
  stream); nothing synchronises except DeviceArray.to_host / synchronize / memory functions that
  say so. Kernel launch errors raise RuntimeError("CUDA error: ...") at the call that launched.
- The GIL is released while kernels are queued and while copies wait.
"""
from collections.abc import Sequence
from typing import Literal

import numpy as np
from typing_extensions import TypeAlias

# Stub-only aliases are private (the module has no such names; stubtest checks the stub names nothing it lacks).
_Reduction: TypeAlias = Literal["mean", "sum", "none"]
_LinearActivation: TypeAlias = Literal["none", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"]
_Activation: TypeAlias = Literal["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "softplus"]

# --- runtime.cu ----------------------------------------------------------------------------------
def device_count() -> int:
    """Visible CUDA devices; 0 without a driver or device (never raises)."""
def synchronize(device: int = -1) -> None:
    """Waits for nnx's stream on `device` (-1: every device nnx has used); raises RuntimeError with
    CUDA's message when queued work failed, IndexError when a kernel recorded a bad index."""
def get_device_name(device: int = 0) -> str: ...
def get_device_capability(device: int = 0) -> tuple[int, int]: ...

# --- allocator.cu: caching allocator (one pool per device, stream-ordered on nnx's stream) ---------------
def memory_allocated(device: int = 0) -> int:
    """Bytes in live blocks (rounded sizes)."""
def memory_reserved(device: int = 0) -> int:
    """Bytes obtained from cudaMalloc and not yet returned (live + cached)."""
def malloc_count(device: int = 0) -> int:
    """How many times the allocator has called cudaMalloc (tests check steady-state training adds none)."""
def empty_cache() -> None:
    """Synchronises and returns every cached, unused block to CUDA (cudaFree)."""

# --- device_array.cpp: the array type ------------------------------------------------------------------
_DType: TypeAlias = np.dtype  # bool, uint8, int32, int64, float32, float64

class DeviceArray:
    """A strided view of device memory: storage (refcounted, returned to the allocator's cache when the
    last view dies), element offset, shape, strides in elements (may be 0 or negative), dtype, device."""
    @staticmethod
    def empty(shape: Sequence[int], dtype: np.dtype, device: int = 0) -> DeviceArray:
        """Uninitialised C-contiguous array from the caching allocator. Negative dims raise ValueError;
        a size whose byte count overflows int64 raises ValueError; out of memory raises MemoryError
        (after emptying the cache and retrying once)."""
    @staticmethod
    def from_host(array: np.ndarray, device: int = 0) -> DeviceArray:
        """A new C-contiguous device copy of a C-contiguous host array (dtype one of _DType). The host
        array may be reused as soon as this returns."""
    def to_host(self, out: np.ndarray) -> None:
        """Copies this array into `out` (C-contiguous, same shape and dtype; this array must be
        contiguous). Synchronises the stream: this is where queued errors surface."""
    def view(self, shape: Sequence[int], strides: Sequence[int], offset: int) -> DeviceArray:
        """A view of the same storage (offset and strides in elements). ValueError if any element of
        the view would fall outside the storage."""
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def strides(self) -> tuple[int, ...]:
        """In elements (NumPy's are in bytes)."""
    @property
    def offset(self) -> int: ...
    @property
    def dtype(self) -> np.dtype: ...
    @property
    def device(self) -> int: ...
    @property
    def ndim(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def itemsize(self) -> int: ...
    @property
    def nbytes(self) -> int: ...
    @property
    def data_ptr(self) -> int:
        """Address of element 0 of the view."""
    @property
    def storage_ptr(self) -> int: ...
    @property
    def storage_nbytes(self) -> int: ...
    @property
    def is_contiguous(self) -> bool:
        """C-contiguous (size-1 dims may have any stride)."""
    def __dlpack__(self, *, stream: int | None = None, max_version: tuple[int, int] | None = None,
                   dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> object:
        """A 'dltensor' capsule (DLPack 0.8 DLManagedTensor) sharing this memory; it keeps the storage
        alive. stream: the consumer's stream (None/1/2 = legacy/per-thread default); nnx records an event
        on its stream and makes that stream wait on it, so the consumer sees every queued write."""
    def __dlpack_device__(self) -> tuple[int, int]:
        """(2, device) -- kDLCUDA."""

def from_dlpack(capsule: object) -> DeviceArray:
    """Zero-copy DeviceArray over a 'dltensor' capsule of kDLCUDA memory on a visible device (renames
    the capsule 'used_dltensor'; the producer's deleter runs when the last view dies). Unsupported
    dtype/device raises TypeError/ValueError naming 'capsule'."""

# --- elementwise.cu: generic strided kernels ---------------------------------------------------------
def copy(src: DeviceArray, dst: DeviceArray) -> None:
    """dst[...] = src with dtype cast (any _DType to any _DType; float->int truncates toward zero,
    ->bool is != 0). Same shape; both may be strided (dst must not have zero strides and must not
    overlap src unless it is exactly src)."""
def fill(out: DeviceArray, value: float) -> None:
    """out[...] = value cast to out's dtype (out may be strided)."""
def arange(out: DeviceArray, start: float, step: float) -> None:
    """out[i] = start + i * step for a contiguous 1-D out (computed in double, cast)."""

_UnaryOp: TypeAlias = Literal["negative", "abs", "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "square",
                  "reciprocal", "sign", "sin", "cos", "tan", "tanh", "arctan", "floor", "ceil", "rint", "trunc",
                  "isnan", "isinf", "isfinite", "logical_not", "invert", "sigmoid", "erf"]
def unary(op: _UnaryOp, x: DeviceArray, out: DeviceArray) -> None:
    """out = op(x) with NumPy's semantics. x any strided view of out's shape. out has x's dtype except
    isnan/isinf/isfinite/logical_not (bool). Float ops need a float x; invert needs bool/int."""

_BinaryOp: TypeAlias = Literal["add", "subtract", "multiply", "true_divide", "floor_divide", "remainder", "power",
                   "maximum", "minimum", "fmax", "fmin", "arctan2", "copysign",
                   "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
                   "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor"]
def binary(op: _BinaryOp, a: DeviceArray, b: DeviceArray, out: DeviceArray) -> None:
    """out = op(a, b); a and b share one dtype (the caller promotes) and out's shape (broadcast views);
    out has that dtype, or bool for comparisons/logical ops. NumPy semantics: maximum/minimum propagate
    NaN, remainder and floor_divide follow the divisor's sign, integer division by zero gives 0.
    out may be exactly a or b (in-place ops)."""
def binary_scalar(op: _BinaryOp, a: DeviceArray, scalar: float, out: DeviceArray, scalar_first: bool = False) -> None:
    """out = op(a, scalar) (op(scalar, a) when scalar_first); the scalar is cast to a's dtype first
    (the caller decides promotion). out may be exactly a."""
def where(condition: DeviceArray, a: DeviceArray, b: DeviceArray, out: DeviceArray) -> None:
    """out = condition ? a : b; condition bool, a/b out's dtype, all views of out's shape."""

# --- reduce.cu -----------------------------------------------------------------------------------------
_ReduceOp: TypeAlias = Literal["sum", "prod", "max", "min", "argmax", "argmin", "any", "all", "mean"]
def reduce(op: _ReduceOp, x: DeviceArray, out: DeviceArray, outer: int, length: int, inner: int) -> None:
    """x contiguous, viewed as (outer, length, inner); out contiguous (outer, inner) gets op over the
    middle axis. sum/prod/mean of bool/int accumulate in int64 (out int64) and of floats in the float's
    own dtype with a float64 accumulator for float32 tree partials; max/min propagate NaN; argmax/argmin
    give int64 (first occurrence, NaN counts as extreme like NumPy); any/all give bool. length == 0:
    sum 0, prod 1, any False, all True; max/min/arg* raise ValueError ("zero-size array ...")."""
def cumsum(x: DeviceArray, out: DeviceArray, outer: int, length: int, inner: int) -> None:
    """Inclusive prefix sum along the middle axis of contiguous (outer, length, inner) views."""
def column_sum(x: DeviceArray, out: DeviceArray, accumulate: bool = False) -> None: ...  # as _C
def row_argmax(x: DeviceArray, out: DeviceArray) -> None: ...  # as _C
def squared_norm(x: DeviceArray, out: DeviceArray) -> None: ...  # as _C

# --- index.cu: gathers and scatters along one axis of contiguous (outer, length, inner) views ----------------------
def index_select(src: DeviceArray, indices: DeviceArray, out: DeviceArray, outer: int, length: int, inner: int) -> None:
    """out(outer, m, inner) = src(outer, length, inner)[:, indices, :]; indices int64 (m,), negative
    indices count from the end; outside [-length, length) -> IndexError at the next synchronisation."""
def index_add(grad: DeviceArray, indices: DeviceArray, out: DeviceArray, outer: int, length: int, inner: int) -> None:
    """out(outer, length, inner)[:, indices, :] += grad(outer, m, inner) (duplicates accumulate; atomic,
    so float sums may differ in the last bit between runs)."""
def take_along(src: DeviceArray, indices: DeviceArray, out: DeviceArray, outer: int, length: int, inner: int) -> None:
    """numpy.take_along_axis: indices and out (outer, m, inner), out[o, j, i] = src[o, indices[o, j, i], i]."""
def put_along(values: DeviceArray, indices: DeviceArray, out: DeviceArray, outer: int, length: int, inner: int,
              accumulate: bool = False) -> None:
    """out[o, indices[o, j, i], i] = values[o, j, i] (+= when accumulate, atomically)."""
def nonzero_count(mask: DeviceArray) -> int:
    """Number of true elements of a contiguous bool array. Synchronises (the result is a host int)."""
def nonzero(mask: DeviceArray, out: DeviceArray) -> None:
    """out(count, mask.ndim) int64 = the C-order coordinates of mask's true elements (count from
    nonzero_count)."""

# --- the op families: same names, arguments, defaults and semantics as nnx._C ---------------------------
# gemm.cu (cuBLAS, loaded at run time), linear.cu, activations.cu, softmax.cu, losses.cu, dropout.cu,
# embedding.cu, optim.cu (multi-tensor kernels whose pointer table travels by value as a __grid_constant__
# argument: one launch per 64 tensors of a group, no upload), normalization.cu. Each function's contract is
# its _C.pyi twin's docstring; tests/test_native_stubs.py checks both stubs against the modules' signatures.
# Differences from _C, each forced by the device:
#   - gemm: float32 runs in full FP32 unless set_allow_tf32(True); float64 in FP64.
#   - embedding_backward / column_sum use atomics or tree sums: results may differ from the CPU in the
#     last bits (compare with a tolerance).
#   - philox_uniform / dropout: the same Philox stream as the CPU (same seed and offset, same mask).
def gemm(a: DeviceArray, b: DeviceArray, out: DeviceArray, trans_a: bool = False, trans_b: bool = False,
         alpha: float = 1.0, beta: float = 0.0) -> None: ...
def linear_forward(x: DeviceArray, weight: DeviceArray, bias: DeviceArray | None, out: DeviceArray,
                   activation: _LinearActivation = "none", negative_slope: float = 0.01,
                   preact: DeviceArray | None = None) -> None: ...
def linear_backward(grad_out: DeviceArray, x: DeviceArray, weight: DeviceArray, saved: DeviceArray | None,
                    grad_preact: DeviceArray, grad_x: DeviceArray | None, grad_weight: DeviceArray | None,
                    grad_bias: DeviceArray | None, activation: _LinearActivation = "none", negative_slope: float = 0.01,
                    accumulate: bool = False) -> None: ...
def activation_forward(kind: _Activation, x: DeviceArray, out: DeviceArray, negative_slope: float = 0.01,
                       beta: float = 1.0, threshold: float = 20.0) -> None: ...
def activation_backward(kind: _Activation, grad_out: DeviceArray, x: DeviceArray, out: DeviceArray,
                        grad_in: DeviceArray, negative_slope: float = 0.01, beta: float = 1.0,
                        threshold: float = 20.0) -> None: ...
def softmax_forward(x: DeviceArray, out: DeviceArray, log: bool = False) -> None: ...
def softmax_backward(grad_out: DeviceArray, out: DeviceArray, grad_in: DeviceArray, log: bool = False) -> None: ...
def cross_entropy_forward(logits: DeviceArray, target: DeviceArray, loss: DeviceArray, logsumexp: DeviceArray,
                          grad_logits: DeviceArray | None = None, reduction: _Reduction = "mean",
                          ignore_index: int = -100, label_smoothing: float = 0.0) -> None: ...
def mse_loss_forward(input: DeviceArray, target: DeviceArray, loss: DeviceArray,
                     reduction: _Reduction = "mean") -> None: ...
def mse_loss_backward(grad_loss: DeviceArray, input: DeviceArray, target: DeviceArray, grad_input: DeviceArray,
                      reduction: _Reduction = "mean") -> None: ...
def l1_loss_forward(input: DeviceArray, target: DeviceArray, loss: DeviceArray,
                    reduction: _Reduction = "mean") -> None: ...
def l1_loss_backward(grad_loss: DeviceArray, input: DeviceArray, target: DeviceArray, grad_input: DeviceArray,
                     reduction: _Reduction = "mean") -> None: ...
def bce_with_logits_forward(input: DeviceArray, target: DeviceArray, loss: DeviceArray,
                            reduction: _Reduction = "mean", pos_weight: DeviceArray | None = None) -> None: ...
def bce_with_logits_backward(grad_loss: DeviceArray, input: DeviceArray, target: DeviceArray,
                             grad_input: DeviceArray, reduction: _Reduction = "mean",
                             pos_weight: DeviceArray | None = None) -> None: ...
def dropout_forward(x: DeviceArray, out: DeviceArray, mask: DeviceArray, p: float, seed: int, offset: int) -> None: ...
def dropout_backward(grad_out: DeviceArray, mask: DeviceArray, grad_in: DeviceArray, p: float) -> None: ...
def philox_uniform(out: DeviceArray, seed: int, offset: int) -> None: ...
def embedding_forward(weight: DeviceArray, indices: DeviceArray, out: DeviceArray) -> None: ...
def embedding_backward(grad_out: DeviceArray, indices: DeviceArray, grad_weight: DeviceArray,
                       padding_idx: int = -1) -> None: ...
def sgd_step(params: Sequence[DeviceArray], grads: Sequence[DeviceArray],
             momentum_buffers: Sequence[DeviceArray] | None, lr: float, momentum: float = 0.0,
             dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False,
             first_step: bool = False) -> None: ...
def adam_step(params: Sequence[DeviceArray], grads: Sequence[DeviceArray], exp_avgs: Sequence[DeviceArray],
              exp_avg_sqs: Sequence[DeviceArray], max_exp_avg_sqs: Sequence[DeviceArray] | None, step: int,
              lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
              decoupled_weight_decay: bool = False, amsgrad: bool = False, maximize: bool = False) -> None: ...
def rmsprop_step(params: Sequence[DeviceArray], grads: Sequence[DeviceArray], square_avgs: Sequence[DeviceArray],
                 grad_avgs: Sequence[DeviceArray] | None, momentum_buffers: Sequence[DeviceArray] | None,
                 lr: float, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False, maximize: bool = False) -> None: ...
def adagrad_step(params: Sequence[DeviceArray], grads: Sequence[DeviceArray], state_sums: Sequence[DeviceArray],
                 step: int, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0, eps: float = 1e-10,
                 maximize: bool = False) -> None: ...
def adadelta_step(params: Sequence[DeviceArray], grads: Sequence[DeviceArray], square_avgs: Sequence[DeviceArray],
                  acc_deltas: Sequence[DeviceArray], lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                  weight_decay: float = 0.0, maximize: bool = False) -> None: ...
def adamax_step(params: Sequence[DeviceArray], grads: Sequence[DeviceArray], exp_avgs: Sequence[DeviceArray],
                exp_infs: Sequence[DeviceArray], step: int, lr: float = 2e-3, beta1: float = 0.9,
                beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0, maximize: bool = False) -> None: ...
def nadam_step(params: Sequence[DeviceArray], grads: Sequence[DeviceArray], exp_avgs: Sequence[DeviceArray],
               exp_avg_sqs: Sequence[DeviceArray], step: int, mu_product: float, lr: float = 2e-3,
               beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
               momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, maximize: bool = False) -> None: ...
def radam_step(params: Sequence[DeviceArray], grads: Sequence[DeviceArray], exp_avgs: Sequence[DeviceArray],
               exp_avg_sqs: Sequence[DeviceArray], step: int, lr: float = 1e-3, beta1: float = 0.9,
               beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
               decoupled_weight_decay: bool = False, maximize: bool = False) -> None: ...
def batch_norm_forward(x: DeviceArray, weight: DeviceArray | None, bias: DeviceArray | None,
                       running_mean: DeviceArray | None, running_var: DeviceArray | None, out: DeviceArray,
                       save_mean: DeviceArray, save_invstd: DeviceArray, training: bool = True,
                       momentum: float = 0.1, eps: float = 1e-5,
                       activation: Literal["none", "relu"] = "none") -> None: ...
def batch_norm_backward(grad_out: DeviceArray, x: DeviceArray, weight: DeviceArray | None, save_mean: DeviceArray,
                        save_invstd: DeviceArray, grad_input: DeviceArray | None, grad_weight: DeviceArray | None,
                        grad_bias: DeviceArray | None, training: bool = True,
                        relu_out: DeviceArray | None = None) -> None: ...
def layer_norm_forward(x: DeviceArray, weight: DeviceArray | None, bias: DeviceArray | None, out: DeviceArray,
                       mean: DeviceArray, rstd: DeviceArray, eps: float = 1e-5) -> None: ...
def layer_norm_backward(grad_out: DeviceArray, x: DeviceArray, weight: DeviceArray | None, mean: DeviceArray,
                        rstd: DeviceArray, grad_input: DeviceArray | None, grad_weight: DeviceArray | None,
                        grad_bias: DeviceArray | None) -> None: ...
# max_pool2d.cu: one thread per output (forward) or input element (backward, a gather: no atomics, so results are
# the CPU's bit for bit).
def max_pool2d_forward(x: DeviceArray, out: DeviceArray, argmax: DeviceArray, kernel_size: tuple[int, int],
                       stride: tuple[int, int], padding: tuple[int, int], dilation: tuple[int, int],
                       ceil_mode: bool = False) -> None: ...
def max_pool2d_backward(grad_out: DeviceArray, argmax: DeviceArray, grad_in: DeviceArray,
                        kernel_size: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
                        dilation: tuple[int, int], ceil_mode: bool = False) -> None: ...
# avg_pool2d.cu: one thread per output (forward) or input element (backward, a gather: no atomics).
def avg_pool2d_forward(x: DeviceArray, out: DeviceArray, kernel_size: tuple[int, int], stride: tuple[int, int],
                       padding: tuple[int, int], ceil_mode: bool = False, count_include_pad: bool = True,
                       divisor_override: int = 0) -> None: ...
def avg_pool2d_backward(grad_out: DeviceArray, grad_in: DeviceArray, kernel_size: tuple[int, int],
                        stride: tuple[int, int], padding: tuple[int, int], ceil_mode: bool = False,
                        count_include_pad: bool = True, divisor_override: int = 0) -> None: ...
# adaptive_pool2d.cu: one thread per output (forward) or input element (backward, a gather: no atomics).
def adaptive_avg_pool2d_forward(x: DeviceArray, out: DeviceArray) -> None: ...
def adaptive_avg_pool2d_backward(grad_out: DeviceArray, grad_in: DeviceArray) -> None: ...
def adaptive_max_pool2d_forward(x: DeviceArray, out: DeviceArray, argmax: DeviceArray) -> None: ...
def adaptive_max_pool2d_backward(grad_out: DeviceArray, argmax: DeviceArray, grad_in: DeviceArray) -> None: ...
# conv2d.cu: an im2col kernel and cuBLAS per image and group; the backward's col2im is a gather and grad_weight
# sums the images in order (no atomics: deterministic).
def conv2d_forward(x: DeviceArray, weight: DeviceArray, bias: DeviceArray | None, out: DeviceArray,
                   stride: tuple[int, int], padding: tuple[int, int, int, int], dilation: tuple[int, int],
                   groups: int = 1, activation: str = "none", negative_slope: float = 0.01) -> None: ...
def conv2d_backward(grad_out: DeviceArray, x: DeviceArray, weight: DeviceArray, grad_x: DeviceArray | None,
                    grad_weight: DeviceArray | None, grad_bias: DeviceArray | None, stride: tuple[int, int],
                    padding: tuple[int, int, int, int], dilation: tuple[int, int], groups: int = 1,
                    out: DeviceArray | None = None, activation: str = "none", negative_slope: float = 0.01) -> None: ...
def conv_transpose2d_forward(x: DeviceArray, weight: DeviceArray, bias: DeviceArray | None, out: DeviceArray,
                             stride: tuple[int, int], padding: tuple[int, int], output_padding: tuple[int, int],
                             dilation: tuple[int, int], groups: int = 1) -> None: ...
def conv_transpose2d_backward(grad_out: DeviceArray, x: DeviceArray, weight: DeviceArray, grad_x: DeviceArray | None,
                              grad_weight: DeviceArray | None, grad_bias: DeviceArray | None,
                              stride: tuple[int, int], padding: tuple[int, int], output_padding: tuple[int, int],
                              dilation: tuple[int, int], groups: int = 1) -> None: ...
# interpolate.cu: one thread per output element; the backward a gather per input element (no atomics).
def interpolate_forward(x: DeviceArray, out: DeviceArray, mode: str, align_corners: bool = False,
                        scale_h: float = 0.0, scale_w: float = 0.0) -> None: ...
def interpolate_backward(grad_out: DeviceArray, grad_in: DeviceArray, mode: str, align_corners: bool = False,
                         scale_h: float = 0.0, scale_w: float = 0.0) -> None: ...
# rnn.cu: the step loops of one recurrent layer and direction, each step one cuBLAS GEMM and one fused-cell kernel
# (one thread per (row, hidden unit), no atomics), queued on nnx's stream.
def lstm_sequence_forward(gates: DeviceArray, w_hh: DeviceArray, states: DeviceArray, reverse: bool) -> None: ...
def lstm_sequence_backward(grad_states: DeviceArray, states: DeviceArray, act: DeviceArray, w_hh: DeviceArray,
                           grad_gates: DeviceArray, grad_h: DeviceArray, grad_c: DeviceArray,
                           reverse: bool) -> None: ...
def gru_sequence_forward(gates_x: DeviceArray, w_hh: DeviceArray, bias_hh: DeviceArray | None, states: DeviceArray,
                         act: DeviceArray, scratch: DeviceArray, reverse: bool) -> None: ...
def gru_sequence_backward(grad_states: DeviceArray, states: DeviceArray, act: DeviceArray, w_hh: DeviceArray,
                          grad_gates_x: DeviceArray, grad_gates_h: DeviceArray, grad_h: DeviceArray,
                          reverse: bool) -> None: ...
def rnn_sequence_forward(gates: DeviceArray, w_hh: DeviceArray, states: DeviceArray, nonlinearity: str,
                         reverse: bool) -> None: ...
def rnn_sequence_backward(grad_states: DeviceArray, states: DeviceArray, w_hh: DeviceArray, grad_gates: DeviceArray,
                          grad_h: DeviceArray, nonlinearity: str, reverse: bool) -> None: ...
# grid_sample.cu: one thread per output point; the backward scatters grad_input with atomicAdd (not bit-reproducible
# in float32 where points share cells), grad_grid without atomics.
def grid_sample_forward(input: DeviceArray, grid: DeviceArray, out: DeviceArray, mode: int = 0,
                        padding_mode: int = 0, align_corners: bool = False) -> None: ...
def grid_sample_backward(grad_out: DeviceArray, input: DeviceArray, grid: DeviceArray,
                         grad_input: DeviceArray | None, grad_grid: DeviceArray | None, mode: int = 0,
                         padding_mode: int = 0, align_corners: bool = False) -> None: ...

# pad.cu: one thread per output element (forward) or input element (backward, a gather: no atomics, the CPU's results
# bit for bit).
def pad_forward(x: DeviceArray, out: DeviceArray, padding: tuple[int, int, int, int, int, int],
                mode: Literal["reflect", "replicate", "circular"]) -> None: ...
def pad_backward(grad_out: DeviceArray, grad_in: DeviceArray, padding: tuple[int, int, int, int, int, int],
                 mode: Literal["reflect", "replicate", "circular"]) -> None: ...

# --- gemm.cu: TF32 switch and the cuBLAS the module loads --------------------------------------------------
def set_allow_tf32(allow: bool) -> None:
    """Lets float32 GEMMs use TF32 tensor cores (cuBLAS CUBLAS_TF32_TENSOR_OP_MATH), like PyTorch's
    torch.backends.cuda.matmul.allow_tf32. Default False."""
def get_allow_tf32() -> bool: ...
def cublas_path() -> str:
    """The libcublas the module loaded (loading it on first use); RuntimeError naming what was tried and
    how to install it (pip install 'nnx[cuda]') when none is found."""
