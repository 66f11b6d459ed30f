"""softmax / log_softmax kernels beyond tests/ops' specs (which check both at every size against the float64 reference):
the kernels' own forward feeding their backward, logits of magnitude 1e4, extremes, inf and NaN as PyTorch has
them, empty rows, and bad input with its messages."""
import numpy as np
import pytest

from helpers import FLOAT_DTYPES, assert_close, poisoned, random_array
from nnx import _C
from ops.softmax import reference_backward, reference_softmax


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("log", [False, True])
def test_forward_then_backward_round_trip(rng, log, dtype):
    """The backward fed with the kernel's own forward, as softmax's autograd rule uses it."""
    x = random_array(rng, (33, 10), dtype)
    out = poisoned(x.shape, dtype)
    _C.softmax_forward(x, out, log)
    grad_out = random_array(rng, x.shape, dtype)
    grad_in = poisoned(x.shape, dtype)
    _C.softmax_backward(grad_out, out, grad_in, log)
    assert_close(grad_in, reference_backward(grad_out, reference_softmax(x, log), log), scale=4)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("log", [False, True])
def test_logits_of_magnitude_1e4_are_exact(rng, log, dtype):
    x = random_array(rng, (64, 37), dtype, -1e4, 1e4)
    x[:, 5] = x[:, 6] + 0.5  # close competitors near the maximum keep the check meaningful
    x[0] = np.array([1e4, 1e4 - 1, 1e4 - 3] + [-1e4] * 34, dtype)
    out = poisoned(x.shape, dtype)
    _C.softmax_forward(x, out, log)
    assert np.isfinite(out).all()
    assert_close(out, reference_softmax(x, log), scale=2)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_finite_input_never_gives_nan_or_inf(dtype):
    big = np.finfo(dtype).max
    x = np.array([[big, -big, 0.0], [-big, -big, -big], [big, big, big], [1e30, -1e30, 1.0]], dtype)
    out = poisoned(x.shape, dtype)
    _C.softmax_forward(x, out)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, [[1, 0, 0], [1 / 3] * 3, [1 / 3] * 3, [1, 0, 0]], rtol=1e-6)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_infinite_and_nan_logits_like_pytorch(dtype):
    inf, nan = np.inf, np.nan
    x = np.array([[-inf, 0.0, 0.0], [-inf, -inf, -inf], [nan, 1.0, 2.0], [1.0, 2.0, 3.0]], dtype)
    softmax, log_softmax = poisoned(x.shape, dtype), poisoned(x.shape, dtype)
    _C.softmax_forward(x, softmax)
    _C.softmax_forward(x, log_softmax, log=True)
    np.testing.assert_allclose(softmax[0], [0.0, 0.5, 0.5], rtol=1e-6)
    np.testing.assert_allclose(log_softmax[0], [-inf, np.log(0.5), np.log(0.5)], rtol=1e-6)
    assert np.isnan(softmax[1]).all() and np.isnan(log_softmax[1]).all()  # a row of only -inf
    assert np.isnan(softmax[2]).all() and np.isnan(log_softmax[2]).all()  # NaN spreads over its row only
    assert_close(softmax[3], reference_softmax(x[3], False))
    assert_close(log_softmax[3], reference_softmax(x[3], True))
    # A -inf logit has out 0 (log: -inf): g - exp(-inf) * sum(g) leaves its gradient as g, finite.
    grad_in = poisoned((3,), dtype)
    _C.softmax_backward(np.ones(3, dtype), log_softmax[0].copy(), grad_in, log=True)
    np.testing.assert_allclose(grad_in, [1.0, -0.5, -0.5], rtol=1e-6)


def test_empty_rows_and_empty_batches():
    for shape in [(0,), (3, 0), (0, 4)]:
        x = np.ones(shape, np.float32)
        out = np.ones(shape, np.float32)
        _C.softmax_forward(x, out)
        _C.softmax_backward(x, x, out)


def f32(*shape):
    return np.ones(shape, np.float32)


class TestBadInput:
    def test_list_instead_of_array(self):
        with pytest.raises(TypeError, match="^x must be a numpy.ndarray, got list"):
            _C.softmax_forward([1.0, 2.0], f32(2))
        with pytest.raises(TypeError, match="^grad_in must be a numpy.ndarray, got list"):
            _C.softmax_backward(f32(2), f32(2), [0.0, 0.0])

    def test_integer_dtype(self):
        with pytest.raises(TypeError, match="x must have dtype float32 or float64"):
            _C.softmax_forward(np.ones(3, np.int64), np.ones(3, np.int64))

    def test_mixed_dtypes(self):
        with pytest.raises(TypeError, match="out must have the dtype of x"):
            _C.softmax_forward(f32(3), np.ones(3, np.float64))
        with pytest.raises(TypeError, match="out must have the dtype of grad_out"):
            _C.softmax_backward(f32(3), np.ones(3, np.float64), f32(3))

    def test_non_contiguous(self):
        with pytest.raises(ValueError, match="x must be C-contiguous"):
            _C.softmax_forward(f32(4, 4)[:, ::2], f32(4, 2))
        with pytest.raises(ValueError, match="out must be C-contiguous"):
            _C.softmax_backward(f32(2, 4), f32(4, 2).T, f32(2, 4))

    def test_wrong_shape(self):
        with pytest.raises(ValueError, match=r"out must have the shape of x \(2, 3\), got \(3, 2\)"):
            _C.softmax_forward(f32(2, 3), f32(3, 2))
        with pytest.raises(ValueError, match="grad_in must have the shape of grad_out"):
            _C.softmax_backward(f32(2, 3), f32(2, 3), f32(6))

    def test_zero_dimensional(self):
        with pytest.raises(ValueError, match="x must have at least 1 dimension"):
            _C.softmax_forward(f32(), f32())

    def test_aliasing(self):
        x = f32(2, 3)
        with pytest.raises(ValueError, match="out must not share memory with x"):
            _C.softmax_forward(x, x)  # not in place: the contract does not allow it
        grad_out, out = f32(2, 3), f32(2, 3)
        with pytest.raises(ValueError, match="grad_in must not share memory with grad_out"):
            _C.softmax_backward(grad_out, out, grad_out)
        with pytest.raises(ValueError, match="grad_in must not share memory with out"):
            _C.softmax_backward(grad_out, out, out)

    def test_read_only_output(self):
        out = f32(3)
        out.flags.writeable = False
        with pytest.raises(ValueError, match="out must be writeable"):
            _C.softmax_forward(f32(3), out)
