"""nnx._cuda's generic strided kernels (copy, fill, arange, unary, binary, binary_scalar, where) against NumPy,
including strided, broadcast and in-place operands; GPU cases skip without a GPU."""
import numpy as np
import pytest

from nnx import native

cuda = native._cuda
pytestmark = pytest.mark.cuda
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


# --- validation that needs no GPU ---------------------------------------------------------------------------------
@needs_module
def test_unknown_op_names_list_the_choices():
    with pytest.raises(ValueError, match="op must be one of 'negative', 'abs', .*'erf', got 'relu'"):
        cuda.unary("relu", None, None)
    with pytest.raises(ValueError, match="op must be one of 'add', .*'bitwise_xor', got 'divide'"):
        cuda.binary("divide", None, None, None)
    with pytest.raises(ValueError, match="op must be one of 'add'"):
        cuda.binary_scalar("plus", None, 1.0, None)
    with pytest.raises(TypeError, match="op must be a str, got int"):
        cuda.unary(3, None, None)


@needs_module
def test_numpy_arrays_are_refused_naming_the_argument():
    x = np.ones(3, np.float32)
    with pytest.raises(TypeError, match="src must be an nnx._cuda.DeviceArray, got ndarray"):
        cuda.copy(x, x)
    with pytest.raises(TypeError, match="out must be an nnx._cuda.DeviceArray, got ndarray"):
        cuda.fill(x, 1.0)
    with pytest.raises(TypeError, match="out must be an nnx._cuda.DeviceArray, got list"):
        cuda.arange([1.0], 0.0, 1.0)
    with pytest.raises(TypeError, match="x must be an nnx._cuda.DeviceArray, got ndarray"):
        cuda.unary("exp", x, x)
    with pytest.raises(TypeError, match="a must be an nnx._cuda.DeviceArray, got ndarray"):
        cuda.binary("add", x, x, x)
    with pytest.raises(TypeError, match="a must be an nnx._cuda.DeviceArray, got ndarray"):
        cuda.binary_scalar("add", x, 1.0, x)
    with pytest.raises(TypeError, match="condition must be an nnx._cuda.DeviceArray, got ndarray"):
        cuda.where(x, x, x, x)


# --- copy, fill, arange --------------------------------------------------------------------------------------------
def cast_reference(values, dtype):
    with np.errstate(all="ignore"):
        return values.astype(dtype)


@needs_gpu
@pytest.mark.parametrize("src_dtype", DTYPES)
@pytest.mark.parametrize("dst_dtype", DTYPES)
def test_copy_casts_like_astype(rng, src_dtype, dst_dtype):
    values = random_values(rng, (5, 7), src_dtype)
    if np.dtype(src_dtype).kind == "f" and np.dtype(dst_dtype) == np.uint8:
        values = np.abs(values)  # negative float -> uint8 is platform-defined in NumPy
    dst = poisoned_device((5, 7), dst_dtype)
    cuda.copy(device(values), dst)
    np.testing.assert_array_equal(host(dst), cast_reference(values, dst_dtype))


@needs_gpu
@pytest.mark.parametrize("size", SIZES)
def test_copy_between_strided_views(rng, size):
    values = random_values(rng, (size, 3), np.float64)
    src = device(values).view((3, size), (1, 3), 0)  # the transpose
    dst_storage = poisoned_device((3, size * 2), np.float32)
    dst = dst_storage.view((3, size), (size * 2, 2), 1)  # every other column, starting at 1
    cuda.copy(src, dst)
    result = host(dst_storage)
    np.testing.assert_array_equal(result[:, 1::2], values.T.astype(np.float32))
    assert np.isnan(result[:, 0::2]).all()  # nothing outside the view was written


@needs_gpu
def test_copy_of_broadcast_and_reversed_views(rng):
    values = random_values(rng, (4,), np.int64)
    src = device(values)
    broadcast = src.view((3, 4), (0, 1), 0)
    dst = poisoned_device((3, 4), np.int64)
    cuda.copy(broadcast, dst)
    np.testing.assert_array_equal(host(dst), np.broadcast_to(values, (3, 4)))
    reversed_view = src.view((4,), (-1,), 3)
    dst = poisoned_device((4,), np.float64)
    cuda.copy(reversed_view, dst)
    np.testing.assert_array_equal(host(dst), values[::-1].astype(np.float64))


