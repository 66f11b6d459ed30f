"""Fused linear kernels beyond tests/ops' specs (which check every activation at every size, with and without bias,
forward and backward, against the float64 reference): outputs left out, accumulation, in place, empty sizes, the
kernels' own forward feeding their backward, and bad input with its messages."""
import numpy as np
import pytest

from helpers import FLOAT_DTYPES, assert_close, poisoned, random_array
from nnx import _C
from ops.activations import reference_derivative, reference_forward
from ops.linear import KINDS as ACTIVATIONS
from ops.linear import reference_preact, saved_for

SLOPE = 0.2  # not the default, so a kernel that ignores negative_slope fails


def act(activation, preact):
    return reference_forward(activation, preact, negative_slope=SLOPE)


def act_derivative(activation, preact):
    return reference_derivative(activation, preact, negative_slope=SLOPE)


def layer(rng, N, K, M, dtype, with_bias=True):
    x = random_array(rng, (N, K), dtype)
    weight = random_array(rng, (M, K), dtype, -0.5, 0.5)
    bias = random_array(rng, (M,), dtype) if with_bias else None
    return x, weight, bias


def tolerance_scale(K):
    return max(2, K / 16)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("activation", ["none", "relu", "leaky_relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_forward_without_preact(rng, activation, with_bias, dtype):
    x, weight, bias = layer(rng, 1200, 19, 40, dtype, with_bias)
    out = poisoned((1200, 40), dtype)
    _C.linear_forward(x, weight, bias, out, activation=activation, negative_slope=SLOPE)
    assert_close(out, act(activation, reference_preact(x, weight, bias)), scale=tolerance_scale(19))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_forward_with_empty_inner_dimension_gives_act_of_bias(rng, dtype):
    x, weight, bias = layer(rng, 4, 0, 3, dtype)
    out = poisoned((4, 3), dtype)
    _C.linear_forward(x, weight, bias, out, "tanh")
    assert_close(out, np.tile(np.tanh(bias.astype(np.float64)), (4, 1)))


@pytest.mark.parametrize("accumulate", [False, True])
def test_empty_batch(rng, accumulate):
    x, weight, bias = layer(rng, 0, 3, 2, np.float32)
    _C.linear_forward(x, weight, bias, poisoned((0, 2), np.float32), "relu")
    grad_weight, grad_bias = random_array(rng, (2, 3), np.float32), random_array(rng, (2,), np.float32)
    expected_weight = grad_weight.copy() if accumulate else np.zeros((2, 3))
    expected_bias = grad_bias.copy() if accumulate else np.zeros(2)
    grad_out = np.zeros((0, 2), np.float32)
    _C.linear_backward(grad_out, x, weight, grad_out.copy(), grad_out.copy(), x.copy(), grad_weight, grad_bias,
                       "relu", accumulate=accumulate)
    assert_close(grad_weight, expected_weight)
    assert_close(grad_bias, expected_bias)


def run_backward(rng, activation, N, K, M, dtype, accumulate=False, in_place=False):
    """Forward through the references, backward through the kernel; returns (inputs, outputs, expected)."""
    x, weight, bias = layer(rng, N, K, M, dtype)
    preact64 = reference_preact(x, weight, bias)
    preact, out = preact64.astype(dtype), act(activation, preact64).astype(dtype)
    grad_out = random_array(rng, (N, M), dtype)
    grad_preact64 = grad_out.astype(np.float64) * act_derivative(activation, preact64)
    start = dict(grad_weight=random_array(rng, (M, K), dtype), grad_bias=random_array(rng, (M,), dtype))
    outputs = dict(
        grad_preact=grad_out if in_place else poisoned((N, M), dtype),
        grad_x=poisoned((N, K), dtype),
        grad_weight=start["grad_weight"].copy() if accumulate else poisoned((M, K), dtype),
        grad_bias=start["grad_bias"].copy() if accumulate else poisoned((M,), dtype),
    )
    _C.linear_backward(grad_out.copy() if not in_place else grad_out, x, weight, saved_for(activation, out, preact),
                       outputs["grad_preact"], outputs["grad_x"], outputs["grad_weight"], outputs["grad_bias"],
                       activation, SLOPE, accumulate)
    expected = dict(
        grad_preact=grad_preact64,
        grad_x=grad_preact64 @ weight.astype(np.float64),
        grad_weight=grad_preact64.T @ x.astype(np.float64),
        grad_bias=grad_preact64.sum(axis=0),
    )
    if accumulate:
        expected["grad_weight"] += start["grad_weight"]
        expected["grad_bias"] += start["grad_bias"]
    return outputs, expected


def check_gradients(outputs, expected, N, K, M):
    assert_close(outputs["grad_preact"], expected["grad_preact"], scale=tolerance_scale(K))
    assert_close(outputs["grad_x"], expected["grad_x"], scale=tolerance_scale(M) * tolerance_scale(K))
    assert_close(outputs["grad_weight"], expected["grad_weight"], scale=tolerance_scale(N) * tolerance_scale(K))
    assert_close(outputs["grad_bias"], expected["grad_bias"], scale=tolerance_scale(N) * tolerance_scale(K))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backward_accumulates_into_weight_and_bias(rng, activation, dtype):
    outputs, expected = run_backward(rng, activation, 17, 33, 9, dtype, accumulate=True)
    check_gradients(outputs, expected, 17, 33, 9)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backward_in_place_into_grad_out(rng, activation, dtype):
    outputs, expected = run_backward(rng, activation, 1200, 19, 40, dtype, in_place=True)
    check_gradients(outputs, expected, 1200, 19, 40)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_backward_skips_outputs_given_as_none(rng, dtype):
    x, weight, _ = layer(rng, 5, 4, 3, dtype)
    grad_out = random_array(rng, (5, 3), dtype)
    grad_preact, grad_bias = poisoned((5, 3), dtype), poisoned((3,), dtype)
    _C.linear_backward(grad_out, x, weight, None, grad_preact, None, None, grad_bias)
    assert_close(grad_preact, grad_out.astype(np.float64))
    assert_close(grad_bias, grad_out.astype(np.float64).sum(axis=0))
    grad_x = poisoned((5, 4), dtype)
    _C.linear_backward(grad_out, x, weight, None, grad_preact, grad_x, None, None)
    assert_close(grad_x, grad_out.astype(np.float64) @ weight.astype(np.float64))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_forward_then_backward_round_trip(rng, dtype):
    """The kernels' own forward outputs feed the backward, as a layer uses them."""
    x, weight, bias = layer(rng, 33, 20, 17, dtype)
    for activation in ACTIVATIONS:
        out, preact = poisoned((33, 17), dtype), poisoned((33, 17), dtype)
        _C.linear_forward(x, weight, bias, out, activation, SLOPE, preact)
        grad_out = random_array(rng, out.shape, dtype)
        grad_preact, grad_x = poisoned(out.shape, dtype), poisoned(x.shape, dtype)
        grad_weight, grad_bias = poisoned(weight.shape, dtype), poisoned(bias.shape, dtype)
        _C.linear_backward(grad_out, x, weight, saved_for(activation, out, preact), grad_preact, grad_x, grad_weight,
                           grad_bias, activation, SLOPE)
        preact64 = reference_preact(x, weight, bias)
        assert_close(grad_preact, grad_out * act_derivative(activation, preact64), scale=8)


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


class TestBadInput:
    @pytest.mark.parametrize("name", ["x", "weight", "bias", "out", "preact"])
    def test_list_instead_of_array_forward(self, name):
        args = forward_args()
        args[name] = np.zeros_like(args[name] if args[name] is not None else f32(4, 2)).tolist()
        with pytest.raises(TypeError, match=f"^{name} must be a numpy.ndarray, got list"):
            _C.linear_forward(**args)

    @pytest.mark.parametrize("name", ["grad_out", "x", "weight", "saved", "grad_preact", "grad_x", "grad_weight",
                                      "grad_bias"])
    def test_list_instead_of_array_backward(self, name):
        args = backward_args()
        args[name] = args[name].tolist()
        with pytest.raises(TypeError, match=f"^{name} must be a numpy.ndarray, got list"):
            _C.linear_backward(**args)

    def test_integer_dtype(self):
        with pytest.raises(TypeError, match="x must have dtype float32 or float64"):
            _C.linear_forward(**forward_args(x=np.ones((4, 3), np.int32)))
        with pytest.raises(TypeError, match="grad_out must have dtype float32 or float64"):
            _C.linear_backward(**backward_args(grad_out=np.ones((4, 2), np.int64)))

    @pytest.mark.parametrize("name", ["weight", "bias", "out", "preact"])
    def test_mixed_dtypes_forward(self, name):
        args = forward_args()
        args[name] = np.ones_like(args[name] if args[name] is not None else f32(4, 2), dtype=np.float64)
        with pytest.raises(TypeError, match=f"^{name} must have the dtype of x"):
            _C.linear_forward(**args)

    @pytest.mark.parametrize("name", ["x", "weight", "saved", "grad_preact", "grad_x", "grad_weight", "grad_bias"])
    def test_mixed_dtypes_backward(self, name):
        args = backward_args()
        args[name] = args[name].astype(np.float64)
        with pytest.raises(TypeError, match=f"^{name} must have the dtype of grad_out"):
            _C.linear_backward(**args)

    def test_non_contiguous(self):
        with pytest.raises(ValueError, match="weight must be C-contiguous"):
            _C.linear_forward(**forward_args(weight=f32(3, 2).T))
        with pytest.raises(ValueError, match="grad_x must be C-contiguous"):
            _C.linear_backward(**backward_args(grad_x=f32(4, 6)[:, ::2]))

    @pytest.mark.parametrize("name,shape,message", [
        ("x", (12,), "x must be 2-D"),
        ("weight", (2, 4), r"weight must have shape \(2, 3\), got \(2, 4\)"),
        ("bias", (3,), r"bias must have shape \(2,\)"),
        ("out", (4, 3), r"out must have shape \(4, 2\)"),
        ("preact", (2, 4), r"preact must have shape \(4, 2\)"),
    ])
    def test_wrong_shape_forward(self, name, shape, message):
        with pytest.raises(ValueError, match=message):
            _C.linear_forward(**forward_args(**{name: f32(*shape)}))

    @pytest.mark.parametrize("name,shape,message", [
        ("grad_out", (8,), "grad_out must be 2-D"),
        ("x", (5, 3), r"x must have shape \(4, 3\)"),
        ("weight", (3, 3), r"weight must have shape \(2, 3\)"),
        ("saved", (4, 3), r"saved must have shape \(4, 2\)"),
        ("grad_preact", (2, 4), r"grad_preact must have shape \(4, 2\)"),
        ("grad_x", (4, 2), r"grad_x must have shape \(4, 3\)"),
        ("grad_weight", (3, 2), r"grad_weight must have shape \(2, 3\)"),
        ("grad_bias", (4,), r"grad_bias must have shape \(2,\)"),
    ])
    def test_wrong_shape_backward(self, name, shape, message):
        with pytest.raises(ValueError, match=message):
            _C.linear_backward(**backward_args(**{name: f32(*shape)}))

    def test_forward_aliasing(self):
        x = f32(4, 3)
        out = f32(4, 2)
        with pytest.raises(ValueError, match="out must not share memory with x"):
            _C.linear_forward(**forward_args(x=x, out=x.reshape(-1)[:8].reshape(4, 2)))
        with pytest.raises(ValueError, match="out must not share memory with preact"):
            _C.linear_forward(**forward_args(out=out, preact=out))
        bias = f32(8)
        with pytest.raises(ValueError, match="out must not share memory with bias"):
            _C.linear_forward(**forward_args(bias=bias[:2], out=bias.reshape(4, 2)))

    def test_backward_aliasing(self):
        buffer = f32(10)
        with pytest.raises(ValueError, match="grad_preact must not share memory with grad_out"):
            _C.linear_backward(**backward_args(grad_out=buffer[:8].reshape(4, 2), grad_preact=buffer[2:].reshape(4, 2)))
        saved = f32(4, 2)
        with pytest.raises(ValueError, match="grad_preact must not share memory with saved"):
            _C.linear_backward(**backward_args(saved=saved, grad_preact=saved))
        weight = f32(2, 3)
        with pytest.raises(ValueError, match="grad_weight must not share memory with weight"):
            _C.linear_backward(**backward_args(weight=weight, grad_weight=weight))
        x = f32(4, 3)
        with pytest.raises(ValueError, match="grad_x must not share memory with x"):
            _C.linear_backward(**backward_args(x=x, grad_x=x))
        grad_out = f32(4, 2)
        with pytest.raises(ValueError, match="grad_weight must not share memory with grad_out"):
            _C.linear_backward(**backward_args(grad_out=grad_out, grad_preact=grad_out,
                                               grad_weight=grad_out.reshape(-1)[:6].reshape(2, 3)))
        grad_preact = f32(4, 2)
        with pytest.raises(ValueError, match="grad_bias must not share memory with grad_preact"):
            _C.linear_backward(**backward_args(grad_preact=grad_preact, grad_bias=grad_preact[0]))

    def test_backward_outputs_do_not_overlap_each_other(self):
        buffer = f32(6)
        with pytest.raises(ValueError, match="grad_weight must not share memory with grad_bias"):
            _C.linear_backward(**backward_args(grad_weight=buffer.reshape(2, 3), grad_bias=buffer[:2]))

    def test_unknown_activation(self):
        with pytest.raises(ValueError, match="activation must be one of 'none', 'relu'.*got 'swish'"):
            _C.linear_forward(**forward_args(activation="swish"))
        with pytest.raises(ValueError, match="activation must be one of .*got 'softplus'"):
            _C.linear_backward(**backward_args(activation="softplus"))
        with pytest.raises(TypeError, match="activation must be a str"):
            _C.linear_forward(**forward_args(activation=1))

    @pytest.mark.parametrize("activation", ["gelu", "gelu_tanh"])
    def test_preact_missing_for_gelu(self, activation):
        with pytest.raises(ValueError, match=f"preact is required for activation '{activation}'"):
            _C.linear_forward(**forward_args(activation=activation))

    def test_saved_missing(self):
        with pytest.raises(ValueError, match="saved is required for activation 'tanh'"):
            _C.linear_backward(**backward_args(activation="tanh", saved=None))

    def test_negative_slope(self):
        with pytest.raises(ValueError, match="negative_slope must be a finite number"):
            _C.linear_forward(**forward_args(activation="leaky_relu"), negative_slope=float("inf"))
        with pytest.raises(ValueError, match="negative_slope must be >= 0 for the backward"):
            _C.linear_backward(**backward_args(activation="leaky_relu"), negative_slope=-0.1)

    def test_read_only_output(self):
        out = f32(4, 2)
        out.flags.writeable = False
        with pytest.raises(ValueError, match="out must be writeable"):
            _C.linear_forward(**forward_args(out=out))
