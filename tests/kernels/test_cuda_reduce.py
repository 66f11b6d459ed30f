"""CUDA reductions (reduce, cumsum, column_sum, row_argmax) against NumPy references; GPU cases skip without a GPU."""
import ctypes

import numpy as np
import pytest

from helpers import FLOAT_DTYPES, assert_close, poisoned, random_array
from nnx import native

cuda = native._cuda
pytestmark = pytest.mark.cuda
needs_module = pytest.mark.skipif(cuda is None, reason="nnx._cuda was not built (no nvcc)")
needs_gpu = pytest.mark.skipif(cuda is None or cuda.device_count() == 0, reason="needs an NVIDIA GPU")

ALL_DTYPES = (np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64)
# (outer, length, inner): single elements, odd sizes, rows (inner 1), columns (outer 1), and long axes
# with few outputs (the kernel splits those over blocks in two passes).
VIEWS = [(1, 1, 1), (3, 5, 7), (17, 1, 33), (40, 3, 1), (2, 250, 1), (1, 40_003, 1), (1, 20_000, 3),
         (3, 50, 300)]


def to_device(array):
    return cuda.DeviceArray.from_host(np.require(array, requirements="C"))  # keeps 0-d arrays 0-d


def reinterpret_as_int64(device_array):
    """The same memory as an int64 array: the DLPack export with its dtype code patched to kDLInt (0)."""
    capsule = device_array.__dlpack__()
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    tensor = get_pointer(capsule, b"dltensor")  # DLTensor: data, device (2 x int32), ndim (int32), dtype.code
    ctypes.c_uint8.from_address(tensor + 20).value = 0
    return cuda.from_dlpack(capsule)


def to_host(device_array):
    out = np.empty(device_array.shape, device_array.dtype)
    device_array.to_host(out)
    return out


