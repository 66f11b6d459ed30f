"""Reduce family (column_sum, row_argmax, squared_norm): the float64 references and the call specs."""
import numpy as np

from ops.spec import Call, Draw, poison, values


def column_sum(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    N, M = dims[0], dims[1]
    x = values(rng, (N, M), dtype, special)
    accumulate = draw("accumulate", [False, True])
    out = values(rng, (M,), dtype) if accumulate else poison((M,), dtype)
    expected = x.astype(np.float64).sum(axis=0) + (out.astype(np.float64) if accumulate else 0)
    return Call("column_sum", ["x", "out", "accumulate"], [x, out, accumulate], {"x": "in", "out": "out"},
                {"out": expected}, scale=max(N, 1))


def row_argmax(rng, dtype, dims, special, fixed=None):
    N, M = dims[0], max(dims[1], 1)
    x = values(rng, (N, M), dtype, special)
    expected = np.argmax(x, axis=1) if N else np.zeros(0, np.int64)  # the first maximum; NaN counts as largest
    return Call("row_argmax", ["x", "out"], [x, poison((N,), np.int64)], {"x": "in", "out": "out"},
                {"out": expected})


def squared_norm(rng, dtype, dims, special, fixed=None):
    x = values(rng, (dims[0] * dims[1],), dtype, special)
    expected = np.array((x.astype(np.float64) ** 2).sum())
    return Call("squared_norm", ["x", "out"], [x, poison((), dtype)], {"x": "in", "out": "out"},
                {"out": expected}, scale=max(x.size, 1) ** 0.5)


SPECS = {"column_sum": column_sum, "row_argmax": row_argmax, "squared_norm": squared_norm}
AXES = {"column_sum": {"accumulate": (False, True)}}
SIZES = [(1, 1), (5, 3), (129, 17), (40_003, 2), (3, 2000)]  # (N, M); squared_norm sums all N * M
