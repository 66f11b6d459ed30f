"""elementwise: the generic strided kernels (copy, fill, arange, unary, binary, binary_scalar, where) as NumPy
ufuncs on the arrays' memory, writing only into their outputs. The ops, their dtype domains and which give bool are
read from csrc/cuda/elementwise.h, the table the real binding checks against; the checks' messages are those of
csrc/bind/elementwise.cpp."""
import math
import operator
import re

import numpy as np

from fake_cuda import sources
from fake_cuda.checks import (
    BOOL,
    FLOATS,
    may_overlap,
    require_array,
    require_contiguous,
    require_dtype,
    require_same_shape,
    same_view,
)

_UNARY_DOMAINS = sources.op_table("cuda/elementwise.h", "kUnaryOps")  # name -> ("OpDomain::Float", "false")
_BINARY_DOMAINS = sources.op_table("cuda/elementwise.h", "kBinaryOps")
_GIVES_BOOL = {name for table in (_UNARY_DOMAINS, _BINARY_DOMAINS) for name, (_, bool_out) in table.items()
               if bool_out == "true"}
_DESCRIPTIONS = {f"OpDomain::{domain}": text for domain, text in re.findall(
    r'case OpDomain::(\w+): return "([^"]*)"', sources.read("cuda/elementwise.h"))}
_ACCEPTS = {"OpDomain::Float": lambda dtype: dtype in FLOATS, "OpDomain::Numeric": lambda dtype: dtype != BOOL,
            "OpDomain::Any": lambda dtype: True, "OpDomain::Integral": lambda dtype: dtype not in FLOATS}
# NumPy's ufunc of each op's name, but for the two NumPy lacks
_UNARY = {name: getattr(np, name, None) for name in _UNARY_DOMAINS} | {
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "erf": np.vectorize(math.erf, otypes=[np.float64])}
_BINARY = {name: getattr(np, name) for name in _BINARY_DOMAINS}


def _parse_op(op, table):
    if not isinstance(op, str):
        raise TypeError(f"op must be a str, got {type(op).__name__}")
    if op not in table:
        raise ValueError(f"op must be one of {', '.join(repr(name) for name in table)}, got {op!r}")
    return op


def _op_accepts(op, domains, array, name):
    domain = domains[op][0]
    if not _ACCEPTS[domain](array.dtype):
        raise TypeError(f"{name} must have {_DESCRIPTIONS[domain]} for '{op}', got {array.dtype}")


def require_writable_layout(out, name):
    """Every element of out is a distinct location (no broadcast or overlapping strides)."""
    reach = 0
    for stride, extent in sorted((abs(s), n) for n, s in zip(out.shape, out.strides) if n > 1):
        if stride <= reach:
            raise ValueError(f"{name} must not have overlapping elements (zero or overlapping strides {out.shape}): "
                             "a broadcast view cannot be written")
        reach += (extent - 1) * stride


def require_like_out(array, name, out):
    require_array(array, name)
    require_same_shape(array, name, out, "out")


def require_no_partial_overlap(out, array, name):
    if may_overlap(out, array) and not (out.data_ptr == array.data_ptr and out.shape == array.shape
                                         and out.strides == array.strides and out.itemsize == array.itemsize):
        raise ValueError(f"out must not share memory with {name} unless it is exactly {name}")


def _parse_scalar(value, name):
    """A Python number: exact for ints and bools, a double otherwise."""
    if isinstance(value, (bool, np.bool_)) or hasattr(value, "__index__"):
        integer = operator.index(value)
        if not -2 ** 63 <= integer < 2 ** 63:
            raise ValueError(f"{name} {value!r} does not fit in int64")
        return integer
    try:
        return float(value)
    except TypeError:
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}") from None


_INTEGER_BOUNDS = {np.dtype(np.uint8): (0, 256), np.dtype(np.int32): (-2 ** 31, 2 ** 31),
                   np.dtype(np.int64): (-2 ** 63, 2 ** 63)}


def _scalar_fits(value, dtype, name):
    if dtype not in _INTEGER_BOUNDS:
        return
    low, high = _INTEGER_BOUNDS[dtype]
    fits = low <= value < high if isinstance(value, int) else math.isfinite(value) and low <= math.trunc(value) < high
    if not fits:
        raise ValueError(f"{name} {value!r} does not fit in {dtype}")


def _scalar_array(value, dtype):
    return np.array(value).astype(dtype) if not isinstance(value, float) or dtype in FLOATS \
        else np.array(math.trunc(value)).astype(dtype)


