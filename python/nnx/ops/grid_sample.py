"""grid_sample family: sampling 4-D (N, C, H, W) input at a grid (N, OH, OW, 2) of (x, y) coordinates in [-1, 1]
(PyTorch's grid_sample: bilinear or nearest, zeros/border/reflection padding, align_corners) natively, forward and
backward to both the input and the grid; and affine_grid, the grid of a batch of 2x3 affine matrices, as a small
batched matmul over Tensors (autograd gives theta its gradient)."""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import native
from ..autograd import Function
from ..tensor import Tensor
from ._checks import check_float, check_tensor, host_data_on_device_of
from ._common import Array

if TYPE_CHECKING:
    from collections.abc import Sequence

# torch's GridSamplerInterpolation / GridSamplerPadding codes (csrc/core/grid_sample.h).
MODES = {"bilinear": 0, "nearest": 1}
PADDING_MODES = {"zeros": 0, "border": 1, "reflection": 2}

_DEFAULT_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                    "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                    "grid_sample for details.")


class GridSampleFunction(Function):
    """grid_sample over (N, C, H, W) input and an (N, OH, OW, 2) grid; mode and padding as torch's codes."""

    saved_inputs, saves_output = (0, 1), False

    @staticmethod
    def forward(ctx: Any, input: Array, grid: Array, mode: int, padding_mode: int, align_corners: bool) -> Array:
        kernels = native.for_array(input)
        if not kernels.is_native_float(input):
            raise TypeError(f"grid_sample(): input must have dtype float32 or float64, got {input.dtype}")
        out = kernels.grid_sample_forward(input, grid, mode, padding_mode, align_corners)
        if ctx.needs_input_grad:
            ctx.input, ctx.grid, ctx.params = input, grid, (mode, padding_mode, align_corners)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        need_input, need_grid = (tuple(ctx.needs_input_grad) + (False,) * 2)[:2]
        grads = native.for_array(grad).grid_sample_backward(grad, ctx.input, ctx.grid, *ctx.params, need_input,
                                                            need_grid)
        return (*grads, None, None, None)


def _align_corners(align_corners: Any, function: str) -> bool:
    if align_corners is None:
        warnings.warn(_DEFAULT_WARNING, UserWarning, stacklevel=3)
        return False
    if not isinstance(align_corners, (bool, np.bool_)):
        raise TypeError(f"{function}(): argument 'align_corners' must be a bool or None, got "
                        f"{type(align_corners).__name__}")
    return bool(align_corners)


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """input (N, C, H, W) sampled at grid (N, OH, OW, 2), whose last axis holds (x, y) in [-1, 1] (x along W; -1 the
    left/top, 1 the right/bottom): output (N, C, OH, OW), as torch.nn.functional.grid_sample for 4-D input.
    mode: 'bilinear' or 'nearest' (round half to even); padding_mode for points outside: 'zeros', 'border' (the
    edge pixel) or 'reflection' (mirrored at the borders); align_corners: -1 and 1 are the corner pixels' centres
    (True) or their outer edges (False; None means False, with PyTorch's warning). Differentiable with respect to
    input and grid (the grid's gradient is 0 in the nearest mode)."""
    if mode not in MODES:
        if mode == "bicubic":
            raise NotImplementedError("grid_sample(): mode 'bicubic' is not supported; use 'bilinear' or 'nearest'")
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but "
                         f"got: '{mode}'")
    if padding_mode not in PADDING_MODES:
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    corners = _align_corners(align_corners, "grid_sample")
    check_float(input, "input", "grid_sample")
    check_float(grid, "grid", "grid_sample")
    x, g = input._data, grid._data
    if g.dtype != x.dtype:
        raise TypeError(f"grid_sample(): argument 'grid' must have the dtype of input ({x.dtype}), got {g.dtype}")
    if x.ndim != 4:
        raise ValueError("grid_sample(): argument 'input' must be 4-D (N, C, H, W) (5-D volumes are not supported), "
                         f"got shape {tuple(x.shape)}")
    if g.ndim != 4:
        raise ValueError(f"grid_sample(): argument 'grid' must be 4-D (N, H_out, W_out, 2), got shape "
                         f"{tuple(g.shape)}")
    if g.shape[0] != x.shape[0]:
        raise ValueError("grid_sample(): expected grid and input to have same batch size, but got input with sizes "
                         f"{list(x.shape)} and grid with sizes {list(g.shape)}")
    if g.shape[3] != 2:
        raise ValueError("grid_sample(): expected grid to have size 2 in last dimension, but got grid with sizes "
                         f"{list(g.shape)}")
    for axis in (2, 3):
        if x.shape[axis] == 0:
            raise ValueError("grid_sample(): expected input to have non-empty spatial dimensions, but input has "
                             f"sizes {list(x.shape)} with dimension {axis} being empty")
    return GridSampleFunction.apply(input, grid, MODES[mode], PADDING_MODES[padding_mode], corners)


def _linspace(steps: int, align_corners: bool) -> np.ndarray:
    """PyTorch's linspace_from_neg_one: `steps` points over [-1, 1], shrunk by (steps - 1) / steps when the corners
    are not aligned (the pixels' centres); a single point is 0."""
    if steps <= 1:
        return np.zeros(max(steps, 0))
    points = np.linspace(-1.0, 1.0, steps)
    return points if align_corners else points * ((steps - 1) / steps)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """The sampling grid (N, H, W, 2) of a batch of affine matrices theta (N, 2, 3) for an output of size (N, C, H,
    W), as torch.nn.functional.affine_grid (4-D sizes): grid[n, h, w] = theta[n] @ (x_w, y_h, 1) with x and y over
    [-1, 1] (the pixels' centres when align_corners is False; None means False, with PyTorch's warning).
    Differentiable with respect to theta (a batched matmul of Tensors)."""
    corners = _align_corners(align_corners, "affine_grid")
    check_tensor(theta, "theta", "affine_grid")
    if theta._data.dtype.kind != "f":
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    try:
        dims = tuple(int(v) for v in size)
    except TypeError:
        raise TypeError(f"affine_grid(): argument 'size' must be a sequence of ints, got {size!r}") from None
    if len(dims) != 4:
        raise NotImplementedError("affine_grid only supports 4D sizes, for 2D affine transforms (3D ones are not "
                                  f"supported). Got size {tuple(size)}.")
    if tuple(theta.shape[1:]) != (2, 3) or theta.ndim != 3:
        raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {tuple(size)}. Got "
                         f"{tuple(theta.shape)}.")
    if min(dims) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {tuple(size)}")
    if theta.shape[0] != dims[0]:
        raise ValueError(f"affine_grid(): theta holds {theta.shape[0]} matrices but size asks for a batch of "
                         f"{dims[0]}")
    if corners and min(dims[2:]) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", UserWarning, stacklevel=2)
    N, _, H, W = dims
    base = np.empty((H, W, 3))
    base[..., 0] = _linspace(W, corners)[None, :]
    base[..., 1] = _linspace(H, corners)[:, None]
    base[..., 2] = 1.0
    points = Tensor._wrap(host_data_on_device_of(base.reshape(1, H * W, 3).astype(theta._data.dtype), theta))
    grid = points @ theta.transpose(1, 2)  # (1, HW, 3) @ (N, 3, 2) broadcasts to (N, HW, 2)
    return grid.reshape((N, H, W, 2))
