"""CUDA gathers, scatters and nonzero against NumPy; GPU cases skip without a GPU."""
import numpy as np
import pytest

from helpers import poisoned
from nnx import native

cuda = native._cuda
pytestmark = pytest.mark.cuda
needs_module = pytest.mark.skipif(cuda is None, reason="nnx._cuda was not built (no nvcc)")
needs_gpu = pytest.mark.skipif(cuda is None or cuda.device_count() == 0, reason="needs an NVIDIA GPU")

ALL_DTYPES = (np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64)
# (outer, length, inner) of the indexed array, and m, the number of picks: single elements, odd sizes,
# and one above 32768 picked elements.
VIEWS = [((1, 1, 1), 1), ((3, 5, 7), 4), ((2, 17, 1), 30), ((1, 40, 3), 2), ((3, 50, 300), 41)]


def to_device(array):
    return cuda.DeviceArray.from_host(np.require(array, requirements="C"))  # keeps 0-d arrays 0-d


def to_host(device_array):
    out = np.empty(device_array.shape, device_array.dtype)
    device_array.to_host(out)
    return out


def values(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind == "f":
        return rng.uniform(-2, 2, shape).astype(dtype)
    return rng.integers(0 if dtype == np.uint8 else -100, 100, shape).astype(dtype)


def poison(shape, dtype):
    return poisoned(shape, np.uint8 if np.dtype(dtype) == np.bool_ else dtype).astype(dtype)


def random_indices(rng, length, shape):
    """Indices with duplicates and negatives (counting from the end)."""
    return rng.integers(-length, length, shape).astype(np.int64)


@needs_gpu
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("view,m", VIEWS)
def test_index_select_matches_numpy(rng, dtype, view, m):
    outer, length, inner = view
    src, indices = values(rng, view, dtype), random_indices(rng, length, m)
    out = to_device(poison((outer, m, inner), dtype))
    cuda.index_select(to_device(src), to_device(indices), out, outer, length, inner)
    np.testing.assert_array_equal(to_host(out), np.take(src, indices, axis=1))


@needs_gpu
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("view,m", VIEWS)
def test_index_add_accumulates_duplicates(rng, dtype, view, m):  # like np.add.at: wrapping, bool or
    outer, length, inner = view
    before, grad = values(rng, view, dtype), values(rng, (outer, m, inner), dtype)
    indices = random_indices(rng, length, m)
    out = to_device(before)
    cuda.index_add(to_device(grad), to_device(indices), out, outer, length, inner)
    expected = before.astype(np.float64 if np.dtype(dtype).kind == "f" else dtype)
    np.add.at(expected, (slice(None), indices, slice(None)), grad)
    if np.dtype(dtype).kind == "f":  # atomics add in any order
        np.testing.assert_allclose(to_host(out), expected, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)
    else:
        np.testing.assert_array_equal(to_host(out), expected)


@needs_gpu
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("view,m", VIEWS)
def test_take_along_matches_numpy(rng, dtype, view, m):
    outer, length, inner = view
    src, indices = values(rng, view, dtype), random_indices(rng, length, (outer, m, inner))
    out = to_device(poison((outer, m, inner), dtype))
    cuda.take_along(to_device(src), to_device(indices), out, outer, length, inner)
    np.testing.assert_array_equal(to_host(out), np.take_along_axis(src, indices, axis=1))


def put_along_reference(out, indices, source, accumulate):
    outer, _, inner = indices.shape
    rows, columns = np.arange(outer)[:, None, None], np.arange(inner)[None, None, :]
    if accumulate:
        np.add.at(out, (rows, indices, columns), source)
    else:
        out[rows, indices, columns] = source


@needs_gpu
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("view,m", VIEWS)
def test_put_along_matches_numpy(rng, dtype, view, m):
    outer, length, inner = view
    m = min(m, length)  # distinct targets per line: which duplicate lands is unspecified on a GPU
    order = np.argsort(rng.random((outer, length, inner)), axis=1)[:, :m, :]
    indices = np.where(rng.random(order.shape) < 0.5, order - length, order).astype(np.int64)
    before, source = values(rng, view, dtype), values(rng, (outer, m, inner), dtype)
    out = to_device(before)
    cuda.put_along(to_device(source), to_device(indices), out, outer, length, inner)
    expected = before.copy()
    put_along_reference(expected, indices, source, accumulate=False)
    np.testing.assert_array_equal(to_host(out), expected)


@needs_gpu
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("view,m", VIEWS)
def test_put_along_accumulate_adds_duplicates(rng, dtype, view, m):
    outer, length, inner = view
    indices = random_indices(rng, length, (outer, m, inner))
    before, source = values(rng, view, dtype), values(rng, (outer, m, inner), dtype)
    out = to_device(before)
    cuda.put_along(to_device(source), to_device(indices), out, outer, length, inner, accumulate=True)
    expected = before.astype(np.float64 if np.dtype(dtype).kind == "f" else dtype)
    put_along_reference(expected, indices, source, accumulate=True)
    if np.dtype(dtype).kind == "f":
        np.testing.assert_allclose(to_host(out), expected, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)
    else:
        np.testing.assert_array_equal(to_host(out), expected)


@needs_gpu
@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 5), (2, 3, 4), (300, 200), (5, 1, 40_003)])
@pytest.mark.parametrize("density", [0.0, 0.3, 1.0])
def test_nonzero_matches_numpy(rng, shape, density):
    mask = rng.random(shape) < density
    device_mask = to_device(mask)
    count = cuda.nonzero_count(device_mask)
    assert count == np.count_nonzero(mask)
    out = to_device(poisoned((count, mask.ndim), np.int64))
    cuda.nonzero(device_mask, out)
    np.testing.assert_array_equal(to_host(out), np.argwhere(mask))