def sample(rng, shape, dtype, op=None):
    """Values with ties (small integers), zeros for any/all, factors near 1 for prod, NaN in some floats."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < (0.02 if op == "any" else 0.98 if op == "all" else 0.5)
    if op == "prod":
        values = rng.uniform(0.9, 1.1, shape) if dtype.kind == "f" else rng.choice([1, 1, 1, -1, 2], shape)
        return values.astype(dtype)
    low = 0 if dtype == np.uint8 else -3
    values = rng.integers(low, 4, shape).astype(dtype)
    if dtype.kind == "f":
        values += rng.uniform(-0.25, 0.25, shape).astype(dtype) * (rng.random(shape) < 0.5)
    return values


def result_dtype(op, dtype):
    if op in ("argmax", "argmin", "sum", "prod", "mean") and np.dtype(dtype).kind not in "f":
        return np.int64
    return {"argmax": np.int64, "argmin": np.int64, "any": np.bool_, "all": np.bool_}.get(op, dtype)


def reference(op, x3):
    """NumPy's answer over axis 1 of the (outer, length, inner) view, in the contract's dtypes."""
    if op in ("sum", "prod", "mean"):
        wide = np.float64 if x3.dtype.kind == "f" else np.int64
        result = getattr(np, op)(x3, axis=1, dtype=wide)
        return np.trunc(result).astype(np.int64) if op == "mean" and x3.dtype.kind != "f" else result
    return getattr(np, op)(x3, axis=1)


def run_reduce(op, x, outer, length, inner):
    out = to_device(poisoned((outer, inner), result_dtype(op, x.dtype)))
    cuda.reduce(op, to_device(x), out, outer, length, inner)
    return to_host(out)


@needs_gpu
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("op", ["sum", "prod", "mean", "max", "min", "argmax", "argmin", "any", "all"])
@pytest.mark.parametrize("view", VIEWS)
def test_reduce_matches_numpy(rng, dtype, op, view):
    outer, length, inner = view
    x = sample(rng, view, dtype, op)
    got = run_reduce(op, x, outer, length, inner)
    expected = reference(op, x)
    if np.dtype(dtype).kind == "f" and op in ("sum", "prod", "mean"):
        assert_close(got, expected, scale=4)
    else:
        np.testing.assert_array_equal(got, expected)


@needs_gpu
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("view", [(3, 5, 7), (2, 250, 1), (1, 40_003, 1), (1, 20_000, 3)])
def test_nan_propagates_and_wins_arg_reductions_like_numpy(rng, dtype, view):
    x = sample(rng, view, dtype)
    x.reshape(-1)[rng.choice(x.size, size=max(1, x.size // 50), replace=False)] = np.nan
    for op in ("max", "min", "argmax", "argmin", "any"):
        got = run_reduce(op, x, *view)
        np.testing.assert_array_equal(got, reference(op, x), err_msg=op)
    np.testing.assert_array_equal(np.isnan(run_reduce("sum", x, *view)), np.isnan(x).any(axis=1))


@needs_gpu
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_sums_stay_close_to_float64_on_long_axes(rng, dtype):
    x = random_array(rng, (1, 300_001, 1), dtype)
    assert_close(run_reduce("sum", x, 1, 300_001, 1), x.astype(np.float64).sum(axis=1), scale=8)


@needs_gpu
@pytest.mark.parametrize("op,value", [("sum", 0), ("prod", 1), ("any", False), ("all", True)])
def test_empty_axis_gives_the_identity(op, value):
    x = np.zeros((2, 0, 3), np.float32)
    np.testing.assert_array_equal(run_reduce(op, x, 2, 0, 3), np.full((2, 3), value))


@needs_gpu
def test_empty_axis_mean_is_nan():
    assert np.isnan(run_reduce("mean", np.zeros((2, 0, 3), np.float64), 2, 0, 3)).all()


@needs_gpu
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.int64, np.float32, np.float64])
@pytest.mark.parametrize("view", [(1, 1, 1), (3, 5, 7), (1, 1000, 1), (2, 300, 3), (9000, 2, 1), (1, 70, 200)])
def test_cumsum_matches_numpy(rng, dtype, view):
    x = sample(rng, view, dtype)
    out = to_device(poisoned(view, dtype))
    cuda.cumsum(to_device(x), out, *view)
    if np.dtype(dtype).kind == "f":
        assert_close(to_host(out), np.cumsum(x.astype(np.float64), axis=1), scale=4)
    else:  # integers wrap in x's dtype like NumPy's
        np.testing.assert_array_equal(to_host(out), np.cumsum(x, axis=1, dtype=dtype))


@needs_gpu
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("N,M", [(1, 1), (5, 3), (129, 17), (40_003, 2), (3, 2000)])
def test_column_sum(rng, dtype, N, M):
    x = random_array(rng, (N, M), dtype)
    out = to_device(poisoned((M,), dtype))
    cuda.column_sum(to_device(x), out)
    first = to_host(out)
    assert_close(first, x.astype(np.float64).sum(axis=0), scale=4)
    cuda.column_sum(to_device(x), out, accumulate=True)
    assert_close(to_host(out), first.astype(np.float64) + x.astype(np.float64).sum(axis=0), scale=4)


@needs_gpu
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("N,M", [(1, 1), (5, 3), (129, 17), (40_003, 2), (3, 2000), (2, 50_000)])
def test_row_argmax_matches_numpy_and_the_cpu_kernel(rng, dtype, N, M):
    x = sample(rng, (N, M), dtype)
    out = to_device(poisoned((N,), np.int64))
    cuda.row_argmax(to_device(x), out)
    expected = poisoned((N,), np.int64)
    native._C.row_argmax(x, expected)
    np.testing.assert_array_equal(to_host(out), x.argmax(axis=1))
    np.testing.assert_array_equal(to_host(out), expected)


@needs_gpu
def test_row_argmax_nan_counts_as_largest_like_numpy():
    x = np.array([[1.0, np.nan, 3.0, np.nan], [0.0, 2.0, 1.0, 0.5]], np.float32)
    out = to_device(poisoned((2,), np.int64))
    cuda.row_argmax(to_device(x), out)
    np.testing.assert_array_equal(to_host(out), x.argmax(axis=1))


class TestBadInput:
    @needs_module
    def test_unknown_op(self):
        with pytest.raises(ValueError, match="op must be one of 'sum'"):
            cuda.reduce("median", None, None, 1, 1, 1)

    @needs_module
    def test_numpy_array_is_refused_by_name(self):
        with pytest.raises(TypeError, match="x must be an nnx._cuda.DeviceArray"):
            cuda.column_sum(np.ones((2, 2), np.float32), np.ones(2, np.float32))

    @needs_gpu
    def test_max_of_an_empty_axis(self):
        x, out = to_device(np.zeros((2, 0), np.float32)), to_device(np.zeros(2, np.float32))
        with pytest.raises(ValueError, match="zero-size array to reduction operation max"):
            cuda.reduce("max", x, out, 2, 0, 1)

    @needs_gpu
    def test_sizes_must_match_the_view(self):
        x, out = to_device(np.zeros((2, 3), np.float32)), to_device(np.zeros(2, np.float32))
        with pytest.raises(ValueError, match="x must have outer \\* length \\* inner = 8"):
            cuda.reduce("sum", x, out, 2, 4, 1)
        with pytest.raises(ValueError, match="out must have outer \\* inner = 3"):
            cuda.reduce("sum", x, out, 1, 2, 3)
        with pytest.raises(ValueError, match="length must be >= 0"):
            cuda.reduce("sum", x, out, 2, -3, -1)

    @needs_gpu
    def test_output_dtype_follows_the_contract(self):
        x = to_device(np.zeros((2, 3), np.int32))
        with pytest.raises(TypeError, match="out must have dtype int64, got int32"):
            cuda.reduce("sum", x, to_device(np.zeros(2, np.int32)), 2, 3, 1)
        with pytest.raises(TypeError, match="out must have dtype bool"):
            cuda.reduce("any", x, to_device(np.zeros(2, np.int64)), 2, 3, 1)

    @needs_gpu
    def test_cumsum_of_bool_is_refused(self):
        x = to_device(np.zeros(3, np.bool_))
        with pytest.raises(TypeError, match="x must not be bool"):
            cuda.cumsum(x, to_device(np.zeros(3, np.bool_)), 1, 3, 1)

    @needs_gpu
    def test_non_contiguous_is_refused(self):
        x = to_device(np.ones((4, 6), np.float32)).view((4, 3), (6, 2), 0)
        with pytest.raises(ValueError, match="x must be C-contiguous"):
            cuda.column_sum(x, to_device(np.zeros(3, np.float32)))

    @needs_gpu
    def test_output_may_not_alias_the_input(self):
        x = to_device(np.ones(6, np.float32))
        with pytest.raises(ValueError, match="out must not share memory with x"):
            cuda.reduce("sum", x, x.view((1,), (1,), 0), 1, 6, 1)

    @needs_gpu
    def test_row_argmax_output_may_not_alias_the_input(self):
        """Issue 20, item 12: an int64 out over x's memory (as torch's x.view(torch.int64) hands over by
        DLPack) was accepted, and rows of x were overwritten before they were read."""
        x = to_device(np.ones((4, 2), np.float64))
        with pytest.raises(ValueError, match="out must not share memory with x"):
            cuda.row_argmax(x, reinterpret_as_int64(x).view((4,), (1,), 2))

    @needs_gpu
    def test_row_argmax_needs_a_column(self):
        with pytest.raises(ValueError, match="x must have at least one column"):
            cuda.row_argmax(to_device(np.zeros((3, 0), np.float32)), to_device(np.zeros(3, np.int64)))