@needs_gpu
def test_copy_refuses_bad_outputs(rng):
    a = device(random_values(rng, (4, 4), np.float32))
    with pytest.raises(ValueError, match=r"src must have the shape of dst \(4, 3\), got \(4, 4\)"):
        cuda.copy(a, cuda.DeviceArray.empty((4, 3), np.float32))
    with pytest.raises(ValueError, match="dst must not have overlapping elements"):
        cuda.copy(a, cuda.DeviceArray.empty((4,), np.float32).view((4, 4), (0, 1), 0))
    with pytest.raises(ValueError, match="dst must not share memory with src unless it is exactly src"):
        cuda.copy(a.view((2, 4), (4, 1), 0), a.view((2, 4), (4, 1), 4 + 1))
    cuda.copy(a, a)  # exactly src: allowed


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_fill_writes_only_the_view(dtype):
    storage = device(np.zeros((4, 6), dtype))
    view = storage.view((2, 3), (12, 2), 1)  # rows 0 and 2, columns 1, 3, 5
    value = True if dtype == np.bool_ else 3
    cuda.fill(view, value)
    expected = np.zeros((4, 6), dtype)
    expected[0:4:2, 1::2] = value
    np.testing.assert_array_equal(host(storage), expected)


@needs_gpu
def test_fill_is_exact_for_large_ints_and_checks_ranges():
    out = cuda.DeviceArray.empty((3,), np.int64)
    cuda.fill(out, 2**62 + 1)
    np.testing.assert_array_equal(host(out), np.full(3, 2**62 + 1, np.int64))
    cuda.fill(out, -7.9)
    np.testing.assert_array_equal(host(out), np.full(3, -7, np.int64))
    with pytest.raises(ValueError, match="value 300 does not fit in uint8"):
        cuda.fill(cuda.DeviceArray.empty((3,), np.uint8), 300)
    with pytest.raises(ValueError, match="value nan does not fit in int32"):
        cuda.fill(cuda.DeviceArray.empty((3,), np.int32), float("nan"))
    with pytest.raises(TypeError, match="value must be a real number, got str"):
        cuda.fill(out, "1")
    floats = cuda.DeviceArray.empty((2,), np.float32)
    cuda.fill(floats, float("-inf"))
    np.testing.assert_array_equal(host(floats), [-np.inf, -np.inf])
    for value, expected in ((np.bool_(True), 1.0), (np.int64(-3), -3.0), (np.float32(0.5), 0.5), (True, 1.0)):
        cuda.fill(floats, value)  # NumPy scalars and Python bools are numbers too
        np.testing.assert_array_equal(host(floats), [expected, expected])


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES[1:])
@pytest.mark.parametrize("size", SIZES)
def test_arange(dtype, size):
    out = poisoned_device((size,), dtype)
    cuda.arange(out, 2.0, 3.0 if np.dtype(dtype).kind != "u" else 1.0)
    step = 3.0 if np.dtype(dtype).kind != "u" else 1.0
    expected = (2.0 + np.arange(size, dtype=np.float64) * step)
    with np.errstate(all="ignore"):
        expected = expected.astype(np.int64).astype(dtype) if np.dtype(dtype).kind in "iu" else expected.astype(dtype)
    np.testing.assert_array_equal(host(out), expected)


@needs_gpu
def test_arange_needs_a_contiguous_1d_numeric_out():
    with pytest.raises(ValueError, match="out must be 1-D"):
        cuda.arange(cuda.DeviceArray.empty((2, 2), np.float32), 0.0, 1.0)
    with pytest.raises(ValueError, match="out must be C-contiguous"):
        cuda.arange(cuda.DeviceArray.empty((4,), np.float32).view((2,), (2,), 0), 0.0, 1.0)
    with pytest.raises(TypeError, match="out must have a numeric dtype"):
        cuda.arange(cuda.DeviceArray.empty((2,), np.bool_), 0.0, 1.0)


# --- unary ---------------------------------------------------------------------------------------------------------
UNARY_CASES = [(op, dtype) for op in UNARY_OPS for dtype in DTYPES if unary_accepts(op, dtype)]


@needs_gpu
@pytest.mark.parametrize("op,dtype", UNARY_CASES, ids=[f"{op}-{np.dtype(d).name}" for op, d in UNARY_CASES])
@pytest.mark.parametrize("size", SIZES)
def test_unary_matches_numpy(rng, op, dtype, size):
    x = unary_input(rng, op, (size,), dtype)
    out = poisoned_device((size,), np.bool_ if op in PREDICATES else dtype)
    cuda.unary(op, device(x), out)
    assert_matches(host(out), unary_reference(op, x), dtype)


