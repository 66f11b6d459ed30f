"""Type stubs and contracts of nnx._C, the native CPU kernels.

Conventions for every function:
- Arrays are numpy.ndarray, C-contiguous; nothing is converted (a list raises TypeError).
- Float arrays are float32 or float64 and all float arguments of one call share that dtype.
  Index arrays (targets, indices) are int64; dropout masks are uint8.
- Outputs are provided by the caller and fully written (unless `accumulate` says they are added to);
  an output must not share memory with an input unless the function says it may.
- Bad arguments raise TypeError (type/dtype) or ValueError (shape, range, aliasing, unknown option)
  with a message that starts with the argument's name. Out-of-range indices raise IndexError.
- The GIL is released while a kernel runs.
"""
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from typing_extensions import TypeAlias

# Stub-only aliases (private: the module has no such names; stubtest checks the stub names nothing it lacks).
_Array: TypeAlias = np.ndarray
_Reduction: TypeAlias = Literal["mean", "sum", "none"]

def get_num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def build_config() -> dict[str, Any]:
    """What the kernels were built with and what they run on (nnx.show_config): compiler, march_native, isa,
    openmp, cpu_features, blas_config, blas_corename, blas_threads."""

# --- gemm.cpp / reduce.cpp ----------------------------------------------------------------------
def gemm(a: _Array, b: _Array, out: _Array, trans_a: bool = False, trans_b: bool = False,
         alpha: float = 1.0, beta: float = 0.0) -> None:
    """out(M,N) = alpha * op(a) @ op(b) + beta * out. beta == 0 never reads out."""

def column_sum(x: _Array, out: _Array, accumulate: bool = False) -> None:
    """out(M,) = x(N,M).sum(0) (+ out when accumulate)."""

def row_argmax(x: _Array, out: _Array) -> None:
    """out(N,) int64 = x(N,M).argmax(1); NaN counts as largest (first one wins), like NumPy."""

def squared_norm(x: _Array, out: _Array) -> None:
    """out() = (x ** 2).sum() of x(n,) (flatten first), in double, in an order fixed by n."""

