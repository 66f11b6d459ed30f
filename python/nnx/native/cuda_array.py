"""CudaArray: a NumPy-like array in CUDA device memory, the array type of the CUDA backend.

It wraps one nnx._cuda.DeviceArray (`_handle`, a strided view of device memory) and implements the part
of the NumPy protocol the Python layer uses: attributes, views (reshape, transpose, basic slicing) that
share memory, operators, reductions, and NumPy's functions through __array_ufunc__/__array_function__
(cuda_numpy.py). Nothing ever goes through the host implicitly: np.asarray(cuda_array) raises TypeError;
item()/tolist()/repr and nnx.native.cuda.to_numpy are the explicit reads.
"""
from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

import numpy as np

from . import cuda_array_base as _base
from . import cuda_elementwise as _elementwise
from . import cuda_functions as _functions
from . import cuda_indexing as _indexing
from . import cuda_numpy as _numpy_impl
from . import cuda_shape_functions  # noqa: F401  (registers its functions in cuda_functions' table)
from .cuda_array_base import (  # noqa: F401  (nnx.native.cuda and the tests use them from here)
    BOOL,
    DEVICE_DTYPES,
    FLOAT_DTYPES,
    INT64,
    CudaArrayBase,
    _native,
    _require_writeable,
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
    reshape,
    reshape_fresh,
    shape_tuple,
    to_host,
    view_like,
    view_of,
)

if TYPE_CHECKING:
    from .._dtypes import DTypeLike


