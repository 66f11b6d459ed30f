"""CudaArrayBase: the state of a CUDA array and what needs no NumPy machinery (attributes, host reads, copies,
views), plus the functions that make arrays (empty, full, from_host, copies, reshape, broadcast_to).

nnx.native.cuda_array.CudaArray, the array type of the CUDA backend, adds indexing, reductions, operators and the
NumPy protocol on top: those come from cuda_indexing, cuda_numpy, cuda_elementwise, cuda_functions and
cuda_shape_functions, which build on this module.
CudaArray registers itself here when it is defined, so the functions below make CudaArrays without importing
nnx.native.cuda_array, which imports them.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import loader as _loader
from .strides import contiguous_strides, is_contiguous, reshape_strides

if TYPE_CHECKING:
    from .._dtypes import DTypeLike

# The native module every CudaArray operation calls: nnx._cuda, or a test stand-in installed through
# nnx.native.cuda.use_native_module (which keeps this and nnx.native.cuda._native in step).
_native = _loader._cuda

DEVICE_DTYPES = tuple(np.dtype(t) for t in (np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64))
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
INT64 = np.dtype(np.int64)
BOOL = np.dtype(np.bool_)


def native() -> Any:
    """The native CUDA module (nnx._cuda or a test stand-in); RuntimeError when nnx was built without it."""
    if _native is None:
        raise RuntimeError("CUDA is not available: nnx was built without the CUDA module")
    return _native


def device_dtype(dtype: DTypeLike, argument: str = "dtype") -> np.dtype:
    """dtype as a NumPy dtype the device arrays hold, or TypeError naming the argument."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{argument} must be a NumPy dtype, got {dtype!r}") from None
    if dtype not in DEVICE_DTYPES:
        raise TypeError(f"nnx CUDA arrays do not support dtype {dtype} ({argument}); use one of "
                        "bool, uint8, int32, int64, float32, float64")
    return dtype


def shape_tuple(shape: int | Iterable[int], argument: str = "shape") -> tuple[int, ...]:
    """shape as a tuple of ints, or TypeError naming the argument."""
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    try:
        return tuple(int(n) for n in shape)
    except TypeError:
        raise TypeError(f"{argument} must be an int or a sequence of ints, got {shape!r}") from None


class _Flags:
    """The few ndarray.flags the layer reads."""

    __slots__ = ("c_contiguous", "f_contiguous", "writeable")

    def __init__(self, c_contiguous: bool, f_contiguous: bool, writeable: bool) -> None:
        self.c_contiguous, self.f_contiguous, self.writeable = c_contiguous, f_contiguous, writeable

    @property
    def contiguous(self):
        return self.c_contiguous

    def __getitem__(self, name):
        return getattr(self, {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
                              "WRITEABLE": "writeable"}.get(name, name.lower()))




_array_class = None  # nnx.native.cuda_array.CudaArray, set by register_array_class


def register_array_class(array_class: type) -> None:
    """Called once by nnx.native.cuda_array: the class the functions here make."""
    global _array_class
    _array_class = array_class


