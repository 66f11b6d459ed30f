"""nnx.vision.augment's sampling helpers: the sampling grid of a batch of homographies, and the exact paths that
copy whole pixels (per-image selection, the dihedral symmetries) where the float grid would blur by an ulp."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ops._checks import host_data_on_device_of
from ..ops.grid_sample import affine_grid
from ..tensor import Tensor, where

_EYE = np.eye(3)


def _sampling_grid(total: np.ndarray, fallback: np.ndarray, size: tuple[int, int], align_corners: bool,
                   dtype: Any) -> np.ndarray:
    """(n, OH, OW, 2) grid: each homography applied to the output coordinates (affine_grid's, x along W), divided by
    the depth; an image whose warp sends a point to depth <= 0 falls back to its affine part (as fastai)."""
    theta = Tensor._wrap(np.array([[[1.0, 0, 0], [0, 1, 0]]]))
    base = affine_grid(theta, (1, 1) + tuple(size), align_corners=align_corners).numpy()[0]
    xs, ys = base[None, :1, :, 0], base[None, :, :1, 1]  # (1, 1, OW) and (1, OH, 1)

    def row(m, k):
        return m[:, k, 0, None, None] * xs + m[:, k, 1, None, None] * ys + m[:, k, 2, None, None]

    grid = np.empty((len(total),) + tuple(size) + (2,), dtype)
    if np.all(total[:, 2] == _EYE[2]):  # no perspective: no division
        grid[..., 0], grid[..., 1] = row(total, 0), row(total, 1)
        return grid
    depth = row(total, 2)
    flat = np.any(depth <= 0, axis=(1, 2))
    total = np.where(flat[:, None, None], fallback, total)
    depth = np.where(flat[:, None, None], 1.0, depth)
    grid[..., 0], grid[..., 1] = row(total, 0) / depth, row(total, 1) / depth
    return grid


def _where_images(flags: np.ndarray, chosen: Tensor, out: Tensor) -> Tensor:
    """out with the images whose flag is set taken from chosen (exactly)."""
    if not flags.any():
        return out
    if flags.all():
        return chosen
    mask = Tensor._wrap(host_data_on_device_of(flags.reshape(-1, 1, 1, 1), out))
    return where(mask, chosen, out)


def _exact_dihedral(t: Tensor, total: np.ndarray, out: Tensor) -> Tensor:
    """out with every image whose homography is one of the 8 dihedral symmetries (the identity, flips, and on a
    square image the transposes and quarter turns) replaced by the permuted input itself: whole pixels move, so
    these (flip twice included) are exact, where the float grid's rounding would blur them by an ulp."""
    signed = np.all(np.isin(total[:, :2, :2], (-1.0, 0.0, 1.0)), axis=(1, 2)) & np.all(total[:, :2, 2] == 0, axis=1) \
        & np.all(total[:, 2] == _EYE[2], axis=1) & (np.abs(total[:, :2, :2]).sum(axis=(1, 2)) == 2)
    square = t.shape[2] == t.shape[3]
    for key in {tuple(total[i, :2, :2].ravel()) for i in np.flatnonzero(signed)}:
        a, b, c, d = key
        if a == 0 and not square:
            continue
        # src = T @ out: without swap, a < 0 flips x (W) and d < 0 flips y (H); with a swap, the transpose t' has
        # t'[y, x] = t[x, y] and b, c give the flips of its rows and columns.
        source, flip_y, flip_x = (t, d < 0, a < 0) if a != 0 else (t.transpose(2, 3), b < 0, c < 0)
        dims = [2] * bool(flip_y) + [3] * bool(flip_x)
        chosen = source.flip(dims) if dims else source
        flags = signed & np.all(total[:, :2, :2].reshape(len(total), 4) == np.array(key), axis=1)
        out = _where_images(flags, chosen.contiguous(), out)
    return out
