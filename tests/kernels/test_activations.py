"""Activation kernels beyond tests/ops' specs (which check every kind at every edge size against the float64
reference): non-default parameters, any shape, in place, which input the backward reads, extremes, NaN, and bad
input with its messages."""
import numpy as np
import pytest

from helpers import EDGE_SIZES, FLOAT_DTYPES, assert_close, poisoned, random_array
from nnx import _C
from ops.activations import KINDS, READS_OUTPUT, reference_derivative, reference_forward


def run_backward(kind, grad_out, x, dtype, grad_in=None, **params):
    """The kernel's backward, given the forward's out computed by the float64 reference."""
    out = np.array(reference_forward(kind, x.astype(np.float64), **params), dtype=dtype)
    grad_in = poisoned(x.shape, dtype) if grad_in is None else grad_in
    _C.activation_backward(kind, grad_out, x, out, grad_in, **params)
    return grad_in


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("kind,params", [
    ("leaky_relu", dict(negative_slope=0.3)),
    ("leaky_relu", dict(negative_slope=0.0)),
    ("softplus", dict(beta=2.0, threshold=1.5)),  # x > 0.75 takes the linear branch
    ("softplus", dict(beta=0.5, threshold=0.25)),
])
def test_parameters_are_used(rng, kind, params, dtype):
    x = random_array(rng, (257,), dtype)
    out = poisoned(x.shape, dtype)
    _C.activation_forward(kind, x, out, **params)
    assert_close(out, reference_forward(kind, x.astype(np.float64), **params))
    grad_out = random_array(rng, x.shape, dtype)
    grad_in = run_backward(kind, grad_out, x, dtype, **params)
    expected = grad_out.astype(np.float64) * reference_derivative(kind, x.astype(np.float64), **params)
    assert_close(grad_in, expected, scale=4)


@pytest.mark.parametrize("shape", [(), (0,), (2, 3, 7), (4, 0, 3)])
@pytest.mark.parametrize("kind", ["relu", "gelu"])
def test_any_shape(rng, kind, shape):
    x = random_array(rng, shape, np.float32)
    out = poisoned(shape, np.float32)
    _C.activation_forward(kind, x, out)
    assert_close(out, reference_forward(kind, x.astype(np.float64)))
    grad_out = random_array(rng, shape, np.float32)
    grad_in = run_backward(kind, grad_out, x, np.float32)
    assert_close(grad_in, grad_out * reference_derivative(kind, x.astype(np.float64)), scale=4)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_in_place(rng, kind, dtype):
    x = random_array(rng, (EDGE_SIZES[-1],), dtype)
    expected_out = reference_forward(kind, x.astype(np.float64))
    expected_grad = reference_derivative(kind, x.astype(np.float64))
    grad = random_array(rng, x.shape, dtype)
    expected_grad *= grad
    out = reference_forward(kind, x.astype(np.float64)).astype(dtype)
    _C.activation_backward(kind, grad, x, out, grad)  # grad_in is grad_out
    assert_close(grad, expected_grad, scale=4)
    _C.activation_forward(kind, x, x)  # out is x
    assert_close(x, expected_out)


@pytest.mark.parametrize("kind", KINDS)
def test_backward_reads_only_the_documented_input(rng, kind):
    """relu/leaky_relu/sigmoid/tanh read out, the others x: NaN in the unused one must not matter."""
    x = random_array(rng, (33,), np.float64)
    out = reference_forward(kind, x)
    grad_out = random_array(rng, x.shape, np.float64)
    grad_in = poisoned(x.shape, np.float64)
    if kind in READS_OUTPUT:
        _C.activation_backward(kind, grad_out, poisoned(x.shape, np.float64), out, grad_in)
    else:
        _C.activation_backward(kind, grad_out, x, poisoned(x.shape, np.float64), grad_in)
    assert_close(grad_in, grad_out * reference_derivative(kind, x))


EXTREMES = np.array([-1e4, -1e3, -100.0, -30.0, -1e-30, 0.0, 1e-30, 30.0, 100.0, 1e3, 1e4])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_extreme_inputs_stay_finite_and_exact(kind, dtype):
    x = EXTREMES.astype(dtype)
    out = poisoned(x.shape, dtype)
    _C.activation_forward(kind, x, out)
    assert np.isfinite(out).all(), out
    assert_close(out, reference_forward(kind, x.astype(np.float64)))
    grad_out = np.ones_like(x)
    grad_in = run_backward(kind, grad_out, x, dtype)
    assert np.isfinite(grad_in).all(), grad_in
    assert_close(grad_in, reference_derivative(kind, x.astype(np.float64)))


@pytest.mark.parametrize("kind", KINDS)
def test_nan_propagates_like_pytorch(kind):
    x = np.array([np.nan, 1.0, -1.0], np.float32)
    out = poisoned(x.shape, np.float32)
    _C.activation_forward(kind, x, out)
    assert np.isnan(out[0]) and np.isfinite(out[1:]).all()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_relu_backward_selects_rather_than_multiplies(dtype):
    """PyTorch's threshold_backward: an infinite gradient where out == 0 gives 0, not inf * 0 = NaN."""
    grad_out = np.array([np.inf, -np.inf, 2.0], dtype)
    out = np.array([0.0, 0.0, 3.0], dtype)
    grad_in = poisoned(3, dtype)
    _C.activation_backward("relu", grad_out, out, out, grad_in)
    np.testing.assert_array_equal(grad_in, [0.0, 0.0, 2.0])


