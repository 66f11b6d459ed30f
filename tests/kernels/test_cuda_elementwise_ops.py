"""nnx._cuda's unary and binary kernels against NumPy, every op on every dtype it accepts, including strided,
broadcast and in-place operands (the others: test_cuda_elementwise.py); GPU cases skip without a GPU."""
import numpy as np
import pytest
from elementwise_cases import (
    BINARY_OPS,
    COMPARISONS,
    DTYPES,
    PREDICATES,
    SIZES,
    UNARY_OPS,
    assert_matches,
    binary_accepts,
    binary_reference,
    cuda,
    device,
    host,
    needs_gpu,
    poisoned_device,
    random_values,
    unary_accepts,
    unary_input,
    unary_reference,
)

pytestmark = pytest.mark.cuda


# --- unary ------------------------------------------------------------------------------------------------------------
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
        np.testing.assert_allclose(host(out).astype(np.float64), expected.astype(np.float64), rtol=1e-14,
                                   equal_nan=True)
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


# --- binary -----------------------------------------------------------------------------------------------------------
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