class CudaArray(CudaArrayBase):
    """An n-dimensional array on a CUDA device with NumPy's semantics (views, broadcasting, NEP 50 promotion)."""

    __slots__ = ()

    def __getitem__(self, index):
        return _indexing.getitem(self, index)

    def __setitem__(self, index, value):
        _indexing.setitem(self, index, value)

    def nonzero(self) -> tuple[CudaArray, ...]:
        """The indices of the nonzero elements, one array per dimension."""
        return _numpy_impl.nonzero(self)

    # --- reductions and other methods (NumPy's keyword names) -----------------------------------------------
    def sum(self, axis: int | tuple[int, ...] | None = None, dtype: DTypeLike | None = None,
            out: CudaArray | None = None, keepdims: bool = False) -> CudaArray:
        """The sum over axis (every axis when None)."""
        return _numpy_impl.reduction("sum", self, axis, keepdims, dtype=dtype, out=out)

    def prod(self, axis: int | tuple[int, ...] | None = None, dtype: DTypeLike | None = None,
             out: CudaArray | None = None, keepdims: bool = False) -> CudaArray:
        """The product over axis (every axis when None)."""
        return _numpy_impl.reduction("prod", self, axis, keepdims, dtype=dtype, out=out)

    def mean(self, axis: int | tuple[int, ...] | None = None, dtype: DTypeLike | None = None,
             out: CudaArray | None = None, keepdims: bool = False) -> CudaArray:
        """The mean over axis (every axis when None)."""
        return _numpy_impl.reduction("mean", self, axis, keepdims, dtype=dtype, out=out)

    def max(self, axis: int | tuple[int, ...] | None = None, out: CudaArray | None = None,
            keepdims: bool = False) -> CudaArray:
        """The maximum over axis (every axis when None)."""
        return _numpy_impl.reduction("max", self, axis, keepdims, out=out)

    def min(self, axis: int | tuple[int, ...] | None = None, out: CudaArray | None = None,
            keepdims: bool = False) -> CudaArray:
        """The minimum over axis (every axis when None)."""
        return _numpy_impl.reduction("min", self, axis, keepdims, out=out)

    def any(self, axis: int | tuple[int, ...] | None = None, out: CudaArray | None = None,
            keepdims: bool = False) -> CudaArray:
        """True where any element over axis is nonzero."""
        return _numpy_impl.reduction("any", self, axis, keepdims, out=out)

    def all(self, axis: int | tuple[int, ...] | None = None, out: CudaArray | None = None,
            keepdims: bool = False) -> CudaArray:
        """True where every element over axis is nonzero."""
        return _numpy_impl.reduction("all", self, axis, keepdims, out=out)

    def argmax(self, axis: int | None = None, out: CudaArray | None = None, keepdims: bool = False) -> CudaArray:
        """The index of the maximum along axis (of the flattened array when None)."""
        return _numpy_impl.arg_reduction("argmax", self, axis, keepdims, out=out)

    def argmin(self, axis: int | None = None, out: CudaArray | None = None, keepdims: bool = False) -> CudaArray:
        """The index of the minimum along axis (of the flattened array when None)."""
        return _numpy_impl.arg_reduction("argmin", self, axis, keepdims, out=out)

    def cumsum(self, axis: int | None = None, dtype: DTypeLike | None = None,
               out: CudaArray | None = None) -> CudaArray:
        """The running sum along axis (of the flattened array when None)."""
        return _numpy_impl.cumsum(self, axis, dtype, out)

    def var(self, axis: int | tuple[int, ...] | None = None, dtype: DTypeLike | None = None,
            out: CudaArray | None = None, ddof: int = 0, keepdims: bool = False) -> CudaArray:
        """The variance over axis, with ddof delta degrees of freedom."""
        return _numpy_impl.variance(self, axis, dtype, out, ddof, keepdims)

    def std(self, axis: int | tuple[int, ...] | None = None, dtype: DTypeLike | None = None,
            out: CudaArray | None = None, ddof: int = 0, keepdims: bool = False) -> CudaArray:
        """The standard deviation over axis, with ddof delta degrees of freedom."""
        return _numpy_impl.variance(self, axis, dtype, out, ddof, keepdims, root=True)

    def clip(self, min: Any = None, max: Any = None, out: CudaArray | None = None) -> CudaArray:
        """The elements limited to [min, max]."""
        return _elementwise.clip(self, min, max, out=out)

    def round(self, decimals: int = 0, out: CudaArray | None = None) -> CudaArray:
        """The elements rounded half to even to decimals places."""
        return _elementwise.round_(self, decimals, out)

    def dot(self, other: Any, out: CudaArray | None = None) -> CudaArray:
        """np.dot(self, other) on the device."""
        return _numpy_impl.dot(self, other, out)

    # --- the NumPy protocol ----------------------------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _numpy_impl.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _functions.array_function(self, func, types, args, kwargs)

    # --- operators (through the ufuncs: NumPy's promotion, broadcasting and in-place casting rules) ------------
    def _operator(self, ufunc, *operands, out=None):
        if any(not _numpy_impl.is_operand(value) for value in operands):
            return NotImplemented
        return _numpy_impl.call_ufunc(ufunc, operands, out)

    __add__ = lambda self, other: self._operator(np.add, self, other)  # noqa: E731
    __radd__ = lambda self, other: self._operator(np.add, other, self)  # noqa: E731
    __sub__ = lambda self, other: self._operator(np.subtract, self, other)  # noqa: E731
    __rsub__ = lambda self, other: self._operator(np.subtract, other, self)  # noqa: E731
    __mul__ = lambda self, other: self._operator(np.multiply, self, other)  # noqa: E731
    __rmul__ = lambda self, other: self._operator(np.multiply, other, self)  # noqa: E731
    __truediv__ = lambda self, other: self._operator(np.true_divide, self, other)  # noqa: E731
    __rtruediv__ = lambda self, other: self._operator(np.true_divide, other, self)  # noqa: E731
    __floordiv__ = lambda self, other: self._operator(np.floor_divide, self, other)  # noqa: E731
    __rfloordiv__ = lambda self, other: self._operator(np.floor_divide, other, self)  # noqa: E731
    __mod__ = lambda self, other: self._operator(np.remainder, self, other)  # noqa: E731
    __rmod__ = lambda self, other: self._operator(np.remainder, other, self)  # noqa: E731
    __pow__ = lambda self, other: self._operator(np.power, self, other)  # noqa: E731
    __rpow__ = lambda self, other: self._operator(np.power, other, self)  # noqa: E731
    __matmul__ = lambda self, other: self._operator(np.matmul, self, other)  # noqa: E731
    __rmatmul__ = lambda self, other: self._operator(np.matmul, other, self)  # noqa: E731
    __and__ = lambda self, other: self._operator(np.bitwise_and, self, other)  # noqa: E731
    __rand__ = lambda self, other: self._operator(np.bitwise_and, other, self)  # noqa: E731
    __or__ = lambda self, other: self._operator(np.bitwise_or, self, other)  # noqa: E731
    __ror__ = lambda self, other: self._operator(np.bitwise_or, other, self)  # noqa: E731
    __xor__ = lambda self, other: self._operator(np.bitwise_xor, self, other)  # noqa: E731
    __rxor__ = lambda self, other: self._operator(np.bitwise_xor, other, self)  # noqa: E731
    __eq__ = lambda self, other: self._operator(np.equal, self, other)  # noqa: E731
    __ne__ = lambda self, other: self._operator(np.not_equal, self, other)  # noqa: E731
    __lt__ = lambda self, other: self._operator(np.less, self, other)  # noqa: E731
    __le__ = lambda self, other: self._operator(np.less_equal, self, other)  # noqa: E731
    __gt__ = lambda self, other: self._operator(np.greater, self, other)  # noqa: E731
    __ge__ = lambda self, other: self._operator(np.greater_equal, self, other)  # noqa: E731
    __iadd__ = lambda self, other: self._operator(np.add, self, other, out=self)  # noqa: E731
    __isub__ = lambda self, other: self._operator(np.subtract, self, other, out=self)  # noqa: E731
    __imul__ = lambda self, other: self._operator(np.multiply, self, other, out=self)  # noqa: E731
    __itruediv__ = lambda self, other: self._operator(np.true_divide, self, other, out=self)  # noqa: E731
    __ifloordiv__ = lambda self, other: self._operator(np.floor_divide, self, other, out=self)  # noqa: E731
    __imod__ = lambda self, other: self._operator(np.remainder, self, other, out=self)  # noqa: E731
    __ipow__ = lambda self, other: self._operator(np.power, self, other, out=self)  # noqa: E731
    __iand__ = lambda self, other: self._operator(np.bitwise_and, self, other, out=self)  # noqa: E731
    __ior__ = lambda self, other: self._operator(np.bitwise_or, self, other, out=self)  # noqa: E731
    __ixor__ = lambda self, other: self._operator(np.bitwise_xor, self, other, out=self)  # noqa: E731
    __neg__ = lambda self: self._operator(np.negative, self)  # noqa: E731
    __pos__ = lambda self: self._operator(np.positive, self)  # noqa: E731
    __abs__ = lambda self: self._operator(np.absolute, self)  # noqa: E731
    __invert__ = lambda self: self._operator(np.invert, self)  # noqa: E731


_base.register_array_class(CudaArray)


class _Module(types.ModuleType):
    """nnx.native.cuda.use_native_module installs a test stand-in by assigning this module's `_native`; the
    functions that call it live in cuda_array_base, so the assignment goes there too."""

    def __setattr__(self, name, value):
        if name == "_native":
            _base._native = value
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Module
