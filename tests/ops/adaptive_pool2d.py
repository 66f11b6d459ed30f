"""adaptive_pool2d family (adaptive_avg_pool2d_forward/backward: the average of each adaptive window and its
gradient; adaptive_max_pool2d_forward/backward: the max and argmax of each window, the gradient sent to the argmax):
the float64 references from PyTorch's window rule (rows [floor(i * H / OH), ceil((i + 1) * H / OH)), NaN and tie
rules as max_pool2d's) and the call specs. The output size is a parameter of the builders (OUTPUTS), read by the
kernels from the output arrays."""
import math

import numpy as np

import nnx.nn.functional as F
from ops.gradcheck import Functional
from ops.spec import Call, Draw, poison, upstream_special, values

# (OH, OW), or None per entry for the input's size: the global pooling of a ResNet head, sizes that divide or not
# (overlapping windows), an output larger than the input along an axis, and an empty output.
OUTPUTS = [(1, 1), (2, 3), (3, None), (5, 2), (0, 2)]


def _windows(size, out):
    return [(i * size // out, math.ceil((i + 1) * size / out)) for i in range(out)]


def _output_hw(shape, output):
    return tuple(size if o is None else o for o, size in zip(output, shape[2:]))


def reference_avg_forward(x, output):
    x = np.asarray(x, dtype=np.float64)
    OH, OW = _output_hw(x.shape, output)
    out = np.empty(x.shape[:2] + (OH, OW))
    for i, (h0, h1) in enumerate(_windows(x.shape[2], OH)):
        for j, (w0, w1) in enumerate(_windows(x.shape[3], OW)):
            out[:, :, i, j] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) / ((h1 - h0) * (w1 - w0))
    return out


def reference_avg_backward(grad_out, input_shape):
    grad = np.zeros(input_shape)
    grad_out = np.asarray(grad_out, dtype=np.float64)
    for i, (h0, h1) in enumerate(_windows(input_shape[2], grad_out.shape[2])):
        for j, (w0, w1) in enumerate(_windows(input_shape[3], grad_out.shape[3])):
            grad[:, :, h0:h1, w0:w1] += (grad_out[:, :, i, j] / ((h1 - h0) * (w1 - w0)))[:, :, None, None]
    return grad


def reference_max_forward(x, output):
    """(out, argmax) in float64: per window its elements in row-major order; the last NaN wins, else the first
    maximum (a window of only -inf gives its first element)."""
    x = np.asarray(x, dtype=np.float64)
    N, C, H, W = x.shape
    OH, OW = _output_hw(x.shape, output)
    planes = x.reshape(N * C, H * W)
    out, argmax = np.empty((N * C, OH, OW)), np.empty((N * C, OH, OW), np.int64)
    for i, (h0, h1) in enumerate(_windows(H, OH)):
        for j, (w0, w1) in enumerate(_windows(W, OW)):
            flat = np.array([h * W + w for h in range(h0, h1) for w in range(w0, w1)], np.int64)
            window = planes[:, flat]
            nan = np.isnan(window)
            largest = np.where(nan, -np.inf, window).max(axis=1)
            first_max = np.argmax(window == largest[:, None], axis=1)
            last_nan = window.shape[1] - 1 - np.argmax(nan[:, ::-1], axis=1)
            pick = np.where(nan.any(axis=1), last_nan, first_max)
            out[:, i, j] = window[np.arange(N * C), pick]
            argmax[:, i, j] = flat[pick]
    return out.reshape(N, C, OH, OW), argmax.reshape(N, C, OH, OW)


def reference_max_backward(grad_out, argmax, input_shape):
    """grad_out added at the flat positions argmax points at, per (n, c) plane (float64)."""
    N, C, H, W = input_shape
    grad = np.zeros((N * C, H * W))
    rows = np.repeat(np.arange(N * C), argmax[0, 0].size if argmax.size else 0)
    np.add.at(grad, (rows, argmax.reshape(-1)), grad_out.reshape(-1).astype(np.float64))
    return grad.reshape(input_shape)


def _input_shape(dims):
    """(N, C, H, W) from the drawn sizes (padded with ones by the runners), H and W at least 1 (PyTorch refuses
    empty planes; N and C may be 0)."""
    return (dims[0], dims[1], max(dims[2], 1), max(dims[3], 1))


def _output(rng, fixed):
    """The drawn output size (OUTPUTS' entry)."""
    return OUTPUTS[Draw(rng, fixed)("output", range(len(OUTPUTS)))]


def adaptive_avg_pool2d_forward(rng, dtype, dims, special, fixed=None):
    output = _output(rng, fixed)
    dims = _input_shape(dims)
    x = values(rng, dims, dtype, special)
    out = reference_avg_forward(x, output)
    return Call("adaptive_avg_pool2d_forward", ["x", "out"], [x, poison(out.shape, dtype)],
                {"x": "in", "out": "out"}, {"out": out}, scale=4.0)


def adaptive_avg_pool2d_backward(rng, dtype, dims, special, fixed=None):
    output = _output(rng, fixed)
    dims = _input_shape(dims)
    grad_out = values(rng, dims[:2] + _output_hw(dims, output), dtype, upstream_special(special))
    return Call("adaptive_avg_pool2d_backward", ["grad_out", "grad_in"], [grad_out, poison(dims, dtype)],
                {"grad_out": "in", "grad_in": "out"}, {"grad_in": reference_avg_backward(grad_out, dims)}, scale=4.0)


def adaptive_max_pool2d_forward(rng, dtype, dims, special, fixed=None):
    output = _output(rng, fixed)
    dims = _input_shape(dims)
    x = values(rng, dims, dtype, special)
    out, argmax = reference_max_forward(x, output)
    return Call("adaptive_max_pool2d_forward", ["x", "out", "argmax"],
                [x, poison(out.shape, dtype), poison(out.shape, np.int64)],
                {"x": "in", "out": "out", "argmax": "out"}, {"out": out, "argmax": argmax})


def adaptive_max_pool2d_backward(rng, dtype, dims, special, fixed=None):
    output = _output(rng, fixed)
    dims = _input_shape(dims)
    _, argmax = reference_max_forward(values(rng, dims, np.float64), output)
    grad_out = values(rng, argmax.shape, dtype, upstream_special(special))
    return Call("adaptive_max_pool2d_backward", ["grad_out", "argmax", "grad_in"],
                [grad_out, argmax, poison(dims, dtype)], {"grad_out": "in", "argmax": "in", "grad_in": "out"},
                {"grad_in": reference_max_backward(grad_out, argmax, dims)}, scale=4.0)


SPECS = {"adaptive_avg_pool2d_forward": adaptive_avg_pool2d_forward,
         "adaptive_avg_pool2d_backward": adaptive_avg_pool2d_backward,
         "adaptive_max_pool2d_forward": adaptive_max_pool2d_forward,
         "adaptive_max_pool2d_backward": adaptive_max_pool2d_backward}
AXES = {kernel: {"output": tuple(range(len(OUTPUTS)))} for kernel in SPECS}
# (N, C, H, W): one plane, odd sizes, a single row or column, 512 planes of 7x7 (a ResNet head's global pooling,
# above the OpenMP threshold) and an empty batch.
SIZES = [(1, 1, 1, 1), (2, 3, 7, 5), (1, 2, 1, 9), (3, 1, 10, 1), (8, 64, 7, 7), (0, 2, 4, 4)]

# ---- functional wrappers (nnx.nn.functional), gradient-checked by test_functional_gradients.py -----------------


def _functional(kind, output, batched):
    def function(x):
        if kind == "avg":
            return F.adaptive_avg_pool2d(x, output)
        return F.adaptive_max_pool2d(x, output)

    def reference(x):
        x4 = x if batched else x[None]
        out = reference_avg_forward(x4, output) if kind == "avg" else reference_max_forward(x4, output)[0]
        return out if batched else out[0]

    return function, reference


FUNCTIONAL = [Functional(f"adaptive_{kind}_pool2d-{output[0]}x{output[1]}-{'NCHW' if batched else 'CHW'}",
                         *_functional(kind, output, batched), ((2, 3, 7, 6) if batched else (3, 7, 6),))
              for kind, output, batched in (("avg", (1, 1), True), ("avg", (3, None), True), ("avg", (5, 2), False),
                                            ("max", (1, 1), True), ("max", (2, 3), True), ("max", (5, 2), False))]
