"""grid_sample family (grid_sample_forward: input sampled at a grid; grid_sample_backward: grad_input, grad_grid):
the float64 references, written from the definition (PyTorch's unnormalize, border clip and reflection as a
periodic fold, then the four bilinear corners or the nearest pixel; np.add.at scatters the input's gradient), and
the call specs; F.grid_sample and F.affine_grid gradient-checked through the same reference."""
import numpy as np

import nnx.nn.functional as F
from ops.gradcheck import Functional
from ops.spec import Call, Draw, poison, upstream_special, values

MODES = {"bilinear": 0, "nearest": 1}
PADDINGS = {"zeros": 0, "border": 1, "reflection": 2}
# (mode, padding_mode, align_corners): every combination.
CONFIGS = [(mode, padding, corners) for mode in MODES for padding in PADDINGS for corners in (False, True)]


def source_index(coord, size, padding, align_corners):
    """Pixel coordinates of grid coordinates along an axis of `size` pixels, and their derivatives; a coordinate
    that is not finite (or beyond the int range) is -100, out of bounds."""
    coord = np.asarray(coord, np.float64)
    with np.errstate(all="ignore"):
        if align_corners:
            index, slope = (coord + 1) / 2 * (size - 1), np.full(coord.shape, (size - 1) / 2)
        else:
            index, slope = ((coord + 1) * size - 1) / 2, np.full(coord.shape, size / 2)
        if padding == "reflection":
            low, high = (0.0, size - 1.0) if align_corners else (-0.5, size - 0.5)
            span = high - low
            if span == 0:
                index, slope = np.zeros(coord.shape), np.zeros(coord.shape)
            else:
                offset = index - low
                folded = np.mod(np.abs(offset), 2 * span)  # the reflection is periodic with period 2 * span
                back = folded > span
                index = low + np.where(back, 2 * span - folded, folded)
                slope = slope * np.where(offset < 0, -1.0, 1.0) * np.where(back, -1.0, 1.0)
        if padding in ("border", "reflection"):
            inside = (index > 0) & (index < size - 1)  # PyTorch: no gradient on or beyond the borders
            slope = np.where(inside, slope, 0.0)
            index = np.clip(index, 0, size - 1)
        bad = ~np.isfinite(index) | (index > 2147483646.0) | (index < -2147483648.0)
    return np.where(bad, -100.0, index), slope


def _corners(ix, iy, mode):
    """[(h, w, weight, d weight/d ix, d weight/d iy)] of each point's bilinear corners (nearest: the one pixel)."""
    if mode == "nearest":
        one, zero = np.ones(ix.shape), np.zeros(ix.shape)
        return [(np.rint(iy), np.rint(ix), one, zero, zero)]
    x0, y0 = np.floor(ix), np.floor(iy)
    fx, fy = ix - x0, iy - y0
    return [(y0, x0, (1 - fx) * (1 - fy), -(1 - fy), -(1 - fx)),
            (y0, x0 + 1, fx * (1 - fy), 1 - fy, -fx),
            (y0 + 1, x0, (1 - fx) * fy, -fy, 1 - fx),
            (y0 + 1, x0 + 1, fx * fy, fy, fx)]


def _points(input, grid, mode, padding, align_corners):
    N, C, H, W = input.shape
    ix, gx = source_index(grid[..., 0], W, padding, align_corners)
    iy, gy = source_index(grid[..., 1], H, padding, align_corners)
    corners = []
    for h, w, weight, d_ix, d_iy in _corners(ix, iy, mode):
        valid = (h >= 0) & (h < H) & (w >= 0) & (w < W)
        corners.append((np.where(valid, h, 0).astype(np.int64), np.where(valid, w, 0).astype(np.int64), valid,
                        weight, d_ix, d_iy))
    return corners, gx, gy


def _read(input, h, w, valid):
    """input[n, :, h[n, i, j], w[n, i, j]] as (N, C, OH, OW), 0 where not valid."""
    n = np.arange(input.shape[0])[:, None, None]
    return np.where(valid[:, None], np.moveaxis(input[n, :, h, w], -1, 1), 0.0)