@needs_gpu
@pytest.mark.parametrize("op", ["exp", "negative", "isnan", "sign"])
def test_unary_on_strided_and_broadcast_views(rng, op):
    x = unary_input(rng, op, (6, 5), np.float64)
    transposed = device(x).view((5, 6), (1, 5), 0)
    out = poisoned_device((5, 6), np.bool_ if op in PREDICATES else np.float64)
    cuda.unary(op, transposed, out)
    assert_matches(host(out), unary_reference(op, x.T), np.float64)
    row = device(x[0])
    broadcast = row.view((4, 5), (0, 1), 0)
    out = poisoned_device((4, 5), np.bool_ if op in PREDICATES else np.float64)
    cuda.unary(op, broadcast, out)
    assert_matches(host(out), unary_reference(op, np.broadcast_to(x[0], (4, 5))), np.float64)


@needs_gpu
def test_unary_special_values():
    x = np.array([np.nan, -np.inf, -2.5, -0.5, -0.0, 0.0, 0.5, 1.5, 2.5, np.inf], np.float64)
    for op in ("sign", "rint", "floor", "ceil", "trunc", "abs", "sigmoid", "tanh", "isfinite"):
        out = poisoned_device(x.shape, np.bool_ if op in PREDICATES else np.float64)
        cuda.unary(op, device(x), out)
        expected = unary_reference(op, x)
        np.testing.assert_allclose(host(out).astype(np.float64), expected.astype(np.float64), rtol=1e-14, equal_nan=True)
        if op in ("sign", "rint", "floor", "ceil", "trunc"):
            np.testing.assert_array_equal(np.signbit(host(out)), np.signbit(expected))  # signed zeros too


@needs_gpu
def test_unary_integer_wraparound_and_invert():
    x = np.array([np.iinfo(np.int32).min, -3, 0, 5, np.iinfo(np.int32).max], np.int32)
    for op in ("negative", "abs", "square", "sign", "invert"):
        out = poisoned_device(x.shape, np.int32)
        cuda.unary(op, device(x), out)
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(host(out), getattr(np, op)(x))
    flags = np.array([True, False, True])
    out = poisoned_device(flags.shape, np.bool_)
    cuda.unary("invert", device(flags), out)
    np.testing.assert_array_equal(host(out), ~flags)


@needs_gpu
def test_unary_in_place_is_allowed_partial_overlap_is_not(rng):
    x = random_values(rng, (10,), np.float32)
    a = device(x)
    cuda.unary("exp", a, a)
    assert_matches(host(a), np.exp(x), np.float32)
    with pytest.raises(ValueError, match="out must not share memory with x unless it is exactly x"):
        cuda.unary("exp", a.view((5,), (1,), 0), a.view((5,), (1,), 1))


@needs_gpu
def test_unary_validates_dtypes_and_shapes(rng):
    ints = device(np.arange(4, dtype=np.int64))
    floats = device(random_values(rng, (4,), np.float32))
    with pytest.raises(TypeError, match="x must have float32 or float64 for 'exp', got int64"):
        cuda.unary("exp", ints, cuda.DeviceArray.empty((4,), np.int64))
    with pytest.raises(TypeError, match="x must have bool or an integer dtype for 'invert', got float32"):
        cuda.unary("invert", floats, cuda.DeviceArray.empty((4,), np.float32))
    with pytest.raises(TypeError, match="x must have a numeric dtype \\(not bool\\) for 'negative', got bool"):
        cuda.unary("negative", device(np.ones(4, np.bool_)), cuda.DeviceArray.empty((4,), np.bool_))
    with pytest.raises(TypeError, match="out must have dtype bool, got float32"):
        cuda.unary("isnan", floats, cuda.DeviceArray.empty((4,), np.float32))
    with pytest.raises(TypeError, match="out must have dtype float32, got float64"):
        cuda.unary("exp", floats, cuda.DeviceArray.empty((4,), np.float64))
    with pytest.raises(ValueError, match="x must have the shape of out"):
        cuda.unary("exp", floats, cuda.DeviceArray.empty((5,), np.float32))


# --- binary --------------------------------------------------------------------------------------------------------
BINARY_CASES = [(op, dtype) for op in BINARY_OPS for dtype in DTYPES if binary_accepts(op, dtype)]


