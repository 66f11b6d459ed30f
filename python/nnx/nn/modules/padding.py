"""Padding layers, as torch.nn's: ConstantPad1d/2d, ZeroPad1d/2d, ReflectionPad1d/2d, ReplicationPad1d/2d and
CircularPad1d/2d (F.pad with a fixed padding and mode). padding is an int (every side) or a tuple (left, right) /
(left, right, top, bottom); negative values crop."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import functional as F
from ..module import Module

if TYPE_CHECKING:
    from ...tensor import Tensor


def _padding(padding: Any, sides: int) -> tuple[int, ...]:
    """An int repeated on every side, or a tuple of `sides` ints."""
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        return (int(padding),) * sides
    items = tuple(padding) if isinstance(padding, (tuple, list)) else None
    if items is None or len(items) != sides or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                                                   for v in items):
        raise TypeError(f"padding must be an int or a tuple of {sides} ints, got {padding!r}")
    return tuple(int(v) for v in items)


class _PadNd(Module):
    """F.pad(input, self.padding, mode) with the padding fixed at construction."""

    mode = "constant"
    sides = 2

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__()
        self.padding = _padding(padding, self.sides)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    """Pads with a constant value (any float)."""

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dimension of (C, W) or (N, C, W) input with `value`: padding int or (left, right)."""


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two dimensions of (C, H, W) or (N, C, H, W) input with `value`: padding int or (left, right,
    top, bottom)."""

    sides = 4


class ZeroPad1d(ConstantPad1d):
    """Pads the last dimension with zeros: padding int or (left, right)."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pads the last two dimensions with zeros: padding int or (left, right, top, bottom)."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Pads the last dimension of (C, W) or (N, C, W) input with its reflection (the edge not repeated; padding
    smaller than W): padding int or (left, right)."""

    mode = "reflect"


class ReflectionPad2d(_PadNd):
    """Pads the last two dimensions of (C, H, W) or (N, C, H, W) input with their reflection: padding int or (left,
    right, top, bottom), each smaller than the dimension it pads."""

    mode, sides = "reflect", 4


class ReplicationPad1d(_PadNd):
    """Pads the last dimension of (C, W) or (N, C, W) input by repeating its edge values: padding int or (left,
    right)."""

    mode = "replicate"


class ReplicationPad2d(_PadNd):
    """Pads the last two dimensions of (C, H, W) or (N, C, H, W) input by repeating their edge values: padding int
    or (left, right, top, bottom)."""

    mode, sides = "replicate", 4


class CircularPad1d(_PadNd):
    """Pads the last dimension of (C, W) or (N, C, W) input by wrapping around: padding int or (left, right)."""

    mode = "circular"


class CircularPad2d(_PadNd):
    """Pads the last two dimensions of (C, H, W) or (N, C, H, W) input by wrapping around: padding int or (left,
    right, top, bottom)."""

    mode, sides = "circular", 4
