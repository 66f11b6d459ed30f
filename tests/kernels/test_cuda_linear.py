"""CUDA fused linear layer (nnx._cuda: cuBLAS GEMM + bias + activation, and the backward) against the CPU
kernels (nnx._C, float64) on the same inputs, plus the bindings' validation: the same errors as _C."""
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

ACTIVATIONS = ("none", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh")
# (N, K, M): single elements, odd sizes, a long inner dimension, and many rows.
SHAPES = [(1, 1, 1), (3, 5, 7), (17, 33, 9), (2, 250, 3), (1200, 19, 40)]
SLOPE = 0.2  # not the default, so a kernel that ignores negative_slope fails
GRADIENTS = ("grad_preact", "grad_x", "grad_weight", "grad_bias")


@pytest.fixture(autouse=True)
def full_fp32_gemm():
    """The tolerances below are FP32's: make sure no earlier test left TF32 on."""
    if cuda is None or not cuda.device_count():
        yield
        return
    allowed = cuda.get_allow_tf32()
    cuda.set_allow_tf32(False)
    yield
    cuda.set_allow_tf32(allowed)


def tolerance_scale(K):
    return max(2, K / 16)


def layer(rng, N, K, M, dtype, with_bias=True):
    x = random_array(rng, (N, K), dtype)
    weight = random_array(rng, (M, K), dtype, -0.5, 0.5)
    bias = random_array(rng, (M,), dtype) if with_bias else None
    return x, weight, bias


def as64(array):
    return None if array is None else array.astype(np.float64)


def saved_for(activation, out, preact):
    """What the backward reads (see _C.pyi): out, preact for the gelus, nothing for none."""
    if activation == "none":
        return None
    return preact if activation in ("gelu", "gelu_tanh") else out


def cpu_forward(x, weight, bias, activation):
    """(out, preact) of the float64 CPU kernel on the same values."""
    N, M = x.shape[0], weight.shape[0]
    out, preact = np.empty((N, M)), np.empty((N, M))
    _C.linear_forward(as64(x), as64(weight), as64(bias), out, activation, SLOPE, preact)
    return out, preact


def gpu_forward(x, weight, bias, activation, with_preact=True):
    N, M = x.shape[0], weight.shape[0]
    out = poisoned_device((N, M), x.dtype)
    preact = poisoned_device((N, M), x.dtype) if with_preact else None
    cuda.linear_forward(to_device(x), to_device(weight), None if bias is None else to_device(bias), out, activation,
                        SLOPE, preact)
    return to_host(out), to_host(preact) if with_preact else None


def cpu_backward(grad_out, x, weight, saved, activation, start=None):
    """The four gradients of the float64 CPU kernel; `start` holds grad_weight/grad_bias to accumulate into."""
    N, K, M = x.shape[0], x.shape[1], weight.shape[0]
    grads = dict(grad_preact=np.empty((N, M)), grad_x=np.empty((N, K)), grad_weight=np.empty((M, K)),
                 grad_bias=np.empty(M))
    if start:
        grads.update({name: as64(value) for name, value in start.items()})
    _C.linear_backward(as64(grad_out), as64(x), as64(weight), as64(saved), grads["grad_preact"], grads["grad_x"],
                       grads["grad_weight"], grads["grad_bias"], activation, SLOPE, bool(start))
    return grads


def gpu_backward(grad_out, x, weight, saved, activation, start=None, in_place=False):
    N, K, M, dtype = x.shape[0], x.shape[1], weight.shape[0], x.dtype
    grad_out_d = to_device(grad_out)
    grads = dict(grad_preact=grad_out_d if in_place else poisoned_device((N, M), dtype),
                 grad_x=poisoned_device((N, K), dtype), grad_weight=poisoned_device((M, K), dtype),
                 grad_bias=poisoned_device((M,), dtype))
    if start:
        grads.update({name: to_device(value) for name, value in start.items()})
    cuda.linear_backward(grad_out_d, to_device(x), to_device(weight), None if saved is None else to_device(saved),
                         grads["grad_preact"], grads["grad_x"], grads["grad_weight"], grads["grad_bias"], activation,
                         SLOPE, bool(start))
    return {name: to_host(value) for name, value in grads.items()}


def check_gradients(actual, expected, N, K, M):
    assert_close(actual["grad_preact"], expected["grad_preact"], scale=4)
    assert_close(actual["grad_x"], expected["grad_x"], scale=tolerance_scale(M) * tolerance_scale(K))
    assert_close(actual["grad_weight"], expected["grad_weight"], scale=tolerance_scale(N) * tolerance_scale(K))
    assert_close(actual["grad_bias"], expected["grad_bias"], scale=tolerance_scale(N) * tolerance_scale(K))


def backward_case(rng, activation, N, K, M, dtype):
    """grad_out and the saved tensor (the float64 forward's, rounded to dtype) for a random layer."""
    x, weight, bias = layer(rng, N, K, M, dtype)
    out, preact = cpu_forward(x, weight, bias, activation)
    saved = saved_for(activation, out.astype(dtype), preact.astype(dtype))
    return random_array(rng, (N, M), dtype), x, weight, saved


@requires_gpu
class TestAgainstCpu:
    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("N,K,M", SHAPES)
    @pytest.mark.parametrize("with_bias", [True, False])
    @pytest.mark.parametrize("activation", ACTIVATIONS)
    def test_forward(self, rng, activation, with_bias, N, K, M, dtype):
        x, weight, bias = layer(rng, N, K, M, dtype, with_bias)
        for actual, expected in zip(gpu_forward(x, weight, bias, activation), cpu_forward(x, weight, bias, activation)):
            assert_close(actual, expected, scale=tolerance_scale(K))

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("activation", ["none", "relu", "leaky_relu", "sigmoid", "tanh"])
    @pytest.mark.parametrize("with_bias", [True, False])
    def test_forward_without_preact(self, rng, with_bias, activation, dtype):
        x, weight, bias = layer(rng, 1200, 19, 40, dtype, with_bias)
        out, _ = gpu_forward(x, weight, bias, activation, with_preact=False)
        assert_close(out, cpu_forward(x, weight, bias, activation)[0], scale=tolerance_scale(19))

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_empty_inner_dimension_gives_act_of_bias(self, rng, dtype):
        x, weight, bias = layer(rng, 4, 0, 3, dtype)
        out, preact = gpu_forward(x, weight, bias, "tanh")
        assert_close(preact, np.tile(bias.astype(np.float64), (4, 1)))
        assert_close(out, np.tile(np.tanh(bias.astype(np.float64)), (4, 1)))

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("N,K,M", SHAPES)
    @pytest.mark.parametrize("activation", ACTIVATIONS)
    def test_backward(self, rng, activation, N, K, M, dtype):
        grad_out, x, weight, saved = backward_case(rng, activation, N, K, M, dtype)
        check_gradients(gpu_backward(grad_out, x, weight, saved, activation),
                        cpu_backward(grad_out, x, weight, saved, activation), N, K, M)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("activation", ACTIVATIONS)
    def test_backward_accumulates_into_weight_and_bias(self, rng, activation, dtype):
        grad_out, x, weight, saved = backward_case(rng, activation, 17, 33, 9, dtype)
        start = dict(grad_weight=random_array(rng, (9, 33), dtype), grad_bias=random_array(rng, (9,), dtype))
        check_gradients(gpu_backward(grad_out, x, weight, saved, activation, start),
                        cpu_backward(grad_out, x, weight, saved, activation, start), 17, 33, 9)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("activation", ACTIVATIONS)
    def test_backward_in_place_into_grad_out(self, rng, activation, dtype):
        grad_out, x, weight, saved = backward_case(rng, activation, 1200, 19, 40, dtype)
        check_gradients(gpu_backward(grad_out, x, weight, saved, activation, in_place=True),
                        cpu_backward(grad_out, x, weight, saved, activation), 1200, 19, 40)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_backward_skips_outputs_given_as_none(self, rng, dtype):
        x, weight, _ = layer(rng, 5, 4, 3, dtype)
        grad_out = random_array(rng, (5, 3), dtype)
        grad_preact, grad_bias = poisoned_device((5, 3), dtype), poisoned_device((3,), dtype)
        cuda.linear_backward(to_device(grad_out), to_device(x), to_device(weight), None, grad_preact, None, None,
                             grad_bias)
        assert_close(to_host(grad_preact), grad_out.astype(np.float64))
        assert_close(to_host(grad_bias), grad_out.astype(np.float64).sum(axis=0))
        grad_x = poisoned_device((5, 4), dtype)
        cuda.linear_backward(to_device(grad_out), to_device(x), to_device(weight), None, grad_preact, grad_x, None,
                             None)
        assert_close(to_host(grad_x), grad_out.astype(np.float64) @ weight.astype(np.float64))

    @pytest.mark.parametrize("accumulate", [False, True])
    def test_empty_batch(self, rng, accumulate):
        x, weight, bias = layer(rng, 0, 3, 2, np.float32)
        out, _ = gpu_forward(x, weight, bias, "relu")
        assert out.shape == (0, 2)
        start = dict(grad_weight=random_array(rng, (2, 3), np.float32), grad_bias=random_array(rng, (2,), np.float32))
        grad_out = np.zeros((0, 2), np.float32)
        grads = gpu_backward(grad_out, x, weight, grad_out, "relu", start if accumulate else None)
        assert_close(grads["grad_weight"], start["grad_weight"] if accumulate else np.zeros((2, 3)))
        assert_close(grads["grad_bias"], start["grad_bias"] if accumulate else np.zeros(2))

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_forward_then_backward_round_trip(self, rng, dtype):
        """The kernels' own forward outputs feed the backward, as a layer uses them."""
        x, weight, bias = layer(rng, 33, 20, 17, dtype)
        for activation in ACTIVATIONS:
            out, preact = gpu_forward(x, weight, bias, activation)
            grad_out = random_array(rng, out.shape, dtype)
            saved = saved_for(activation, out, preact)
            check_gradients(gpu_backward(grad_out, x, weight, saved, activation),
                            cpu_backward(grad_out, x, weight, saved, activation), 33, 20, 17)


# ---- validation: the same errors and messages as _C ---------------------------------------------------------

def f32(*shape):
    return np.ones(shape, np.float32)


def forward_args(**overrides):
    """linear_forward's arguments for N=4, K=3, M=2, float32, with some replaced."""
    args = dict(x=f32(4, 3), weight=f32(2, 3), bias=f32(2), out=f32(4, 2), activation="relu", preact=None)
    args.update(overrides)
    return args


def backward_args(**overrides):
    args = dict(grad_out=f32(4, 2), x=f32(4, 3), weight=f32(2, 3), saved=f32(4, 2), grad_preact=f32(4, 2),
                grad_x=f32(4, 3), grad_weight=f32(2, 3), grad_bias=f32(2), activation="relu")
    args.update(overrides)
    return args


def on_side(side, args):
    """The arguments with every array moved to the side (NumPy for _C, DeviceArray for _cuda)."""
    return {name: side.array(value) if isinstance(value, np.ndarray) else value for name, value in args.items()}


BAD_FORWARD = {
    "activation not a str": forward_args(activation=None),
    "unknown activation": forward_args(activation="silu"),  # elementwise only, not fused
    "integer x": forward_args(x=np.ones((4, 3), np.int32)),
    "x 1-D": forward_args(x=f32(12)),
    "weight dtype": forward_args(weight=np.ones((2, 3))),
    "weight shape": forward_args(weight=f32(2, 4)),
    "bias shape": forward_args(bias=f32(3)),
    "out shape": forward_args(out=f32(4, 3)),
    "preact dtype": forward_args(preact=np.ones((4, 2))),
    "preact missing for gelu": forward_args(activation="gelu"),
    "infinite slope": dict(forward_args(activation="leaky_relu"), negative_slope=np.inf),
}
BAD_BACKWARD = {
    "integer grad_out": backward_args(grad_out=np.ones((4, 2), np.int64)),
    "x rows": backward_args(x=f32(5, 3)),
    "weight shape": backward_args(weight=f32(3, 3)),
    "saved missing": backward_args(saved=None),
    "saved shape": backward_args(saved=f32(2, 4)),
    "grad_preact dtype": backward_args(grad_preact=np.ones((4, 2))),
    "grad_x shape": backward_args(grad_x=f32(4, 2)),
    "grad_weight dtype": backward_args(grad_weight=np.ones((2, 3))),
    "grad_bias shape": backward_args(grad_bias=f32(4)),
    "negative slope": dict(backward_args(activation="leaky_relu"), negative_slope=-0.5),
}


@requires_gpu
@pytest.mark.parametrize("case", BAD_FORWARD)
def test_bad_forward_raises_like_cpu(case):
    assert_same_error(lambda side: side.module.linear_forward(**on_side(side, BAD_FORWARD[case])))


@requires_gpu
@pytest.mark.parametrize("case", BAD_BACKWARD)
def test_bad_backward_raises_like_cpu(case):
    assert_same_error(lambda side: side.module.linear_backward(**on_side(side, BAD_BACKWARD[case])))


def forward_with_out_over_x(side):
    base = side.array(f32(20))
    return side.module.linear_forward(side.window(base, (4, 3), 0), side.array(f32(2, 3)), None,
                                      side.window(base, (4, 2), 6))


def backward_with_grad_x_over_grad_preact(side):
    base = side.array(f32(20))
    args = on_side(side, backward_args())
    args.update(grad_preact=side.window(base, (4, 2), 0), grad_x=side.window(base, (4, 3), 4))
    return side.module.linear_backward(**args)


def backward_with_grad_preact_partly_over_grad_out(side):
    base = side.array(f32(12))
    args = on_side(side, backward_args())
    args.update(grad_out=side.window(base, (4, 2), 0), grad_preact=side.window(base, (4, 2), 1))
    return side.module.linear_backward(**args)


@requires_gpu
@pytest.mark.parametrize("call", [forward_with_out_over_x, backward_with_grad_x_over_grad_preact,
                                  backward_with_grad_preact_partly_over_grad_out])
def test_aliasing_raises_like_cpu(call):
    assert_same_error(call)


@requires_gpu
def test_non_contiguous_is_refused():
    strided = DEVICE.every_other_column(to_device(f32(2, 6)))
    with pytest.raises(ValueError, match="^weight must be C-contiguous"):
        cuda.linear_forward(**dict(on_side(DEVICE, forward_args()), weight=strided))


@requires_module
def test_numpy_arrays_are_refused():
    """No GPU needed: the binding refuses host arrays before it touches a device."""
    with pytest.raises(TypeError, match=r"^x must be an nnx\._cuda\.DeviceArray"):
        cuda.linear_forward(**forward_args())
    with pytest.raises(TypeError, match=r"^grad_out must be an nnx\._cuda\.DeviceArray"):
        cuda.linear_backward(**backward_args())


@requires_module
@pytest.mark.parametrize("case", ["activation not a str", "unknown activation"])
def test_activation_is_checked_first_like_cpu(case):
    """No GPU needed: the activation is parsed before any array, so NumPy arrays reach the same error."""
    with pytest.raises(Exception) as on_host:
        _C.linear_forward(**BAD_FORWARD[case])
    with pytest.raises(on_host.type) as on_cuda:
        cuda.linear_forward(**BAD_FORWARD[case])
    assert str(on_cuda.value) == str(on_host.value)
