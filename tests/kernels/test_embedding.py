"""Embedding gather and scatter-add beyond tests/ops' specs (which check both against float64 references at every
size): duplicates, padding_idx, thread counts, empty indices."""
import numpy as np
import pytest

from helpers import FLOAT_DTYPES, assert_close, poisoned, random_array
from nnx import _C
from ops.embedding import reference_backward


@pytest.fixture
def restore_threads():
    threads = _C.get_num_threads()
    yield
    _C.set_num_threads(threads)


def scatter_add_reference(grad_out, indices, V, padding_idx=-1):
    """The rows of grad_out added into a zero (V, D) gradient (the embedding family's reference)."""
    return reference_backward(np.zeros((V, grad_out.shape[-1])), indices, grad_out, padding_idx)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_embedding_backward_duplicates_accumulate(dtype):
    indices = np.array([[2, 0, 2], [2, 1, 0]])
    grad_out = np.arange(1, 19, dtype=dtype).reshape(2, 3, 3)
    grad_weight = np.zeros((4, 3), dtype)
    _C.embedding_backward(grad_out, indices, grad_weight)
    # Flat rows 1 and 5 go to 0, row 4 to 1, rows 0, 2 and 3 to 2; nothing to 3.
    expected = np.array([[20, 22, 24], [13, 14, 15], [18, 21, 24], [0, 0, 0]], dtype)
    np.testing.assert_array_equal(grad_weight, expected)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_embedding_backward_skips_padding_idx(rng, dtype):
    V, D = 6, 5
    indices = rng.integers(0, V, size=(40,))
    indices[::3] = 2
    grad_out = random_array(rng, (40, D), dtype)
    grad_weight = np.zeros((V, D), dtype)
    _C.embedding_backward(grad_out, indices, grad_weight, padding_idx=2)
    np.testing.assert_array_equal(grad_weight[2], 0)
    assert_close(grad_weight, scatter_add_reference(grad_out, indices, V, padding_idx=2), scale=8)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_embedding_backward_does_not_depend_on_thread_count(rng, dtype, restore_threads):
    V, D, n = 13, 64, 20_011  # few rows, many duplicates: every row is hit ~1500 times
    indices = rng.integers(0, V, size=n)
    grad_out = random_array(rng, (n, D), dtype)
    results = []
    for threads in (1, 2):
        _C.set_num_threads(threads)
        grad_weight = np.zeros((V, D), dtype)
        _C.embedding_backward(grad_out, indices, grad_weight)
        results.append(grad_weight)
    np.testing.assert_array_equal(results[0], results[1])
    assert_close(results[0], scatter_add_reference(grad_out, indices, V), scale=2000)


def test_embedding_empty_indices(rng):
    weight = random_array(rng, (4, 3), np.float32)
    out = poisoned((0, 3), np.float32)
    _C.embedding_forward(weight, np.zeros(0, np.int64), out)
    grad_weight = weight.copy()
    _C.embedding_backward(out, np.zeros(0, np.int64), grad_weight)
    np.testing.assert_array_equal(grad_weight, weight)


class TestBadInput:
    weight = np.ones((5, 3), np.float32)

    @pytest.mark.parametrize("bad", [5, -1, 2**40])
    def test_index_out_of_range(self, bad):
        indices = np.array([[0, 1], [bad, 2]])
        with pytest.raises(IndexError, match=rf"indices must be in \[0, 5\).*got {bad} at flat position 2"):
            _C.embedding_forward(self.weight, indices, np.zeros((2, 2, 3), np.float32))
        with pytest.raises(IndexError, match=rf"indices must be in \[0, 5\).*got {bad}"):
            _C.embedding_backward(np.ones((2, 2, 3), np.float32), indices, np.zeros((5, 3), np.float32))

    def test_first_bad_index_is_reported_and_out_is_untouched(self, rng):
        """Checked before the kernel runs (the kernel checks again what it reads: tests/reliability/
        test_index_races.py races another thread against it)."""
        weight = random_array(rng, (7, 2), np.float32)
        indices = rng.integers(0, 7, 100_001)
        indices[[40_000, 70_000, -1]] = [7, -2**63, 2**62]
        out = poisoned((indices.size, 2), np.float32)
        with pytest.raises(IndexError, match=r"indices must be in \[0, 7\).*got 7 at flat position 40000$"):
            _C.embedding_forward(weight, indices, out)
        assert np.isnan(out).all()

    def test_index_checked_even_without_columns(self):
        with pytest.raises(IndexError, match="got 3 at flat position 1"):
            _C.embedding_forward(np.ones((3, 0), np.float32), np.array([0, 3]), np.zeros((2, 0), np.float32))

    def test_padding_idx_does_not_excuse_a_bad_index(self):
        grad_weight = np.zeros((3, 2))
        with pytest.raises(IndexError, match="got -1 at flat position 0"):
            _C.embedding_backward(np.ones((1, 2)), np.array([-1]), grad_weight, padding_idx=-1)
        np.testing.assert_array_equal(grad_weight, 0)  # refused before the kernel adds into it

    def test_dtypes(self):
        with pytest.raises(TypeError, match="indices must have dtype int64"):
            _C.embedding_forward(self.weight, np.array([0, 1], np.int32), np.zeros((2, 3), np.float32))
        with pytest.raises(TypeError, match="weight must have dtype float32 or float64"):
            _C.embedding_forward(self.weight.astype(np.int64), np.array([0, 1]), np.zeros((2, 3), np.int64))
        with pytest.raises(TypeError, match="out must have the dtype of weight"):
            _C.embedding_forward(self.weight, np.array([0, 1]), np.zeros((2, 3)))
        with pytest.raises(TypeError, match="grad_weight must have the dtype of grad_out"):
            _C.embedding_backward(np.ones((2, 3), np.float32), np.array([0, 1]), np.zeros((5, 3)))

    def test_shapes(self):
        with pytest.raises(ValueError, match="weight must be 2-D"):
            _C.embedding_forward(np.ones(5, np.float32), np.array([0]), np.zeros((1, 1), np.float32))
        with pytest.raises(ValueError, match=r"out must have shape \(2, 3\)"):
            _C.embedding_forward(self.weight, np.array([0, 1]), np.zeros((2, 4), np.float32))
        with pytest.raises(ValueError, match=r"grad_out must have shape \(2, 3\)"):
            _C.embedding_backward(np.ones((3, 3), np.float32), np.array([0, 1]), np.zeros((5, 3), np.float32))
        with pytest.raises(ValueError, match="grad_weight must be 2-D"):
            _C.embedding_backward(np.ones((2, 3), np.float32), np.array([0, 1]), np.zeros(15, np.float32))

    def test_aliasing_and_layout(self):
        weight = self.weight.copy()
        with pytest.raises(ValueError, match="out must not share memory with weight"):
            _C.embedding_forward(weight, np.array([0]), weight[:1])
        with pytest.raises(ValueError, match="weight must be C-contiguous"):
            _C.embedding_forward(np.ones((3, 5), np.float32).T, np.array([0]), np.zeros((1, 3), np.float32))
        with pytest.raises(TypeError, match="indices must be a numpy.ndarray"):
            _C.embedding_forward(self.weight, [0, 1], np.zeros((2, 3), np.float32))
        frozen = np.zeros((5, 3), np.float32)
        frozen.flags.writeable = False
        with pytest.raises(ValueError, match="grad_weight must be writeable"):
            _C.embedding_backward(np.ones((2, 3), np.float32), np.array([0, 1]), frozen)
