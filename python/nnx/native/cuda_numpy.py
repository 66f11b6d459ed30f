"""NumPy's ufuncs and functions on CudaArray: the elementwise machinery, reductions and matmul (the other
elementwise functions are in cuda_elementwise, the __array_function__ table in cuda_functions). Each function runs
on the device or raises TypeError; nothing falls back to the host.

Promotion is NumPy 2's (NEP 50, Python scalars are weak): every ufunc asks NumPy itself for its loop
dtypes (ufunc.resolve_dtypes), casts its operands to them, and broadcasts with zero-stride views.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from . import cuda_indexing
from .cuda_array_base import (
    BOOL,
    DEVICE_DTYPES,
    INT64,
    CudaArrayBase,
    ascontiguous,
    broadcast_to,
    cast,
    contiguous_copy,
    copy_into,
    device_dtype,
    empty,
    full,
    may_share_memory,
    native,
    reshape_fresh,
)

if TYPE_CHECKING:
    from .._dtypes import DTypeLike


def unsupported(name: str) -> TypeError:
    """The TypeError for a NumPy function CudaArray does not implement (never a silent host copy)."""
    return TypeError(f"nnx CUDA arrays do not support numpy.{name} yet")


# --- operands ----------------------------------------------------------------------------------------------------
def is_operand(value: object) -> bool:
    """What may meet a CudaArray in arithmetic: CudaArrays, numbers, NumPy scalars and 0-d host arrays."""
    if isinstance(value, (CudaArrayBase, bool, int, float)):
        return True
    return isinstance(value, (np.generic, np.ndarray)) and value.ndim == 0 and value.dtype.kind in "biuf"


def _loop_dtype_of(value):
    """What ufunc.resolve_dtypes takes for an operand: a dtype, or int/float for weak Python scalars."""
    if isinstance(value, (CudaArrayBase, np.generic, np.ndarray)):
        return value.dtype  # NumPy scalars (np.float64 is a float subclass) and 0-d arrays are strongly typed
    if isinstance(value, bool):
        return BOOL
    return int if isinstance(value, int) else float


def _check_operands(name, operands):
    for value in operands:
        if isinstance(value, np.ndarray) and value.ndim > 0:
            raise TypeError(f"numpy.{name}: cannot mix a CUDA array with a host numpy.ndarray of shape {value.shape}; "
                            "move it to the device first")
        if not is_operand(value):
            return False
    return True


def _device_of(arrays):
    devices = {a.device_index for a in arrays if isinstance(a, CudaArrayBase)}
    if len(devices) > 1:
        raise ValueError(f"expected all CUDA arrays on one device, got cuda:{min(devices)} and cuda:{max(devices)}")
    return devices.pop() if devices else 0


def _as_device(value, dtype, device):
    """value (CudaArray or scalar) as a device array of dtype."""
    if isinstance(value, CudaArrayBase):
        return value if value.dtype == dtype else cast(value, dtype)
    return full((), _scalar_value(value), dtype, device)  # fill takes Python ints exactly


def _scalar_value(value):
    return value.item() if isinstance(value, (np.generic, np.ndarray)) else value


# --- ufuncs ------------------------------------------------------------------------------------------------------
_UNARY_KERNELS = {name: name for name in (
    "negative", "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "square", "reciprocal", "sign", "sin",
    "cos", "tan", "tanh", "arctan", "floor", "ceil", "rint", "trunc", "isnan", "isinf", "isfinite",
    "logical_not", "invert")}
_UNARY_KERNELS.update(absolute="abs", fabs="abs")
_BINARY_KERNELS = {name: name for name in (
    "add", "subtract", "multiply", "floor_divide", "remainder", "power", "maximum", "minimum", "fmax", "fmin",
    "arctan2", "copysign", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
    "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor")}
_BINARY_KERNELS.update(divide="true_divide")
_ROUNDING = ("floor", "ceil", "rint", "trunc")


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """CudaArray.__array_ufunc__: a NumPy ufunc (called, or its reduce/accumulate/at method) run on the device."""
    name = ufunc.__name__
    if method == "__call__":
        out = kwargs.pop("out", None)
        if isinstance(out, tuple):
            if len(out) != 1:
                raise unsupported(f"{name} with several outputs")
            out = out[0]
        if kwargs.pop("where", True) is not True or kwargs.pop("casting", "same_kind") != "same_kind":
            raise unsupported(f"{name}(where=/casting=)")
        dtype = kwargs.pop("dtype", None)
        if kwargs:
            raise unsupported(f"{name}({', '.join(kwargs)}=)")
        if not _check_operands(name, inputs):
            return NotImplemented
        return call_ufunc(ufunc, inputs, out, dtype)
    if method == "reduce" and name in _UFUNC_REDUCTIONS:
        array, *rest = inputs
        return _ufunc_reduce(name, array, *rest, **kwargs)
    if method == "accumulate" and name == "add":
        array, *rest = inputs
        axis = kwargs.pop("axis", rest[0] if rest else 0)
        return cumsum(array, axis, kwargs.pop("dtype", None), kwargs.pop("out", None))
    if method == "at" and name == "add":
        array, index, values = inputs
        cuda_indexing.setitem(array, index, values, accumulate=True)
        return None
    raise unsupported(f"{name}.{method}")


def call_ufunc(ufunc: np.ufunc, operands: Sequence[Any], out: Any = None, dtype: DTypeLike | None = None) -> Any:
    """ufunc(*operands) with NumPy's promotion and broadcasting; written into `out` when given."""
    name = ufunc.__name__
    if out is not None and not isinstance(out, CudaArrayBase):
        raise TypeError(f"numpy.{name}: out must be a CUDA array, got {type(out).__name__}")
    if name == "matmul":
        return matmul(*operands, out=out)
    if ufunc.nout != 1:
        raise unsupported(name)
    device = _device_of(list(operands) + [out])
    loop = _loop_dtypes(ufunc, tuple(_loop_dtype_of(v) for v in operands), None if dtype is None else np.dtype(dtype))
    shapes = [v.shape for v in operands if isinstance(v, CudaArrayBase)]
    shape = np.broadcast_shapes(*shapes, *(() if out is None else (out.shape,)))
    result_dtype = loop[-1]
    if out is not None:
        if shape != out.shape:
            raise ValueError(f"non-broadcastable output operand with shape {out.shape} doesn't match the broadcast "
                             f"shape {shape}")
        if not np.can_cast(result_dtype, out.dtype, "same_kind"):
            raise TypeError(f"Cannot cast ufunc '{name}' output from {result_dtype!r} to {out.dtype!r} with "
                            "casting rule 'same_kind'")
        if not out._writeable:
            raise ValueError("output array is read-only")
    inputs = [v if not isinstance(v, CudaArrayBase) or v.dtype == d else cast(v, d) for v, d in zip(operands, loop)]
    direct = out is not None and out.dtype == result_dtype and out._handle.is_contiguous
    target = out if direct else empty(shape, result_dtype, device)
    _compute(name, inputs, loop[:-1], _Target(target, fresh=not direct), device)
    if out is not None and not direct:
        copy_into(target, out)
        return out
    return target


