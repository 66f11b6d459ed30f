"""Stride arithmetic of NumPy's views, in elements, for arrays that hold only metadata on the host (the CUDA arrays):
contiguity, C-order strides, and the strides that view an array in a new shape without copying."""
from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["contiguous_strides", "is_contiguous", "reshape_strides"]


def is_contiguous(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """Whether shape/strides lay the elements out in C order (size-1 axes and empty arrays: any strides)."""
    expected = 1
    for n, s in zip(reversed(tuple(shape)), reversed(tuple(strides))):
        if n == 0:
            return True  # an empty array is contiguous whatever its strides (as DeviceArray.is_contiguous)
        if n != 1 and s != expected:
            return False
        expected *= n
    return True


def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    """C-order strides of shape."""
    out, step = [], 1
    for n in reversed(tuple(shape)):
        out.append(step)
        step *= max(n, 1)
    return tuple(reversed(out))


def reshape_strides(shape: Sequence[int], strides: Sequence[int], new_shape: Sequence[int]) -> tuple[int, ...] | None:
    """Strides (in elements) that view `shape`/`strides` as new_shape without copying, or None (NumPy's
    _attempt_nocopy_reshape: each group of old axes that maps onto a group of new axes must be contiguous)."""
    if math.prod(new_shape) == 0 or is_contiguous(shape, strides):
        return contiguous_strides(new_shape)
    old = [(n, s) for n, s in zip(shape, strides) if n != 1]
    new = list(new_shape)
    new_strides = [0] * len(new)
    oi, ni = 0, 0
    while oi < len(old) and ni < len(new):
        old_end, new_end = oi + 1, ni + 1
        old_size, new_size = old[oi][0], new[ni]
        while old_size != new_size:
            if new_size < old_size:
                new_size *= new[new_end]
                new_end += 1
            else:
                old_size *= old[old_end][0]
                old_end += 1
        for k in range(oi, old_end - 1):  # the old group must be contiguous in itself
            if old[k][1] != old[k + 1][0] * old[k + 1][1]:
                return None
        new_strides[new_end - 1] = old[old_end - 1][1]
        for k in range(new_end - 1, ni, -1):
            new_strides[k - 1] = new_strides[k] * new[k]
        oi, ni = old_end, new_end
    for k in range(ni, len(new)):  # trailing size-1 axes
        new_strides[k] = 1
    return tuple(new_strides)
