"""GEMM and the reductions beyond tests/ops' specs (which check every transpose at every size, and column_sum and
row_argmax, against float64 references): alpha and beta, an empty inner dimension, NaN in argmax."""
import numpy as np
import pytest

from helpers import FLOAT_DTYPES, assert_close, poisoned, random_array
from nnx import _C


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_alpha_beta_accumulates(rng, dtype):
    a, b = random_array(rng, (9, 11), dtype), random_array(rng, (11, 6), dtype)
    out = random_array(rng, (9, 6), dtype)
    before = out.astype(np.float64)
    _C.gemm(a, b, out, alpha=-0.5, beta=2.0)
    assert_close(out, -0.5 * (a.astype(np.float64) @ b) + 2.0 * before)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_empty_inner_dimension_scales_output(rng, dtype):
    out = random_array(rng, (3, 4), dtype)
    expected = 3.0 * out.astype(np.float64)
    _C.gemm(np.zeros((3, 0), dtype), np.zeros((0, 4), dtype), out, beta=3.0)
    assert_close(out, expected)
    poison = poisoned((3, 4), dtype)
    _C.gemm(np.zeros((3, 0), dtype), np.zeros((0, 4), dtype), poison)
    assert (poison == 0).all()


def test_row_argmax_nan_counts_as_largest_like_numpy():
    x = np.array([[1.0, np.nan, 3.0, np.nan], [0.0, 2.0, 1.0, 0.5]], np.float32)
    out = poisoned((2,), np.int64)
    _C.row_argmax(x, out)
    np.testing.assert_array_equal(out, x.argmax(axis=1))


class TestBadInput:
    def test_list_is_refused_by_name(self):
        with pytest.raises(TypeError, match="a must be a numpy.ndarray"):
            _C.gemm([[1.0]], np.ones((1, 1), np.float32), np.ones((1, 1), np.float32))

    def test_integer_dtype(self):
        with pytest.raises(TypeError, match="a must have dtype float32 or float64"):
            _C.gemm(np.ones((2, 2), np.int32), np.ones((2, 2), np.int32), np.ones((2, 2), np.int32))

    def test_mixed_dtypes(self):
        with pytest.raises(TypeError, match="b must have the dtype of a"):
            _C.gemm(np.ones((2, 2), np.float32), np.ones((2, 2), np.float64), np.ones((2, 2), np.float32))

    def test_non_contiguous(self):
        a = np.ones((4, 4), np.float32)[:, ::2]
        with pytest.raises(ValueError, match="a must be C-contiguous"):
            _C.gemm(a, np.ones((2, 2), np.float32), np.ones((4, 2), np.float32))

    def test_inner_dimension_mismatch(self):
        with pytest.raises(ValueError, match="incompatible inner dimensions"):
            _C.gemm(np.ones((2, 3), np.float32), np.ones((4, 2), np.float32), np.ones((2, 2), np.float32))

    def test_output_shape(self):
        with pytest.raises(ValueError, match=r"out must have shape \(2, 2\)"):
            _C.gemm(np.ones((2, 3), np.float32), np.ones((3, 2), np.float32), np.ones((2, 3), np.float32))

    def test_output_aliasing_input(self):
        a = np.ones((3, 3), np.float32)
        with pytest.raises(ValueError, match="out must not share memory with a"):
            _C.gemm(a, np.ones((3, 3), np.float32), a)

    def test_read_only_output(self):
        out = np.ones((2, 2), np.float32)
        out.flags.writeable = False
        with pytest.raises(ValueError, match="out must be writeable"):
            _C.gemm(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), out)

    def test_wrong_ndim(self):
        with pytest.raises(ValueError, match="a must be 2-D"):
            _C.gemm(np.ones(4, np.float32), np.ones((2, 2), np.float32), np.ones((2, 2), np.float32))

    def test_argmax_output_dtype(self):
        with pytest.raises(TypeError, match="out must have dtype int64"):
            _C.row_argmax(np.ones((2, 2), np.float32), np.ones(2, np.int32))

    def test_argmax_of_empty_rows(self):
        with pytest.raises(ValueError, match="x must have at least one column"):
            _C.row_argmax(np.ones((2, 0), np.float32), np.ones(2, np.int64))

    def test_argmax_output_aliasing_input(self):
        """Issue 20, item 12: an out that overlaps x was accepted and 15 of 64 rows came out wrong."""
        x = np.random.default_rng(0).standard_normal((64, 8))
        with pytest.raises(ValueError, match="out must not share memory with x"):
            _C.row_argmax(x, x.reshape(-1).view(np.int64)[8:72])
