"""The kernel table's wrappers of the op families, written once for both devices.

Each wrapper makes its inputs C-contiguous, allocates its outputs (on the inputs' device) and calls the family's
kernel with the argument order of csrc/bind/<family>.cpp, which is the same for nnx._C and nnx._cuda.
`kernel_table` makes one set of them per device; a device module (native/cpu.py, native/cuda.py) puts them
among its own names next to what is genuinely its own (creation and transfer, matmul, elementwise math):

    globals().update(kernel_table(_C, contiguous, empty_c, np.empty, np.empty_like, np.zeros))

Closures rather than a class or per-call dispatch: a wrapper finds its device's module and allocators in closure
cells, so the CPU's hot path (relu, linear, cross-entropy on small tensors) costs what a hand-written module
function does. Adding an op family: add its wrappers here, once.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

# The fused optimizer steps are the native functions themselves (they allocate nothing and take lists of arrays).
OPTIMIZER_STEPS = ("sgd_step", "adam_step", "rmsprop_step", "adagrad_step", "adadelta_step", "adamax_step",
                   "nadam_step", "radam_step")
# The recurrent step loops (rnn family): called with the caller's preallocated, C-contiguous buffers
# (python/nnx/ops/rnn.py), so they are the native functions themselves, without a wrapper.
RNN_SEQUENCES = ("lstm_sequence_forward", "lstm_sequence_backward", "gru_sequence_forward", "gru_sequence_backward",
                 "rnn_sequence_forward", "rnn_sequence_backward")

# Every name kernel_table gives a device module.
WRAPPERS = ("linear_forward", "linear_backward", "activation_forward", "activation_backward", "softmax_forward",
            "softmax_backward", "cross_entropy_forward", "pointwise_loss_forward", "pointwise_loss_backward",
            "dropout_forward", "dropout_backward", "embedding_forward", "embedding_backward", "batch_norm_forward",
            "batch_norm_backward", "layer_norm_forward", "layer_norm_backward", "max_pool2d_forward",
            "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
            "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward", "adaptive_max_pool2d_forward",
            "adaptive_max_pool2d_backward",
            "pad_forward", "pad_backward",
            "conv2d_forward", "conv2d_backward",
            "conv_transpose2d_forward", "conv_transpose2d_backward",
            "interpolate_forward", "interpolate_backward",
            "grid_sample_forward", "grid_sample_backward",
            "gemm_into") + OPTIMIZER_STEPS + RNN_SEQUENCES

_UINT8 = np.dtype(np.uint8)  # dropout masks
_INT64 = np.dtype(np.int64)  # max_pool2d's argmax
_NEEDS_PREACT = ("gelu", "gelu_tanh")  # linear's activations whose backward needs the pre-activation


def kernel_table(kernels: Any, contiguous: Callable, empty_c: Callable, empty: Callable, empty_like: Callable,
                 zeros: Callable) -> dict[str, Callable]:
    """The op families' wrappers for one device, by name (WRAPPERS).

    kernels: the native module, its functions called with this device's arrays (nnx._C; nnx._cuda behind
    native.cuda.HandleArguments). contiguous(a): a, or a C-contiguous copy. empty_c(a): a fresh C-ordered array of
    a's shape and dtype on its device, for any a. empty(shape, dtype, like=a) and zeros(shape, dtype, like=a): fresh
    C-ordered arrays on a's device. empty_like(a): as empty_c, for an a known to be C-contiguous.
    """

    def optional_contiguous(array):
        return None if array is None else contiguous(array)

    # --- linear -------------------------------------------------------------------------------------------------------
    def linear_forward(x, weight, bias, activation="none", negative_slope=0.01):
        """(out, saved): out = act(x @ weight.T + bias); saved is what linear_backward needs."""
        x = contiguous(x)
        out = empty((x.shape[0], weight.shape[0]), x.dtype, like=x)
        preact = empty_like(out) if activation in _NEEDS_PREACT else None
        kernels.linear_forward(x, contiguous(weight), optional_contiguous(bias), out, activation, negative_slope,
                               preact)
        return out, (preact if preact is not None else out)

    def linear_backward(grad_out, x, weight, saved, activation, negative_slope, need_x, need_weight, need_bias):
        """(grad_x, grad_weight, grad_bias), None where not needed. grad_out is never modified."""
        grad_out = contiguous(grad_out)
        if activation == "none" and grad_out.flags.writeable:
            grad_preact = grad_out  # the kernel writes the values it already holds
        else:
            grad_preact = empty_like(grad_out)
        grad_x = empty_c(x) if need_x else None
        grad_weight = empty_c(weight) if need_weight else None
        grad_bias = empty((weight.shape[0],), weight.dtype, like=weight) if need_bias else None
        kernels.linear_backward(grad_out, contiguous(x), contiguous(weight), saved, grad_preact, grad_x, grad_weight,
                                grad_bias, activation, negative_slope)
        return grad_x, grad_weight, grad_bias

    # --- activations --------------------------------------------------------------------------------------------------
    def activation_forward(kind, x, negative_slope=0.01, beta=1.0, threshold=20.0, out=None):
        x = contiguous(x)
        if out is None:
            out = empty_like(x)
        kernels.activation_forward(kind, x, out, negative_slope, beta, threshold)
        return out

    def activation_backward(kind, grad_out, x, out, negative_slope=0.01, beta=1.0, threshold=20.0):
        """x and out C-contiguous (the forward's input made contiguous, its output)."""
        grad_out = contiguous(grad_out)
        grad_in = empty_like(grad_out)
        kernels.activation_backward(kind, grad_out, x, out, grad_in, negative_slope, beta, threshold)
        return grad_in

    # --- softmax (last axis) ------------------------------------------------------------------------------------------
    def softmax_forward(x, log=False):
        x = contiguous(x)
        out = empty_like(x)
        kernels.softmax_forward(x, out, log)
        return out

    def softmax_backward(grad_out, out, log=False):
        """out: the forward's output."""
        grad_out = contiguous(grad_out)
        grad_in = empty_like(grad_out)
        kernels.softmax_backward(grad_out, out, grad_in, log)
        return grad_in

    # --- losses -------------------------------------------------------------------------------------------------------
    def cross_entropy_forward(logits, target, reduction, ignore_index, label_smoothing, with_grad):
        """(loss, logsumexp, grad_logits or None); grad_logits is dloss/dlogits for an upstream gradient of 1."""
        logits, target = contiguous(logits), contiguous(target)
        rows = logits.shape[0]
        loss = empty(() if reduction != "none" else (rows,), logits.dtype, like=logits)
        logsumexp = empty((rows,), logits.dtype, like=logits)
        grad_logits = empty_like(logits) if with_grad else None
        kernels.cross_entropy_forward(logits, target, loss, logsumexp, grad_logits, reduction, ignore_index,
                                      label_smoothing)
        return loss, logsumexp, grad_logits

    # mse / l1 / bce-with-logits: input and target of one shape; extra options (pos_weight) pass through.
    def pointwise_loss_forward(name, input, target, reduction, **options):
        input, target = contiguous(input), contiguous(target)
        loss = empty((), input.dtype, like=input) if reduction != "none" else empty_like(input)
        getattr(kernels, name + "_forward")(input, target, loss, reduction, **options)
        return loss

    def pointwise_loss_backward(name, grad_loss, input, target, reduction, **options):
        grad_input = empty_c(input)
        getattr(kernels, name + "_backward")(contiguous(grad_loss), contiguous(input), contiguous(target), grad_input,
                                             reduction, **options)
        return grad_input

    # --- dropout ------------------------------------------------------------------------------------------------------
    def dropout_forward(x, p, seed, offset):
        """(out, mask) of inverted dropout drawn from Philox(seed, offset)."""
        x = contiguous(x)
        out = empty_like(x)
        mask = empty(x.shape, _UINT8, like=x)
        kernels.dropout_forward(x, out, mask, p, seed, offset)
        return out, mask

    def dropout_backward(grad_out, mask, p):
        """mask: dropout_forward's."""
        grad_out = contiguous(grad_out)
        grad_in = empty_like(grad_out)
        kernels.dropout_backward(grad_out, mask, grad_in, p)
        return grad_in

    # --- embedding ----------------------------------------------------------------------------------------------------
    def embedding_forward(weight, indices):
        indices = contiguous(indices)
        out = empty(indices.shape + (weight.shape[1],), weight.dtype, like=weight)
        kernels.embedding_forward(contiguous(weight), indices, out)
        return out

    def embedding_backward(grad_out, indices, num_embeddings, padding_idx):
        grad_weight = zeros((num_embeddings, grad_out.shape[-1]), grad_out.dtype, like=grad_out)
        kernels.embedding_backward(contiguous(grad_out), contiguous(indices), grad_weight, padding_idx)
        return grad_weight

    # --- normalization (batch_norm per channel of (N, C, *), layer_norm over (N, D) per row) ------------------------
    def batch_norm_forward(x, weight, bias, running_mean, running_var, training, momentum, eps, activation="none"):
        """(out, saved) for x (N, C, *) (the kernel sees (N, C) or (N, C, S)); running_mean/running_var (or None)
        are updated in place when training; activation "relu" fuses a relu into the output pass."""
        x = contiguous(x)
        shape = x.shape
        if x.ndim > 3:
            x = x.reshape(shape[0], shape[1], int(np.prod(shape[2:])))
        out = empty_like(x)
        channels = x.shape[1]
        save_mean, save_invstd = empty((channels,), x.dtype, like=x), empty((channels,), x.dtype, like=x)
        # The kernel writes the running statistics in place, so a strided one goes through a contiguous copy.
        stats = [None if s is None else contiguous(s) for s in (running_mean, running_var)]
        kernels.batch_norm_forward(x, optional_contiguous(weight), optional_contiguous(bias), *stats, out, save_mean,
                                   save_invstd, training, momentum, eps, activation)
        for target, written in zip((running_mean, running_var), stats):
            if written is not target:
                target[...] = written
        return out.reshape(shape), (x, save_mean, save_invstd, out if activation == "relu" else None)

    def batch_norm_backward(grad_out, weight, saved, training, need_x, need_weight, need_bias):
        """(grad_x, grad_weight, grad_bias), None where not needed; saved comes from batch_norm_forward."""
        x, save_mean, save_invstd, relu_out = saved
        channels = x.shape[1]
        grad_x = empty_like(x) if need_x else None
        grad_weight = empty((channels,), x.dtype, like=x) if need_weight else None
        grad_bias = empty((channels,), x.dtype, like=x) if need_bias else None
        shape = grad_out.shape
        kernels.batch_norm_backward(contiguous(grad_out).reshape(x.shape), x, optional_contiguous(weight), save_mean,
                                    save_invstd, grad_x, grad_weight, grad_bias, training, relu_out)
        return None if grad_x is None else grad_x.reshape(shape), grad_weight, grad_bias

    def layer_norm_forward(x, weight, bias, eps):
        """(out, saved) for x (N, D) normalised per row; weight and bias (D,) or None."""
        x = contiguous(x)
        out = empty_like(x)
        rows = x.shape[0]
        mean, rstd = empty((rows,), x.dtype, like=x), empty((rows,), x.dtype, like=x)
        kernels.layer_norm_forward(x, optional_contiguous(weight), optional_contiguous(bias), out, mean, rstd, eps)
        return out, (x, mean, rstd)

    def layer_norm_backward(grad_out, weight, saved, need_x, need_weight, need_bias):
        """(grad_x, grad_weight, grad_bias), None where not needed; saved comes from layer_norm_forward."""
        x, mean, rstd = saved
        grad_x = empty_like(x) if need_x else None
        grad_weight = empty((x.shape[1],), x.dtype, like=x) if need_weight else None
        grad_bias = empty((x.shape[1],), x.dtype, like=x) if need_bias else None
        kernels.layer_norm_backward(contiguous(grad_out), x, optional_contiguous(weight), mean, rstd, grad_x,
                                    grad_weight, grad_bias)
        return grad_x, grad_weight, grad_bias

    # --- max_pool2d (NCHW; parameters are (h, w) pairs, checked by ops.max_pool2d) --------------------------------
    def max_pool2d_forward(x, output_size, kernel_size, stride, padding, dilation, ceil_mode):
        """(out, argmax) of shape (N, C) + output_size; argmax: int64 flat indices within each (n, c) plane."""
        x = contiguous(x)
        shape = x.shape[:2] + tuple(output_size)
        out, argmax = empty(shape, x.dtype, like=x), empty(shape, _INT64, like=x)
        kernels.max_pool2d_forward(x, out, argmax, kernel_size, stride, padding, dilation, ceil_mode)
        return out, argmax

    def max_pool2d_backward(grad_out, argmax, input_shape, kernel_size, stride, padding, dilation, ceil_mode):
        """grad_input of shape input_shape (N, C, H, W); argmax: max_pool2d_forward's."""
        grad_out = contiguous(grad_out)
        grad_in = empty(tuple(input_shape), grad_out.dtype, like=grad_out)
        kernels.max_pool2d_backward(grad_out, argmax, grad_in, kernel_size, stride, padding, dilation, ceil_mode)
        return grad_in

    # --- avg_pool2d (NCHW; parameters are (h, w) pairs, checked by ops.avg_pool2d; divisor_override 0: none) --------
    def avg_pool2d_forward(x, output_size, kernel_size, stride, padding, ceil_mode, count_include_pad,
                           divisor_override):
        """out of shape (N, C) + output_size: the average of each window."""
        x = contiguous(x)
        out = empty(x.shape[:2] + tuple(output_size), x.dtype, like=x)
        kernels.avg_pool2d_forward(x, out, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                   divisor_override)
        return out

    def avg_pool2d_backward(grad_out, input_shape, kernel_size, stride, padding, ceil_mode, count_include_pad,
                            divisor_override):
        """grad_input of shape input_shape (N, C, H, W)."""
        grad_out = contiguous(grad_out)
        grad_in = empty(tuple(input_shape), grad_out.dtype, like=grad_out)
        kernels.avg_pool2d_backward(grad_out, grad_in, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                    divisor_override)
        return grad_in

    # --- adaptive_pool2d (NCHW; the output size (OH, OW) checked by ops.adaptive_pool2d) ------------------------------
    def adaptive_avg_pool2d_forward(x, output_size):
        """out of shape (N, C) + output_size: the average of each adaptive window."""
        x = contiguous(x)
        out = empty(x.shape[:2] + tuple(output_size), x.dtype, like=x)
        kernels.adaptive_avg_pool2d_forward(x, out)
        return out

    def adaptive_avg_pool2d_backward(grad_out, input_shape):
        """grad_input of shape input_shape (N, C, H, W)."""
        grad_out = contiguous(grad_out)
        grad_in = empty(tuple(input_shape), grad_out.dtype, like=grad_out)
        kernels.adaptive_avg_pool2d_backward(grad_out, grad_in)
        return grad_in

    def adaptive_max_pool2d_forward(x, output_size):
        """(out, argmax) of shape (N, C) + output_size; argmax: int64 flat indices within each (n, c) plane."""
        x = contiguous(x)
        shape = x.shape[:2] + tuple(output_size)
        out, argmax = empty(shape, x.dtype, like=x), empty(shape, _INT64, like=x)
        kernels.adaptive_max_pool2d_forward(x, out, argmax)
        return out, argmax

    def adaptive_max_pool2d_backward(grad_out, argmax, input_shape):
        """grad_input of shape input_shape (N, C, H, W); argmax: adaptive_max_pool2d_forward's."""
        grad_out = contiguous(grad_out)
        grad_in = empty(tuple(input_shape), grad_out.dtype, like=grad_out)
        kernels.adaptive_max_pool2d_backward(grad_out, argmax, grad_in)
        return grad_in

    # --- conv2d (NCHW; padding (top, bottom, left, right), the rest (h, w) pairs, checked by ops.conv2d) ------------
    def conv2d_forward(x, weight, bias, output_size, stride, padding, dilation, groups, activation="none",
                       negative_slope=0.01):
        """out of shape (N, O) + output_size: act(conv2d(x, weight) + bias) (bias may be None)."""
        x = contiguous(x)
        out = empty((x.shape[0], weight.shape[0]) + tuple(output_size), x.dtype, like=x)
        kernels.conv2d_forward(x, contiguous(weight), optional_contiguous(bias), out, stride, padding, dilation,
                               groups, activation, negative_slope)
        return out

    def conv2d_backward(grad_out, x, weight, stride, padding, dilation, groups, need_x, need_weight, need_bias,
                        out=None, activation="none", negative_slope=0.01):
        """(grad_x, grad_weight, grad_bias), None where not needed; out: the forward's, read with an activation."""
        x, weight = contiguous(x), contiguous(weight)
        grad_x = empty_like(x) if need_x else None
        grad_weight = empty_like(weight) if need_weight else None
        grad_bias = empty((weight.shape[0],), weight.dtype, like=weight) if need_bias else None
        kernels.conv2d_backward(contiguous(grad_out), x, weight, grad_x, grad_weight, grad_bias, stride, padding,
                                dilation, groups, out, activation, negative_slope)
        return grad_x, grad_weight, grad_bias

    # conv_transpose2d (weight (C_in, C_out/groups, KH, KW); padding, output_padding, stride, dilation (h, w) pairs)
    def conv_transpose2d_forward(x, weight, bias, output_size, stride, padding, output_padding, dilation, groups):
        """out of shape (N, C_out) + output_size: conv_transpose2d(x, weight) + bias (bias may be None)."""
        x = contiguous(x)
        out = empty((x.shape[0], weight.shape[1] * groups) + tuple(output_size), x.dtype, like=x)
        kernels.conv_transpose2d_forward(x, contiguous(weight), optional_contiguous(bias), out, stride, padding,
                                         output_padding, dilation, groups)
        return out

    def conv_transpose2d_backward(grad_out, x, weight, stride, padding, output_padding, dilation, groups, need_x,
                                  need_weight, need_bias):
        """(grad_x, grad_weight, grad_bias), None where not needed."""
        x, weight = contiguous(x), contiguous(weight)
        grad_x = empty_like(x) if need_x else None
        grad_weight = empty_like(weight) if need_weight else None
        grad_bias = empty((weight.shape[1] * groups,), weight.dtype, like=weight) if need_bias else None
        kernels.conv_transpose2d_backward(contiguous(grad_out), x, weight, grad_x, grad_weight, grad_bias, stride,
                                          padding, output_padding, dilation, groups)
        return grad_x, grad_weight, grad_bias

    # --- grid_sample (input NCHW, grid (N, OH, OW, 2); mode and padding_mode as torch's codes) ----------------------
    def grid_sample_forward(input, grid, mode, padding_mode, align_corners):
        """out (N, C, OH, OW): input sampled at grid."""
        input, grid = contiguous(input), contiguous(grid)
        out = empty(tuple(input.shape[:2]) + tuple(grid.shape[1:3]), input.dtype, like=input)
        kernels.grid_sample_forward(input, grid, out, mode, padding_mode, align_corners)
        return out

    def grid_sample_backward(grad_out, input, grid, mode, padding_mode, align_corners, need_input, need_grid):
        """(grad_input, grad_grid), None where not needed."""
        input, grid = contiguous(input), contiguous(grid)
        grad_input = empty_like(input) if need_input else None
        grad_grid = empty_like(grid) if need_grid else None
        kernels.grid_sample_backward(contiguous(grad_out), input, grid, grad_input, grad_grid, mode, padding_mode,
                                     align_corners)
        return grad_input, grad_grid

    # --- pad (reflect/replicate/circular on the last three axes of (B, D, H, W); checked by ops.pad) -----------------
    def pad_forward(x, padding, mode):
        """x (B, D, H, W) padded by padding (six ints in torch's order, the last axis first; negative ones crop)."""
        x = contiguous(x)
        shape = (x.shape[0], x.shape[1] + padding[4] + padding[5], x.shape[2] + padding[2] + padding[3],
                 x.shape[3] + padding[0] + padding[1])
        out = empty(shape, x.dtype, like=x)
        kernels.pad_forward(x, out, padding, mode)
        return out

    def pad_backward(grad_out, input_shape, padding, mode):
        """grad_in of shape input_shape (B, D, H, W): grad_out gathered back onto the elements it was read from."""
        grad_in = empty(tuple(input_shape), grad_out.dtype, like=grad_out)
        kernels.pad_backward(contiguous(grad_out), grad_in, padding, mode)
        return grad_in

    # --- interpolate (NCHW; scales (h, w), 0 where none was given; checked by ops.interpolate) ------------------------
    def interpolate_forward(x, output_size, mode, align_corners, scales):
        """x (N, C, H, W) resampled to (N, C) + output_size."""
        x = contiguous(x)
        out = empty(x.shape[:2] + tuple(output_size), x.dtype, like=x)
        kernels.interpolate_forward(x, out, mode, align_corners, *scales)
        return out

    def interpolate_backward(grad_out, input_shape, mode, align_corners, scales):
        """grad_input of shape input_shape (N, C, H, W)."""
        grad_out = contiguous(grad_out)
        grad_in = empty(tuple(input_shape), grad_out.dtype, like=grad_out)
        kernels.interpolate_backward(grad_out, grad_in, mode, align_corners, *scales)
        return grad_in

    # --- rnn ----------------------------------------------------------------------------------------------------------
    def gemm_into(a, b, out, trans_a=False, trans_b=False, beta=0.0):
        """out = op(a) @ op(b) + beta * out, in place in the caller's C-contiguous out (a and b made contiguous)."""
        kernels.gemm(contiguous(a), contiguous(b), out, trans_a, trans_b, 1.0, beta)
        return out

    wrappers = locals()
    table = {name: wrappers[name] for name in WRAPPERS if name not in OPTIMIZER_STEPS and name not in RNN_SEQUENCES}
    # optim: one native call per parameter group, the arrays updated in place.
    table.update((name, getattr(kernels, name)) for name in OPTIMIZER_STEPS)
    table.update((name, getattr(kernels, name)) for name in RNN_SEQUENCES)
    return table

