"""The __array_function__ table of CudaArray: the NumPy functions the Python layer calls, each on the device.

np.<function>(cuda_array, ...) lands here; a function that is not in the table raises TypeError, never a
silent host copy. Creation functions called with like=cuda_array (np.full(shape, v, dtype, like=a)) make a
new array on like's device. The attribute, reduction and elementwise functions are here, the shape, joining,
gathering and creation ones in cuda_shape_functions (which cuda_array imports, so the table is whole once CudaArray
exists).
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

import numpy as np

from . import cuda_elementwise as elementwise
from . import cuda_numpy as impl
from .cuda_array_base import CudaArrayBase

_F = TypeVar("_F", bound=Callable[..., Any])

_FUNCTIONS = {}
_LIKE_FUNCTIONS = {}  # creation functions: reached only through like=


def implements(*functions: Callable[..., Any], like: bool = False) -> Callable[[_F], _F]:
    """Decorator: register the decorated function as CudaArray's version of the given NumPy functions."""
    def register(function):
        for numpy_function in functions:
            (_LIKE_FUNCTIONS if like else _FUNCTIONS)[numpy_function] = function
        return function
    return register


def array_function(like: CudaArrayBase, func: Callable[..., Any], types: Collection[type], args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> Any:
    """CudaArray.__array_function__: run func's device version from the table (TypeError when it has none)."""
    if func in _LIKE_FUNCTIONS:
        return _LIKE_FUNCTIONS[func](*args, like=like, **kwargs)
    function = _FUNCTIONS.get(func)
    if function is None:
        name = getattr(func, "__name__", str(func))
        module = getattr(func, "__module__", "numpy") or "numpy"
        raise impl.unsupported(name if module in ("numpy", "numpy._core.numeric") or not module.startswith("numpy.")
                               else module.removeprefix("numpy.") + "." + name)
    return function(*args, **kwargs)


def _no_options(name, options, **defaults):
    """Refuses keyword options the device version does not implement (NumPy's `<no value>` defaults pass)."""
    for key, value in options.items():
        if key not in defaults or value is not defaults[key] and value != defaults[key]:
            raise impl.unsupported(f"{name}({key}=)")


# --- attributes and dtypes ------------------------------------------------------------------------------------------
@implements(np.shape)
def _shape(a):
    return a.shape


@implements(np.ndim)
def _ndim(a):
    return a.ndim


@implements(np.size)
def _size(a, axis=None):
    return a.size if axis is None else a.shape[axis]


def _dtype_or_value(value):
    return value.dtype if isinstance(value, CudaArrayBase) else value


@implements(np.result_type)
def _result_type(*arrays_and_dtypes):
    return np.result_type(*(_dtype_or_value(v) for v in arrays_and_dtypes))


@implements(np.can_cast)
def _can_cast(from_, to, casting="safe"):
    return np.can_cast(_dtype_or_value(from_), to, casting)


# --- reductions ------------------------------------------------------------------------------------------------------
def _reduction(op, name):
    def function(a, axis=None, dtype=None, out=None, keepdims=False, **options):
        _no_options(name, options, initial=np._NoValue, where=np._NoValue)
        keepdims = False if keepdims is np._NoValue else keepdims
        return impl.reduction(op, a, axis, keepdims, dtype=dtype, out=out)
    return function


def _extreme(op, name):
    def function(a, axis=None, out=None, keepdims=False, **options):
        _no_options(name, options, initial=np._NoValue, where=np._NoValue)
        keepdims = False if keepdims is np._NoValue else keepdims
        return impl.reduction(op, a, axis, keepdims, out=out)
    return function


implements(np.sum)(_reduction("sum", "sum"))
implements(np.prod)(_reduction("prod", "prod"))
implements(np.mean)(_reduction("mean", "mean"))
implements(np.max, np.amax)(_extreme("max", "max"))
implements(np.min, np.amin)(_extreme("min", "min"))
implements(np.any)(_extreme("any", "any"))
implements(np.all)(_extreme("all", "all"))


@implements(np.argmax)
def _argmax(a, axis=None, out=None, *, keepdims=False):
    return impl.arg_reduction("argmax", a, axis, keepdims is True, out)


@implements(np.argmin)
def _argmin(a, axis=None, out=None, *, keepdims=False):
    return impl.arg_reduction("argmin", a, axis, keepdims is True, out)


@implements(np.cumsum)
def _cumsum(a, axis=None, dtype=None, out=None):
    return impl.cumsum(a, axis, dtype, out)


@implements(np.var)
def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **options):
    _no_options("var", options, where=np._NoValue, mean=np._NoValue, correction=np._NoValue)
    return impl.variance(a, axis, dtype, out, ddof, keepdims is True)


@implements(np.std)
def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **options):
    _no_options("std", options, where=np._NoValue, mean=np._NoValue, correction=np._NoValue)
    return impl.variance(a, axis, dtype, out, ddof, keepdims is True, root=True)


@implements(np.count_nonzero)
def _count_nonzero(a, axis=None, *, keepdims=False):
    return impl.reduction("sum", a != 0, axis, keepdims)


@implements(np.average)
def _average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    if weights is None:
        average = impl.reduction("mean", a, axis, keepdims)
        total = np.full_like(average, a.size // max(average.size, 1))
    else:
        if not isinstance(weights, CudaArrayBase) or weights.shape != a.shape:
            raise impl.unsupported("average with weights that are not a CUDA array of a's shape")
        total = impl.reduction("sum", weights, axis, keepdims)
        average = impl.reduction("sum", a * weights, axis, keepdims) / total
    return (average, np.broadcast_to(total, average.shape)) if returned else average


@implements(np.linalg.norm)
def _norm(x, ord=None, axis=None, keepdims=False):
    return elementwise.linalg_norm(x, ord, axis, keepdims)


# --- elementwise functions --------------------------------------------------------------------------------------------
@implements(np.clip)
def _clip(a, a_min=np._NoValue, a_max=np._NoValue, out=None, **options):
    a_min = None if a_min is np._NoValue else a_min
    a_max = None if a_max is np._NoValue else a_max
    return elementwise.clip(a, a_min, a_max, out, **options)


@implements(np.round, np.around)
def _round(a, decimals=0, out=None):
    return elementwise.round_(a, decimals, out)


@implements(np.where)
def _where(condition, x=None, y=None):
    return elementwise.where(condition, x, y)


@implements(np.isclose)
def _isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return elementwise.isclose(a, b, rtol, atol, equal_nan)


@implements(np.allclose)
def _allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return elementwise.allclose(a, b, rtol, atol, equal_nan)


@implements(np.array_equal)
def _array_equal(a1, a2, equal_nan=False):
    return elementwise.array_equal(a1, a2, equal_nan)


@implements(np.nonzero)
def _nonzero(a):
    return impl.nonzero(a)


@implements(np.argwhere)
def _argwhere(a):
    if a.ndim == 0:
        raise impl.unsupported("argwhere of a 0-d array")
    return np.stack(impl.nonzero(a), axis=1)


@implements(np.dot)
def _dot(a, b, out=None):
    return impl.dot(a, b, out)


@implements(np.outer)
def _outer(a, b, out=None):
    return impl._into(np.multiply(a.reshape(-1, 1), b.reshape(1, -1)), out)


__all__ = ["array_function", "implements"]
