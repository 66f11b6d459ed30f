"""interpolate family (interpolate_forward: nearest / nearest-exact / bilinear resampling of NCHW planes;
interpolate_backward: its input gradient): the float64 references, written from PyTorch's source-index formulas
(each output reads at most four inputs; the backward adds each output's weighted gradient into them), and the call
specs; F.interpolate gradient-checked through the same reference."""
import math

import numpy as np

import nnx.nn.functional as F
from ops.gradcheck import Functional
from ops.spec import Call, Draw, poison, upstream_special, values

# (mode, align_corners, scale factors (h, w) or None: the size given): nearest by a size, by 2 (PyTorch's shortcut)
# and by uneven factors (down on one axis); nearest-exact by a size and by factors; bilinear by a size, by factors
# (the source index from 1 / factor), with align_corners, and by a factor below 1.
CONFIGS = [("nearest", False, None), ("nearest", False, (2.0, 2.0)), ("nearest", False, (0.5, 1.7)),
           ("nearest-exact", False, None), ("nearest-exact", False, (1.5, 0.75)),
           ("bilinear", False, None), ("bilinear", False, (2.0, 3.0)), ("bilinear", True, None),
           ("bilinear", False, (0.6, 1.3))]


def source(mode, align_corners, n_in, n_out, scale, dtype=np.float64):
    """(i0, i1, l0, l1) per output index along one axis, PyTorch's formulas: nearest floor(o * s) with s a float32
    (2x: o // 2), nearest-exact floor(float32((o + 0.5) * s)), linear area_pixel_compute_source_index and
    guard_index_and_lambda in the data's `dtype` as PyTorch (and the kernel) compute them: in float32,
    fma(float32(1 / 3), 1.5, -0.5) is 1.5e-8, not 0, so an infinite input next to that output gives inf, not
    0 * inf = NaN; a same-size axis is copied."""
    o = np.arange(n_out)
    if n_out == n_in:
        return o, o, np.ones(n_out), np.zeros(n_out)
    if mode != "bilinear":
        s = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
        if mode == "nearest":
            index = o // 2 if n_out == 2 * n_in else np.floor(o.astype(np.float32) * s).astype(np.int64)
        else:
            index = np.floor(((o + 0.5) * np.float64(s)).astype(np.float32)).astype(np.int64)
        index = np.minimum(index, n_in - 1)
        return index, index, np.ones(n_out), np.zeros(n_out)
    T = np.dtype(dtype).type
    if align_corners:
        real = o.astype(T) * (T(n_in - 1) / T(n_out - 1) if n_out > 1 else T(0))
    else:
        s = T(1.0 / scale) if scale else T(n_in) / T(n_out)
        # s * (o + 0.5) - 0.5 as one fused multiply-add (compilers contract it; PyTorch's build does too): the
        # product exact in a wider type, one rounding to T
        wide = np.float64 if T is np.float32 else np.longdouble
        real = np.maximum((wide(s) * (o.astype(wide) + wide(0.5)) - wide(0.5)).astype(T), T(0))
    i0 = np.minimum(np.floor(real.astype(np.float32)).astype(np.int64), n_in - 1)
    lam = np.clip(real - i0.astype(T), T(0), T(1))
    return i0, i0 + (i0 < n_in - 1), (T(1) - lam).astype(np.float64), lam.astype(np.float64)