_LOOPS = {}  # (ufunc, operand dtypes or scalar types, requested dtype) -> NumPy's loop dtypes


def _loop_dtypes(ufunc, operand_types, dtype):
    """NumPy's loop (input dtypes..., output dtype) for these operands (NEP 50), checked against the device's."""
    key = (ufunc, operand_types, dtype)
    loop = _LOOPS.get(key)
    if loop is None:
        signature = operand_types + (None,)
        loop = ufunc.resolve_dtypes(signature) if dtype is None else \
            ufunc.resolve_dtypes(signature, signature=(None,) * len(operand_types) + (dtype,))
        if any(d not in DEVICE_DTYPES for d in loop):
            raise TypeError(f"nnx CUDA arrays do not support numpy.{ufunc.__name__} for dtype {loop[-1]}")
        _LOOPS[key] = loop
    return loop


class _Target:
    """Where a ufunc writes: the array, and whether it is freshly allocated (then no input can overlap it)."""

    __slots__ = ("array", "fresh")

    def __init__(self, array, fresh):
        self.array, self.fresh = array, fresh


def _compute(name, inputs, in_dtypes, destination, device):
    """Writes ufunc `name` of the (loop-dtype) inputs into the contiguous target."""
    target = destination.array
    if name in _UNARY_KERNELS:
        _unary(name, inputs[0], in_dtypes[0], destination, device)
    elif name in _BINARY_KERNELS:
        _binary(_BINARY_KERNELS[name], inputs, in_dtypes[0], destination, device)
    elif name in _COMPOSITES:
        result = _COMPOSITES[name](*(_as_device(v, d, device) for v, d in zip(inputs, in_dtypes)))
        native().copy(broadcast_to(result, target.shape)._handle, target._handle)
    else:
        raise unsupported(name)


