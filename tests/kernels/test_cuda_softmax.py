"""CUDA softmax / log_softmax (nnx._cuda) against the CPU kernels (nnx._C, float64) on the same inputs, for
rows that take the warp-per-row and the block-per-row kernels, plus the bindings' validation."""
import numpy as np
import pytest
from cuda_kernel_checks import (
    DEVICE,
    assert_same_error,
    cuda,
    poisoned_device,
    requires_gpu,
    requires_module,
    to_device,
    to_host,
)

from helpers import FLOAT_DTYPES, assert_close, random_array
from nnx.native import _C

pytestmark = pytest.mark.cuda

# Rows of 1 .. 1024 elements get a warp each, longer rows a block (kWarpRowLimit in cuda/row_group.cuh).
SHAPES = [(1,), (1, 1), (3, 17), (5, 1024), (2, 1025), (3, 4099), (2, 3, 40), (5715, 7)]


def cpu_forward(x, log):
    x64 = x.astype(np.float64)
    out = np.empty_like(x64)
    _C.softmax_forward(x64, out, log)
    return out


def cpu_backward(grad_out, out, log):
    grad_in = np.empty(grad_out.shape)
    _C.softmax_backward(grad_out.astype(np.float64), out.astype(np.float64), grad_in, log)
    return grad_in


def gpu_forward(x, log):
    out = poisoned_device(x.shape, x.dtype)
    cuda.softmax_forward(to_device(x), out, log)
    return to_host(out)


def gpu_backward(grad_out, out, log):
    grad_in = poisoned_device(grad_out.shape, grad_out.dtype)
    cuda.softmax_backward(to_device(grad_out), to_device(out), grad_in, log)
    return to_host(grad_in)


@requires_gpu
class TestAgainstCpu:
    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("log", [False, True])
    @pytest.mark.parametrize("shape", SHAPES)
    def test_forward(self, rng, shape, log, dtype):
        x = random_array(rng, shape, dtype, -5.0, 5.0)
        assert_close(gpu_forward(x, log), cpu_forward(x, log), scale=2)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("log", [False, True])
    @pytest.mark.parametrize("shape", SHAPES)
    def test_backward(self, rng, shape, log, dtype):
        x = random_array(rng, shape, dtype, -5.0, 5.0)
        out = cpu_forward(x, log).astype(dtype)
        grad_out = random_array(rng, shape, dtype)
        assert_close(gpu_backward(grad_out, out, log), cpu_backward(grad_out, out, log), scale=4)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("log", [False, True])
    @pytest.mark.parametrize("cols", [10, 2000])
    def test_large_logits_are_exact(self, rng, cols, log, dtype):
        x = random_array(rng, (4, cols), dtype, -1e4, 1e4)
        assert_close(gpu_forward(x, log), cpu_forward(x, log), scale=2)

    @pytest.mark.parametrize("log", [False, True])
    @pytest.mark.parametrize("cols", [5, 1500])
    def test_rows_of_minus_infinity_give_nan_like_pytorch(self, rng, cols, log):
        x = random_array(rng, (3, cols), np.float32)
        x[1] = -np.inf
        x[2, ::2] = -np.inf  # some -inf entries only: an ordinary row with zeros where x is -inf
        out = gpu_forward(x, log)
        assert np.isnan(out[1]).all()
        assert_close(out[[0, 2]], cpu_forward(x, log)[[0, 2]], scale=2)

    @pytest.mark.parametrize("shape", [(0, 5), (3, 0), (0,)])
    def test_empty(self, shape):
        x = np.ones(shape, np.float32)
        assert gpu_forward(x, False).shape == shape
        assert gpu_backward(x, x, True).shape == shape

    def test_repeatable_to_the_bit(self, rng):
        x = random_array(rng, (7, 3000), np.float32)
        np.testing.assert_array_equal(gpu_forward(x, False), gpu_forward(x, False))


def f32(*shape):
    return np.ones(shape, np.float32)


BAD_CALLS = {
    "integer x": lambda s: s.module.softmax_forward(s.array(np.ones(3, np.int64)), s.array(f32(3))),
    "0-d x": lambda s: s.module.softmax_forward(s.array(np.float32(1.0)), s.array(np.float32(1.0))),
    "out dtype": lambda s: s.module.softmax_forward(s.array(f32(2, 3)), s.array(np.ones((2, 3)))),
    "out shape": lambda s: s.module.softmax_forward(s.array(f32(2, 3)), s.array(f32(3, 2))),
    "out overlaps x": lambda s: (lambda base: s.module.softmax_forward(
        s.window(base, (2, 3), 0), s.window(base, (2, 3), 2)))(s.array(f32(8))),
    "grad_in dtype": lambda s: s.module.softmax_backward(s.array(f32(4)), s.array(f32(4)), s.array(np.ones(4)), True),
    "out shape backward": lambda s: s.module.softmax_backward(s.array(f32(4)), s.array(f32(5)), s.array(f32(4))),
    "grad_in overlaps out": lambda s: (lambda base: s.module.softmax_backward(
        s.array(f32(4)), s.window(base, (4,), 0), s.window(base, (4,), 1)))(s.array(f32(5))),
}


@requires_gpu
@pytest.mark.parametrize("case", BAD_CALLS)
def test_bad_input_raises_like_cpu(case):
    assert_same_error(BAD_CALLS[case])


@requires_gpu
def test_non_contiguous_is_refused():
    strided = DEVICE.every_other_column(to_device(f32(3, 8)))
    with pytest.raises(ValueError, match="^x must be C-contiguous"):
        cuda.softmax_forward(strided, poisoned_device((3, 4), np.float32))


@requires_module
def test_numpy_arrays_are_refused():
    """No GPU needed: the binding refuses host arrays before it touches a device."""
    with pytest.raises(TypeError, match=r"^x must be an nnx\._cuda\.DeviceArray"):
        cuda.softmax_forward(f32(2, 3), f32(2, 3))
    with pytest.raises(TypeError, match=r"^grad_out must be an nnx\._cuda\.DeviceArray"):
        cuda.softmax_backward(f32(2, 3), f32(2, 3), f32(2, 3), log=True)
