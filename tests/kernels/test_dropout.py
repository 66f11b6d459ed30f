"""The Philox4x32-10 uniform stream against a pure-Python Philox reference, and dropout beyond tests/ops' specs
(which check forward and backward against their definition over that stream for every p at every size): the
fraction kept, determinism in seed and offset and across thread counts."""
import numpy as np
import pytest

from helpers import FLOAT_DTYPES, poisoned, random_array
from nnx import _C

MASK32 = 0xFFFFFFFF


@pytest.fixture
def restore_threads():
    threads = _C.get_num_threads()
    yield
    _C.set_num_threads(threads)


def philox4x32_10(seed, counter):
    """Reference Philox4x32-10 (Salmon et al.): counter words (lo, hi, 0, 0), key (seed lo, seed hi)."""
    c = [counter & MASK32, (counter >> 32) & MASK32, 0, 0]
    k0, k1 = seed & MASK32, (seed >> 32) & MASK32
    for _ in range(10):
        product0, product1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [(product1 >> 32) ^ c[1] ^ k0, product1 & MASK32, (product0 >> 32) ^ c[3] ^ k1, product0 & MASK32]
        k0, k1 = (k0 + 0x9E3779B9) & MASK32, (k1 + 0xBB67AE85) & MASK32
    return c


def reference_uniforms(seed, offset, n):
    """Element i takes word i % 4 of counter offset + i // 4, mapped to [0, 1) by its top 24 bits."""
    words = [philox4x32_10(seed, (offset + i // 4) % 2**64)[i % 4] for i in range(n)]
    return np.array([(w >> 8) / 2**24 for w in words])


def dropout(x, p, seed, offset):
    out, mask = poisoned(x.shape, x.dtype), np.full(x.shape, 7, np.uint8)
    _C.dropout_forward(x, out, mask, p, seed, offset)
    return out, mask


def test_reference_philox_matches_published_test_vector():
    # Random123's known-answer test for philox4x32_10 with zero counter and key.
    assert philox4x32_10(0, 0) == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("seed,offset", [(0, 0), (12345, 7), (2**40 + 3, 2**32 - 2), (2**64 - 1, 2**64 - 3)])
def test_philox_uniform_matches_reference(dtype, seed, offset):
    out = poisoned((2, 19), dtype)
    _C.philox_uniform(out, seed, offset)
    np.testing.assert_array_equal(out.ravel(), reference_uniforms(seed, offset, 38).astype(dtype))


def test_philox_uniform_is_uniform_in_unit_interval():
    out = poisoned((200_003,), np.float64)
    _C.philox_uniform(out, 3, 0)
    assert out.min() >= 0.0 and out.max() < 1.0
    assert abs(out.mean() - 0.5) < 5 * np.sqrt(1 / 12 / out.size)
    counts, _ = np.histogram(out, bins=10, range=(0, 1))
    assert np.all(np.abs(counts - out.size / 10) < 5 * np.sqrt(out.size / 10))


def test_offset_advances_by_blocks_of_four():
    full, shifted = poisoned((40,), np.float32), poisoned((36,), np.float32)
    _C.philox_uniform(full, 9, 100)
    _C.philox_uniform(shifted, 9, 101)
    np.testing.assert_array_equal(shifted, full[4:])


def test_dropout_p_zero_keeps_everything_and_p_one_drops_everything(rng):
    x = random_array(rng, (1001,), np.float32)
    out, mask = dropout(x, 0.0, 1, 0)
    assert mask.all()
    np.testing.assert_array_equal(out, x)
    out, mask = dropout(x, 1.0, 1, 0)
    assert not mask.any()
    np.testing.assert_array_equal(out, np.zeros_like(x))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_keeps_a_fraction_close_to_one_minus_p(rng, p):
    n = 200_003
    _, mask = dropout(random_array(rng, (n,), np.float32), p, seed=2024, offset=0)
    keep = mask.mean()
    assert abs(keep - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)


def test_dropout_mask_is_a_function_of_seed_and_offset(rng):
    x = random_array(rng, (1000,), np.float32)
    _, mask = dropout(x, 0.5, 7, 11)
    _, same = dropout(x, 0.5, 7, 11)
    _, other_offset = dropout(x, 0.5, 7, 12)
    _, other_seed = dropout(x, 0.5, 8, 11)
    np.testing.assert_array_equal(mask, same)
    assert (mask != other_offset).mean() > 0.3
    assert (mask != other_seed).mean() > 0.3


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_dropout_does_not_depend_on_thread_count(rng, dtype, restore_threads):
    x = random_array(rng, (100_003,), dtype)
    results = []
    for threads in (1, 2):
        _C.set_num_threads(threads)
        out, mask = dropout(x, 0.3, 99, 1234)
        uniforms = poisoned((100_003,), dtype)
        _C.philox_uniform(uniforms, 99, 1234)
        results.append((out, mask, uniforms))
    for single, double in zip(*results):
        np.testing.assert_array_equal(single, double)


def test_seed_and_offset_accept_numpy_integers():
    out_a, out_b = poisoned((8,), np.float32), poisoned((8,), np.float32)
    _C.philox_uniform(out_a, np.uint64(2**63 + 5), np.int64(3))
    _C.philox_uniform(out_b, 2**63 + 5, 3)
    np.testing.assert_array_equal(out_a, out_b)


class TestBadInput:
    x = np.ones((3, 4), np.float32)

    def forward(self, **overrides):
        args = dict(x=self.x, out=np.zeros((3, 4), np.float32), mask=np.zeros((3, 4), np.uint8), p=0.5, seed=1,
                    offset=0)
        args.update(overrides)
        _C.dropout_forward(**args)

    @pytest.mark.parametrize("p", [-0.1, 1.01, float("nan")])
    def test_p_out_of_range(self, p):
        with pytest.raises(ValueError, match="p must be a probability in"):
            self.forward(p=p)
        with pytest.raises(ValueError, match="p must be a probability in"):
            _C.dropout_backward(self.x, np.ones((3, 4), np.uint8), np.zeros((3, 4), np.float32), p)

    def test_mask_dtype_and_shape(self):
        with pytest.raises(TypeError, match="mask must have dtype uint8"):
            self.forward(mask=np.zeros((3, 4), bool))
        with pytest.raises(ValueError, match="mask must have the shape of x"):
            self.forward(mask=np.zeros(12, np.uint8))
        with pytest.raises(ValueError, match="mask must have the shape of grad_out"):
            _C.dropout_backward(self.x, np.ones((4, 3), np.uint8), np.zeros((3, 4), np.float32), 0.5)

    def test_out_dtype_and_shape(self):
        with pytest.raises(TypeError, match="out must have the dtype of x"):
            self.forward(out=np.zeros((3, 4)))
        with pytest.raises(ValueError, match="out must have the shape of x"):
            self.forward(out=np.zeros((4, 3), np.float32))
        with pytest.raises(TypeError, match="x must have dtype float32 or float64"):
            self.forward(x=np.ones((3, 4), np.int32))
        with pytest.raises(TypeError, match="out must have dtype float32 or float64"):
            _C.philox_uniform(np.zeros(4, np.int32), 0, 0)

    def test_aliasing(self):
        x = self.x.copy()
        with pytest.raises(ValueError, match="out must not share memory with x"):
            self.forward(x=x, out=x)
        grad = self.x.copy()
        with pytest.raises(ValueError, match="grad_in must not share memory with grad_out"):
            _C.dropout_backward(grad, np.ones((3, 4), np.uint8), grad, 0.5)

    @pytest.mark.parametrize("name", ["seed", "offset"])
    def test_seed_and_offset_range_and_type(self, name):
        for bad in (-1, 2**64):
            with pytest.raises(ValueError, match=rf"{name} must be an integer in \[0, 2\*\*64\)"):
                self.forward(**{name: bad})
        for bad in (1.5, "3", True):
            with pytest.raises(TypeError, match=f"{name} must be an integer"):
                self.forward(**{name: bad})

    def test_list_and_non_contiguous(self):
        with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
            self.forward(x=[[1.0] * 4] * 3)
        with pytest.raises(ValueError, match="grad_out must be C-contiguous"):
            _C.dropout_backward(np.ones((4, 3), np.float32).T, np.ones((3, 4), np.uint8),
                                np.zeros((3, 4), np.float32), 0.5)