def output_hw(shape, dims, config):
    _, _, scales = config
    if scales is None:  # OH drawn; OW up (odd OH) or down (even OH) from W
        return max(dims[4], 1), (2 * shape[3] + 1 if dims[4] % 2 else max(shape[3] // 2, 1))
    return tuple(math.floor(n * s) for n, s in zip(shape[2:], scales))


def reference_forward(x, out_hw, mode, align_corners, scales):
    """interpolate in float64: out = lh0 (lw0 x[h0, w0] + lw1 x[h0, w1]) + lh1 (...) (nearest: x[h0, w0])."""
    dtype, x = np.asarray(x).dtype, np.asarray(x, np.float64)
    h0, h1, lh0, lh1 = source(mode, align_corners, x.shape[2], out_hw[0], scales[0], dtype)
    w0, w1, lw0, lw1 = source(mode, align_corners, x.shape[3], out_hw[1], scales[1], dtype)
    if mode != "bilinear":
        return x[:, :, h0][:, :, :, w0]
    with np.errstate(all="ignore"):
        def rows(h):
            return lw0 * x[:, :, h][:, :, :, w0] + lw1 * x[:, :, h][:, :, :, w1]
        return lh0[:, None] * rows(h0) + lh1[:, None] * rows(h1)


def reference_backward(grad_out, in_hw, mode, align_corners, scales):
    """grad_in in float64: each output's gradient added into the inputs it read, times their weights."""
    dtype, grad_out = np.asarray(grad_out).dtype, np.asarray(grad_out, np.float64)
    N, C, OH, OW = grad_out.shape
    h0, h1, lh0, lh1 = source(mode, align_corners, in_hw[0], OH, scales[0], dtype)
    w0, w1, lw0, lw1 = source(mode, align_corners, in_hw[1], OW, scales[1], dtype)
    grad = np.zeros((N, C) + tuple(in_hw))
    with np.errstate(all="ignore"):
        corners = [(h0, w0, lh0, lw0)] if mode != "bilinear" else [(h0, w0, lh0, lw0), (h0, w1, lh0, lw1),
                                                                     (h1, w0, lh1, lw0), (h1, w1, lh1, lw1)]
        for hs, ws, lh, lw in corners:
            hh, ww = np.meshgrid(hs, ws, indexing="ij")
            np.add.at(grad, (slice(None), slice(None), hh, ww), grad_out * (lh[:, None] * lw[None, :]))
    return grad


def _shapes(dims, config):
    """x (N, C, H, W) from the drawn sizes (N, C, H, W, OH), raised so that a scaled output is >= 1."""
    _, _, scales = config
    hw = [max(dims[2 + a], 1) for a in range(2)]
    if scales is not None:
        hw = [max(n, math.ceil(1 / s)) for n, s in zip(hw, scales)]
        hw = [n + 1 if math.floor(n * s) < 1 else n for n, s in zip(hw, scales)]
    return (dims[0], max(dims[1], 1), *hw)


_INVALID = {"mode": ["area", "Nearest"], "scale_h": [-1.0, math.nan], "scale_w": [math.inf, -0.5]}


def interpolate_forward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    config = CONFIGS[draw("config", range(len(CONFIGS)))]
    mode, align_corners, scales = config
    x_shape = _shapes(dims, config)
    out_hw = output_hw(x_shape, dims, config)
    x = values(rng, x_shape, dtype, special)
    given = scales or (0.0, 0.0)
    out = reference_forward(x, out_hw, mode, align_corners, given)
    return Call("interpolate_forward", ["x", "out", "mode", "align_corners", "scale_h", "scale_w"],
                [x, poison(out.shape, dtype), mode, align_corners, *given], {"x": "in", "out": "out"}, {"out": out},
                invalid_scalars=_INVALID, scale=4.0)


def interpolate_backward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    config = CONFIGS[draw("config", range(len(CONFIGS)))]
    mode, align_corners, scales = config
    x_shape = _shapes(dims, config)
    out_hw = output_hw(x_shape, dims, config)
    given = scales or (0.0, 0.0)
    grad_out = values(rng, x_shape[:2] + out_hw, dtype, upstream_special(special))
    expected = reference_backward(grad_out, x_shape[2:], mode, align_corners, given)
    terms = max(math.ceil(out_hw[0] / x_shape[2]) + 1, 1) * max(math.ceil(out_hw[1] / x_shape[3]) + 1, 1)
    return Call("interpolate_backward", ["grad_out", "grad_in", "mode", "align_corners", "scale_h", "scale_w"],
                [grad_out, poison(x_shape, dtype), mode, align_corners, *given], {"grad_out": "in", "grad_in": "out"},
                {"grad_in": expected}, invalid_scalars=_INVALID, scale=4.0 * terms)


SPECS = {"interpolate_forward": interpolate_forward, "interpolate_backward": interpolate_backward}
AXES = {"interpolate_forward": {"config": tuple(range(len(CONFIGS)))},
        "interpolate_backward": {"config": tuple(range(len(CONFIGS)))}}
# (N, C, H, W, OH; OW from W: output_hw): one element, odd up- and downsampling, a single row, no images, and
# planes above the OpenMP threshold.
SIZES = [(1, 1, 1, 1, 1), (2, 3, 5, 4, 9), (1, 2, 1, 7, 3), (3, 1, 8, 6, 4), (0, 2, 3, 3, 5), (4, 8, 16, 16, 31)]

# ---- functional wrappers (nnx.nn.functional), gradient-checked by test_functional_gradients.py -----------------


def _functional(size, scale_factor, mode, align_corners, **options):
    def function(x):
        return F.interpolate(x, size, scale_factor, mode, align_corners, **options)

    def reference(x):
        if x.ndim == 3:
            return reference(x[:, :, None, :])[:, :, 0, :]
        factors = (scale_factor,) * 2 if isinstance(scale_factor, float) else scale_factor
        out_hw = size if size is not None else tuple(math.floor(n * f) for n, f in zip(x.shape[2:], factors))
        scales = (0.0, 0.0) if size is not None or options.get("recompute_scale_factor") else factors
        return reference_forward(x, out_hw, "bilinear" if mode == "linear" else mode, bool(align_corners), scales)

    return function, reference


FUNCTIONAL = [
    Functional("interpolate-nearest-scale2", *_functional(None, 2.0, "nearest", None), ((2, 3, 3, 4),)),
    Functional("interpolate-nearest-exact-size", *_functional((5, 3), None, "nearest-exact", None), ((1, 2, 3, 4),)),
    Functional("interpolate-bilinear-scale", *_functional(None, (1.5, 2.5), "bilinear", False), ((1, 2, 4, 3),)),
    Functional("interpolate-bilinear-align-corners", *_functional((6, 5), None, "bilinear", True), ((2, 1, 3, 4),)),
    Functional("interpolate-bilinear-recompute", *_functional(None, 0.6, "bilinear", False,
                                                              recompute_scale_factor=True), ((1, 2, 5, 6),)),
    Functional("interpolate-linear-3d", *_functional(None, 2.5, "linear", False), ((2, 3, 4),)),
]