def reference_forward(input, grid, mode, padding, align_corners):
    """grid_sample in float64: the weighted sum of the in-bounds corners (a corner outside reads nothing)."""
    input, grid = np.asarray(input, np.float64), np.asarray(grid, np.float64)
    N, C = input.shape[:2]
    out = np.zeros((N, C) + grid.shape[1:3])
    corners, _, _ = _points(input, grid, mode, padding, align_corners)
    with np.errstate(all="ignore"):
        for h, w, valid, weight, _, _ in corners:
            out += np.where(valid[:, None], _read(input, h, w, valid) * weight[:, None], 0.0)
    return out


def reference_backward(grad_out, input, grid, mode, padding, align_corners):
    """{grad_input, grad_grid} of grid_sample in float64: grad_out scattered to the corners times their weights;
    the corners' values times the weights' derivatives, summed over channels, times d(pixel)/d(grid)."""
    grad_out, input = np.asarray(grad_out, np.float64), np.asarray(input, np.float64)
    grid = np.asarray(grid, np.float64)
    N, C = input.shape[:2]
    grad_input, d_ix, d_iy = np.zeros(input.shape), np.zeros(grid.shape[:3]), np.zeros(grid.shape[:3])
    corners, gx, gy = _points(input, grid, mode, padding, align_corners)
    n = np.broadcast_to(np.arange(N)[:, None, None], grid.shape[:3])
    with np.errstate(all="ignore"):
        for h, w, valid, weight, dw_ix, dw_iy in corners:
            contribution = grad_out * weight[:, None]  # (N, C, OH, OW)
            for c in range(C):
                np.add.at(grad_input[:, c], (n[valid], h[valid], w[valid]), contribution[:, c][valid])
            values_times_grad = np.where(valid, (_read(input, h, w, valid) * grad_out).sum(axis=1), 0.0)
            d_ix += values_times_grad * dw_ix
            d_iy += values_times_grad * dw_iy
        grad_grid = np.stack([gx * d_ix, gy * d_iy], axis=-1)
    if mode == "nearest":
        grad_grid = np.zeros(grid.shape)
    return {"grad_input": grad_input, "grad_grid": grad_grid}


def _shapes(dims):
    """input (N, C, H, W) and grid (N, OH, OW, 2) from the drawn sizes (N, C, H, W, OH); H and W at least 1."""
    N, C, H, W, OH = dims
    return (N, C, max(H, 1), max(W, 1)), (N, OH, max(H, 1) + 1, 2)


_INVALID = {"mode": [-1, 2], "padding_mode": [-1, 3]}


def _grid(rng, shape, dtype, special, hw, align_corners):
    """Grid values in [-1.6, 1.6] (some outside the image), none within 0.01 pixel of a multiple of half a pixel:
    there the sampled function has kinks (cell boundaries, nearest's ties, the borders' and reflections' folds),
    and the kernel's float32 coordinate may fall on the other side than the float64 reference's, which changes the
    grid's gradient by O(1). Non-finite values (special) are kept."""
    grid = values(rng, shape, dtype, special, low=-1.6, high=1.6)
    for axis, size in ((0, hw[1]), (1, hw[0])):
        if align_corners and size == 1:
            continue  # every coordinate is pixel 0 and the gradient's factor (size - 1) / 2 is 0
        column = grid[..., axis]  # a view: redrawn entries land in grid
        for _ in range(100):
            coord = column.astype(np.float64)
            with np.errstate(invalid="ignore"):
                pixel = (coord + 1) / 2 * (size - 1) if align_corners else ((coord + 1) * size - 1) / 2
                near = np.isfinite(pixel) & (np.abs(2 * pixel - np.round(2 * pixel)) < 0.02)
            if not near.any():
                break
            column[near] = rng.uniform(-1.6, 1.6, int(near.sum())).astype(dtype)
    return grid


def grid_sample_forward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    mode, padding, corners = CONFIGS[draw("config", range(len(CONFIGS)))]
    input_shape, grid_shape = _shapes(dims)
    input = values(rng, input_shape, dtype, special)
    grid = _grid(rng, grid_shape, dtype, special, input_shape[2:], corners)
    out = reference_forward(input, grid, mode, padding, corners)
    return Call("grid_sample_forward", ["input", "grid", "out", "mode", "padding_mode", "align_corners"],
                [input, grid, poison(out.shape, dtype), MODES[mode], PADDINGS[padding], corners],
                {"input": "in", "grid": "in", "out": "out"}, {"out": out}, invalid_scalars=_INVALID, scale=4)


_NEEDS = {"all": ("grad_input", "grad_grid"), "input": ("grad_input",), "grid": ("grad_grid",)}