class CudaArrayBase:
    """The state and the NumPy-free methods of nnx.native.cuda_array.CudaArray (the only class made from it)."""

    __slots__ = ("__weakref__", "_base", "_handle", "_writeable")
    __array_priority__ = 100  # below nnx.Tensor (1000): Tensor's reflected operators win
    __hash__ = None  # like ndarray: == is elementwise

    def __init__(self, handle: Any, writeable: bool = True, base: Any = None) -> None:
        self._handle = handle
        self._writeable = writeable
        self._base = base

    @property
    def base(self) -> Any:
        """Like ndarray.base: None for an array that owns its memory (every fresh result), else the array (or
        DLPack producer) whose memory this view shares -- the owner itself, never a view in between."""
        return self._base

    # --- attributes --------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each dimension, like NumPy's."""
        return tuple(self._handle.shape)

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self._handle.ndim

    @property
    def size(self) -> int:
        """The number of elements."""
        return self._handle.size

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the elements."""
        return self._handle.dtype

    @property
    def itemsize(self) -> int:
        """The size of one element in bytes."""
        return self._handle.itemsize

    @property
    def nbytes(self) -> int:
        """The size of the elements in bytes (size * itemsize)."""
        return self._handle.nbytes

    @property
    def device_index(self) -> int:
        """The index of the CUDA device the memory is on."""
        return self._handle.device

    @property
    def data_ptr(self) -> int:
        """The device address of the first element."""
        return self._handle.data_ptr

    @property
    def strides(self) -> tuple[int, ...]:
        """In bytes, like NumPy's."""
        return tuple(s * self._handle.itemsize for s in self._handle.strides)

    @property
    def flags(self) -> _Flags:
        """c_contiguous, f_contiguous and writeable, like ndarray.flags."""
        handle = self._handle
        f_contiguous = is_contiguous(handle.shape[::-1], handle.strides[::-1])
        return _Flags(handle.is_contiguous, f_contiguous, self._writeable)

    @property
    def T(self) -> CudaArrayBase:
        """The transposed view (axes reversed)."""
        return self.transpose()

    @property
    def mT(self) -> CudaArrayBase:
        """The view with the last two axes swapped."""
        return self.swapaxes(-1, -2)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    # --- host reads (explicit: each synchronises) ----------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("implicit conversion of a CUDA array to NumPy is not allowed; use .cpu() / .numpy() on "
                        "the Tensor (or nnx.native.cuda.to_numpy)")

    def item(self, *index: int) -> bool | int | float:
        """One element as a Python scalar (a read from the device)."""
        if len(index) == 1 and isinstance(index[0], tuple):
            index = index[0]
        if not index:
            if self.size != 1:
                raise ValueError("can only convert an array of size 1 to a Python scalar")
            element = self
        elif len(index) == 1:  # a flat index, as ndarray.item(i)
            flat = int(index[0])
            if not -self.size <= flat < self.size:
                raise IndexError(f"index {flat} is out of bounds for size {self.size}")
            element = self.reshape(-1)[flat % self.size]
        else:
            element = self[index]
        return to_host(element).item()

    def tolist(self) -> Any:
        """The elements as nested Python lists (a read from the device)."""
        return to_host(self).tolist()

    def _scalar(self, convert):
        if self.size != 1:
            raise TypeError(f"only size-1 arrays can be converted to Python scalars, got shape {self.shape}")
        return convert(self.item())

    def __bool__(self):
        if self.size != 1:
            raise ValueError("The truth value of an array with more than one element is ambiguous. "
                             "Use a.any() or a.all()")
        return bool(self.item())

    def __float__(self):
        return self._scalar(float)

    def __int__(self):
        return self._scalar(int)

    def __index__(self):
        if self.ndim != 0 or self.dtype.kind not in "iu":
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(self.item())

    def __format__(self, spec):
        if self.ndim == 0:
            return format(self.item(), spec)  # f"{loss:.4f}" reads the value, as for a 0-d ndarray
        return super().__format__(spec)

    def __repr__(self):
        body = np.array2string(to_host(self), separator=", ", prefix="CudaArray(")
        return f"CudaArray({body}, dtype={self.dtype}, device='cuda:{self.device_index}')"

    # --- copies, pickling, DLPack ----------------------------------------------------------------------------
    def copy(self, order: str = "C") -> CudaArrayBase:
        """A C-contiguous copy on the same device."""
        return contiguous_copy(self)

    def __copy__(self):
        return contiguous_copy(self)

    def __deepcopy__(self, memo):
        return contiguous_copy(self)

    def __reduce__(self):
        # Pickling reads the values to the host (an explicit save); unpickling puts them back on the device.
        return _restore, (to_host(self), self.device_index)

    def astype(self, dtype: DTypeLike, order: str = "K", casting: str = "unsafe", subok: bool = True,
               copy: bool = True) -> CudaArrayBase:
        """The elements cast to dtype, on the same device (itself when copy=False and dtype matches)."""
        dtype = device_dtype(dtype)
        if dtype == self.dtype and not copy:
            return self
        return cast(self, dtype)

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        return self._handle.__dlpack__(stream=stream, max_version=max_version, dl_device=dl_device, copy=copy)

    def __dlpack_device__(self):
        return self._handle.__dlpack_device__()

    def fill(self, value: float) -> None:
        """Set every element to value."""
        _require_writeable(self)
        native().fill(self._handle, _fill_value(value))

    # --- views -------------------------------------------------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int], order: str = "C") -> CudaArrayBase:
        """The elements in a new shape: a view when possible, else a copy."""
        if order != "C":
            raise TypeError("nnx CUDA arrays support reshape(order='C') only")
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        return reshape(self, shape_tuple(shape))

    def ravel(self, order: str = "C") -> CudaArrayBase:
        """The elements as 1-D: a view when possible, else a copy."""
        return self.reshape(-1, order=order)

    def flatten(self, order: str = "C") -> CudaArrayBase:
        """A 1-D copy of the elements."""
        return contiguous_copy(self).reshape(-1, order=order)

    def transpose(self, *axes: int | Sequence[int]) -> CudaArrayBase:
        """The view with the axes permuted (reversed when none are given)."""
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], (int, np.integer))):
            axes = axes[0]
        return view_like(self, lambda dummy: dummy.transpose(*(() if axes in (None, ()) else (axes,))))

    def swapaxes(self, axis1: int, axis2: int) -> CudaArrayBase:
        """The view with two axes exchanged."""
        return view_like(self, lambda dummy: dummy.swapaxes(axis1, axis2))

    def squeeze(self, axis: int | tuple[int, ...] | None = None) -> CudaArrayBase:
        """The view without the given (or every) axis of size 1."""
        return view_like(self, lambda dummy: dummy.squeeze(axis))

