"""max_pool2d family (max_pool2d_forward: max and argmax of each window; max_pool2d_backward: grad_out summed into
the elements argmax points at): the float64 references (PyTorch's window, NaN and tie rules) and the call specs."""
import numpy as np

import nnx.nn.functional as F
from ops.gradcheck import Functional
from ops.spec import Call, Draw, poison, upstream_special, values

# (kernel_size, stride, padding, dilation, ceil_mode), as (h, w) pairs: the classic 2x2, ResNet's stem pooling with
# and without ceil_mode, asymmetric ones with dilation whose ceil_mode drops or keeps a last partial window, and a
# 1x1 kernel that skips elements.
CONFIGS = [((2, 2), (2, 2), (0, 0), (1, 1), False),
           ((3, 3), (2, 2), (1, 1), (1, 1), False),
           ((3, 3), (2, 2), (1, 1), (1, 1), True),
           ((2, 3), (1, 2), (1, 0), (2, 1), True),
           ((3, 2), (3, 1), (0, 1), (1, 2), True),
           ((1, 1), (2, 2), (0, 0), (1, 1), False)]


def output_size(size, kernel, stride, pad, dilation, ceil_mode):
    """PyTorch's pooling_output_shape."""
    out = (size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def reference_forward(x, kernel_size, stride, padding, dilation, ceil_mode):
    """(out, argmax) of x (N, C, H, W) in float64: per window its in-bounds elements in row-major order; the last
    NaN wins, else the first maximum (a window of only -inf gives its first element)."""
    x = np.asarray(x, dtype=np.float64)
    N, C, H, W = x.shape
    OH, OW = (output_size(s, k, st, p, d, ceil_mode)
              for s, k, st, p, d in zip((H, W), kernel_size, stride, padding, dilation))
    planes = x.reshape(N * C, H * W)
    out, argmax = np.empty((N * C, OH * OW)), np.empty((N * C, OH * OW), np.int64)
    for oh in range(OH):
        for ow in range(OW):
            hs = [oh * stride[0] - padding[0] + i * dilation[0] for i in range(kernel_size[0])]
            ws = [ow * stride[1] - padding[1] + j * dilation[1] for j in range(kernel_size[1])]
            flat = np.array([h * W + w for h in hs if 0 <= h < H for w in ws if 0 <= w < W], np.int64)
            if not flat.size:  # a window all in the padding (dilation): -inf at its first position >= 0, as PyTorch
                h0, w0 = (start + -(-max(-start, 0) // d) * d for start, d in zip((hs[0], ws[0]), dilation))
                out[:, oh * OW + ow], argmax[:, oh * OW + ow] = -np.inf, h0 * W + w0
                continue
            window = planes[:, flat]
            nan = np.isnan(window)
            largest = np.where(nan, -np.inf, window).max(axis=1, initial=-np.inf)
            first_max = np.argmax(window == largest[:, None], axis=1)
            last_nan = window.shape[1] - 1 - np.argmax(nan[:, ::-1], axis=1)
            pick = np.where(nan.any(axis=1), last_nan, first_max)
            out[:, oh * OW + ow] = window[np.arange(N * C), pick]
            argmax[:, oh * OW + ow] = flat[pick]
    return out.reshape(N, C, OH, OW), argmax.reshape(N, C, OH, OW)


def reference_backward(grad_out, argmax, input_shape):
    """grad_out added at the flat positions argmax points at, per (n, c) plane (float64)."""
    N, C, H, W = input_shape
    grad = np.zeros((N * C, H * W))
    rows = np.repeat(np.arange(N * C), argmax[0, 0].size if argmax.size else 0)
    flat = argmax.reshape(-1)
    inside = (flat >= 0) & (flat < H * W)  # an all-padding window's argmax is outside its plane: it adds nothing
    np.add.at(grad, (rows[inside], flat[inside]), grad_out.reshape(-1)[inside].astype(np.float64))
    return grad.reshape(input_shape)


def _input_shape(dims, config):
    """(N, C, H, W) from the drawn sizes, H and W raised so that the output has at least one element."""
    kernel, _, padding, dilation, _ = config
    hw = [max(size, dilation[a] * (kernel[a] - 1) + 1 - 2 * padding[a], 1) for a, size in enumerate(dims[2:4])]
    return (dims[0], dims[1], *hw)


_INVALID = {"kernel_size": [(0, 2), (2, -1)], "stride": [(0, 1), (1, -2)], "padding": [(-1, 0), (0, 9)],
            "dilation": [(0, 1)]}


def max_pool2d_forward(rng, dtype, dims, special, fixed=None):
    config = CONFIGS[Draw(rng, fixed)("config", range(len(CONFIGS)))]
    shape = _input_shape(dims, config)
    x = values(rng, shape, dtype, special)
    out, argmax = reference_forward(x, *config)
    return Call("max_pool2d_forward", ["x", "out", "argmax", "kernel_size", "stride", "padding", "dilation",
                                       "ceil_mode"],
                [x, poison(out.shape, dtype), poison(out.shape, np.int64), *config],
                {"x": "in", "out": "out", "argmax": "out"}, {"out": out, "argmax": argmax},
                invalid_scalars=_INVALID)


def max_pool2d_backward(rng, dtype, dims, special, fixed=None):
    config = CONFIGS[Draw(rng, fixed)("config", range(len(CONFIGS)))]
    shape = _input_shape(dims, config)
    _, argmax = reference_forward(values(rng, shape, np.float64), *config)
    grad_out = values(rng, argmax.shape, dtype, upstream_special(special))
    return Call("max_pool2d_backward", ["grad_out", "argmax", "grad_in", "kernel_size", "stride", "padding",
                                        "dilation", "ceil_mode"],
                [grad_out, argmax, poison(shape, dtype), *config],
                {"grad_out": "in", "argmax": "in", "grad_in": "out"},
                {"grad_in": reference_backward(grad_out, argmax, shape)}, invalid_scalars=_INVALID, scale=4.0)


SPECS = {"max_pool2d_forward": max_pool2d_forward, "max_pool2d_backward": max_pool2d_backward}
AXES = {kernel: {"config": tuple(range(len(CONFIGS)))} for kernel in SPECS}
# (N, C, H, W): one plane, odd sizes, a single row or column, and 512 planes of 8x8 (above the OpenMP threshold for
# the 3x3 configs).
SIZES = [(1, 1, 1, 1), (2, 3, 7, 5), (1, 2, 1, 9), (3, 1, 10, 1), (8, 64, 8, 8)]

# ---- functional wrappers (nnx.nn.functional), gradient-checked by test_functional_gradients.py -----------------


def _functional(config, batched):
    kernel, stride, padding, dilation, ceil_mode = config

    def function(x):
        return F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)

    def reference(x):
        out = reference_forward(x if batched else x[None], *config)[0]
        return out if batched else out[0]

    return function, reference


FUNCTIONAL = [Functional(f"max_pool2d-config{i}-{'NCHW' if batched else 'CHW'}", *_functional(CONFIGS[i], batched),
                         ((2, 3, 7, 6) if batched else (3, 7, 6),))
              for i, batched in ((0, True), (2, True), (3, True), (4, False))]