def _unary(name, value, dtype, destination, device):
    target = destination.array
    x = broadcast_to(_as_device(value, dtype, device), target.shape)
    if dtype.kind != "f" and name in _ROUNDING + ("absolute", "fabs") and (name != "absolute" or dtype.kind != "i"):
        native().copy(x._handle, target._handle)  # rounding an integer (or |unsigned|) changes nothing
    elif dtype.kind != "f" and name in ("isnan", "isinf", "isfinite"):
        native().fill(target._handle, name == "isfinite")
    else:
        native().unary(_UNARY_KERNELS[name], _operand_view(x, destination)._handle, target._handle)


def _binary(op, inputs, dtype, destination, device):
    target = destination.array
    first, second = inputs
    if not isinstance(first, CudaArrayBase) and not isinstance(second, CudaArrayBase):  # np.add(1, 2, out=cuda_array)
        first = _as_device(first, dtype, device)
    scalar_first = not isinstance(first, CudaArrayBase)
    array, scalar = (second, first) if scalar_first else (first, second)
    if op == "power" and dtype.kind in "iu" and not isinstance(second, CudaArrayBase) and _scalar_value(second) < 0:
        raise ValueError("Integers to negative integer powers are not allowed.")
    if not isinstance(scalar, CudaArrayBase):  # the kernel casts the (exact) Python scalar to the array's dtype
        a = _operand_view(array, destination)
        native().binary_scalar(op, a._handle, _scalar_value(scalar), target._handle, scalar_first)
        return
    a = _operand_view(_as_device(first, dtype, device), destination)
    b = _operand_view(_as_device(second, dtype, device), destination)
    native().binary(op, a._handle, b._handle, target._handle)


def _operand_view(array, destination):
    """The operand broadcast to the target's shape; a copy when it overlaps the target other than exactly."""
    target = destination.array
    view = broadcast_to(array, target.shape)
    if not destination.fresh and may_share_memory(view, target) and not _exactly(view, target):
        view = contiguous_copy(view)
    return view


def _exactly(a, b):
    ha, hb = a._handle, b._handle
    return ha.data_ptr == hb.data_ptr and tuple(ha.strides) == tuple(hb.strides) and tuple(ha.shape) == tuple(hb.shape)


def _logaddexp(a, b):
    larger = np.maximum(a, b)
    spread = np.log1p(np.exp(-np.abs(a - b)))
    return np.where(a == b, a + math.log(2.0), larger + spread)  # equal infinities give inf - inf in `spread`


def _hypot(a, b):
    return np.sqrt(a * a + b * b)


_COMPOSITES = {
    "positive": lambda x: x,
    "conjugate": lambda x: x,
    "logaddexp": _logaddexp,
    "exp2": lambda x: np.power(2.0, x),
    "hypot": _hypot,
}


# --- reductions -------------------------------------------------------------------------------------------------------
_UFUNC_REDUCTIONS = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min", "logical_and": "all",
                     "logical_or": "any"}


def _ufunc_reduce(name, array, axis=0, dtype=None, out=None, keepdims=False, **options):
    if options:
        raise unsupported(f"{name}.reduce({', '.join(options)}=)")
    return reduction(_UFUNC_REDUCTIONS[name], array, axis, keepdims, dtype=dtype, out=out)


def _axes(axis, ndim):
    return tuple(range(ndim)) if axis is None else tuple(sorted(normalize_axis_tuple(axis, ndim)))


