"""The shape, joining, gathering, copying and creation functions of CudaArray's __array_function__ table
(cuda_functions holds the table and the other functions): np.reshape, np.concatenate, np.take_along_axis,
np.copyto, np.zeros(like=) ... on the device. Importing this module registers them.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from . import cuda_indexing
from . import cuda_numpy as impl
from .cuda_array_base import (
    INT64,
    CudaArrayBase,
    ascontiguous,
    broadcast_to,
    cast,
    contiguous_copy,
    copy_into,
    device_dtype,
    empty,
    from_host,
    full,
    may_share_memory,
    native,
    reshape_fresh,
    shape_tuple,
    view_like,
)
from .cuda_functions import implements

if TYPE_CHECKING:
    from .._dtypes import DTypeLike


# --- shape and views ------------------------------------------------------------------------------------------------
@implements(np.broadcast_to)
def _broadcast_to(array, shape, subok=False):
    return view_like(array, lambda dummy: np.broadcast_to(dummy, shape))


@implements(np.broadcast_arrays)
def _broadcast_arrays(*args, subok=False):
    shape = np.broadcast_shapes(*(a.shape for a in args))
    return tuple(broadcast_to(a, shape) for a in args)


@implements(np.expand_dims)
def _expand_dims(a, axis):
    return view_like(a, lambda dummy: np.expand_dims(dummy, axis))


@implements(np.squeeze)
def _squeeze(a, axis=None):
    return view_like(a, lambda dummy: np.squeeze(dummy, axis))


@implements(np.moveaxis)
def _moveaxis(a, source, destination):
    return view_like(a, lambda dummy: np.moveaxis(dummy, source, destination))


@implements(np.swapaxes)
def _swapaxes(a, axis1, axis2):
    return a.swapaxes(axis1, axis2)


@implements(np.transpose)
def _transpose(a, axes=None):
    return a.transpose(axes)


@implements(np.flip)
def _flip(m, axis=None):
    return view_like(m, lambda dummy: np.flip(dummy, axis))


@implements(np.reshape)
def _reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    result = a.reshape(shape if shape is not None else newshape, order=order)
    if copy is True and result._handle.storage_ptr == a._handle.storage_ptr:
        return contiguous_copy(result)
    if copy is False and result._handle.storage_ptr != a._handle.storage_ptr:
        raise ValueError("Unable to avoid creating a copy while reshaping.")
    return result


@implements(np.ravel)
def _ravel(a, order="C"):
    return a.ravel(order)


@implements(np.atleast_1d)
def _atleast_1d(*arrays):
    result = [a.reshape(1) if a.ndim == 0 else a for a in arrays]
    return result[0] if len(result) == 1 else tuple(result)


@implements(np.atleast_2d)
def _atleast_2d(*arrays):
    result = [a.reshape(1, -1) if a.ndim < 2 else a for a in arrays]
    return result[0] if len(result) == 1 else tuple(result)


# --- joining and splitting --------------------------------------------------------------------------------------------
def _device_arrays(name, arrays):
    arrays = list(arrays)
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    for a in arrays:
        if not isinstance(a, CudaArrayBase):
            raise TypeError(f"numpy.{name}: every array must be a CUDA array, got {type(a).__name__}")
    impl._device_of(arrays)
    return arrays


@implements(np.concatenate)
def concatenate(arrays: Sequence[CudaArrayBase], axis: int | None = 0, out: CudaArrayBase | None = None,
                dtype: DTypeLike | None = None, casting: str = "same_kind") -> CudaArrayBase:
    """np.concatenate on the device: the arrays joined along axis."""
    arrays = _device_arrays("concatenate", arrays)
    if axis is None:
        arrays, axis = [a.reshape(-1) for a in arrays], 0
    first = arrays[0]
    if first.ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    axis = normalize_axis_index(axis, first.ndim)
    for k, a in enumerate(arrays[1:], 1):
        if a.ndim != first.ndim:
            raise ValueError(f"all the input arrays must have same number of dimensions, but the array at index 0 has "
                             f"{first.ndim} dimension(s) and the array at index {k} has {a.ndim} dimension(s)")
        for d in range(first.ndim):
            if d != axis and a.shape[d] != first.shape[d]:
                raise ValueError(f"all the input array dimensions except for the concatenation axis must match "
                                 f"exactly, but along dimension {d}, the array at index 0 has size {first.shape[d]} "
                                 f"and the array at index {k} has size {a.shape[d]}")
    dtype = device_dtype(dtype) if dtype is not None else np.result_type(*(a.dtype for a in arrays))
    shape = first.shape[:axis] + (sum(a.shape[axis] for a in arrays),) + first.shape[axis + 1:]
    result = empty(shape, dtype, first.device_index)
    start = 0
    for a in arrays:
        stop = start + a.shape[axis]
        copy_into(a, result[(slice(None),) * axis + (slice(start, stop),)])
        start = stop
    return impl._into(result, out)


@implements(np.stack)
def _stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    arrays = _device_arrays("stack", arrays)
    if any(a.shape != arrays[0].shape for a in arrays):
        raise ValueError("all input arrays must have the same shape")
    axis = normalize_axis_index(axis, arrays[0].ndim + 1)
    return concatenate([np.expand_dims(a, axis) for a in arrays], axis, out, dtype)


@implements(np.vstack)
def _vstack(tup, *, dtype=None, casting="same_kind"):
    return concatenate([a.reshape(1, -1) if a.ndim < 2 else a for a in _device_arrays("vstack", tup)], 0, dtype=dtype)


@implements(np.hstack)
def _hstack(tup, *, dtype=None, casting="same_kind"):
    arrays = [a.reshape(1) if a.ndim == 0 else a for a in _device_arrays("hstack", tup)]
    return concatenate(arrays, 0 if arrays[0].ndim == 1 else 1, dtype=dtype)


@implements(np.split)
def _split(ary, indices_or_sections, axis=0):
    axis = normalize_axis_index(axis, ary.ndim)
    length = ary.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0 or length % sections:
            raise ValueError("array split does not result in an equal division")
        bounds = [length // sections * k for k in range(1, sections)]
    else:
        bounds = [int(b) for b in indices_or_sections]
    edges = [0] + bounds + [length]
    return [ary[(slice(None),) * axis + (slice(start, stop),)] for start, stop in zip(edges[:-1], edges[1:])]


@implements(np.tile)
def _tile(A, reps):
    reps = tuple(int(r) for r in (reps if isinstance(reps, (tuple, list)) else (reps,)))
    shape = (1,) * (len(reps) - A.ndim) + A.shape
    reps = (1,) * (len(shape) - len(reps)) + reps
    interleaved = sum(((1, n) for n in shape), ())
    repeated = sum(((r, n) for r, n in zip(reps, shape)), ())
    tiled = contiguous_copy(broadcast_to(A.reshape(interleaved), repeated))  # repeat r of element s at r*n + s
    return reshape_fresh(tiled, tuple(r * n for r, n in zip(reps, shape)))


@implements(np.repeat)
def _repeat(a, repeats, axis=None):
    if not isinstance(repeats, (int, np.integer)):
        raise impl.unsupported("repeat with per-element repeats")
    if axis is None:
        a, axis = ascontiguous(a).reshape(-1), 0
    axis = normalize_axis_index(axis, a.ndim)
    spread = np.broadcast_to(np.expand_dims(a, axis + 1), a.shape[:axis + 1] + (int(repeats),) + a.shape[axis + 1:])
    repeated_shape = a.shape[:axis] + (a.shape[axis] * int(repeats),) + a.shape[axis + 1:]
    return reshape_fresh(contiguous_copy(spread), repeated_shape)


# --- gathers and scatters along an axis -------------------------------------------------------------------------------
def _index_operand(indices, device):
    if isinstance(indices, CudaArrayBase):
        return indices if indices.dtype == INT64 else cast(indices, INT64)
    host = np.asarray(indices)
    if host.dtype.kind not in "iu":
        raise IndexError("`indices` must be an integer array")
    return from_host(host.astype(np.int64), device)


def _along_axis(arr, indices, axis, name):
    """(arr, indices, axis) with both broadcast against each other except along axis, as NumPy's *_along_axis."""
    indices = _index_operand(indices, arr.device_index)
    if axis is None:
        arr, axis = ascontiguous(arr).reshape(-1), 0
    if indices.ndim != arr.ndim:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    axis = normalize_axis_index(axis, arr.ndim)
    shape = np.broadcast_shapes(arr.shape[:axis] + (1,) + arr.shape[axis + 1:],
                                indices.shape[:axis] + (1,) + indices.shape[axis + 1:])
    arr_shape = shape[:axis] + (arr.shape[axis],) + shape[axis + 1:]
    index_shape = shape[:axis] + (indices.shape[axis],) + shape[axis + 1:]
    return arr, broadcast_to(arr, arr_shape), ascontiguous(broadcast_to(indices, index_shape)), axis