def copy(src, dst):
    require_array(src, "src")
    require_array(dst, "dst")
    require_same_shape(src, "src", dst, "dst")
    require_writable_layout(dst, "dst")
    if may_overlap(dst, src) and not same_view(dst, src):
        raise ValueError("dst must not share memory with src unless it is exactly src")
    with np.errstate(invalid="ignore", over="ignore"):
        dst._numpy()[...] = src._numpy().astype(dst.dtype)


def fill(out, value):
    require_array(out, "out")
    value = _parse_scalar(value, "value")
    _scalar_fits(value, out.dtype, "value")
    require_writable_layout(out, "out")
    out._numpy()[...] = _scalar_array(value, out.dtype)


def arange(out, start, step):
    require_array(out, "out")
    if out.ndim != 1:
        raise ValueError(f"out must be 1-D, got shape {out.shape}")
    require_contiguous(out, "out")
    if out.dtype == BOOL:
        raise TypeError("out must have a numeric dtype (not bool), got bool")
    values = float(start) + np.arange(out.size, dtype=np.float64) * float(step)
    out._numpy()[...] = values.astype(out.dtype)


def unary(op, x, out):
    _parse_op(op, _UNARY_DOMAINS)
    require_array(x, "x")
    require_array(out, "out")
    _op_accepts(op, _UNARY_DOMAINS, x, "x")
    require_dtype(out, "out", BOOL if op in _GIVES_BOOL else x.dtype)
    require_like_out(x, "x", out)
    require_writable_layout(out, "out")
    require_no_partial_overlap(out, x, "x")
    with np.errstate(all="ignore"):
        out._numpy()[...] = np.asarray(_UNARY[op](x._numpy())).astype(out.dtype)


def _binary_values(op, a_values, b_values, dtype):
    with np.errstate(all="ignore"):
        if op == "power" and dtype.kind in "iu":
            b_values = np.maximum(b_values, 0)  # a device array exponent below 0 gives garbage, not an error
        return np.asarray(_BINARY[op](a_values, b_values))


def binary(op, a, b, out):
    _parse_op(op, _BINARY_DOMAINS)
    require_array(a, "a")
    require_array(b, "b")
    require_array(out, "out")
    _op_accepts(op, _BINARY_DOMAINS, a, "a")
    if b.dtype != a.dtype:
        raise TypeError(f"b must have the dtype of a ({a.dtype}), got {b.dtype}")
    require_dtype(out, "out", BOOL if op in _GIVES_BOOL else a.dtype)
    require_like_out(a, "a", out)
    require_like_out(b, "b", out)
    require_writable_layout(out, "out")
    require_no_partial_overlap(out, a, "a")
    require_no_partial_overlap(out, b, "b")
    out._numpy()[...] = _binary_values(op, a._numpy(), b._numpy(), a.dtype).astype(out.dtype)


def binary_scalar(op, a, scalar, out, scalar_first=False):
    _parse_op(op, _BINARY_DOMAINS)
    require_array(a, "a")
    value = _parse_scalar(scalar, "scalar")
    require_array(out, "out")
    _op_accepts(op, _BINARY_DOMAINS, a, "a")
    _scalar_fits(value, a.dtype, "scalar")
    if op == "power" and a.dtype.kind in "iu" and not scalar_first and value < 0:
        raise ValueError("scalar: integers to negative integer powers are not allowed")
    require_dtype(out, "out", BOOL if op in _GIVES_BOOL else a.dtype)
    require_like_out(a, "a", out)
    require_writable_layout(out, "out")
    require_no_partial_overlap(out, a, "a")
    operands = (_scalar_array(value, a.dtype), a._numpy())
    out._numpy()[...] = _binary_values(op, *(operands if scalar_first else operands[::-1]), a.dtype).astype(out.dtype)


def where(condition, a, b, out):
    for value, name in ((condition, "condition"), (a, "a"), (b, "b"), (out, "out")):
        require_array(value, name)
    require_dtype(condition, "condition", BOOL)
    if a.dtype != out.dtype:
        raise TypeError(f"a must have the dtype of out ({out.dtype}), got {a.dtype}")
    if b.dtype != out.dtype:
        raise TypeError(f"b must have the dtype of out ({out.dtype}), got {b.dtype}")
    for value, name in ((condition, "condition"), (a, "a"), (b, "b")):
        require_like_out(value, name, out)
    require_writable_layout(out, "out")
    for value, name in ((condition, "condition"), (a, "a"), (b, "b")):
        require_no_partial_overlap(out, value, name)
    out._numpy()[...] = np.where(condition._numpy(), a._numpy(), b._numpy())