def reduction(op: str, x: CudaArrayBase, axis: int | tuple[int, ...] | None = None, keepdims: bool = False,
              dtype: DTypeLike | None = None, out: CudaArrayBase | None = None) -> CudaArrayBase:
    """sum, prod, mean, max, min, any, all over `axis` (None, int or tuple) with NumPy's result dtypes."""
    axes = _axes(axis, x.ndim)
    x, kernel_dtype, result_dtype = _reduction_dtypes(op, x, dtype)
    if op in ("max", "min") and any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"zero-size array to reduction operation {'maximum' if op == 'max' else 'minimum'} "
                         "which has no identity")
    result = _reduce_axes(op, x, axes, kernel_dtype)
    if result.dtype != result_dtype:
        result = cast(result, result_dtype)
    if keepdims:
        result = reshape_fresh(result, tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    return _into(result, out)


def _reduction_dtypes(op, x, dtype):
    """(input cast for the kernel, the kernel's output dtype, NumPy's result dtype)."""
    requested = None if dtype is None else device_dtype(dtype)
    if op in ("sum", "prod"):
        source = requested if requested is not None and requested.kind == "f" else x.dtype
        x = x if x.dtype == source else cast(x, source)
        kernel = source if source.kind == "f" else INT64
        return x, kernel, requested or kernel
    if op == "mean":
        source = requested or (x.dtype if x.dtype.kind == "f" else np.dtype(np.float64))
        if source.kind != "f":
            source = np.dtype(np.float64)
        x = x if x.dtype == source else cast(x, source)
        return x, source, requested or source
    if op in ("any", "all"):
        return (x if x.dtype == BOOL else cast(x, BOOL)), BOOL, BOOL
    return x, x.dtype, x.dtype  # max, min


def _reduce_axes(op, x, axes, out_dtype):
    """op over `axes` (sorted) through the (outer, length, inner) kernel; a transposed copy when the axes are not
    consecutive or x is not contiguous."""
    shape = x.shape
    kept = [i for i in range(x.ndim) if i not in axes]
    consecutive = not axes or list(axes) == list(range(axes[0], axes[-1] + 1))
    if consecutive and x._handle.is_contiguous:
        first = axes[0] if axes else x.ndim
        outer = math.prod(shape[:first])
        length = math.prod(shape[a] for a in axes)
        inner = math.prod(shape[first + len(axes):])
        source = x
    else:
        source = contiguous_copy(x.transpose(kept + list(axes)))
        outer, length, inner = math.prod(shape[i] for i in kept), math.prod(shape[a] for a in axes), 1
    out = empty((outer, inner), out_dtype, x.device_index)
    native().reduce(op, source.reshape(outer, length, inner)._handle, out._handle, outer, length, inner)
    return reshape_fresh(out, tuple(shape[i] for i in kept))


def _into(result, out):
    if out is None:
        return result
    if not isinstance(out, CudaArrayBase):
        raise TypeError(f"out must be a CUDA array, got {type(out).__name__}")
    copy_into(result, out)
    return out


def arg_reduction(op: str, x: CudaArrayBase, axis: int | None = None, keepdims: bool = False,
                  out: CudaArrayBase | None = None) -> CudaArrayBase:
    """argmax/argmin (op) along axis on the device (of the flattened array when axis is None)."""
    if x.size == 0:
        raise ValueError(f"attempt to get {op} of an empty sequence")
    if axis is None:
        flat = ascontiguous(x).reshape(-1)
        result = _reduce_axes(op, flat, (0,), INT64)
        result = reshape_fresh(result, (1,) * x.ndim) if keepdims else result
        return _into(result, out)
    axis = normalize_axis_index(axis, x.ndim)
    result = _reduce_axes(op, x, (axis,), INT64)
    if keepdims:
        result = reshape_fresh(result, x.shape[:axis] + (1,) + x.shape[axis + 1:])
    return _into(result, out)


def cumsum(x: CudaArrayBase, axis: int | None = None, dtype: DTypeLike | None = None,
           out: CudaArrayBase | None = None) -> CudaArrayBase:
    """np.cumsum on the device: the running sum along axis."""
    if axis is None:
        x, axis = ascontiguous(x).reshape(-1), 0
    axis = normalize_axis_index(axis, x.ndim)
    target = device_dtype(dtype) if dtype is not None else (x.dtype if x.dtype.kind == "f" else INT64)
    source = ascontiguous(x) if x.dtype == target else cast(x, target)
    result = empty(x.shape, target, x.device_index)
    outer, length, inner = math.prod(x.shape[:axis]), x.shape[axis], math.prod(x.shape[axis + 1:])
    native().cumsum(source.reshape(outer, length, inner)._handle, result.reshape(outer, length, inner)._handle,
                    outer, length, inner)
    return _into(result, out)


def variance(x: CudaArrayBase, axis: int | tuple[int, ...] | None = None, dtype: DTypeLike | None = None,
             out: CudaArrayBase | None = None, ddof: int = 0, keepdims: bool = False,
             root: bool = False) -> CudaArrayBase:
    """np.var on the device (np.std when root): the mean squared deviation, with ddof delta degrees of freedom."""
    axes = _axes(axis, x.ndim)
    work = device_dtype(dtype) if dtype is not None else (x.dtype if x.dtype.kind == "f" else np.dtype(np.float64))
    x = x if x.dtype == work else cast(x, work)
    centered = x - reduction("mean", x, axes, keepdims=True)
    count = math.prod(x.shape[a] for a in axes)
    result = reduction("sum", centered * centered, axes, keepdims) / max(count - ddof, 0)
    return _into(np.sqrt(result) if root else result, out)


def nonzero(x: CudaArrayBase) -> tuple[CudaArrayBase, ...]:
    """np.nonzero on the device: the indices of the nonzero elements, one array per dimension."""
    if x.ndim == 0:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use np.atleast_1d(scalar).nonzero() instead.")
    mask = ascontiguous(x) if x.dtype == BOOL else ascontiguous(x != 0)
    count = native().nonzero_count(mask._handle)
    coordinates = empty((count, x.ndim), INT64, x.device_index)
    native().nonzero(mask._handle, coordinates._handle)
    return tuple(coordinates[:, k] for k in range(x.ndim))


# --- matmul (gemm for floats; a broadcast multiply-and-sum for integers) ----------------------------------------------
_MATMUL_SIGNATURE = "with gufunc signature (n?,k),(k,m?)->(n?,m?)"


def matmul(a: Any, b: Any, out: CudaArrayBase | None = None) -> CudaArrayBase:
    """np.matmul on the device (cuBLAS for floats, a multiply-and-sum for integers)."""
    for k, operand in enumerate((a, b)):
        if not isinstance(operand, CudaArrayBase):
            if isinstance(operand, np.ndarray) and operand.ndim > 0:
                raise TypeError("numpy.matmul: cannot mix a CUDA array with a host numpy.ndarray; move it first")
            raise ValueError(f"matmul: Input operand {k} does not have enough dimensions (has 0, gufunc core "
                             f"{_MATMUL_SIGNATURE} requires 1)")
        if operand.ndim == 0:
            raise ValueError(f"matmul: Input operand {k} does not have enough dimensions (has 0, gufunc core "
                             f"{_MATMUL_SIGNATURE} requires 1)")
    _device_of([a, b])
    dtype = np.matmul.resolve_dtypes((a.dtype, b.dtype, None))[-1]
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, {_MATMUL_SIGNATURE} "
                         f"(size {b2.shape[-2]} is different from {a2.shape[-1]})")
    if dtype.kind == "f":
        result = _batched_gemm(_cast_to(a2, dtype), _cast_to(b2, dtype))
    else:
        products = np.expand_dims(a2, -1) * np.expand_dims(b2, -3)
        result = reduction("any" if dtype == BOOL else "sum", products, -2)
        result = result if result.dtype == dtype else cast(result, dtype)
    if a.ndim == 1:
        result = result[..., 0, :]
    if b.ndim == 1:
        result = result[..., 0]
    return _into(result, out)