def _restore(host, device):
    return from_host(host, device)


# --- making arrays ---------------------------------------------------------------------------------------------------
def empty(shape: int | Iterable[int], dtype: DTypeLike, device: int = 0) -> CudaArrayBase:
    """An uninitialised array on CUDA device `device`."""
    return _array_class(native().DeviceArray.empty(shape_tuple(shape), device_dtype(dtype), device))


def full(shape: int | Iterable[int], value: float, dtype: DTypeLike, device: int = 0) -> CudaArrayBase:
    """An array filled with value on CUDA device `device`."""
    out = empty(shape, dtype, device)
    native().fill(out._handle, _fill_value(value))
    return out


def from_host(array: np.ndarray, device: int = 0) -> CudaArrayBase:
    """A new C-contiguous device copy of a NumPy array (dtype kept)."""
    array = np.asarray(array)
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)  # (never for 0-d arrays: it would make them 1-d)
    device_dtype(array.dtype, "array")
    if not array.dtype.isnative or not array.dtype.isbuiltin:
        array = array.astype(array.dtype.newbyteorder("="))
    return _array_class(native().DeviceArray.from_host(array, device))


def to_host(array: CudaArrayBase) -> np.ndarray:
    """A new NumPy copy of a CudaArray (synchronises: queued kernel errors surface here)."""
    source = array if array._handle.is_contiguous else contiguous_copy(array)
    out = np.empty(array.shape, dtype=array.dtype)
    source._handle.to_host(out)
    return out


def _fill_value(value):
    if isinstance(value, CudaArrayBase):
        return value.item()
    if isinstance(value, (np.ndarray, np.generic)):
        return value.item()
    if not isinstance(value, (bool, int, float, np.number)):
        raise TypeError(f"fill value must be a number, got {type(value).__name__}")
    return value


def _require_writeable(array):
    if not array._writeable:
        raise ValueError("assignment destination is read-only")


def contiguous_copy(array: CudaArrayBase, dtype: DTypeLike | None = None) -> CudaArrayBase:
    """A new C-contiguous copy (cast to dtype when given)."""
    out = empty(array.shape, array.dtype if dtype is None else dtype, array.device_index)
    native().copy(array._handle, out._handle)
    return out


def cast(array: CudaArrayBase, dtype: DTypeLike) -> CudaArrayBase:
    """array in dtype: itself when it already is, else a converted copy."""
    return contiguous_copy(array, dtype)


def ascontiguous(array: CudaArrayBase) -> CudaArrayBase:
    """array itself when C-contiguous, else a C-contiguous copy."""
    return array if array._handle.is_contiguous else contiguous_copy(array)


def copy_into(source: Any, target: CudaArrayBase) -> None:
    """target[...] = source (source broadcast to target's shape, cast to its dtype); target may be strided."""
    _require_writeable(target)
    source = broadcast_to(source, target.shape)
    if may_share_memory(source, target) and not _same_view(source, target):
        source = contiguous_copy(source)  # e.g. x[1:] = x[:-1]
    if not _same_view(source, target) or source.dtype != target.dtype:
        native().copy(source._handle, target._handle)


