"""CUDA elementwise activations (nnx._cuda) against the CPU kernels (nnx._C, float64) on the same inputs,
plus the bindings' validation: the same errors and messages as _C."""
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

from helpers import EDGE_SIZES, FLOAT_DTYPES, assert_close, random_array
from nnx.native import _C

pytestmark = pytest.mark.cuda

KINDS = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "softplus")
READS_OUTPUT = {"relu", "leaky_relu", "sigmoid", "tanh"}  # the others' backward reads x (see _C.pyi)
EXTREMES = np.array([-1e4, -1e3, -100.0, -30.0, -1e-30, 0.0, 1e-30, 30.0, 100.0, 1e3, 1e4])


def cpu_forward(kind, x, **params):
    """The float64 CPU kernel on the same values: the reference."""
    x64 = x.astype(np.float64)
    out = np.empty_like(x64)
    _C.activation_forward(kind, x64, out, **params)
    return out


def cpu_backward(kind, grad_out, x, **params):
    x64, grad64 = x.astype(np.float64), grad_out.astype(np.float64)
    grad_in = np.empty_like(x64)
    _C.activation_backward(kind, grad64, x64, cpu_forward(kind, x64, **params), grad_in, **params)
    return grad_in


def gpu_forward(kind, x, **params):
    out = poisoned_device(x.shape, x.dtype)
    cuda.activation_forward(kind, to_device(x), out, **params)
    return to_host(out)


def gpu_backward(kind, grad_out, x, out=None, **params):
    """The device backward, given the forward's out (the float64 reference's, rounded) unless passed."""
    out = cpu_forward(kind, x, **params).astype(x.dtype) if out is None else out
    grad_in = poisoned_device(x.shape, x.dtype)
    cuda.activation_backward(kind, to_device(grad_out), to_device(x), to_device(out), grad_in, **params)
    return to_host(grad_in)


@requires_gpu
class TestAgainstCpu:
    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("size", EDGE_SIZES)
    @pytest.mark.parametrize("kind", KINDS)
    def test_forward(self, rng, kind, size, dtype):
        x = random_array(rng, (size,), dtype, -4.0, 4.0)
        assert_close(gpu_forward(kind, x), cpu_forward(kind, x))

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("size", EDGE_SIZES)
    @pytest.mark.parametrize("kind", KINDS)
    def test_backward(self, rng, kind, size, dtype):
        x = random_array(rng, (size,), dtype, -4.0, 4.0)
        grad_out = random_array(rng, (size,), dtype)
        assert_close(gpu_backward(kind, grad_out, x), cpu_backward(kind, grad_out, x), scale=4)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("kind,params", [
        ("leaky_relu", dict(negative_slope=0.3)),
        ("leaky_relu", dict(negative_slope=0.0)),
        ("softplus", dict(beta=2.0, threshold=1.5)),  # x > 0.75 takes the linear branch
        ("softplus", dict(beta=0.5, threshold=0.25)),
    ])
    def test_parameters_are_used(self, rng, kind, params, dtype):
        x = random_array(rng, (257,), dtype)
        assert_close(gpu_forward(kind, x, **params), cpu_forward(kind, x, **params))
        grad_out = random_array(rng, x.shape, dtype)
        assert_close(gpu_backward(kind, grad_out, x, **params), cpu_backward(kind, grad_out, x, **params), scale=4)

    @pytest.mark.parametrize("shape", [(), (0,), (2, 3, 7), (4, 0, 3)])
    def test_any_shape(self, rng, shape):
        x = random_array(rng, shape, np.float32)
        assert_close(gpu_forward("gelu", x), cpu_forward("gelu", x))
        grad_out = random_array(rng, shape, np.float32)
        assert_close(gpu_backward("gelu", grad_out, x), cpu_backward("gelu", grad_out, x), scale=4)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("kind", KINDS)
    def test_in_place(self, rng, kind, dtype):
        x = random_array(rng, (EDGE_SIZES[-1],), dtype)
        grad_out = random_array(rng, x.shape, dtype)
        grad = to_device(grad_out)
        device_x = to_device(x)
        out = to_device(cpu_forward(kind, x).astype(dtype))
        cuda.activation_backward(kind, grad, device_x, out, grad)  # grad_in is grad_out
        assert_close(to_host(grad), cpu_backward(kind, grad_out, x), scale=4)
        cuda.activation_forward(kind, device_x, device_x)  # out is x
        assert_close(to_host(device_x), cpu_forward(kind, x))

    @pytest.mark.parametrize("kind", KINDS)
    def test_backward_reads_only_the_documented_input(self, rng, kind):
        """relu/leaky_relu/sigmoid/tanh read out, the others x: NaN in the unused one must not matter."""
        x = random_array(rng, (33,), np.float64)
        out = cpu_forward(kind, x)
        grad_out = random_array(rng, x.shape, np.float64)
        nan = np.full(x.shape, np.nan)
        grad_in = gpu_backward(kind, grad_out, nan, out) if kind in READS_OUTPUT else \
            gpu_backward(kind, grad_out, x, nan)
        assert_close(grad_in, cpu_backward(kind, grad_out, x))

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("kind", KINDS)
    def test_extreme_inputs_stay_finite_and_exact(self, kind, dtype):
        x = EXTREMES.astype(dtype)
        out = gpu_forward(kind, x)
        assert np.isfinite(out).all(), out
        assert_close(out, cpu_forward(kind, x))
        grad_in = gpu_backward(kind, np.ones_like(x), x)
        assert np.isfinite(grad_in).all(), grad_in
        assert_close(grad_in, cpu_backward(kind, np.ones_like(x), x))

    @pytest.mark.parametrize("kind", KINDS)
    def test_nan_propagates_like_pytorch(self, kind):
        out = gpu_forward(kind, np.array([np.nan, 1.0, -1.0], np.float32))
        assert np.isnan(out[0]) and np.isfinite(out[1:]).all()

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_relu_backward_selects_rather_than_multiplies(self, dtype):
        """PyTorch's threshold_backward: an infinite gradient where out == 0 gives 0, not inf * 0 = NaN."""
        out = np.array([0.0, 0.0, 3.0], dtype)
        grad_in = gpu_backward("relu", np.array([np.inf, -np.inf, 2.0], dtype), out, out)
        np.testing.assert_array_equal(grad_in, [0.0, 0.0, 2.0])


