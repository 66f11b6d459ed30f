"""pixel_shuffle and pixel_unshuffle (PyTorch's sub-pixel rearrangements): no kernels of their own, a reshape, a
permute and a reshape of the Tensor, so autograd runs through the shape ops' backward rules (views where NumPy
gives one). Channel c * r * r + i * r + j of the input goes to output channel c at (h * r + i, w * r + j)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from ._checks import check_tensor


def _factor(value: Any, argument: str, function: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{function}(): argument '{argument}' must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{function}(): {argument} must be greater than 0, got {value}")
    return int(value)


def _shape(input: Tensor, function: str) -> tuple[int, ...]:
    check_tensor(input, "input", function)
    shape = tuple(input.shape)
    if len(shape) < 3:
        raise ValueError(f"{function}(): expects input to have at least 3 dimensions, but got input with "
                         f"{len(shape)} dimension(s)")
    return shape


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r) with r = upscale_factor, as torch.nn.functional.pixel_shuffle."""
    r = _factor(upscale_factor, "upscale_factor", "pixel_shuffle")
    shape = _shape(input, "pixel_shuffle")
    *batch, channels, height, width = shape
    if channels % (r * r):
        raise ValueError(f"pixel_shuffle(): expects its input's 'channel' dimension to be divisible by the square of "
                         f"upscale_factor, but input.size(-3)={channels} is not divisible by {r * r}")
    c, lead = channels // (r * r), len(batch)
    split = input.reshape(tuple(batch) + (c, r, r, height, width))
    # (*, C, r_h, r_w, H, W) -> (*, C, H, r_h, W, r_w): each row h is followed by its r sub-rows, each column alike.
    order = tuple(range(lead)) + tuple(lead + axis for axis in (0, 3, 1, 4, 2))
    return split.permute(order).reshape(tuple(batch) + (c, height * r, width * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W) with r = downscale_factor, the inverse of pixel_shuffle, as
    torch.nn.functional.pixel_unshuffle."""
    r = _factor(downscale_factor, "downscale_factor", "pixel_unshuffle")
    shape = _shape(input, "pixel_unshuffle")
    *batch, channels, height, width = shape
    for name, size, axis in (("height", height, -2), ("width", width, -1)):
        if size % r:
            raise ValueError(f"pixel_unshuffle(): expects {name} to be divisible by downscale_factor, but "
                             f"input.size({axis})={size} is not divisible by {r}")
    h, w, lead = height // r, width // r, len(batch)
    split = input.reshape(tuple(batch) + (channels, h, r, w, r))
    # (*, C, H, r_h, W, r_w) -> (*, C, r_h, r_w, H, W)
    order = tuple(range(lead)) + tuple(lead + axis for axis in (0, 2, 4, 1, 3))
    return split.permute(order).reshape(tuple(batch) + (channels * r * r, h, w))
