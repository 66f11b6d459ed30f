"""NumPy's elementwise functions that are not ufuncs, on CudaArray: clip, round, where, isclose, allclose,
array_equal and linalg.norm (CudaArray's methods and the __array_function__ table call them). Built on the ufunc
machinery and the reductions of cuda_numpy.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .cuda_array_base import BOOL, CudaArrayBase, broadcast_to, cast, contiguous_copy, device_dtype, empty, native
from .cuda_numpy import (
    _as_device,
    _check_operands,
    _device_of,
    _into,
    _loop_dtype_of,
    _scalar_value,
    nonzero,
    reduction,
    unsupported,
)


def clip(a: CudaArrayBase, a_min: Any = None, a_max: Any = None, out: CudaArrayBase | None = None,
         **options: Any) -> CudaArrayBase:
    """np.clip on the device: a limited to [a_min, a_max]."""
    a_min = options.pop("min", a_min)
    a_max = options.pop("max", a_max)
    if options:
        raise unsupported(f"clip({', '.join(options)}=)")
    result = a
    if a_min is not None:
        result = np.maximum(result, a_min)
    if a_max is not None:
        result = np.minimum(result, a_max)
    if result is a:
        result = contiguous_copy(a)
    return _into(result, out)


def round_(a: CudaArrayBase, decimals: int = 0, out: CudaArrayBase | None = None) -> CudaArrayBase:
    """np.round on the device: a rounded half to even to decimals places."""
    if a.dtype.kind != "f":
        if decimals < 0:
            raise unsupported("round of integers to negative decimals")
        return _into(contiguous_copy(a), out)
    if decimals == 0:
        return _into(np.rint(a), out)
    scale = 10.0 ** decimals
    return _into(np.rint(a * scale) / scale, out)


def where(condition: Any, x: Any = None, y: Any = None) -> CudaArrayBase | tuple[CudaArrayBase, ...]:
    """np.where on the device: x where condition, else y (the nonzero indices when x and y are missing)."""
    if x is None and y is None:
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("either both or neither of x and y should be given")
    operands = (condition, x, y)
    if not _check_operands("where", operands):
        raise TypeError("numpy.where: arguments must be CUDA arrays or scalars")
    device = _device_of(operands)
    dtype = np.result_type(*(_loop_dtype_of(v) if isinstance(v, (CudaArrayBase, np.generic, np.ndarray)) else v
                             for v in (x, y)))
    device_dtype(dtype)
    shape = np.broadcast_shapes(*(v.shape for v in operands if isinstance(v, CudaArrayBase)))
    condition = _as_device(condition, BOOL, device)
    x, y = _as_device(x, dtype, device), _as_device(y, dtype, device)
    out = empty(shape, dtype, device)
    native().where(*(broadcast_to(v, shape)._handle for v in (condition, x, y)), out._handle)
    return out


def isclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> CudaArrayBase:
    """np.isclose on the device: |a - b| <= atol + rtol * |b|, elementwise."""
    a, b = _as_array_pair("isclose", a, b)
    with np.errstate(invalid="ignore"):
        close = (np.abs(a - b) <= atol + rtol * np.abs(b)) | (a == b)
    if equal_nan:
        close = close | (np.isnan(a) & np.isnan(b))
    return close


def allclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """np.allclose on the device: isclose everywhere."""
    return bool(isclose(a, b, rtol, atol, equal_nan).all())


def array_equal(a1: Any, a2: Any, equal_nan: bool = False) -> bool:
    """np.array_equal on the device: same shape and equal elements."""
    a1, a2 = _as_array_pair("array_equal", a1, a2)
    if a1.shape != a2.shape:
        return False
    equal = a1 == a2
    if equal_nan and a1.dtype.kind == "f":
        equal = equal | (np.isnan(a1) & np.isnan(a2))
    return bool(equal.all())


def _as_array_pair(name, a, b):
    if not _check_operands(name, (a, b)):
        raise TypeError(f"numpy.{name}: arguments must be CUDA arrays or scalars")
    device = _device_of((a, b))
    return tuple(v if isinstance(v, CudaArrayBase) else _as_device(v, np.result_type(_scalar_value(v)), device)
                 for v in (a, b))


def linalg_norm(x: CudaArrayBase, ord: float | str | None = None, axis: int | tuple[int, ...] | None = None,
                keepdims: bool = False) -> CudaArrayBase:
    """np.linalg.norm on the device (the 2-norm / Frobenius norm, or the max norm)."""
    if ord not in (None, 2, "fro", np.inf) or (ord == 2 and (axis is None and x.ndim != 1)):
        raise unsupported(f"linalg.norm(ord={ord!r})")
    magnitude = np.abs(x if x.dtype.kind == "f" else cast(x, np.dtype(np.float64)))
    if ord == np.inf:
        return reduction("max", magnitude, axis, keepdims)
    return np.sqrt(reduction("sum", magnitude * magnitude, axis, keepdims))

