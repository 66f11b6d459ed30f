"""avg_pool2d family (avg_pool2d_forward: the average of each window; avg_pool2d_backward: grad_out / divisor spread
over each window): the float64 references from the definition (PyTorch's window, padding and divisor rules) and the
call specs."""
import numpy as np

import nnx.nn.functional as F
from ops.gradcheck import Functional
from ops.max_pool2d import output_size
from ops.spec import Call, Draw, poison, upstream_special, values

# (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override (0: none)), as (h, w) pairs: the
# classic 2x2, a padded 3x3/2 with and without the padding counted, ceil_mode windows that run past the padded input
# (whose extra cells never count), an asymmetric one with a divisor_override, a 1x1 kernel that skips elements, and
# a stride smaller than the kernel (overlapping windows) with a negative divisor_override.
CONFIGS = [((2, 2), (2, 2), (0, 0), False, True, 0),
           ((3, 3), (2, 2), (1, 1), False, True, 0),
           ((3, 3), (2, 2), (1, 1), True, False, 0),
           ((3, 3), (2, 2), (1, 1), True, True, 0),
           ((2, 3), (1, 2), (1, 0), True, True, 5),
           ((1, 1), (2, 2), (0, 0), False, True, 0),
           ((3, 2), (1, 1), (0, 1), True, False, -3)]


def _windows(H, W, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """Per output (oh, ow): (rows, cols, divisor) from the definition: the window's cells inside the padded input
    [-p, size + p) make up the count_include_pad divisor, its cells inside the input are averaged."""
    OH, OW = (output_size(s, k, st, p, 1, ceil_mode) for s, k, st, p in zip((H, W), kernel_size, stride, padding))
    for oh in range(OH):
        for ow in range(OW):
            axes = []
            for o, size, k, st, p in ((oh, H, kernel_size[0], stride[0], padding[0]),
                                      (ow, W, kernel_size[1], stride[1], padding[1])):
                cells = [o * st - p + i for i in range(k)]
                axes.append(([c for c in cells if -p <= c < size + p], [c for c in cells if 0 <= c < size]))
            (padded_h, rows), (padded_w, cols) = axes
            divisor = divisor_override or (len(padded_h) * len(padded_w) if count_include_pad else
                                           len(rows) * len(cols))
            yield oh, ow, rows, cols, divisor


def reference_forward(x, *config):
    """out of x (N, C, H, W) in float64."""
    x = np.asarray(x, dtype=np.float64)
    N, C, H, W = x.shape
    OH, OW = (output_size(s, k, st, p, 1, config[3]) for s, k, st, p in zip((H, W), *config[:3]))
    out = np.empty((N, C, OH, OW))
    for oh, ow, rows, cols, divisor in _windows(H, W, *config):
        out[:, :, oh, ow] = x[:, :, rows][:, :, :, cols].sum(axis=(2, 3)) / divisor
    return out


def reference_backward(grad_out, input_shape, *config):
    """grad_out / divisor added over each window, per (n, c) plane (float64)."""
    grad = np.zeros(input_shape)
    grad_out = np.asarray(grad_out, dtype=np.float64)
    for oh, ow, rows, cols, divisor in _windows(*input_shape[2:], *config):
        grad[:, :, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] += (grad_out[:, :, oh, ow] / divisor)[:, :, None, None]
    return grad


def _input_shape(dims, config):
    """(N, C, H, W) from the drawn sizes, H and W raised so that the output has at least one element."""
    kernel, _, padding = config[:3]
    hw = [max(size, kernel[a] - 2 * padding[a], 1) for a, size in enumerate(dims[2:4])]
    return (dims[0], dims[1], *hw)


_INVALID = {"kernel_size": [(0, 2), (2, -1)], "stride": [(0, 1), (1, -2)], "padding": [(-1, 0), (0, 9)]}
_NAMES = ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"]


def avg_pool2d_forward(rng, dtype, dims, special, fixed=None):
    config = CONFIGS[Draw(rng, fixed)("config", range(len(CONFIGS)))]
    x = values(rng, _input_shape(dims, config), dtype, special)
    out = reference_forward(x, *config)
    return Call("avg_pool2d_forward", ["x", "out", *_NAMES], [x, poison(out.shape, dtype), *config],
                {"x": "in", "out": "out"}, {"out": out}, invalid_scalars=_INVALID, scale=4.0)


def avg_pool2d_backward(rng, dtype, dims, special, fixed=None):
    config = CONFIGS[Draw(rng, fixed)("config", range(len(CONFIGS)))]
    shape = _input_shape(dims, config)
    out_shape = reference_forward(np.zeros(shape), *config).shape
    grad_out = values(rng, out_shape, dtype, upstream_special(special))
    return Call("avg_pool2d_backward", ["grad_out", "grad_in", *_NAMES], [grad_out, poison(shape, dtype), *config],
                {"grad_out": "in", "grad_in": "out"}, {"grad_in": reference_backward(grad_out, shape, *config)},
                invalid_scalars=_INVALID, scale=4.0)


SPECS = {"avg_pool2d_forward": avg_pool2d_forward, "avg_pool2d_backward": avg_pool2d_backward}
AXES = {kernel: {"config": tuple(range(len(CONFIGS)))} for kernel in SPECS}
# (N, C, H, W): one plane, odd sizes, a single row or column, and 512 planes of 8x8 (above the OpenMP threshold).
SIZES = [(1, 1, 1, 1), (2, 3, 7, 5), (1, 2, 1, 9), (3, 1, 10, 1), (8, 64, 8, 8)]

# ---- functional wrappers (nnx.nn.functional), gradient-checked by test_functional_gradients.py -----------------


def _functional(config, batched):
    kernel, stride, padding, ceil_mode, count_include_pad, divisor = config

    def function(x):
        return F.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor or None)

    def reference(x):
        out = reference_forward(x if batched else x[None], *config)
        return out if batched else out[0]

    return function, reference


FUNCTIONAL = [Functional(f"avg_pool2d-config{i}-{'NCHW' if batched else 'CHW'}", *_functional(CONFIGS[i], batched),
                         ((2, 3, 7, 6) if batched else (3, 7, 6),))
              for i, batched in ((0, True), (2, True), (3, False), (4, True), (6, True))]
