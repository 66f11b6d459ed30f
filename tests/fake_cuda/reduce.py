"""reduce: reduce and cumsum over the middle axis of contiguous (outer, length, inner) views, in NumPy; the ops are
read from csrc/bind/reduce.cpp's table. column_sum and row_argmax, bound on both devices, run nnx._C's kernels."""
import numpy as np

from fake_cuda import sources
from fake_cuda.checks import BOOL, FLOATS, INT64, require_dtype, require_no_overlap, three_axes

_REDUCE_OPS = tuple(sources.op_table("bind/reduce.cpp", "kReduceOps"))


def reduce(op, x, out, outer, length, inner):
    if op not in _REDUCE_OPS:
        raise ValueError(f"op must be one of {', '.join(map(repr, _REDUCE_OPS))}, got {op!r}")
    x_values, out_values = three_axes(x, out, outer, length, inner, 1)
    if op in ("sum", "prod", "mean"):
        require_dtype(out, "out", x.dtype if x.dtype in FLOATS else INT64)
    elif op in ("argmax", "argmin"):
        require_dtype(out, "out", INT64)
    elif op in ("any", "all"):
        require_dtype(out, "out", BOOL)
    else:
        require_dtype(out, "out", x.dtype)
    if length == 0 and op in ("max", "min", "argmax", "argmin"):
        raise ValueError(f"zero-size array to reduction operation {op} which has no identity (length is 0)")
    require_no_overlap(out, "out", x, "x")
    if length == 0 and op == "mean":  # (NumPy would warn "Mean of empty slice")
        out_values[...] = np.nan if x.dtype in FLOATS else 0
        return
    with np.errstate(all="ignore"):
        if op in ("sum", "prod", "mean"):
            accumulate = np.float64 if x.dtype in FLOATS else np.int64
            result = getattr(np, op)(x_values, axis=1, keepdims=True, dtype=accumulate)
            if op == "mean" and x.dtype not in FLOATS:
                result = np.trunc(result)
        else:
            result = getattr(np, op)(x_values, axis=1, keepdims=True)
    out_values[...] = result.astype(out.dtype)


def cumsum(x, out, outer, length, inner):
    x_values, out_values = three_axes(x, out, outer, length, inner, length)
    if x.dtype == BOOL:
        raise TypeError("x must not be bool: cast it to int64 first (numpy.cumsum of bool is int64)")
    if out.dtype != x.dtype:
        raise TypeError(f"out must have the dtype of x ({x.dtype}), got {out.dtype}")
    require_no_overlap(out, "out", x, "x")
    out_values[...] = np.cumsum(x_values, axis=1, dtype=x.dtype)
