"""Argument checks and conversions shared by the Tensor methods and the factories: dtypes and the default
float dtype, operands, dims and shapes, indices, and the (values, indices) result of max(dim) and sort.
"""
import functools
import operator

import numpy as np

from ._tensor_base import TensorBase
from .native import host_memory
from .native.devices import is_device_array

_ndarray = np.ndarray
_DEFAULT_FLOAT = np.dtype(np.float32)  # nnx.set_default_dtype changes it (through set_default_float)


def default_float() -> np.dtype:
    """The dtype Python floats become (float32 unless nnx.set_default_dtype changed it)."""
    return _DEFAULT_FLOAT


def set_default_float(dtype: np.dtype) -> None:
    global _DEFAULT_FLOAT
    _DEFAULT_FLOAT = dtype


_NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats: nnx has no complex, string or object tensors


def _check_dtype(dtype, argument="dtype"):
    if getattr(dtype, "__name__", dtype) == "bfloat16":  # nnx.bfloat16 (ml_dtypes' type or nnx's stand-in)
        raise TypeError(f"{argument}: nnx tensors do not hold bfloat16 values yet; use nnx.float32")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{argument} must be a NumPy dtype such as nnx.float32, got {dtype!r}") from None
    if dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{argument} must be a bool, integer or floating point dtype, got {dtype}")
    return dtype


def _check_numeric(array, argument="data"):
    """The array itself, or TypeError when its dtype is not one a Tensor can hold."""
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{argument} must hold numbers (bool, int or float), got dtype {array.dtype}")
    return array


def _is_float(dtype):
    return dtype.kind == "f"


def _canonical_dtype(array):
    """The array viewed with NumPy's canonical dtype object: unpickling recreates dtype objects that are
    equal but not identical, and the native bindings compare dtypes by identity."""
    dtype = array.dtype
    if dtype.kind in "biuf" and dtype.isnative and not dtype.isbuiltin and isinstance(array, _ndarray):
        return array.view(np.dtype(dtype.char))
    return array


def _as_operand(value):
    """A non-Tensor operand of arithmetic: NumPy scalars become Python scalars so that, as in PyTorch,
    `float32 tensor * np.float64(2)` stays float32."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (int, float, bool)):
        return value
    if isinstance(value, np.ndarray):
        return _check_numeric(value, "the other operand")
    if isinstance(value, (list, tuple)):
        return _check_numeric(np.asarray(value), "the other operand")
    if is_device_array(value):
        return _check_numeric(value, "the other operand")
    return NotImplemented


def _accepting_numpy_names(method):
    """method with NumPy's `axis=`/`keepdims=` accepted for `dim=`/`keepdim=`, as PyTorch accepts them;
    giving both spellings raises TypeError, like torch."""
    name = method.__name__

    @functools.wraps(method)
    def with_aliases(*args, **kwargs):
        if "axis" in kwargs or "keepdims" in kwargs:
            _rename_keyword(kwargs, "axis", "dim", name)
            _rename_keyword(kwargs, "keepdims", "keepdim", name)
        return method(*args, **kwargs)
    return with_aliases


def _rename_keyword(kwargs, alias, name, function):
    if alias in kwargs:
        if name in kwargs:
            raise TypeError(f"{function}() received both '{name}' and its alias '{alias}'")
        kwargs[name] = kwargs.pop(alias)


def _tensor_operand(other):
    """other as an operand of a two-tensor op: a Tensor itself, anything else as an array or scalar."""
    if isinstance(other, TensorBase):
        return other
    operand = _as_operand(other)
    if operand is NotImplemented:
        raise TypeError(f"other must be a Tensor or a number, got {type(other).__name__}")
    return operand


def _plain_operand(other):
    """other's array when it is a Tensor, else other itself (a number or an array)."""
    return other._data if isinstance(other, TensorBase) else other


def _require_ndim(function, *arguments):
    """RuntimeError naming the argument when one of (name, tensor, ndim) has another number of dimensions."""
    for name, value, ndim in arguments:
        if not isinstance(value, TensorBase):
            raise TypeError(f"{function}(): argument '{name}' must be a Tensor, got {type(value).__name__}")
        if value.ndim != ndim:
            raise RuntimeError(f"{function}(): argument '{name}' must be a {ndim}-D tensor, got {value.ndim}-D")


def _as_array(value, dtype=None):
    """An op's result as an array: NumPy reductions of whole arrays give scalars (np.generic), which
    become 0-d arrays; backend arrays pass through (cast to dtype when given)."""
    if isinstance(value, np.generic):
        return np.asarray(value, dtype=dtype)
    if dtype is not None and value.dtype != dtype:
        return value.astype(dtype)
    return value


class MinMaxResult(tuple):
    """(values, indices) of max(dim)/min(dim), like torch.return_types.max."""

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


def _normalize_dim(dim, ndim, argument="dim"):
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{argument} must be an int, got {type(dim).__name__}")
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], but got {dim})")
    return int(dim) % bound


def _normalize_dims(dim, ndim):
    """None (all axes) or a tuple of non-negative axes."""
    if dim is None:
        return None
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    return tuple(sorted({_normalize_dim(d, ndim) for d in dims})) if ndim else None


def _shape_arg(shape):
    """Sizes given as varargs or as one tuple/list, as PyTorch accepts them."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(operator.index(n) for n in shape)
    except TypeError:
        raise TypeError(f"size must be ints or a tuple of ints, got {shape!r}") from None


def _variance_correction(unbiased, correction):
    if unbiased is not None and correction is not None:
        raise ValueError("var()/std(): give either unbiased or correction, not both")
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def _index_array(index, argument):
    data = index._data if isinstance(index, TensorBase) else np.asarray(index)
    if data.dtype.kind not in "iu":
        raise TypeError(f"{argument} must be an integer tensor, got dtype {data.dtype}")
    return data


def _index_arg(index):
    """Tensors and lists inside an index become arrays (advanced indexing)."""
    if isinstance(index, TensorBase):
        return index._data
    if isinstance(index, list):
        return np.asarray(index)
    if isinstance(index, tuple):
        return tuple(_index_arg(part) for part in index)
    return index


def _array_from_python(data, dtype):
    """A fresh array from Python data with PyTorch's dtype inference (Python floats -> float32)."""
    if isinstance(data, TensorBase):
        data = data._data
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        return host_memory.copy(_check_numeric(data))  # (a large copy in reused memory: no page faults)
    if isinstance(data, (list, tuple)) and any(isinstance(item, TensorBase) for item in data):
        data = [item._data if isinstance(item, TensorBase) else item for item in data]
    array = np.array(data)
    if array.dtype == np.float64 and not isinstance(data, np.generic):
        array = array.astype(_DEFAULT_FLOAT)  # float32 unless nnx.set_default_dtype changed it
    elif array.dtype.kind not in "fiub":
        raise TypeError(f"data must hold numbers (bool, int or float), got dtype {array.dtype}")
    return array
