"""The argument checks of the CUDA-only kernels (elementwise, reduce, index), with the messages of
csrc/bind/cuda_checks.h. The op families need none here: they run nnx._C's binding, compiled from the same
csrc/bind/<family>.cpp as nnx._cuda's, so their checks are the real ones."""
import numpy as np

from fake_cuda.device_array import DeviceArray

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
INT64 = np.dtype(np.int64)
BOOL = np.dtype(np.bool_)


def require_array(value, name):
    if not isinstance(value, DeviceArray):
        raise TypeError(f"{name} must be an nnx._cuda.DeviceArray, got {type(value).__name__} "
                        "(move it to the GPU first)")
    return value


def require_contiguous(array, name):
    if not array.is_contiguous:
        raise ValueError(f"{name} must be C-contiguous")


def require_same_shape(array, name, ref, ref_name):
    if array.shape != ref.shape:
        raise ValueError(f"{name} must have the shape of {ref_name} {ref.shape}, got {array.shape}")


def require_dtype(array, name, dtype):
    if array.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype}, got {array.dtype}")


def span(array):
    """[first, last] byte addresses the view can touch (None when empty)."""
    if array.size == 0:
        return None
    item = array.itemsize
    low = sum(s * (n - 1) for n, s in zip(array.shape, array.strides) if s < 0)
    high = sum(s * (n - 1) for n, s in zip(array.shape, array.strides) if s > 0)
    return array.data_ptr + low * item, array.data_ptr + high * item + item - 1


def may_overlap(a, b):
    span_a, span_b = span(a), span(b)
    return span_a is not None and span_b is not None and span_a[0] <= span_b[1] and span_b[0] <= span_a[1]


def same_view(a, b):
    return (a._storage is b._storage and a.offset == b.offset and a.shape == b.shape and a.strides == b.strides
            and a.dtype == b.dtype)


def require_no_overlap(out, out_name, array, name, allow_same=False):
    if may_overlap(out, array) and not (allow_same and same_view(out, array)):
        raise ValueError(f"{out_name} must not share memory with {name}")


def require_output(out, name, shape=None):
    require_array(out, name)
    require_contiguous(out, name)
    if shape is not None and out.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {out.shape}")
    return out


def three_axes(x, out, outer, length, inner, out_middle, names=("x", "out")):
    """Checks the (outer, length, inner) views of x and out; returns their 3-D NumPy views."""
    require_array(x, names[0])
    require_contiguous(x, names[0])
    require_output(out, names[1])
    for value, name in ((outer, "outer"), (length, "length"), (inner, "inner")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    if x.size != outer * length * inner:
        raise ValueError(f"{names[0]} must have outer * length * inner = {outer * length * inner} elements, "
                         f"got shape {x.shape}")
    expected = outer * out_middle * inner
    if out.size != expected:
        raise ValueError(f"{names[1]} must have {expected} elements, got shape {out.shape}")
    return (x._numpy().reshape(outer, length, inner),
            out._numpy().reshape(outer, out_middle, inner))
