"""Indexing CudaArrays with NumPy's rules: basic indices give views, integer and boolean arrays gather.

Basic indexing (ints, slices, None, Ellipsis) is resolved by NumPy on a dummy array (cuda_array.view_like).
Advanced indexing turns every index array into one linear index over the indexed axes, then runs one
gather (index_select), scatter (put_along) or scatter-add (index_add) over an (outer, length, inner) view.
Host index arrays are bounds-checked on the host (NumPy's IndexError); device ones by the kernel.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .cuda_array_base import (
    INT64,
    CudaArrayBase,
    _require_writeable,
    ascontiguous,
    broadcast_to,
    cast,
    contiguous_copy,
    copy_into,
    empty,
    from_host,
    may_share_memory,
    native,
    reshape_fresh,
    view_like,
)

_INVALID_INDEX = ("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or "
                  "boolean arrays are valid indices")


def getitem(array: CudaArrayBase, index: Any) -> CudaArrayBase:
    """array[index] on the device (basic indexing a view, advanced a copy)."""
    parts = _normalize(index)
    if not any(_is_index_array(part) for part in parts):
        return _basic_view(array, parts)
    plan = _AdvancedPlan(array, parts)
    source = ascontiguous(plan.view)
    out = empty((plan.outer, plan.linear.size, plan.inner), array.dtype, array.device_index)
    native().index_select(plan.three_d(source)._handle, plan.linear._handle, out._handle, plan.outer, plan.length,
                          plan.inner)
    return reshape_fresh(out, plan.result_shape)


def setitem(array: CudaArrayBase, index: Any, value: Any, accumulate: bool = False) -> None:
    """array[index] = value (accumulate: array[index] += value with repeated indices adding up, np.add.at)."""
    _require_writeable(array)
    parts = _normalize(index)
    if not any(_is_index_array(part) for part in parts):
        target = _basic_view(array, parts)
        if accumulate:
            np.add(target, _device_value(value, target.dtype, target.device_index), out=target)
        else:
            _assign(target, value)
        return
    plan = _AdvancedPlan(array, parts)
    values = _device_value(value, array.dtype, array.device_index)
    values = ascontiguous(broadcast_to(cast(values, array.dtype) if values.dtype != array.dtype else values,
                                       plan.result_shape))
    target = plan.view
    work = target if target._handle.is_contiguous else contiguous_copy(target)
    if may_share_memory(values, work):
        values = contiguous_copy(values)
    values_3d = values.reshape(plan.outer, plan.linear.size, plan.inner)
    if accumulate:
        native().index_add(values_3d._handle, plan.linear._handle, plan.three_d(work)._handle, plan.outer,
                           plan.length, plan.inner)
    else:
        indices = contiguous_copy(broadcast_to(plan.linear.reshape(1, -1, 1), values_3d.shape))
        native().put_along(values_3d._handle, indices._handle, plan.three_d(work)._handle, plan.outer, plan.length,
                           plan.inner, False)
    if work is not target:
        copy_into(work, target)


def _assign(target, value):
    if isinstance(value, CudaArrayBase):
        copy_into(value, target)
    elif _is_scalar(value):
        native().fill(target._handle, value.item() if isinstance(value, (np.generic, np.ndarray)) else value)
    else:
        copy_into(_upload(value, target.dtype, target.device_index), target)


def _is_scalar(value):
    return (isinstance(value, (bool, int, float, np.generic))
            or (isinstance(value, np.ndarray) and value.ndim == 0))


def _upload(value, dtype, device):
    """Host values written into a device array (an explicit copy, like torch's cuda_tensor[...] = cpu_tensor)."""
    host = np.asarray(value)
    if host.dtype.kind not in "biuf":
        raise TypeError(f"cannot assign values of dtype {host.dtype} to a CUDA array")
    return from_host(host.astype(dtype, copy=False), device)


def _device_value(value, dtype, device):
    if isinstance(value, CudaArrayBase):
        if value.device_index != device:
            raise ValueError(f"value is on cuda:{value.device_index} but the array is on cuda:{device}")
        return value
    return _upload(value, dtype, device)


def _basic_view(array, parts):
    # With an Ellipsis in the index NumPy returns a (0-d) view even for a full integer index, never a scalar
    # read from the dummy's memory.
    if not any(part is Ellipsis for part in parts):
        parts = parts + (Ellipsis,)
    return view_like(array, lambda dummy: dummy[parts])


# --- index normalisation ------------------------------------------------------------------------------------
def _is_index_array(part):
    return isinstance(part, (CudaArrayBase, np.ndarray))


def _normalize(index):
    """The index as a tuple of ints, slices, None, Ellipsis, host arrays and CudaArrays (int or bool)."""
    parts = index if isinstance(index, tuple) else (index,)
    return tuple(_normalize_part(part) for part in parts)


def _normalize_part(part):
    if part is None or part is Ellipsis or isinstance(part, slice):
        return part
    if isinstance(part, (bool, np.bool_)):
        raise IndexError("nnx CUDA arrays do not support boolean scalar indices")
    if isinstance(part, (int, np.integer)):
        return int(part)
    if isinstance(part, CudaArrayBase):
        if part.dtype.kind not in "biu":
            raise IndexError(_INVALID_INDEX)
        return part
    if isinstance(part, (np.ndarray, list, tuple)):
        host = np.asarray(part)
        if host.size == 0 and host.dtype.kind == "f":
            host = host.astype(np.intp)  # x[[]] selects nothing
        if host.dtype.kind not in "biu":
            raise IndexError(_INVALID_INDEX)
        return int(host) if host.ndim == 0 and host.dtype.kind in "iu" else host
    raise IndexError(_INVALID_INDEX)


class _AdvancedPlan:
    """Where an advanced index reads: `view` (the array with the basic parts applied and the indexed axes
    moved together), those axes' span [first, first + count), and `linear`, the int64 (m,) index over them."""

    def __init__(self, array, parts):
        parts = self._expand(array, parts)
        dummy_index, positions, axes, values, trusted = [], [], [], [], []
        view_axis = source_axis = 0
        for part in parts:
            if part is None:
                dummy_index.append(None)
                view_axis += 1
                continue
            if isinstance(part, tuple):  # ("index", value, trusted): one axis selected by an index array or int
                positions.append(view_axis)
                axes.append(source_axis)
                values.append(part[1])
                trusted.append(part[2])
                dummy_index.append(slice(None))
            else:
                dummy_index.append(part)
            view_axis += 1
            source_axis += 1
        view = view_like(array, lambda dummy: dummy[tuple(dummy_index)])
        first = positions[0]
        if positions != list(range(first, first + len(positions))):  # not adjacent: NumPy puts them first
            rest = [axis for axis in range(view.ndim) if axis not in positions]
            view = view.transpose(positions + rest)
            first = 0
        count = len(positions)
        dims = view.shape[first:first + count]
        self.view = view
        self.linear, broadcast_shape = _linear_index(values, trusted, dims, axes, array.device_index)
        self.outer = math.prod(view.shape[:first])
        self.length = math.prod(dims)
        self.inner = math.prod(view.shape[first + count:])
        self.result_shape = view.shape[:first] + broadcast_shape + view.shape[first + count:]

    def three_d(self, contiguous_view):
        return contiguous_view.reshape(self.outer, self.length, self.inner)

    @staticmethod
    def _expand(array, parts):
        """Ellipsis expanded, bool masks replaced by their nonzero coordinates, ints and arrays tagged."""
        if sum(part is Ellipsis for part in parts) > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        consumed = sum(part.ndim if _is_mask(part) else 1 for part in parts
                       if part is not None and part is not Ellipsis)
        if consumed > array.ndim:
            raise IndexError(f"too many indices for array: array is {array.ndim}-dimensional, but {consumed} "
                             "were indexed")
        fill = (slice(None),) * (array.ndim - consumed)
        if any(part is Ellipsis for part in parts):
            parts = sum(((part,) if part is not Ellipsis else fill for part in parts), ())
        else:
            parts = tuple(parts) + fill
        expanded, axis = [], 0
        for part in parts:
            if _is_mask(part):
                expanded += [("index", coordinates, True) for coordinates in _mask_coordinates(array, part, axis)]
                axis += part.ndim
            elif isinstance(part, (int, np.ndarray, CudaArrayBase)):
                expanded.append(("index", part, False))
                axis += 1
            else:
                expanded.append(part)
                axis += part is not None
        return expanded


def _is_mask(part):
    return isinstance(part, (np.ndarray, CudaArrayBase)) and part.dtype.kind == "b"


def _mask_coordinates(array, mask, first_axis):
    shape = array.shape[first_axis:first_axis + mask.ndim]
    for k, (size, mask_size) in enumerate(zip(shape, mask.shape)):
        if size != mask_size:
            raise IndexError(f"boolean index did not match indexed array along axis {first_axis + k}; size of axis "
                             f"is {size} but size of corresponding boolean axis is {mask_size}")
    if isinstance(mask, np.ndarray):
        return [coordinates.astype(np.int64) for coordinates in np.nonzero(mask)]
    return list(np.nonzero(mask)) if mask.ndim else [np.zeros(0, dtype=np.int64)]


def _linear_index(values, trusted, dims, axes, device):
    """(int64 (m,) contiguous CudaArray, broadcast shape) for index values over axes of sizes dims."""
    shape = np.broadcast_shapes(*(np.shape(v) if not isinstance(v, CudaArrayBase) else v.shape for v in values))
    if len(values) == 1 and isinstance(values[0], CudaArrayBase):
        linear = values[0]  # the kernel wraps negatives and reports indices out of range
        return _as_index_vector(linear, device), shape
    normalized = [_checked(value, size, axis, is_trusted)
                  for value, size, axis, is_trusted in zip(values, dims, axes, trusted)]
    multipliers = [math.prod(dims[k + 1:]) for k in range(len(dims))]
    if not any(isinstance(v, CudaArrayBase) for v in normalized):
        linear = sum(np.asarray(v, dtype=np.int64) * m for v, m in zip(normalized, multipliers))
        flat = np.ascontiguousarray(np.broadcast_to(linear, shape), dtype=np.int64).reshape(-1)
        return from_host(flat, device), shape
    linear = None
    for value, multiplier in zip(normalized, multipliers):
        if isinstance(value, np.ndarray):
            value = from_host(value.astype(np.int64), device)
        term = value * multiplier
        linear = term if linear is None else linear + term
    return _as_index_vector(broadcast_to(linear, shape), device), shape


def _as_index_vector(indices, device):
    if indices.device_index != device:
        raise ValueError(f"indices are on cuda:{indices.device_index} but the array is on cuda:{device}")
    if indices.dtype != INT64:
        indices = cast(indices, INT64)
    return ascontiguous(indices).reshape(-1)


def _checked(value, size, axis, trusted):
    """value with negatives wrapped; IndexError (NumPy's message) for one out of range."""
    if trusted:
        return value
    if isinstance(value, CudaArrayBase):
        value = value if value.dtype == INT64 else cast(value, INT64)
        if bool(((value < -size) | (value >= size)).any()):  # reads one flag: several device index arrays
            raise IndexError(f"index out of bounds for axis {axis} with size {size}")
        return value + (value < 0) * size
    host = np.asarray(value, dtype=np.int64)
    bad = (host < -size) | (host >= size)
    if bad.any():
        raise IndexError(f"index {int(host[bad].flat[0])} is out of bounds for axis {axis} with size {size}")
    return np.where(host < 0, host + size, host)
