"""pad family (pad_forward / pad_backward: reflect, replicate, circular padding of the last three axes of
(B, D, H, W)): the float64 references from PyTorch's definitions (each output coordinate's source per axis, the
backward a scatter-add of grad_out onto those sources), the call specs, and F.pad's gradient checks (constant mode
included)."""
import numpy as np

import nnx.nn.functional as F
from ops.gradcheck import Functional
from ops.spec import Call, Draw, poison, upstream_special, values

MODES = ("reflect", "replicate", "circular")


def source_index(size, before, after, mode):
    """The input coordinate each output coordinate of one axis reads, as PyTorch defines the mode: reflect mirrors
    around the edges without repeating them, replicate clamps, circular crops (negative padding) and then wraps."""
    o = np.arange(size + before + after)
    if mode == "reflect":
        i = np.abs(o - before)
        return np.where(i >= size, 2 * (size - 1) - i, i)
    if mode == "replicate":
        return np.clip(o - before, 0, size - 1)
    crop = max(-before, 0)
    kept = size - crop - max(-after, 0)
    return crop + (o - max(before, 0)) % max(kept, 1)


def _axes(shape, padding, mode):
    """Index arrays of the padded (B, D, H, W) output into x, for np.ix_."""
    B, D, H, W = shape
    return (np.arange(B), source_index(D, padding[4], padding[5], mode), source_index(H, padding[2], padding[3], mode),
            source_index(W, padding[0], padding[1], mode))


def reference_forward(x, padding, mode):
    x = np.asarray(x, np.float64)
    return x[np.ix_(*_axes(x.shape, padding, mode))]


def reference_backward(grad_out, shape, padding, mode):
    """Each output element's gradient added onto the input element it read."""
    grad_in = np.zeros(shape)
    index = np.ix_(*_axes(shape, padding, mode))
    np.add.at(grad_in, tuple(np.broadcast_to(i, grad_out.shape) for i in index), np.asarray(grad_out, np.float64))
    return grad_in


# Wanted padding (w_before, w_after, h_before, h_after, d_before, d_after) per mode: symmetric, asymmetric,
# negative (cropping) and all three axes; _fit trims them to what the drawn sizes allow.
CONFIGS = [("reflect", (1, 1, 0, 0, 0, 0)), ("reflect", (2, 1, 1, 3, 0, 0)), ("reflect", (-1, 2, 3, -1, 1, 1)),
           ("replicate", (3, 0, 1, 1, 0, 0)), ("replicate", (2, -1, -2, 5, 1, 0)), ("replicate", (1, 2, 1, 1, 2, 1)),
           ("circular", (1, 1, 1, 1, 0, 0)), ("circular", (2, -1, -1, 3, 1, 1)), ("circular", (0, 3, 2, 0, 0, 0))]


def _fit(size, before, after, mode):
    """(before, after) trimmed to the mode's rule for an axis of `size` (core/pad.h's PadAxis)."""
    if size == 0:
        return 0, 0
    if mode == "reflect":
        before, after = min(before, size - 1), min(after, size - 1)
    # the crops leave at least one element
    before = max(before, -(size - 1))
    after = max(after, -(size - 1 - max(-before, 0)))
    if mode == "circular":
        kept = size - max(-before, 0) - max(-after, 0)
        before, after = min(before, kept), min(after, kept)
    return before, after


def _geometry(draw, dims):
    mode, wanted = CONFIGS[draw("config", range(len(CONFIGS)))]
    shape = tuple(dims[:4])
    padding = []
    for axis, size in zip((3, 2, 1), shape[:0:-1]):
        padding += _fit(size, wanted[2 * (3 - axis)], wanted[2 * (3 - axis) + 1], mode)
    return mode, shape, tuple(padding)


def _out_shape(shape, padding):
    return (shape[0], shape[1] + padding[4] + padding[5], shape[2] + padding[2] + padding[3],
            shape[3] + padding[0] + padding[1])