def _same_view(a, b):
    ha, hb = a._handle, b._handle
    return (ha.storage_ptr == hb.storage_ptr and ha.offset == hb.offset and tuple(ha.shape) == tuple(hb.shape)
            and tuple(ha.strides) == tuple(hb.strides))


def may_share_memory(a: Any, b: Any) -> bool:
    """True when the byte ranges the two views can reach overlap (NumPy's may_share_memory)."""
    span_a, span_b = _byte_span(a._handle), _byte_span(b._handle)
    return span_a is not None and span_b is not None and span_a[0] <= span_b[1] and span_b[0] <= span_a[1]


def _byte_span(handle):
    if handle.size == 0:
        return None
    low = sum(s * (n - 1) for n, s in zip(handle.shape, handle.strides) if s < 0)
    high = sum(s * (n - 1) for n, s in zip(handle.shape, handle.strides) if s > 0)
    return handle.data_ptr + low * handle.itemsize, handle.data_ptr + (high + 1) * handle.itemsize - 1


# --- views: NumPy computes the metadata on a dummy array, the device view reuses it ----------------------------------
def _dummy(array):
    """A NumPy array with this array's shape and element strides over a 1-byte buffer: view functions run on it
    (they only do pointer arithmetic, never read), so the device view gets NumPy's exact semantics and errors."""
    handle = array._handle
    return as_strided(np.zeros(1, dtype=np.uint8), tuple(handle.shape), tuple(handle.strides), writeable=True)


def view_like(array: CudaArrayBase, make_view: Callable[[Any], Any]) -> CudaArrayBase:
    """The device view whose metadata is make_view(dummy); read-only when NumPy's result is (broadcast_to)."""
    dummy = _dummy(array)
    result = make_view(dummy)
    offset = array._handle.offset + (result.__array_interface__["data"][0] - dummy.__array_interface__["data"][0])
    if result.size == 0:
        offset = array._handle.offset  # an empty view reads nothing; keep its offset inside the storage
    handle = array._handle.view(result.shape, result.strides, offset)
    return view_of(array, handle, array._writeable and result.flags.writeable)


def view_of(array: CudaArrayBase, handle: Any, writeable: bool) -> CudaArrayBase:
    """A CudaArray over `handle`, a view of array's memory: its base is array's owner (NumPy's rule)."""
    return _array_class(handle, writeable, array if array._base is None else array._base)


def reshape_fresh(array: CudaArrayBase, shape: tuple[int, ...]) -> CudaArrayBase:
    """reshape of an array the caller has just made and holds alone: the result owns the memory (base None), as
    NumPy's fresh results do, so that autograd can adopt it as a .grad without copying."""
    result = reshape(array, shape_tuple(shape))
    if result._base is array:
        result._base = None
    return result


def broadcast_to(array: CudaArrayBase, shape: int | Iterable[int]) -> CudaArrayBase:
    """A read-only view of array broadcast to shape (np.broadcast_to)."""
    shape = shape_tuple(shape)
    if tuple(array.shape) == shape:
        return array
    return view_like(array, lambda dummy: np.broadcast_to(dummy, shape))


def reshape(array: CudaArrayBase, shape: int | Iterable[int]) -> CudaArrayBase:
    """A view when the strides allow one (NumPy's rule), else a reshaped contiguous copy."""
    handle = array._handle
    old_shape = tuple(handle.shape)
    if all(n >= 0 for n in shape) and math.prod(shape) == math.prod(old_shape):
        new_shape = tuple(shape)
    else:  # NumPy resolves -1 and words the errors, on a contiguous dummy (no data, never copied)
        new_shape = as_strided(np.zeros(1, np.uint8), old_shape, contiguous_strides(old_shape)).reshape(shape).shape
    if new_shape == old_shape:
        return view_of(array, handle, array._writeable)  # a new view object, as NumPy's reshape gives
    strides = reshape_strides(old_shape, tuple(handle.strides), new_shape)
    if strides is None:
        return contiguous_copy(array).reshape(new_shape)
    return view_of(array, handle.view(new_shape, strides, handle.offset), array._writeable)
