"""GEMM family (gemm: out = alpha op(a) @ op(b) + beta out): the float64 reference and the call spec."""
import numpy as np

from ops.spec import Call, Draw, poison, values


def reference_gemm(a, b, out, trans_a, trans_b, alpha, beta):
    """alpha op(a) @ op(b) + beta out in float64 (out is not read when beta is 0, as BLAS)."""
    op_a, op_b = (a.T if trans_a else a).astype(np.float64), (b.T if trans_b else b).astype(np.float64)
    with np.errstate(all="ignore"):
        return alpha * (op_a @ op_b) + (beta * out.astype(np.float64) if beta else 0.0)


def gemm(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    M, N, K = dims[0], dims[1], dims[2]
    trans_a, trans_b = draw("trans_a", [False, True]), draw("trans_b", [False, True])
    a = values(rng, (K, M) if trans_a else (M, K), dtype, special)
    b = values(rng, (N, K) if trans_b else (K, N), dtype)
    alpha, beta = draw("alpha", [1.0, -0.5, 2.0]), draw("beta", [0.0, 0.0, 1.0, 0.5])
    out = poison((M, N), dtype) if beta == 0 else values(rng, (M, N), dtype)
    expected = reference_gemm(a, b, out, trans_a, trans_b, alpha, beta)
    return Call("gemm", ["a", "b", "out", "trans_a", "trans_b", "alpha", "beta"],
                [a, b, out, trans_a, trans_b, alpha, beta], {"a": "in", "b": "in", "out": "out"},
                {"out": expected}, scale=max(K, 1))


SPECS = {"gemm": gemm}
AXES = {"gemm": {"trans_a": (False, True), "trans_b": (False, True)}}
# (M, N, K): one element, odd sizes, long inner dimensions, an empty one, and M * N above the OpenMP threshold.
SIZES = [(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 1, 128), (130, 70, 257), (1, 300, 1), (4, 3, 0)]