class TestBadIndices:
    @needs_gpu
    @pytest.mark.parametrize("bad", [5, -6, 2**40])
    def test_index_select_reports_at_synchronisation(self, bad):
        src = to_device(np.arange(10, dtype=np.float32).reshape(2, 5))
        out = to_device(poisoned((2, 2), np.float32))
        cuda.index_select(src, to_device(np.array([1, bad], np.int64)), out, 2, 5, 1)
        with pytest.raises(IndexError):
            cuda.synchronize()
        cuda.synchronize()  # the flag was cleared
        np.testing.assert_array_equal(to_host(out), [[1, 0], [6, 0]])  # the bad element reads as 0

    @needs_gpu
    def test_scatters_skip_bad_indices(self):
        out = to_device(np.zeros((1, 3, 1), np.float32))
        cuda.put_along(to_device(np.ones((1, 2, 1), np.float32)), to_device(np.array([[[0], [3]]], np.int64)), out,
                       1, 3, 1, accumulate=True)
        with pytest.raises(IndexError):
            cuda.nonzero_count(to_device(np.ones(1, np.bool_)))  # a synchronising call
        np.testing.assert_array_equal(to_host(out).ravel(), [1, 0, 0])

    @needs_gpu
    def test_empty_axis_raises_at_once(self):
        with pytest.raises(IndexError, match="axis of size 0"):
            cuda.index_select(to_device(np.zeros((2, 0), np.float32)), to_device(np.zeros(1, np.int64)),
                              to_device(np.zeros((2, 1), np.float32)), 2, 0, 1)


class TestBadInput:
    @needs_module
    def test_numpy_array_is_refused_by_name(self):
        with pytest.raises(TypeError, match="mask must be an nnx._cuda.DeviceArray"):
            cuda.nonzero_count(np.ones(3, np.bool_))

    @needs_gpu
    def test_indices_must_be_int64(self):
        with pytest.raises(TypeError, match="indices must have dtype int64"):
            cuda.index_select(to_device(np.zeros(3, np.float32)), to_device(np.zeros(1, np.int32)),
                              to_device(np.zeros(1, np.float32)), 1, 3, 1)

    @needs_gpu
    def test_sizes_must_match_the_view(self):
        src, indices = to_device(np.zeros((2, 3), np.float32)), to_device(np.zeros(2, np.int64))
        with pytest.raises(ValueError, match="out must have outer \\* indices.size \\* inner = 4"):
            cuda.index_select(src, indices, to_device(np.zeros(5, np.float32)), 2, 3, 1)
        with pytest.raises(ValueError, match="src must have outer \\* length \\* inner = 9"):
            cuda.index_select(src, indices, to_device(np.zeros(6, np.float32)), 3, 3, 1)

    @needs_gpu
    def test_output_dtype_must_match(self):
        with pytest.raises(TypeError, match="out must have the dtype of src"):
            cuda.take_along(to_device(np.zeros(3, np.float32)), to_device(np.zeros(1, np.int64)),
                            to_device(np.zeros(1, np.float64)), 1, 3, 1)

    @needs_gpu
    def test_mask_must_be_bool(self):
        with pytest.raises(TypeError, match="mask must have dtype bool"):
            cuda.nonzero_count(to_device(np.ones(3, np.uint8)))

    @needs_gpu
    def test_nonzero_output_shape(self):
        with pytest.raises(ValueError, match=r"out must have shape \(\*, 2\)"):
            cuda.nonzero(to_device(np.ones((2, 2), np.bool_)), to_device(np.zeros((4, 1), np.int64)))

    @needs_gpu
    def test_non_contiguous_is_refused(self):
        src = to_device(np.ones((4, 6), np.float32)).view((4, 3), (6, 2), 0)
        with pytest.raises(ValueError, match="src must be C-contiguous"):
            cuda.index_select(src, to_device(np.zeros(1, np.int64)), to_device(np.zeros((4, 1), np.float32)), 4, 3, 1)

    @needs_gpu
    def test_output_may_not_alias_the_source(self):
        src = to_device(np.ones(6, np.float32))
        with pytest.raises(ValueError, match="out must not share memory with src"):
            cuda.take_along(src, to_device(np.zeros(2, np.int64)), src.view((2,), (1,), 0), 1, 6, 1)