@implements(np.take_along_axis)
def _take_along_axis(arr, indices, axis=-1):
    _, source, indices, axis = _along_axis(arr, indices, axis, "take_along_axis")
    source = ascontiguous(source)
    outer, length, inner = math.prod(source.shape[:axis]), source.shape[axis], math.prod(source.shape[axis + 1:])
    out = empty(indices.shape, arr.dtype, arr.device_index)
    native().take_along(source._handle, indices._handle, out._handle, outer, length, inner)
    return out


@implements(np.put_along_axis)
def _put_along_axis(arr, indices, values, axis):
    if not arr._writeable:
        raise ValueError("assignment destination is read-only")
    _, target, indices, axis = _along_axis(arr, indices, axis, "put_along_axis")
    if target.shape != arr.shape:
        raise ValueError(f"indices of shape {indices.shape} do not fit arr of shape {arr.shape}")
    values = cuda_indexing._device_value(values, arr.dtype, arr.device_index)
    values = ascontiguous(broadcast_to(values if values.dtype == arr.dtype else cast(values, arr.dtype), indices.shape))
    work = arr if arr._handle.is_contiguous else contiguous_copy(arr)
    outer, length, inner = math.prod(arr.shape[:axis]), arr.shape[axis], math.prod(arr.shape[axis + 1:])
    native().put_along(values._handle, indices._handle, work._handle, outer, length, inner, False)
    if work is not arr:
        copy_into(work, arr)