def _cast_to(array, dtype):
    return array if array.dtype == dtype else cast(array, dtype)


def _batched_gemm(a, b):
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    (m, k), n = a.shape[-2:], b.shape[-1]
    if not batch:
        return gemm2d(a, b)
    if b.ndim == 2:  # (..., m, k) @ (k, n): one GEMM over the stacked rows
        return reshape_fresh(gemm2d(ascontiguous(a).reshape(-1, k), b), batch + (m, n))
    out = empty(batch + (m, n), a.dtype, a.device_index)
    a, b = broadcast_to(a, batch + (m, k)), broadcast_to(b, batch + (k, n))
    for index in np.ndindex(*batch):
        gemm2d(a[index], b[index], out=out[index])
    return out


def _gemm_operand(array, transposed):
    """(C-contiguous array, transpose flag) for gemm: a transposed contiguous matrix is passed with the flag."""
    if array._handle.is_contiguous:
        return array, transposed
    if array.T._handle.is_contiguous:
        return array.T, not transposed
    return contiguous_copy(array), transposed


def gemm2d(a: CudaArrayBase, b: CudaArrayBase, trans_a: bool = False, trans_b: bool = False,
           out: CudaArrayBase | None = None) -> CudaArrayBase:
    """op(a) @ op(b) for 2-D float arrays of one dtype through the gemm kernel."""
    a, trans_a = _gemm_operand(a, trans_a)
    b, trans_b = _gemm_operand(b, trans_b)
    rows = a.shape[1] if trans_a else a.shape[0]
    cols = b.shape[0] if trans_b else b.shape[1]
    depth = a.shape[0] if trans_a else a.shape[1]
    if out is None:
        out = empty((rows, cols), a.dtype, a.device_index)
    if out.size and depth == 0:
        native().fill(out._handle, 0)
    elif out.size:
        native().gemm(a._handle, b._handle, out._handle, trans_a, trans_b)
    return out


def dot(a: Any, b: Any, out: CudaArrayBase | None = None) -> CudaArrayBase:
    """np.dot on the device."""
    if not isinstance(a, CudaArrayBase) or not isinstance(b, CudaArrayBase) or a.ndim == 0 or b.ndim == 0:
        return _into(np.multiply(a, b), out)
    if a.ndim > 2 or b.ndim > 2:
        raise unsupported("dot of arrays with more than 2 dimensions (use matmul)")
    return matmul(a, b, out=out)
