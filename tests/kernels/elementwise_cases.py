"""Shared by the elementwise kernel tests (test_cuda_elementwise*.py): the ops and the dtypes each accepts, written
independently of csrc/cuda/elementwise.h's table so that the tests check it; NumPy references and inputs; device
copies, poisoned outputs and the ulp comparison."""
import numpy as np
import pytest

from nnx import native

cuda = native._cuda
needs_module = pytest.mark.skipif(cuda is None, reason="nnx._cuda was not built (no nvcc)")
needs_gpu = pytest.mark.skipif(cuda is None or cuda.device_count() == 0, reason="needs an NVIDIA GPU")

DTYPES = (np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64)
FLOATS = (np.float32, np.float64)
SIZES = (1, 17, 40_003)

UNARY_OPS = ("negative", "abs", "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "square", "reciprocal", "sign",
             "sin", "cos", "tan", "tanh", "arctan", "floor", "ceil", "rint", "trunc", "isnan", "isinf", "isfinite",
             "logical_not", "invert", "sigmoid", "erf")
FLOAT_ONLY_UNARY = {"exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "reciprocal", "sin", "cos", "tan", "tanh",
                    "arctan", "sigmoid", "erf"}
NUMERIC_UNARY = {"negative", "square", "sign", "floor", "ceil", "rint", "trunc"}
PREDICATES = {"isnan", "isinf", "isfinite", "logical_not"}

BINARY_OPS = ("add", "subtract", "multiply", "true_divide", "floor_divide", "remainder", "power", "maximum", "minimum",
              "fmax", "fmin", "arctan2", "copysign", "equal", "not_equal", "less", "less_equal", "greater",
              "greater_equal", "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor")
FLOAT_ONLY_BINARY = {"true_divide", "arctan2", "copysign"}
NUMERIC_BINARY = {"subtract", "floor_divide", "remainder", "power"}
INTEGRAL_BINARY = {"bitwise_and", "bitwise_or", "bitwise_xor"}
COMPARISONS = {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
               "logical_xor"}


def unary_accepts(op, dtype):
    dtype = np.dtype(dtype)
    if op in FLOAT_ONLY_UNARY:
        return dtype.kind == "f"
    if op in NUMERIC_UNARY:
        return dtype != np.bool_
    if op == "invert":
        return dtype.kind != "f"
    return True


def binary_accepts(op, dtype):
    dtype = np.dtype(dtype)
    if op in FLOAT_ONLY_BINARY:
        return dtype.kind == "f"
    if op in NUMERIC_BINARY:
        return dtype != np.bool_
    if op in INTEGRAL_BINARY:
        return dtype.kind != "f"
    return True


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def unary_reference(op, x):
    """NumPy's result in x's dtype (bool for predicates); sigmoid in float64."""
    if op == "sigmoid":
        return sigmoid(x)
    if op == "erf":
        from math import erf
        return np.vectorize(erf, otypes=[np.float64])(x.astype(np.float64))
    with np.errstate(all="ignore"):
        result = getattr(np, op)(x)
    return result if op in PREDICATES else result.astype(x.dtype)


def binary_reference(op, a, b):
    with np.errstate(all="ignore"):
        if op in ("floor_divide", "remainder") and a.dtype.kind in "iu":
            zero = b == 0
            result = getattr(np, op)(a, np.where(zero, 1, b))
            return np.where(zero, 0, result).astype(a.dtype)
        result = getattr(np, op)(a, b)
    return result if op in COMPARISONS else result.astype(a.dtype)


def random_values(rng, shape, dtype, low=-3, high=3):
    """Fresh values, never all zeros: uniform floats, small integers (both signs where the dtype has them)."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.asarray(rng.random(shape) < 0.5)
    if dtype.kind in "iu":
        low = 0 if dtype.kind == "u" else low * 5
        return rng.integers(low, high * 5, size=shape, endpoint=True).astype(dtype).reshape(shape)
    return np.asarray(rng.uniform(low, high, size=shape).astype(dtype))


def unary_input(rng, op, shape, dtype):
    """Inputs inside each op's domain for floats (log of positives, ...), with a few special values."""
    x = random_values(rng, shape, dtype)
    if np.dtype(dtype).kind == "f":
        if op in ("log", "log2", "log10", "sqrt"):
            x = np.abs(x) + dtype(0.1)
        if op == "log1p":
            x = np.abs(x) - dtype(0.5)
        if op in ("isnan", "isinf", "isfinite", "sign", "abs", "logical_not") and x.size >= 4:
            x.ravel()[:4] = [np.nan, np.inf, -np.inf, -0.0]
    return x


def device(array):
    return cuda.DeviceArray.from_host(np.ascontiguousarray(array))


def host(device_array):
    out = np.empty(device_array.shape, device_array.dtype)
    device_array.to_host(out)
    return out


def poisoned_device(shape, dtype):
    """An output whose every element is wrong until a kernel writes it."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        fill = np.nan
    elif dtype == np.bool_:
        fill = True
    else:
        fill = np.iinfo(dtype).min
    return device(np.full(shape, fill, dtype))


def assert_matches(actual, expected, dtype):
    """Exact for integer/bool results and exact float ops; a few ulps for the device's transcendental functions."""
    assert actual.dtype == np.asarray(expected).dtype or np.dtype(dtype).kind == "f", (actual.dtype, expected.dtype)
    if actual.dtype.kind == "f":
        rtol = 2e-6 if actual.dtype == np.float32 else 1e-14
        np.testing.assert_allclose(actual.astype(np.float64), np.asarray(expected, np.float64), rtol=rtol,
                                   atol=rtol * 1e-2, equal_nan=True)
    else:
        np.testing.assert_array_equal(actual, expected)