@implements(np.take)
def _take(a, indices, axis=None, out=None, mode="raise"):
    if mode != "raise":
        raise impl.unsupported(f"take(mode={mode!r})")
    if axis is None:
        a, axis = ascontiguous(a).reshape(-1), 0
    axis = normalize_axis_index(axis, a.ndim)
    index = indices if isinstance(indices, CudaArrayBase) else np.asarray(indices)
    if index.ndim == 0:
        return impl._into(a[(slice(None),) * axis + (int(indices),)], out)
    return impl._into(a[(slice(None),) * axis + (index,)], out)


# --- *_like, copies, memory -------------------------------------------------------------------------------------------
def _like_shape(a, shape):
    return a.shape if shape is None else shape_tuple(shape)


@implements(np.empty_like)
def _empty_like(prototype, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return empty(_like_shape(prototype, shape), dtype or prototype.dtype, prototype.device_index)


@implements(np.zeros_like)
def _zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return full(_like_shape(a, shape), 0, dtype or a.dtype, a.device_index)


@implements(np.ones_like)
def _ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return full(_like_shape(a, shape), 1, dtype or a.dtype, a.device_index)


@implements(np.full_like)
def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return full(_like_shape(a, shape), fill_value, dtype or a.dtype, a.device_index)


@implements(np.copyto)
def _copyto(dst, src, casting="same_kind", where=True):
    if where is not True:
        raise impl.unsupported("copyto(where=)")
    if not isinstance(dst, CudaArrayBase):
        raise TypeError(f"numpy.copyto: dst must be a CUDA array when src is one, got {type(dst).__name__}")
    if isinstance(src, CudaArrayBase):
        source_dtype = src.dtype
    else:
        source_dtype = np.result_type(src) if impl.is_operand(src) else np.asarray(src).dtype
    if not np.can_cast(source_dtype, dst.dtype, casting):
        raise TypeError(f"Cannot cast array data from {source_dtype!r} to {dst.dtype!r} according to the rule "
                        f"{casting!r}")
    if not dst._writeable:
        raise ValueError("assignment destination is read-only")
    cuda_indexing._assign(dst, src)


@implements(np.may_share_memory, np.shares_memory)
def _may_share_memory(a, b, max_work=None):
    if not (isinstance(a, CudaArrayBase) and isinstance(b, CudaArrayBase)):
        return False
    return may_share_memory(a, b)


# --- creation through like= -------------------------------------------------------------------------------------------
def _creation_dtype(dtype, default=np.float64):
    return device_dtype(default if dtype is None else dtype)


@implements(np.empty, like=True)
def _empty(shape, dtype=float, order="C", *, device=None, like):
    return empty(shape, _creation_dtype(dtype), like.device_index)


@implements(np.zeros, like=True)
def _zeros(shape, dtype=float, order="C", *, device=None, like):
    return full(shape, 0, _creation_dtype(dtype), like.device_index)


@implements(np.ones, like=True)
def _ones(shape, dtype=None, order="C", *, device=None, like):
    return full(shape, 1, _creation_dtype(dtype), like.device_index)


@implements(np.full, like=True)
def _full(shape, fill_value, dtype=None, order="C", *, device=None, like):
    if dtype is None:
        dtype = fill_value.dtype if isinstance(fill_value, CudaArrayBase) else np.result_type(fill_value)
    return full(shape, fill_value, _creation_dtype(dtype), like.device_index)


@implements(np.arange, like=True)
def _arange(start, stop=None, step=1, dtype=None, *, device=None, like):
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ZeroDivisionError("step must not be zero")
    dtype = _creation_dtype(dtype if dtype is not None else np.result_type(start, stop, step))
    count = max(0, math.ceil((stop - start) / step))
    out = empty((count,), dtype, like.device_index)
    if count:
        native().arange(out._handle, float(start), float(step))
    return out


@implements(np.asarray, np.asanyarray, np.ascontiguousarray, np.array, like=True)
def _asarray(a, dtype=None, order=None, *, like, copy=None, device=None, **options):
    if isinstance(a, CudaArrayBase):
        result = a if dtype is None or np.dtype(dtype) == a.dtype else cast(a, device_dtype(dtype))
        return contiguous_copy(result) if copy and result is a else result
    host = np.asarray(a, dtype=dtype)  # an explicit upload: like= asks for a device array
    return from_host(host, like.device_index)


@implements(np.eye, like=True)
def _eye(N, M=None, k=0, dtype=float, order="C", *, device=None, like):
    columns = N if M is None else M
    out = full((N, columns), 0, _creation_dtype(dtype), like.device_index)
    length = max(0, min(N, columns - k) if k >= 0 else min(N + k, columns))
    if length:
        start = k if k >= 0 else -k * columns
        native().fill(out._handle.view((length,), (columns + 1,), start), 1)
    return out


@implements(np.identity, like=True)
def _identity(n, dtype=None, *, like):
    return _eye(n, dtype=dtype, like=like)


__all__ = ["concatenate"]