# --- linear.cpp: fused linear layer -------------------------------------------------------------
_LinearActivation: TypeAlias = Literal["none", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"]

def linear_forward(x: _Array, weight: _Array, bias: _Array | None, out: _Array,
                   activation: _LinearActivation = "none", negative_slope: float = 0.01,
                   preact: _Array | None = None) -> None:
    """out(N,M) = act(x(N,K) @ weight(M,K).T + bias(M,)), bias added and activation applied in the
    same pass over the output. preact(N,M) receives x @ weight.T + bias; it is required for
    gelu/gelu_tanh (their derivative needs it) and optional otherwise."""

def linear_backward(grad_out: _Array, x: _Array, weight: _Array, saved: _Array | None,
                    grad_preact: _Array, grad_x: _Array | None, grad_weight: _Array | None,
                    grad_bias: _Array | None, activation: _LinearActivation = "none",
                    negative_slope: float = 0.01, accumulate: bool = False) -> None:
    """Backward of linear_forward.
    saved: the forward's `out` for relu/leaky_relu/sigmoid/tanh, its `preact` for gelu/gelu_tanh,
    unused (may be None) for none.
    grad_preact(N,M) receives dL/dpreact = grad_out * act'(.); it may be the very same array as
    grad_out (computed in place).
    grad_x(N,K) = grad_preact @ weight; grad_weight(M,K) = grad_preact.T @ x; grad_bias(M,) =
    grad_preact.sum(0). Each may be None to skip it. accumulate=True adds into grad_weight and
    grad_bias (gradient accumulation); grad_x is always overwritten."""

# --- activations.cpp: elementwise activations ---------------------------------------------------
_Activation: TypeAlias = Literal["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "softplus"]

def activation_forward(kind: _Activation, x: _Array, out: _Array, negative_slope: float = 0.01,
                       beta: float = 1.0, threshold: float = 20.0) -> None:
    """out = act(x), any shape, same shape and dtype. out may be x itself (in place).
    leaky_relu uses negative_slope; softplus is log(1 + exp(beta x)) / beta, and x where
    beta * x > threshold (PyTorch's definition). gelu is the exact erf form, gelu_tanh the tanh
    approximation."""

def activation_backward(kind: _Activation, grad_out: _Array, x: _Array, out: _Array, grad_in: _Array,
                        negative_slope: float = 0.01, beta: float = 1.0, threshold: float = 20.0) -> None:
    """grad_in = grad_out * act'(x). x is the forward's input, out its output (each kernel reads the
    one it needs: relu/leaky_relu/sigmoid/tanh use out, gelu/silu/softplus use x). grad_in may be
    grad_out itself."""

# --- softmax.cpp: softmax and log_softmax over the last axis --------------------------------------
def softmax_forward(x: _Array, out: _Array, log: bool = False) -> None:
    """out = softmax(x) (or log_softmax when log) over the last axis; x has ndim >= 1."""

def softmax_backward(grad_out: _Array, out: _Array, grad_in: _Array, log: bool = False) -> None:
    """grad_in from the forward's out: softmax: out * (g - sum(g*out)); log: g - exp(out) * sum(g)."""

# --- losses.cpp ---------------------------------------------------------------------------------
def cross_entropy_forward(logits: _Array, target: _Array, loss: _Array, logsumexp: _Array,
                          grad_logits: _Array | None = None, reduction: _Reduction = "mean",
                          ignore_index: int = -100, label_smoothing: float = 0.0) -> None:
    """Softmax + cross-entropy in one pass per row. logits(N,C) float, target(N,) int64 in [0, C)
    or == ignore_index. loss: shape () for mean/sum, (N,) for none. logsumexp(N,) is saved for
    the backward. When grad_logits(N,C) is given it also receives dloss/dlogits for an upstream
    gradient of 1 (the fused forward+backward the training step uses). mean divides by the number of
    non-ignored targets (PyTorch semantics; 0/0 gives nan like PyTorch). Exact for |logits| up to 1e4."""

def mse_loss_forward(input: _Array, target: _Array, loss: _Array, reduction: _Reduction = "mean") -> None: ...
def mse_loss_backward(grad_loss: _Array, input: _Array, target: _Array, grad_input: _Array,
                      reduction: _Reduction = "mean") -> None: ...
def l1_loss_forward(input: _Array, target: _Array, loss: _Array, reduction: _Reduction = "mean") -> None: ...
def l1_loss_backward(grad_loss: _Array, input: _Array, target: _Array, grad_input: _Array,
                     reduction: _Reduction = "mean") -> None:
    """d|x - t|/dx = sign(x - t), 0 where x == t (PyTorch)."""
def bce_with_logits_forward(input: _Array, target: _Array, loss: _Array, reduction: _Reduction = "mean",
                            pos_weight: _Array | None = None) -> None:
    """Numerically stable binary cross-entropy on logits; target in [0, 1], same shape as input.
    pos_weight broadcasts over the last axis (shape (C,)) like PyTorch's."""
def bce_with_logits_backward(grad_loss: _Array, input: _Array, target: _Array, grad_input: _Array,
                             reduction: _Reduction = "mean", pos_weight: _Array | None = None) -> None: ...
# For mse/l1/bce: input and target have the same shape; loss is shape () for mean/sum and input's
# shape for none; grad_loss likewise.

# --- dropout.cpp --------------------------------------------------------------------------------
def dropout_forward(x: _Array, out: _Array, mask: _Array, p: float, seed: int, offset: int) -> None:
    """Inverted dropout: mask(uint8, x's shape) = 1 where kept (probability 1-p), out = x * mask / (1-p).
    Element i draws from Philox4x32-10(seed, counter = offset + i // 4), word i % 4, so the mask is the
    same whatever the thread count. 0 <= p < 1 (p == 1 gives out = 0, mask = 0)."""

def dropout_backward(grad_out: _Array, mask: _Array, grad_in: _Array, p: float) -> None:
    """grad_in = grad_out * mask / (1-p)."""

def philox_uniform(out: _Array, seed: int, offset: int) -> None:
    """Fills out (float32/float64) with the uniforms in [0, 1) dropout uses, from the same stream."""

# --- embedding.cpp ------------------------------------------------------------------------------
def embedding_forward(weight: _Array, indices: _Array, out: _Array) -> None:
    """out(*indices.shape, D) = weight(V,D)[indices]; IndexError for an index outside [0, V)."""

def embedding_backward(grad_out: _Array, indices: _Array, grad_weight: _Array, padding_idx: int = -1) -> None:
    """grad_weight(V,D)[indices[i]] += grad_out(.., D)[i] (duplicates accumulate, deterministic order);
    rows with index == padding_idx are skipped. Adds into grad_weight: the caller zeroes it."""

# --- optim.cpp: fused optimizer steps over a whole parameter group --------------------------------
# Every list holds one array per parameter; the i-th entries of all lists have the same shape and
# dtype. One call updates the whole group in place (one native call, no Python loop).
def sgd_step(params: Sequence[_Array], grads: Sequence[_Array], momentum_buffers: Sequence[_Array] | None,
             lr: float, momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
             nesterov: bool = False, maximize: bool = False, first_step: bool = False) -> None:
    """PyTorch SGD. momentum_buffers is required when momentum != 0; first_step=True sets b = g
    (PyTorch's first-step rule) instead of b = momentum * b + (1 - dampening) * g."""

def adam_step(params: Sequence[_Array], grads: Sequence[_Array], exp_avgs: Sequence[_Array],
              exp_avg_sqs: Sequence[_Array], max_exp_avg_sqs: Sequence[_Array] | None, step: int,
              lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
              weight_decay: float = 0.0, decoupled_weight_decay: bool = False, amsgrad: bool = False,
              maximize: bool = False) -> None:
    """PyTorch Adam (decoupled_weight_decay=False) or AdamW (True). step counts from 1 and already
    includes this update. max_exp_avg_sqs is required when amsgrad."""

def rmsprop_step(params: Sequence[_Array], grads: Sequence[_Array], square_avgs: Sequence[_Array],
                 grad_avgs: Sequence[_Array] | None, momentum_buffers: Sequence[_Array] | None,
                 lr: float, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False, maximize: bool = False) -> None:
    """PyTorch RMSprop. grad_avgs required when centered, momentum_buffers when momentum != 0."""

def adagrad_step(params: Sequence[_Array], grads: Sequence[_Array], state_sums: Sequence[_Array], step: int,
                 lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0, eps: float = 1e-10,
                 maximize: bool = False) -> None:
    """PyTorch Adagrad. step counts from 1 and already includes this update."""

def adadelta_step(params: Sequence[_Array], grads: Sequence[_Array], square_avgs: Sequence[_Array],
                  acc_deltas: Sequence[_Array], lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                  weight_decay: float = 0.0, maximize: bool = False) -> None:
    """PyTorch Adadelta."""

def adamax_step(params: Sequence[_Array], grads: Sequence[_Array], exp_avgs: Sequence[_Array],
                exp_infs: Sequence[_Array], step: int, lr: float = 2e-3, beta1: float = 0.9, beta2: float = 0.999,
                eps: float = 1e-8, weight_decay: float = 0.0, maximize: bool = False) -> None:
    """PyTorch Adamax. step counts from 1 and already includes this update."""

def nadam_step(params: Sequence[_Array], grads: Sequence[_Array], exp_avgs: Sequence[_Array],
               exp_avg_sqs: Sequence[_Array], step: int, mu_product: float, lr: float = 2e-3, beta1: float = 0.9,
               beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
               decoupled_weight_decay: bool = False, maximize: bool = False) -> None:
    """PyTorch NAdam. mu_product: the product of the momentum coefficients mu_1 ... mu_step, this step's
    included (PyTorch's state['mu_product'] after its update)."""

def radam_step(params: Sequence[_Array], grads: Sequence[_Array], exp_avgs: Sequence[_Array],
               exp_avg_sqs: Sequence[_Array], step: int, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
               eps: float = 1e-8, weight_decay: float = 0.0, decoupled_weight_decay: bool = False,
               maximize: bool = False) -> None:
    """PyTorch RAdam: the rectified adaptive step once rho_t > 5, plain bias-corrected momentum before."""

# --- normalization.cpp: batch_norm per channel of (N, C) or (N, C, S), layer_norm over (N, D) per row ------------
# Statistics accumulate in double (float input too). The saved buffers have the input's dtype. Results do
# not depend on the thread count. weight/bias may be None (1 and 0); each gradient output may be None to skip it.
def batch_norm_forward(x: _Array, weight: _Array | None, bias: _Array | None, running_mean: _Array | None,
                       running_var: _Array | None, out: _Array, save_mean: _Array, save_invstd: _Array,
                       training: bool = True, momentum: float = 0.1, eps: float = 1e-5,
                       activation: Literal["none", "relu"] = "none") -> None:
    """out = act((x - mean) / sqrt(var + eps) * weight(C,) + bias(C,)) per channel c of x (N,C) (a column) or
    (N,C,S) (NCHW as S = H * W), over the channel's M = N * S values; act: identity or relu (fused).
    training: mean and biased var of the batch; running_mean(C,) and running_var(C,), when given, are
    updated in place: r = (1 - momentum) * r + momentum * batch, with the unbiased variance
    (var * M / (M - 1)). M == 1 raises ValueError ("Expected more than 1 value per channel when
    training"); M == 0 writes save_mean = save_invstd = 0 and leaves the running statistics alone.
    eval (training=False): mean = running_mean, var = running_var, both required and left unchanged.
    save_mean(C,) and save_invstd(C,) = 1 / sqrt(var + eps) receive the statistics used, for the
    backward. Both running statistics are given or both are None; no output may overlap another argument."""

def batch_norm_backward(grad_out: _Array, x: _Array, weight: _Array | None, save_mean: _Array,
                        save_invstd: _Array, grad_input: _Array | None, grad_weight: _Array | None,
                        grad_bias: _Array | None, training: bool = True, relu_out: _Array | None = None) -> None:
    """Backward of batch_norm_forward from its save_mean(C,) and save_invstd(C,); g = grad_out (x's shape,
    (N,C) or (N,C,S)), masked to 0 where relu_out <= 0 when relu_out (the forward's output with relu) is
    given; xhat = (x - save_mean) * save_invstd:
    grad_input = (g - mean(g) - xhat * mean(g * xhat)) * save_invstd * weight when training (means
    over the channel's values), g * save_invstd * weight in eval; grad_weight(C,) = sum(g * xhat); grad_bias(C,) =
    sum(g). Outputs are overwritten."""

def layer_norm_forward(x: _Array, weight: _Array | None, bias: _Array | None, out: _Array, mean: _Array,
                       rstd: _Array, eps: float = 1e-5) -> None:
    """out(N,D) = (x(N,D) - mean) * rstd * weight(D,) + bias(D,) per row, with the row's mean and biased
    variance; mean(N,) and rstd(N,) = 1 / sqrt(var + eps) are saved for the backward. D >= 1.
    (Normalising over several trailing axes: reshape to (rows, prod(normalized_shape)) first.)"""

def layer_norm_backward(grad_out: _Array, x: _Array, weight: _Array | None, mean: _Array, rstd: _Array,
                        grad_input: _Array | None, grad_weight: _Array | None,
                        grad_bias: _Array | None) -> None:
    """Backward of layer_norm_forward from its mean(N,) and rstd(N,); g = grad_out(N,D),
    xhat = (x - mean) * rstd, gw = g * weight: grad_input(N,D) = rstd * (gw - mean(gw) - xhat *
    mean(gw * xhat)) (means over the row); grad_weight(D,) = sum(g * xhat) and grad_bias(D,) = sum(g)
    over the rows. Outputs are overwritten."""

# --- max_pool2d.cpp: 2-D max pooling over NCHW ----------------------------------------------------------------
def max_pool2d_forward(x: _Array, out: _Array, argmax: _Array, kernel_size: tuple[int, int], stride: tuple[int, int],
                       padding: tuple[int, int], dilation: tuple[int, int], ceil_mode: bool = False) -> None:
    """out(N,C,OH,OW) = the max of each window of x(N,C,H,W), argmax (int64, out's shape) = its flat index
    h * W + w within the (n, c) plane (PyTorch's indices; a NaN wins, the last one of its window). The (h, w)
    parameters follow torch's max_pool2d (padding <= kernel_size // 2, padding never wins); OH and OW are
    PyTorch's output size and must be >= 1."""

def max_pool2d_backward(grad_out: _Array, argmax: _Array, grad_in: _Array, kernel_size: tuple[int, int],
                        stride: tuple[int, int], padding: tuple[int, int], dilation: tuple[int, int],
                        ceil_mode: bool = False) -> None:
    """grad_in(N,C,H,W) = grad_out(N,C,OH,OW) summed into the elements argmax points at (overlapping windows add
    up; an argmax outside the plane adds nothing). Gathered per input element: deterministic. Overwrites grad_in."""

# --- avg_pool2d.cpp: 2-D average pooling over NCHW --------------------------------------------------------------
def avg_pool2d_forward(x: _Array, out: _Array, kernel_size: tuple[int, int], stride: tuple[int, int],
                       padding: tuple[int, int], ceil_mode: bool = False, count_include_pad: bool = True,
                       divisor_override: int = 0) -> None:
    """out(N,C,OH,OW) = the average of each window of x(N,C,H,W) as torch's avg_pool2d: padding <= kernel_size // 2;
    the divisor counts the padding a window covers (count_include_pad) but not ceil_mode's cells beyond it, or is
    divisor_override (0: none). OH and OW are PyTorch's output size and must be >= 1. Overwrites out."""

def avg_pool2d_backward(grad_out: _Array, grad_in: _Array, kernel_size: tuple[int, int], stride: tuple[int, int],
                        padding: tuple[int, int], ceil_mode: bool = False, count_include_pad: bool = True,
                        divisor_override: int = 0) -> None:
    """grad_in(N,C,H,W) = grad_out(N,C,OH,OW) / divisor summed over the windows holding each element. Gathered per
    input element: deterministic. Overwrites grad_in."""

# --- adaptive_pool2d.cpp: 2-D adaptive average and max pooling over NCHW -----------------------------------------
def adaptive_avg_pool2d_forward(x: _Array, out: _Array) -> None:
    """out(N,C,OH,OW) = the average of each adaptive window of x(N,C,H,W): rows [floor(i * H / OH),
    ceil((i + 1) * H / OH)), columns alike (PyTorch's windows). OH and OW are out's (>= 0); H and W >= 1."""

def adaptive_avg_pool2d_backward(grad_out: _Array, grad_in: _Array) -> None:
    """grad_in(N,C,H,W) = grad_out(N,C,OH,OW) / window size summed over the windows holding each element. Gathered
    per input element: deterministic. Overwrites grad_in."""

def adaptive_max_pool2d_forward(x: _Array, out: _Array, argmax: _Array) -> None:
    """out(N,C,OH,OW) = the max of each adaptive window of x(N,C,H,W), argmax (int64, out's shape) = its flat index
    h * W + w within the (n, c) plane (PyTorch's indices: the first maximum; a NaN wins, the last one)."""

def adaptive_max_pool2d_backward(grad_out: _Array, argmax: _Array, grad_in: _Array) -> None:
    """grad_in(N,C,H,W) = grad_out(N,C,OH,OW) summed into the elements argmax points at (an argmax outside the plane
    adds nothing). Gathered per input element: deterministic. Overwrites grad_in."""

# --- conv2d.cpp: 2-D convolution over NCHW (im2col + BLAS) ----------------------------------------------------
def conv2d_forward(x: _Array, weight: _Array, bias: _Array | None, out: _Array, stride: tuple[int, int],
                   padding: tuple[int, int, int, int], dilation: tuple[int, int], groups: int = 1,
                   activation: str = "none", negative_slope: float = 0.01) -> None:
    """out(N,O,OH,OW) = act(conv2d(x(N,C,H,W), weight(O,C/groups,KH,KW)) + bias(O,)) as torch's conv2d (cross-
    correlation, zero padding); bias may be None and is added in the output pass, the activation ('none', 'relu',
    'leaky_relu', 'sigmoid', 'tanh') applied after it. padding is (top, bottom, left, right), stride and dilation
    (h, w); OH and OW must be >= 1. Overwrites out."""

def conv2d_backward(grad_out: _Array, x: _Array, weight: _Array, grad_x: _Array | None, grad_weight: _Array | None,
                    grad_bias: _Array | None, stride: tuple[int, int], padding: tuple[int, int, int, int],
                    dilation: tuple[int, int], groups: int = 1, out: _Array | None = None, activation: str = "none",
                    negative_slope: float = 0.01) -> None:
    """Backward of conv2d_forward: grad_x(N,C,H,W) (col2im as a gather per input element), grad_weight
    (O,C/groups,KH,KW) (the batch summed in a fixed order: independent of the thread count) and grad_bias(O,);
    each may be None and is otherwise overwritten. With an activation, grad_out is first masked by the forward's
    output out(N,O,OH,OW) (required then)."""

def conv_transpose2d_forward(x: _Array, weight: _Array, bias: _Array | None, out: _Array, stride: tuple[int, int],
                             padding: tuple[int, int], output_padding: tuple[int, int], dilation: tuple[int, int],
                             groups: int = 1) -> None:
    """out(N,C_out,OH,OW) = conv_transpose2d(x(N,C_in,H,W), weight(C_in,C_out/groups,KH,KW)) + bias(C_out,) as
    torch's: OH = (H-1)*stride - 2*padding + dilation*(KH-1) + output_padding + 1 (output_padding < stride or
    dilation). conv2d's input gradient (GEMM + col2im gather), the bias added in the gather's pass."""

def conv_transpose2d_backward(grad_out: _Array, x: _Array, weight: _Array, grad_x: _Array | None,
                              grad_weight: _Array | None, grad_bias: _Array | None, stride: tuple[int, int],
                              padding: tuple[int, int], output_padding: tuple[int, int], dilation: tuple[int, int],
                              groups: int = 1) -> None:
    """Backward of conv_transpose2d_forward: grad_x(N,C_in,H,W) (conv2d's forward), grad_weight(C_in,C_out/groups,
    KH,KW) (conv2d's, the batch summed in a fixed order) and grad_bias(C_out,); each may be None, else overwritten."""

# --- interpolate.cpp: nearest / nearest-exact / bilinear resampling of NCHW planes (torch's interpolate) ----------
def interpolate_forward(x: _Array, out: _Array, mode: str, align_corners: bool = False, scale_h: float = 0.0,
                        scale_w: float = 0.0) -> None:
    """out(N,C,OH,OW) = x(N,C,H,W) resampled as torch's interpolate: mode 'nearest', 'nearest-exact' or 'bilinear'
    (align_corners); scale_h/scale_w the scale factors given (used for the source index) or 0 (input / output
    size). Overwrites out."""

def interpolate_backward(grad_out: _Array, grad_in: _Array, mode: str, align_corners: bool = False,
                         scale_h: float = 0.0, scale_w: float = 0.0) -> None:
    """grad_in(N,C,H,W) of interpolate_forward: a gather per input element over the outputs that read it
    (deterministic). Overwrites grad_in."""

# --- rnn.cpp: the step loops of one recurrent layer and direction (LSTM i,f,g,o; GRU r,z,n; Elman tanh/relu) -----
def lstm_sequence_forward(gates: _Array, w_hh: _Array, states: _Array, reverse: bool) -> None:
    """Every step of one LSTM layer and direction: gates (L, N, 4H) the input projections with both biases, w_hh
    (4H, H), states (2L + 2, N, H) with h0 and c0 in their rows (forward: 0 and L + 1; reverse: L and 2L + 1).
    Writes every step's h and c into states and the activated gates (i, f, g, o) over gates."""

def lstm_sequence_backward(grad_states: _Array, states: _Array, act: _Array, w_hh: _Array, grad_gates: _Array,
                           grad_h: _Array, grad_c: _Array, reverse: bool) -> None:
    """BPTT through lstm_sequence_forward: writes grad_gates (L, N, 4H); grad_h and grad_c (N, H) come in as the
    gradients reaching h_n (from beyond the sequence) and c_n and leave as h0's and c0's."""

def gru_sequence_forward(gates_x: _Array, w_hh: _Array, bias_hh: _Array | None, states: _Array, act: _Array,
                         scratch: _Array, reverse: bool) -> None:
    """Every step of one GRU layer and direction: gates_x (L, N, 3H) with b_ih, w_hh (3H, H), states (L + 1, N, H)
    with h0 in its row, scratch (N, 3H); writes every step's h and act (L, N, 4H): r, z, n and h_n + b_hn."""

def gru_sequence_backward(grad_states: _Array, states: _Array, act: _Array, w_hh: _Array, grad_gates_x: _Array,
                          grad_gates_h: _Array, grad_h: _Array, reverse: bool) -> None:
    """BPTT through gru_sequence_forward: writes grad_gates_x and grad_gates_h (L, N, 3H); grad_h as
    lstm_sequence_backward's."""

def rnn_sequence_forward(gates: _Array, w_hh: _Array, states: _Array, nonlinearity: str, reverse: bool) -> None:
    """Every step of one Elman RNN layer and direction (nonlinearity 'tanh' or 'relu'): gates (L, N, H) with both
    biases, w_hh (H, H), states (L + 1, N, H) with h0 in its row; writes every step's h into states."""

def rnn_sequence_backward(grad_states: _Array, states: _Array, w_hh: _Array, grad_gates: _Array, grad_h: _Array,
                          nonlinearity: str, reverse: bool) -> None:
    """BPTT through rnn_sequence_forward: writes grad_gates (L, N, H); grad_h as lstm_sequence_backward's."""

# --- grid_sample.cpp: sampling NCHW input at a (N, OH, OW, 2) grid (torch's grid_sample, 4-D) ------------------
def grid_sample_forward(input: _Array, grid: _Array, out: _Array, mode: int = 0, padding_mode: int = 0,
                        align_corners: bool = False) -> None:
    """out(N,C,OH,OW) = input(N,C,H,W) sampled at grid(N,OH,OW,2) = (x, y) in [-1, 1] (x along W), as torch's
    grid_sample: mode 0 bilinear / 1 nearest (round half to even), padding_mode 0 zeros / 1 border / 2 reflection,
    align_corners as torch's. H and W must be >= 1. Overwrites out."""

def grid_sample_backward(grad_out: _Array, input: _Array, grid: _Array, grad_input: _Array | None,
                         grad_grid: _Array | None, mode: int = 0, padding_mode: int = 0,
                         align_corners: bool = False) -> None:
    """Backward of grid_sample_forward: grad_input(N,C,H,W) (each thread owns whole (n, c) planes: deterministic)
    and grad_grid(N,OH,OW,2) (zeros in the nearest mode); each may be None and is otherwise overwritten."""

# --- pad.cpp: reflect, replicate and circular padding of the last three axes of (B, D, H, W) ----------------------
_PadMode: TypeAlias = Literal["reflect", "replicate", "circular"]

def pad_forward(x: _Array, out: _Array, padding: tuple[int, int, int, int, int, int], mode: _PadMode) -> None:
    """out(B, D', H', W') = x(B, D, H, W) padded as torch's F.pad: padding = (w_before, w_after, h_before, h_after,
    d_before, d_after), negative values crop (D' = D + d_before + d_after, ...). reflect mirrors without repeating the
    edge (padding < the axis size), replicate repeats the edge, circular crops first and then wraps around the
    cropped axis (padding <= its size). Overwrites out."""

def pad_backward(grad_out: _Array, grad_in: _Array, padding: tuple[int, int, int, int, int, int],
                 mode: _PadMode) -> None:
    """Backward of pad_forward: grad_in(B, D, H, W) = the sum of grad_out over the output elements that read each
    input element, gathered per input element in a fixed order, in double (deterministic). Overwrites grad_in."""
