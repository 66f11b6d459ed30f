"""index: gathers and scatters along one axis of contiguous (outer, length, inner) views, and nonzero. A bad index
is recorded and raised at the next synchronising call, as on a GPU."""
import numpy as np

from fake_cuda import runtime
from fake_cuda.checks import (
    BOOL,
    INT64,
    require_array,
    require_contiguous,
    require_dtype,
    require_no_overlap,
    require_output,
    three_axes,
)


def _indices_checked(indices, length):
    """The int64 index values with negatives wrapped; a bad one is recorded (raised at synchronisation)."""
    values = indices._numpy()
    if length == 0 and values.size:  # every index is out of range: the binding says so at once
        raise IndexError("indices: index out of range for an axis of size 0 (length is 0)")
    bad = (values < -length) | (values >= length)
    if bad.any():
        runtime.record_error(IndexError, f"index {int(values[bad].flat[0])} is out of bounds (found by a CUDA kernel)")
        return None
    return np.where(values < 0, values + length, values)


def _index_vector(indices):
    require_array(indices, "indices")
    require_contiguous(indices, "indices")
    require_dtype(indices, "indices", INT64)
    if indices.ndim != 1:
        raise ValueError(f"indices must be 1-D, got shape {indices.shape}")
    return indices


def index_select(src, indices, out, outer, length, inner):
    _index_vector(indices)
    src_values, out_values = three_axes(src, out, outer, length, inner, indices.size, ("src", "out"))
    require_dtype(out, "out", src.dtype)
    require_no_overlap(out, "out", src, "src")
    picked = _indices_checked(indices, length)
    if picked is not None:
        out_values[...] = src_values[:, picked, :]


def index_add(grad, indices, out, outer, length, inner):
    _index_vector(indices)
    out_values, grad_values = three_axes(out, grad, outer, length, inner, indices.size, ("out", "grad"))
    require_dtype(grad, "grad", out.dtype)
    require_no_overlap(out, "out", grad, "grad")
    picked = _indices_checked(indices, length)
    if picked is not None:
        np.add.at(out_values, (slice(None), picked, slice(None)), grad_values)


def _along_indices(indices, outer, inner, m_source):
    require_array(indices, "indices")
    require_contiguous(indices, "indices")
    require_dtype(indices, "indices", INT64)
    if indices.size != outer * m_source * inner:
        raise ValueError(f"indices must have {outer * m_source * inner} elements, got shape {indices.shape}")


def take_along(src, indices, out, outer, length, inner):
    require_array(out, "out")
    middle = out.size // (outer * inner) if outer * inner else 0
    src_values, out_values = three_axes(src, out, outer, length, inner, middle, ("src", "out"))
    _along_indices(indices, outer, inner, middle)
    require_dtype(out, "out", src.dtype)
    require_no_overlap(out, "out", src, "src")
    picked = _indices_checked(indices, length)
    if picked is not None:
        out_values[...] = np.take_along_axis(src_values, picked.reshape(out_values.shape), axis=1)


def put_along(values, indices, out, outer, length, inner, accumulate=False):
    require_array(values, "values")
    middle = values.size // (outer * inner) if outer * inner else 0
    out_values, source = three_axes(out, values, outer, length, inner, middle, ("out", "values"))
    _along_indices(indices, outer, inner, middle)
    require_dtype(values, "values", out.dtype)
    require_no_overlap(out, "out", values, "values")
    picked = _indices_checked(indices, length)
    if picked is None:
        return
    picked = picked.reshape(source.shape)
    rows = np.arange(outer)[:, None, None]
    columns = np.arange(inner)[None, None, :]
    if accumulate:
        np.add.at(out_values, (rows, picked, columns), source)
    else:
        out_values[rows, picked, columns] = source


def nonzero_count(mask):
    require_array(mask, "mask")
    require_contiguous(mask, "mask")
    require_dtype(mask, "mask", BOOL)
    runtime.raise_pending()
    return int(np.count_nonzero(mask._numpy()))


def nonzero(mask, out):
    require_array(mask, "mask")
    require_contiguous(mask, "mask")
    require_dtype(mask, "mask", BOOL)
    coordinates = np.argwhere(mask._numpy())
    require_output(out, "out", coordinates.shape)
    require_dtype(out, "out", INT64)
    out._numpy()[...] = coordinates