def binary_inputs(rng, op, shape, dtype):
    a, b = random_values(rng, shape, dtype), random_values(rng, shape, dtype)
    if op == "power":
        b = np.abs(b) % 4 if np.dtype(dtype).kind in "iu" else b
        a = np.abs(a) + 0.1 if np.dtype(dtype).kind == "f" else a
    if np.dtype(dtype).kind == "f" and op in ("maximum", "minimum", "fmax", "fmin", "equal", "less") and a.size >= 3:
        a.ravel()[:3], b.ravel()[:3] = [np.nan, 1.0, np.nan], [2.0, np.nan, np.nan]
    return a, b


@needs_gpu
@pytest.mark.parametrize("op,dtype", BINARY_CASES, ids=[f"{op}-{np.dtype(d).name}" for op, d in BINARY_CASES])
@pytest.mark.parametrize("size", SIZES)
def test_binary_matches_numpy(rng, op, dtype, size):
    a, b = binary_inputs(rng, op, (size,), dtype)
    out = poisoned_device((size,), np.bool_ if op in COMPARISONS else dtype)
    cuda.binary(op, device(a), device(b), out)
    assert_matches(host(out), binary_reference(op, a, b), dtype)


@needs_gpu
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32, np.float64])
def test_floor_divide_and_remainder_follow_python_signs(dtype):
    a = np.array([7, -7, 7, -7, 0, 5, -5, 3], dtype)
    b = np.array([2, 2, -2, -2, 3, 0, 0, -1], dtype)
    for op in ("floor_divide", "remainder"):
        out = poisoned_device(a.shape, dtype)
        cuda.binary(op, device(a), device(b), out)
        assert_matches(host(out), binary_reference(op, a, b), dtype)


@needs_gpu
def test_integer_division_edge_cases():
    a = np.array([np.iinfo(np.int64).min, 9, -9], np.int64)
    b = np.array([-1, 0, 0], np.int64)
    for op, expected in (("floor_divide", [np.iinfo(np.int64).min, 0, 0]), ("remainder", [0, 0, 0])):
        out = poisoned_device(a.shape, np.int64)
        cuda.binary(op, device(a), device(b), out)
        np.testing.assert_array_equal(host(out), expected)


@needs_gpu
def test_binary_broadcast_views_like_numpy(rng):
    a = random_values(rng, (4, 1, 3), np.float32)
    b = random_values(rng, (5, 1), np.float32)
    shape = (4, 5, 3)
    a_view = device(a).view(shape, (3, 0, 1), 0)
    b_view = device(b).view(shape, (0, 1, 0), 0)
    out = poisoned_device(shape, np.float32)
    cuda.binary("subtract", a_view, b_view, out)
    assert_matches(host(out), a - b, np.float32)


@needs_gpu
def test_binary_in_place_on_either_side(rng):
    x, y = random_values(rng, (6,), np.float64), random_values(rng, (6,), np.float64)
    a, b = device(x), device(y)
    cuda.binary("multiply", a, b, a)
    assert_matches(host(a), x * y, np.float64)
    cuda.binary("subtract", a, b, b)
    assert_matches(host(b), x * y - y, np.float64)
    with pytest.raises(ValueError, match="out must not share memory with a unless it is exactly a"):
        cuda.binary("add", a.view((3,), (1,), 0), b.view((3,), (1,), 0), a.view((3,), (1,), 2))


@needs_gpu
def test_binary_validates_arguments(rng):
    f32 = device(random_values(rng, (4,), np.float32))
    f64 = device(random_values(rng, (4,), np.float64))
    with pytest.raises(TypeError, match="b must have the dtype of a \\(float32\\), got float64"):
        cuda.binary("add", f32, f64, cuda.DeviceArray.empty((4,), np.float32))
    with pytest.raises(TypeError, match="a must have float32 or float64 for 'true_divide', got int64"):
        ints = device(np.arange(4, dtype=np.int64))
        cuda.binary("true_divide", ints, ints, cuda.DeviceArray.empty((4,), np.int64))
    with pytest.raises(TypeError, match="out must have dtype bool, got float32"):
        cuda.binary("less", f32, f32, cuda.DeviceArray.empty((4,), np.float32))
    with pytest.raises(ValueError, match="b must have the shape of out"):
        cuda.binary("add", f32, device(np.ones(3, np.float32)), cuda.DeviceArray.empty((4,), np.float32))
    with pytest.raises(ValueError, match="out must not have overlapping elements"):
        cuda.binary("add", f32, f32, cuda.DeviceArray.empty((1,), np.float32).view((4,), (0,), 0))


