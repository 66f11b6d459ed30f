"""nnx._cuda's generic strided kernels against NumPy: argument validation, copy, fill, arange, binary_scalar and
where, including strided, broadcast and in-place operands (unary and binary: test_cuda_elementwise_ops.py); GPU
cases skip without a GPU."""
import numpy as np
import pytest
from elementwise_cases import (
    COMPARISONS,
    DTYPES,
    SIZES,
    assert_matches,
    binary_reference,
    cuda,
    device,
    host,
    needs_gpu,
    needs_module,
    poisoned_device,
    random_values,
)

pytestmark = pytest.mark.cuda


# --- validation that needs no GPU -------------------------------------------------------------------------------------
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


# --- copy, fill, arange -----------------------------------------------------------------------------------------------
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


# --- binary_scalar and where ------------------------------------------------------------------------------------------
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