def f32(*shape):
    return np.ones(shape, np.float32)


class TestBadInput:
    def test_list_instead_of_array(self):
        with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
            _C.activation_forward("relu", [1.0, 2.0], f32(2))
        with pytest.raises(TypeError, match="out must be a numpy.ndarray"):
            _C.activation_forward("relu", f32(2), [0.0, 0.0])
        with pytest.raises(TypeError, match="grad_out must be a numpy.ndarray"):
            _C.activation_backward("relu", [1.0], f32(1), f32(1), f32(1))

    def test_integer_dtype(self):
        with pytest.raises(TypeError, match="x must have dtype float32 or float64, got int64"):
            _C.activation_forward("relu", np.ones(3, np.int64), np.ones(3, np.int64))

    def test_mixed_dtypes(self):
        with pytest.raises(TypeError, match="out must have the dtype of x"):
            _C.activation_forward("relu", f32(3), np.ones(3, np.float64))
        with pytest.raises(TypeError, match="x must have the dtype of grad_out"):
            _C.activation_backward("gelu", f32(3), np.ones(3, np.float64), f32(3), f32(3))
        with pytest.raises(TypeError, match="grad_in must have the dtype of grad_out"):
            _C.activation_backward("gelu", f32(3), f32(3), f32(3), np.ones(3, np.float64))

    def test_non_contiguous(self):
        with pytest.raises(ValueError, match="x must be C-contiguous"):
            _C.activation_forward("relu", f32(6)[::2], f32(3))
        with pytest.raises(ValueError, match="out must be C-contiguous"):
            _C.activation_backward("relu", f32(3), f32(3), f32(6)[::2], f32(3))

    def test_wrong_shape(self):
        with pytest.raises(ValueError, match=r"out must have the shape of x \(3,\), got \(4,\)"):
            _C.activation_forward("relu", f32(3), f32(4))
        with pytest.raises(ValueError, match=r"grad_in must have the shape of grad_out \(2, 3\)"):
            _C.activation_backward("relu", f32(2, 3), f32(2, 3), f32(2, 3), f32(3, 2))
        with pytest.raises(ValueError, match="x must have the shape of grad_out"):
            _C.activation_backward("relu", f32(2, 3), f32(6), f32(2, 3), f32(2, 3))

    def test_partial_overlap_is_refused(self):
        buffer = f32(8)
        with pytest.raises(ValueError, match="out must not share memory with x"):
            _C.activation_forward("relu", buffer[:6], buffer[2:])
        with pytest.raises(ValueError, match="grad_in must not share memory with grad_out"):
            _C.activation_backward("relu", buffer[:6], f32(6), f32(6), buffer[2:])

    def test_backward_in_place_only_into_grad_out(self):
        x, out = f32(4), f32(4)
        with pytest.raises(ValueError, match="grad_in must not share memory with x"):
            _C.activation_backward("gelu", f32(4), x, out, x)
        with pytest.raises(ValueError, match="grad_in must not share memory with out"):
            _C.activation_backward("relu", f32(4), x, out, out)

    def test_read_only_output(self):
        out = f32(3)
        out.flags.writeable = False
        with pytest.raises(ValueError, match="out must be writeable"):
            _C.activation_forward("relu", f32(3), out)

    def test_unknown_activation(self):
        with pytest.raises(ValueError, match="kind must be one of 'relu'.*got 'swish'"):
            _C.activation_forward("swish", f32(3), f32(3))
        with pytest.raises(ValueError, match="kind must be one of"):
            _C.activation_backward("none", f32(3), f32(3), f32(3), f32(3))
        with pytest.raises(TypeError, match="kind must be a str"):
            _C.activation_forward(None, f32(3), f32(3))

    def test_bad_parameters(self):
        with pytest.raises(ValueError, match="negative_slope must be a finite number"):
            _C.activation_forward("leaky_relu", f32(3), f32(3), negative_slope=float("nan"))
        with pytest.raises(ValueError, match="negative_slope must be >= 0 for the backward"):
            _C.activation_backward("leaky_relu", f32(3), f32(3), f32(3), f32(3), negative_slope=-0.5)
        with pytest.raises(ValueError, match="beta must be a finite nonzero number"):
            _C.activation_forward("softplus", f32(3), f32(3), beta=0.0)
        with pytest.raises(ValueError, match="threshold must be a number"):
            _C.activation_backward("softplus", f32(3), f32(3), f32(3), f32(3), threshold=float("nan"))

    def test_negative_slope_is_fine_in_the_forward(self):
        x = np.array([-2.0, 3.0], np.float32)
        out = poisoned(2, np.float32)
        _C.activation_forward("leaky_relu", x, out, negative_slope=-0.5)
        np.testing.assert_array_equal(out, [1.0, 3.0])
