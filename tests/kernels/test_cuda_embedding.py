"""CUDA embedding lookup and scatter-add (nnx._cuda) against the CPU kernels (nnx._C) on the same inputs,
the device-side index checks (a bad index raises IndexError at the next synchronisation), and the
bindings' validation (the same errors and messages as _C)."""
import numpy as np
import pytest
from cuda_kernel_checks import (
    DEVICE,
    HOST,
    assert_same_error,
    cuda,
    poisoned_device,
    requires_gpu,
    requires_module,
    to_device,
    to_host,
)

from helpers import FLOAT_DTYPES, assert_close, poisoned, random_array
from nnx.native import _C

pytestmark = pytest.mark.cuda

# (V, D, indices shape): one element, odd sizes, a long row, many duplicates, 0-d and empty index arrays.
CASES = [(1, 1, (1,)), (10, 3, (17,)), (50, 1027, (5, 7)), (97, 5, (40_003,)), (1000, 65, (3, 4, 5)),
         (7, 4, ()), (7, 4, (0,)), (7, 4, (2, 0))]


def indices_for(rng, V, shape):
    return rng.integers(0, V, size=shape).astype(np.int64)


def gpu_forward(weight, indices):
    out = poisoned_device(indices.shape + weight.shape[1:], weight.dtype)
    cuda.embedding_forward(to_device(weight), to_device(indices), out)
    return to_host(out)


def cpu_forward(weight, indices):
    out = poisoned(indices.shape + weight.shape[1:], weight.dtype)
    _C.embedding_forward(weight, indices, out)
    return out


def gpu_backward(grad_out, indices, grad_weight, padding_idx=-1):
    device_grad_weight = to_device(grad_weight)
    cuda.embedding_backward(to_device(grad_out), to_device(indices), device_grad_weight, padding_idx)
    return to_host(device_grad_weight)


def cpu_backward(grad_out, indices, grad_weight, padding_idx=-1):
    """In float64, so the device's atomic (unordered) sums are compared with an exact-order reference."""
    result = grad_weight.astype(np.float64)
    _C.embedding_backward(grad_out.astype(np.float64), indices, result, padding_idx)
    return result


@requires_gpu
class TestAgainstCpu:
    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("V,D,shape", CASES)
    def test_forward_is_an_exact_gather(self, rng, V, D, shape, dtype):
        weight = random_array(rng, (V, D), dtype)
        indices = indices_for(rng, V, shape)
        np.testing.assert_array_equal(gpu_forward(weight, indices), cpu_forward(weight, indices))

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("V,D,shape", CASES)
    def test_backward_adds_into_grad_weight(self, rng, V, D, shape, dtype):
        indices = indices_for(rng, V, shape)
        grad_out = random_array(rng, indices.shape + (D,), dtype)
        grad_weight = random_array(rng, (V, D), dtype)  # not zeros: the kernel must add, not overwrite
        duplicates = max(1, np.bincount(indices.ravel(), minlength=V).max()) if indices.size else 1
        assert_close(gpu_backward(grad_out, indices, grad_weight), cpu_backward(grad_out, indices, grad_weight),
                     dtype=dtype, scale=duplicates)

    @pytest.mark.parametrize("padding_idx", [0, 3, 9])
    def test_backward_skips_padding_rows(self, rng, padding_idx):
        indices = np.array([3, 0, 9, 3, 3, 5, 0, 9], np.int64)
        grad_out = random_array(rng, (8, 6), np.float64)
        grad_weight = random_array(rng, (10, 6), np.float64)
        result = gpu_backward(grad_out, indices, grad_weight, padding_idx)
        np.testing.assert_array_equal(result[padding_idx], grad_weight[padding_idx])
        assert_close(result, cpu_backward(grad_out, indices, grad_weight, padding_idx))