def f32(*shape):
    return np.ones(shape, np.float32)


# Each bad call runs on _C (NumPy arrays) and on _cuda (the same arrays as DeviceArrays).
BAD_CALLS = {
    "kind not a str": lambda s: s.module.activation_forward(3, s.array(f32(3)), s.array(f32(3))),
    "unknown kind": lambda s: s.module.activation_forward("swish", s.array(f32(3)), s.array(f32(3))),
    "none is not elementwise": lambda s: s.module.activation_forward("none", s.array(f32(3)), s.array(f32(3))),
    "integer x": lambda s: s.module.activation_forward("relu", s.array(np.ones(3, np.int64)), s.array(f32(3))),
    "out dtype": lambda s: s.module.activation_forward("relu", s.array(f32(3)), s.array(np.ones(3))),
    "out shape": lambda s: s.module.activation_forward("relu", s.array(f32(3)), s.array(f32(4))),
    "partial overlap": lambda s: (lambda base: s.module.activation_forward(
        "relu", s.window(base, (8,), 0), s.window(base, (8,), 3)))(s.array(f32(11))),
    "infinite slope": lambda s: s.module.activation_forward("leaky_relu", s.array(f32(3)), s.array(f32(3)),
                                                            negative_slope=np.inf),
    "negative slope backward": lambda s: s.module.activation_backward(
        "leaky_relu", s.array(f32(3)), s.array(f32(3)), s.array(f32(3)), s.array(f32(3)), negative_slope=-0.1),
    "zero beta": lambda s: s.module.activation_forward("softplus", s.array(f32(3)), s.array(f32(3)), beta=0.0),
    "nan threshold": lambda s: s.module.activation_forward("softplus", s.array(f32(3)), s.array(f32(3)),
                                                           threshold=np.nan),
    "grad_in dtype": lambda s: s.module.activation_backward(
        "tanh", s.array(f32(3)), s.array(f32(3)), s.array(f32(3)), s.array(np.ones(3))),
    "x shape": lambda s: s.module.activation_backward(
        "tanh", s.array(f32(3)), s.array(f32(2)), s.array(f32(3)), s.array(f32(3))),
    "grad_in overlaps out": lambda s: (lambda base: s.module.activation_backward(
        "tanh", s.array(f32(4)), s.array(f32(4)), s.window(base, (4,), 0), s.window(base, (4,), 1)))(
            s.array(f32(5))),
}


@requires_gpu
@pytest.mark.parametrize("case", BAD_CALLS)
def test_bad_input_raises_like_cpu(case):
    assert_same_error(BAD_CALLS[case])


@requires_gpu
def test_non_contiguous_is_refused():
    base = to_device(np.ones((3, 8), np.float32))
    strided = DEVICE.every_other_column(base)
    with pytest.raises(ValueError, match="^x must be C-contiguous"):
        cuda.activation_forward("relu", strided, poisoned_device((3, 4), np.float32))
    with pytest.raises(ValueError, match="^out must be C-contiguous"):
        cuda.activation_forward("relu", to_device(np.ones((3, 4), np.float32)), strided)


@requires_module
def test_numpy_arrays_are_refused():
    """No GPU needed: the binding refuses host arrays before it touches a device."""
    with pytest.raises(TypeError, match=r"^x must be an nnx\._cuda\.DeviceArray"):
        cuda.activation_forward("relu", f32(3), f32(3))
    with pytest.raises(TypeError, match=r"^grad_out must be an nnx\._cuda\.DeviceArray"):
        cuda.activation_backward("relu", f32(3), f32(3), f32(3), f32(3))


class HostArraysOnCuda:
    """NumPy arrays handed to _cuda, as by a caller that forgot to move them."""
    module = cuda

    @staticmethod
    def array(values):
        return np.asarray(values)


@requires_module
@pytest.mark.parametrize("case", ["kind not a str", "unknown kind", "none is not elementwise"])
def test_kind_is_checked_first_like_cpu(case):
    """No GPU needed: the kind is parsed before any array, so NumPy arrays reach the same error on both."""
    with pytest.raises(Exception) as on_host:
        BAD_CALLS[case](HOST)
    with pytest.raises(on_host.type) as on_cuda:
        BAD_CALLS[case](HostArraysOnCuda)
    assert str(on_cuda.value) == str(on_host.value)