@needs_gpu
def test_more_than_eight_dimensions_that_cannot_merge_are_refused():
    storage = cuda.DeviceArray.empty((4**9,), np.float32)
    shape = (2,) * 9
    strides = tuple(2 * 4**k for k in reversed(range(9)))
    view = storage.view(shape, strides, 0)
    with pytest.raises(ValueError, match="at most 8 dimensions"):
        cuda.unary("negative", view, cuda.DeviceArray.empty(shape, np.float32))
    contiguous = storage.view((4,) * 9, tuple(4**k for k in reversed(range(9))), 0)
    cuda.fill(contiguous, 1.0)  # nine dimensions that merge into one are fine


@needs_gpu
def test_empty_arrays_launch_nothing():
    empty = cuda.DeviceArray.empty((0, 3), np.float32)
    cuda.unary("exp", empty, cuda.DeviceArray.empty((0, 3), np.float32))
    cuda.binary("add", empty, empty, cuda.DeviceArray.empty((0, 3), np.float32))
    cuda.fill(empty, 1.0)
    cuda.synchronize()


# --- binary_scalar and where --------------------------------------------------------------------------------------
@needs_gpu
@pytest.mark.parametrize("op,dtype", [("subtract", np.float32), ("true_divide", np.float64), ("power", np.float64),
                                      ("floor_divide", np.int64), ("remainder", np.int32), ("less", np.uint8),
                                      ("maximum", np.float32), ("add", np.bool_)])
@pytest.mark.parametrize("scalar_first", [False, True])
def test_binary_scalar_matches_numpy(rng, op, dtype, scalar_first):
    a = random_values(rng, (37,), dtype)
    if op == "power":
        a = np.abs(a) + 0.5
    scalar = {np.bool_: True, np.uint8: 7, np.int32: -3, np.int64: 4}.get(dtype, 1.75)
    s = np.array(scalar, dtype)
    out = poisoned_device(a.shape, np.bool_ if op in COMPARISONS else dtype)
    cuda.binary_scalar(op, device(a), scalar, out, scalar_first=scalar_first)
    lhs, rhs = (np.broadcast_to(s, a.shape), a) if scalar_first else (a, np.broadcast_to(s, a.shape))
    assert_matches(host(out), binary_reference(op, lhs, rhs), dtype)


@needs_gpu
def test_binary_scalar_casts_and_checks_the_scalar(rng):
    ints = device(np.arange(5, dtype=np.int64))
    out = poisoned_device((5,), np.int64)
    cuda.binary_scalar("add", ints, 2**62, out)
    np.testing.assert_array_equal(host(out), np.arange(5) + 2**62)
    cuda.binary_scalar("multiply", ints, 2.9, out)  # cast to int64 first: 2
    np.testing.assert_array_equal(host(out), np.arange(5) * 2)
    cuda.binary_scalar("add", ints, 1, ints)  # in place
    np.testing.assert_array_equal(host(ints), np.arange(5) + 1)
    with pytest.raises(ValueError, match="scalar 256 does not fit in uint8"):
        cuda.binary_scalar("add", device(np.ones(2, np.uint8)), 256, cuda.DeviceArray.empty((2,), np.uint8))
    with pytest.raises(ValueError, match="negative integer powers"):
        cuda.binary_scalar("power", ints, -1, out)


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_where_with_broadcast_condition(rng, dtype):
    condition = rng.random((1, 6)) < 0.5
    a, b = random_values(rng, (4, 6), dtype), random_values(rng, (4, 6), dtype)
    out = poisoned_device((4, 6), dtype)
    cuda.where(device(condition).view((4, 6), (0, 1), 0), device(a), device(b), out)
    np.testing.assert_array_equal(host(out), np.where(condition, a, b))


@needs_gpu
def test_where_validates_arguments(rng):
    a = device(random_values(rng, (3,), np.float32))
    with pytest.raises(TypeError, match="condition must have dtype bool, got float32"):
        cuda.where(a, a, a, cuda.DeviceArray.empty((3,), np.float32))
    mask = device(np.ones(3, np.bool_))
    with pytest.raises(TypeError, match="b must have the dtype of out \\(float32\\), got float64"):
        cuda.where(mask, a, device(np.ones(3)), cuda.DeviceArray.empty((3,), np.float32))