@requires_gpu
class TestBadIndices:
    """The binding cannot see index values on the device: the kernel records the first bad one, skips it,
    and the next synchronising call raises IndexError (then the flag is clear again)."""

    @pytest.mark.parametrize("bad", [-1, 10, 2**40, -2**63])
    def test_forward_writes_zeros_and_raises_at_synchronize(self, rng, bad):
        weight = random_array(rng, (10, 4), np.float32)
        indices = np.array([1, bad, 2], np.int64)
        out = poisoned_device((3, 4), np.float32)
        cuda.embedding_forward(to_device(weight), to_device(indices), out)
        with pytest.raises(IndexError):
            cuda.synchronize()
        cuda.synchronize()  # reported once
        result = to_host(out)
        np.testing.assert_array_equal(result[[0, 2]], weight[[1, 2]])
        np.testing.assert_array_equal(result[1], np.zeros(4, np.float32))

    def test_backward_skips_the_row_and_raises_at_synchronize(self, rng):
        grad_weight = random_array(rng, (6, 3), np.float64)
        grad_out = random_array(rng, (3, 3), np.float64)
        device_grad_weight = to_device(grad_weight)
        cuda.embedding_backward(to_device(grad_out), to_device(np.array([4, 6, 1], np.int64)), device_grad_weight)
        with pytest.raises(IndexError):
            cuda.synchronize()
        expected = grad_weight.copy()
        expected[4] += grad_out[0]
        expected[1] += grad_out[2]
        assert_close(to_host(device_grad_weight), expected)

    def test_checked_even_without_columns(self):
        out = poisoned_device((2, 0), np.float32)
        cuda.embedding_forward(to_device(np.ones((3, 0), np.float32)), to_device(np.array([0, 3], np.int64)), out)
        with pytest.raises(IndexError):
            cuda.synchronize()

    def test_padding_idx_does_not_excuse_a_bad_index(self):
        device_grad_weight = to_device(np.zeros((3, 2)))
        cuda.embedding_backward(to_device(np.ones((1, 2))), to_device(np.array([-1], np.int64)), device_grad_weight,
                                padding_idx=-1)
        with pytest.raises(IndexError):
            cuda.synchronize()


def f32(*shape):
    return np.ones(shape, np.float32)


def i64(*shape):
    return np.zeros(shape, np.int64)


def forward(s, weight=None, indices=None, out=None):
    """embedding_forward on side s with defaults weight (4, 3), indices (2,), out (2, 3)."""
    s.module.embedding_forward(s.array(f32(4, 3)) if weight is None else weight,
                               s.array(i64(2)) if indices is None else indices,
                               s.array(f32(2, 3)) if out is None else out)


def backward(s, grad_out=None, indices=None, grad_weight=None):
    s.module.embedding_backward(s.array(f32(2, 3)) if grad_out is None else grad_out,
                                s.array(i64(2)) if indices is None else indices,
                                s.array(f32(4, 3)) if grad_weight is None else grad_weight)


# Each bad call runs on _C (NumPy arrays) and on _cuda (the same arrays as DeviceArrays).
BAD_CALLS = {
    "integer weight": lambda s: forward(s, weight=s.array(np.ones((4, 3), np.int64))),
    "1-D weight": lambda s: forward(s, weight=s.array(f32(4))),
    "int32 indices": lambda s: forward(s, indices=s.array(np.zeros(2, np.int32))),
    "out dtype": lambda s: forward(s, out=s.array(np.ones((2, 3)))),
    "out rows": lambda s: forward(s, out=s.array(f32(3, 3))),
    "out columns": lambda s: forward(s, out=s.array(f32(2, 4))),
    "out overlaps weight": lambda s: (lambda base: forward(
        s, weight=s.window(base, (4, 3), 0), out=s.window(base, (2, 3), 6)))(s.array(f32(12))),
    "backward integer grad_out": lambda s: backward(s, grad_out=s.array(np.ones((2, 3), np.int64))),
    "backward float indices": lambda s: backward(s, indices=s.array(f32(2))),
    "backward grad_weight dtype": lambda s: backward(s, grad_weight=s.array(np.ones((4, 3)))),
    "backward 3-D grad_weight": lambda s: backward(s, grad_weight=s.array(f32(4, 3, 1))),
    "backward grad_out shape": lambda s: backward(s, grad_out=s.array(f32(2, 2))),
    "backward grad_weight overlaps grad_out": lambda s: (lambda base: backward(
        s, grad_out=s.window(base, (2, 3), 3), grad_weight=s.window(base, (4, 3), 0)))(s.array(f32(12))),
}


@requires_gpu
@pytest.mark.parametrize("case", BAD_CALLS)
def test_bad_input_raises_like_cpu(case):
    assert_same_error(BAD_CALLS[case])


@requires_gpu
def test_non_contiguous_is_refused():
    strided = DEVICE.every_other_column(to_device(np.ones((4, 6), np.float32)))
    with pytest.raises(ValueError, match="^weight must be C-contiguous"):
        cuda.embedding_forward(strided, to_device(i64(2)), poisoned_device((2, 3), np.float32))


@requires_module
def test_numpy_arrays_are_refused():
    """No GPU needed: the binding refuses host arrays before it touches a device."""
    with pytest.raises(TypeError, match=r"^weight must be an nnx\._cuda\.DeviceArray"):
        cuda.embedding_forward(f32(4, 3), i64(2), f32(2, 3))
    with pytest.raises(TypeError, match=r"^grad_out must be an nnx\._cuda\.DeviceArray"):
        cuda.embedding_backward(f32(2, 3), i64(2), f32(4, 3))


def test_bad_calls_fail_on_the_host():
    """The table above is only meaningful if every call really is refused by _C."""
    for call in BAD_CALLS.values():
        with pytest.raises((TypeError, ValueError)):
            call(HOST)