def grid_sample_backward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    mode, padding, corners = CONFIGS[draw("config", range(len(CONFIGS)))]
    needs = _NEEDS[draw("needs", tuple(_NEEDS))]
    input_shape, grid_shape = _shapes(dims)
    input = values(rng, input_shape, dtype)
    grid = _grid(rng, grid_shape, dtype, special, input_shape[2:], corners)
    grad_out = values(rng, input_shape[:2] + grid_shape[1:3], dtype, upstream_special(special))
    expected = {name: value for name, value in
                reference_backward(grad_out, input, grid, mode, padding, corners).items() if name in needs}
    grads = {name: poison(shape, dtype) if name in needs else None
             for name, shape in (("grad_input", input_shape), ("grad_grid", grid_shape))}
    # A cell gathers from every point near it; grad_grid's terms are scaled by the plane's size over 2.
    terms = max(grid_shape[1] * grid_shape[2], 4 * input_shape[1], 1) * max(input_shape[2:])
    return Call("grid_sample_backward", ["grad_out", "input", "grid", "grad_input", "grad_grid", "mode",
                                         "padding_mode", "align_corners"],
                [grad_out, input, grid, grads["grad_input"], grads["grad_grid"], MODES[mode], PADDINGS[padding],
                 corners],
                {"grad_out": "in", "input": "in", "grid": "in", "grad_input": "opt_out", "grad_grid": "opt_out"},
                expected, invalid_scalars=_INVALID, scale=terms)


SPECS = {"grid_sample_forward": grid_sample_forward, "grid_sample_backward": grid_sample_backward}
AXES = {"grid_sample_forward": {"config": tuple(range(len(CONFIGS)))},
        "grid_sample_backward": {"config": tuple(range(len(CONFIGS))), "needs": tuple(_NEEDS)}}
# (N, C, H, W, OH): one element, odd sizes, a single row or column, a grid larger than the input, and enough points
# for the OpenMP threshold.
SIZES = [(1, 1, 1, 1, 1), (2, 3, 7, 5, 2), (1, 2, 1, 9, 3), (3, 1, 10, 1, 4), (2, 2, 6, 5, 11), (4, 8, 20, 24, 30)]

# ---- functional wrappers (nnx.nn.functional), gradient-checked by test_functional_gradients.py -----------------


def _functional(mode, padding, corners):
    def function(input, grid):
        return F.grid_sample(input, grid, mode, padding, corners)

    def reference(input, grid):
        return reference_forward(input, grid, mode, padding, corners)

    return function, reference


def _affine_reference(theta, size, corners):
    N, _, H, W = size

    def points(steps):
        if steps <= 1:
            return np.zeros(steps)
        return np.linspace(-1.0, 1.0, steps) * (1.0 if corners else (steps - 1) / steps)

    base = np.stack(np.broadcast_arrays(points(W)[None, :], points(H)[:, None], np.ones((1, 1))), axis=-1)
    return np.einsum("hwk,njk->nhwj", base, theta)


def _sample_affine(theta, input):
    grid = F.affine_grid(theta, tuple(input.shape[:2]) + (3, 4), align_corners=False)
    return F.grid_sample(input, grid, "bilinear", "reflection", align_corners=False)


def _sample_affine_reference(theta, input):
    grid = _affine_reference(theta, tuple(input.shape[:2]) + (3, 4), False)
    return reference_forward(input, grid, "bilinear", "reflection", False)


FUNCTIONAL = [
    Functional("grid_sample-bilinear-zeros", *_functional("bilinear", "zeros", False), ((2, 3, 4, 5), (2, 3, 2, 2)),
               low=-0.9, high=0.9),
    Functional("grid_sample-bilinear-border-corners", *_functional("bilinear", "border", True),
               ((1, 2, 3, 4), (1, 2, 3, 2)), low=-0.9, high=0.9),
    Functional("grid_sample-bilinear-reflection", *_functional("bilinear", "reflection", False),
               ((2, 2, 5, 3), (2, 4, 2, 2)), low=-0.9, high=0.9),
    Functional("affine_grid", lambda theta: F.affine_grid(theta, (2, 1, 3, 4), align_corners=True),
               lambda theta: _affine_reference(theta, (2, 1, 3, 4), True), ((2, 2, 3),)),
    Functional("affine_grid-grid_sample", _sample_affine, _sample_affine_reference, ((1, 2, 3), (1, 2, 4, 3)),
               low=-0.6, high=0.6),
]