_INVALID = {"mode": ["constant", "bogus", 3], "padding": [(10**6,) * 6]}


def pad_forward(rng, dtype, dims, special, fixed=None):
    mode, shape, padding = _geometry(Draw(rng, fixed), dims)
    x = values(rng, shape, dtype, special)
    out = reference_forward(x, padding, mode)
    return Call("pad_forward", ["x", "out", "padding", "mode"], [x, poison(out.shape, dtype), padding, mode],
                {"x": "in", "out": "out"}, {"out": out}, invalid_scalars=_INVALID)


def pad_backward(rng, dtype, dims, special, fixed=None):
    mode, shape, padding = _geometry(Draw(rng, fixed), dims)
    grad_out = values(rng, _out_shape(shape, padding), dtype, upstream_special(special))
    grad_in = reference_backward(grad_out, shape, padding, mode)
    most = max(padding + (0,)) + 1  # replicate's edge sums that many values per axis
    return Call("pad_backward", ["grad_out", "grad_in", "padding", "mode"],
                [grad_out, poison(shape, dtype), padding, mode], {"grad_out": "in", "grad_in": "out"},
                {"grad_in": grad_in}, invalid_scalars=_INVALID, scale=most ** 3)


SPECS = {"pad_forward": pad_forward, "pad_backward": pad_backward}
AXES = {"pad_forward": {"config": tuple(range(len(CONFIGS)))}, "pad_backward": {"config": tuple(range(len(CONFIGS)))}}
# (B, D, H, W): one element per axis, odd sizes, a single row or column, sizes the wanted padding exceeds, and a
# batch above the OpenMP threshold.
SIZES = [(1, 1, 1, 1), (2, 3, 4, 5), (1, 1, 7, 9), (3, 2, 1, 6), (2, 4, 2, 1), (40, 2, 21, 23)]


# ---- functional wrappers (nnx.nn.functional), gradient-checked by test_functional_gradients.py -----------------
def _reference_pad(x, pad, mode, value=0.0):
    """F.pad's value in float64: constant by slicing into a filled array (crop first), the other modes through the
    (B, D, H, W) reference."""
    x = np.asarray(x, np.float64)
    count = len(pad) // 2
    if mode == "constant":
        out = x
        for j in range(count):
            axis, before, after = x.ndim - 1 - j, pad[2 * j], pad[2 * j + 1]
            out = np.take(out, range(max(-before, 0), out.shape[axis] - max(-after, 0)), axis=axis)
            widths = [(0, 0)] * x.ndim
            widths[axis] = (max(before, 0), max(after, 0))
            out = np.pad(out, widths, constant_values=value)
        return out
    lead, trailing = x.shape[:x.ndim - count], x.shape[x.ndim - count:]
    view = (int(np.prod(lead)),) + (1,) * (3 - count) + trailing
    out = reference_forward(x.reshape(view), tuple(pad) + (0,) * (6 - len(pad)), mode)
    return out.reshape(lead + out.shape[4 - count:])


def _functional(name, shape, pad, mode, value=None):
    return Functional(f"pad-{name}", lambda x: F.pad(x, pad, mode, value),
                      lambda x: _reference_pad(x, pad, mode, 0.0 if value is None else value), (shape,))


FUNCTIONAL = [
    _functional("constant", (2, 3, 4), (1, -1, 2, 0), "constant", 0.5),
    _functional("constant-4-dims", (2, 2, 3, 2), (0, 1, 1, 0, 0, 2, 1, 1), "constant"),
    _functional("reflect-2d", (2, 2, 4, 5), (2, 1, -1, 3), "reflect"),
    _functional("reflect-1d-unbatched", (3, 5), (3, 4), "reflect"),
    _functional("replicate-1d", (2, 2, 4), (3, -1), "replicate"),
    _functional("replicate-3d", (1, 2, 2, 3, 3), (1, 0, 2, 1, 1, 2), "replicate"),
    _functional("circular-3d", (2, 3, 4, 3), (1, -1, 2, 1, -1, 1), "circular"),
]
