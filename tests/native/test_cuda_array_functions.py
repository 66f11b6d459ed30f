"""CudaArray against NumPy: reductions, matmul, joining, splitting, creation and other functions (on the fake CUDA
module everywhere and on a real GPU when one is visible; see test_cuda_array.py)."""

import numpy as np
import pytest
from cuda_array_checks import dev, host, random, same

from nnx.native.cuda_array import CudaArray


@pytest.fixture(autouse=True)
def native(cuda_native):
    """Every test here runs on the fake CUDA module, and on the real one where a GPU is visible."""
    return cuda_native


# --- reductions -------------------------------------------------------------------------------------------------------
_AXES = [None, 0, 1, -1, (0, 2), (1, 2), (0, 1, 2), ()]


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "prod", "any", "all"])
@pytest.mark.parametrize("axis", _AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(rng, op, axis, keepdims):
    data = random(rng, (3, 5, 4), np.float64, 0.5, 1.5)
    data[1, 2, 3] = 0.0 if op in ("any", "all") else data[1, 2, 3]
    for source, reference in ((dev(data), data), (dev(data).transpose(2, 0, 1), data.transpose(2, 0, 1))):
        same(getattr(source, op)(axis=axis, keepdims=keepdims), getattr(reference, op)(axis=axis, keepdims=keepdims),
             exact=False)
        same(getattr(np, op)(source, axis=axis, keepdims=keepdims),
             getattr(np, op)(reference, axis=axis, keepdims=keepdims), exact=False)


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.int64, np.float32])
def test_reduction_dtypes(rng, dtype):
    data = random(rng, (6, 7), dtype)
    a = dev(data)
    expected_sum = data.sum(0)
    same(a.sum(0), expected_sum if expected_sum.dtype != np.uint64 else expected_sum.astype(np.int64), exact=False)
    same(a.mean(1), data.mean(1), exact=False)
    same(a.max(), data.max())
    same(a.argmax(1), data.argmax(1))
    same(a.argmin(), np.int64(data.argmin()))
    same(np.argmax(a, axis=0, keepdims=True), np.argmax(data, axis=0, keepdims=True))
    same(a.sum(dtype=np.float64), data.sum(dtype=np.float64), exact=False)
    expected_cumsum = np.cumsum(data, axis=1)
    # float prefix sums accumulate in double on the device (NumPy's in float32): last-bit differences
    same(np.cumsum(a, axis=1),
         expected_cumsum if expected_cumsum.dtype != np.uint64 else expected_cumsum.astype(np.int64),
         exact=dtype != np.float32)


def test_reductions_above_the_threshold_and_of_odd_sizes(rng):
    for shape in ((1,), (33000,), (17, 2049), (1, 1, 1)):
        data = random(rng, shape, np.float32)
        a = dev(data)
        same(a.sum(), data.sum(dtype=np.float64).astype(np.float32), exact=False)
        same(a.max(axis=-1), data.max(axis=-1))
        same(a.argmax(axis=0), data.argmax(axis=0))
        prefix = host(a.cumsum())  # float32 running sums: rounding grows with the length
        assert prefix.dtype == np.float32
        np.testing.assert_allclose(prefix, np.cumsum(data, dtype=np.float64), rtol=1e-4, atol=1e-5 * data.size)


def test_nan_propagation_and_empty_reductions():
    data = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]], np.float32)
    a = dev(data)
    same(a.max(1), data.max(1))
    same(a.argmax(1), data.argmax(1))
    same(a.argmin(1), data.argmin(1))
    empty = dev(np.zeros((0, 3), np.float32))
    same(empty.sum(0), np.zeros(3, np.float32))
    same(empty.prod(0), np.ones(3, np.float32))
    same(empty.any(0), np.zeros(3, bool))
    same(empty.all(0), np.ones(3, bool))
    with pytest.raises(ValueError, match="zero-size array"):
        empty.max(0)
    with pytest.raises(ValueError):
        empty.argmax()


def test_var_std_norm_count_nonzero(rng):
    data = random(rng, (5, 6), np.float64)
    a = dev(data)
    for axis in (None, 0, (0, 1)):
        same(a.var(axis=axis), data.var(axis=axis), exact=False)
        same(np.std(a, axis=axis, ddof=1), np.std(data, axis=axis, ddof=1), exact=False)
    same(np.linalg.norm(a), np.linalg.norm(data), exact=False)
    same(np.linalg.norm(a, axis=1), np.linalg.norm(data, axis=1), exact=False)
    same(np.count_nonzero(a > 0), np.int64(np.count_nonzero(data > 0)))
    same(np.count_nonzero(a > 0, axis=0), np.count_nonzero(data > 0, axis=0).astype(np.int64))


# --- matmul -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                                    ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
                                    ((1, 33), (33, 1)), ((3, 0), (0, 2))], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_matmul_matches_numpy(rng, shapes, dtype):
    a, b = random(rng, shapes[0], dtype), random(rng, shapes[1], dtype)
    same(dev(a) @ dev(b), a @ b, exact=False)
    same(np.matmul(dev(a), dev(b)), np.matmul(a, b), exact=False)
    if len(shapes[0]) <= 2 and len(shapes[1]) <= 2:
        same(np.dot(dev(a), dev(b)), np.dot(a, b), exact=False)


def test_matmul_of_transposed_and_strided_operands(rng):
    a, b = random(rng, (6, 4)), random(rng, (5, 6))
    x, y = dev(a), dev(b)
    same(x.T @ y.T, a.T @ b.T, exact=False)
    same(x[::2].T @ y[:, ::2].T, a[::2].T @ b[:, ::2].T, exact=False)
    same(dev(a.astype(np.float64)).T @ y.T, a.astype(np.float64).T @ b.T, exact=False)  # float64 @ float32 promotes
    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        x @ y
    with pytest.raises(ValueError, match="does not have enough dimensions"):
        np.matmul(x, 2.0)
    same(np.outer(x[0], y[0]), np.outer(a[0], b[0]), exact=False)


# --- joining, splitting, creation and other functions -----------------------------------------------------------------
def test_concatenate_stack_split_tile(rng):
    a, b = random(rng, (2, 3)), random(rng, (4, 3)).astype(np.float64)
    x, y = dev(a), dev(b)
    same(np.concatenate([x, y]), np.concatenate([a, b]))
    same(np.concatenate([x.T, y.T], axis=1), np.concatenate([a.T, b.T], axis=1))
    same(np.concatenate([x, y], axis=None), np.concatenate([a, b], axis=None))
    with pytest.raises(ValueError, match="must match exactly"):
        np.concatenate([x, y], axis=1)
    same(np.stack([x, x + 1], axis=1), np.stack([a, a + 1], axis=1))
    same(np.vstack([x, y]), np.vstack([a, b]))
    same(np.hstack([x[0], y[0]]), np.hstack([a[0], b[0]]))
    for pieces, expected in ((np.split(y, 2), np.split(b, 2)), (np.split(y, [1, 3], axis=0), np.split(b, [1, 3])),
                             (np.split(x, [1], axis=1), np.split(a, [1], axis=1))):
        assert len(pieces) == len(expected)
        for piece, reference in zip(pieces, expected):
            same(piece, reference)
    with pytest.raises(ValueError, match="equal division"):
        np.split(y, 3)
    for reps in (2, (2, 1), (1, 3), (2, 1, 2)):
        same(np.tile(x, reps), np.tile(a, reps))


def test_like_creation_and_like_functions(rng):
    a = dev(random(rng, (2, 3)))
    same(np.zeros_like(a), np.zeros((2, 3), np.float32))
    same(np.ones_like(a, dtype=np.int64), np.ones((2, 3), np.int64))
    same(np.full_like(a, 7.5), np.full((2, 3), 7.5, np.float32))
    assert np.empty_like(a).shape == (2, 3) and isinstance(np.empty_like(a), CudaArray)
    same(np.full((4,), 2.5, np.float32, like=a), np.full((4,), 2.5, np.float32))
    same(np.full((2,), 3, like=a), np.full((2,), 3))
    same(np.zeros((2, 2), like=a), np.zeros((2, 2)))
    same(np.ones(3, dtype=bool, like=a), np.ones(3, dtype=bool))
    same(np.arange(7, like=a), np.arange(7))
    same(np.arange(1.0, 2.0, 0.25, like=a), np.arange(1.0, 2.0, 0.25))
    same(np.arange(5, 0, -2, dtype=np.float32, like=a), np.arange(5, 0, -2, dtype=np.float32))
    same(np.asarray([[1, 2]], dtype=np.float32, like=a), np.asarray([[1, 2]], dtype=np.float32))
    same(np.eye(3, 4, k=1, like=a), np.eye(3, 4, k=1))
    same(np.eye(3, k=-1, dtype=np.int64, like=a), np.eye(3, k=-1, dtype=np.int64))
    with pytest.raises(TypeError, match="do not support dtype complex128"):
        np.zeros(3, dtype=complex, like=a)


def test_repeat_average_and_numpy_scalars_on_the_left(rng):
    data = random(rng, (3, 4), np.float64)
    a = dev(data)
    for axis in (None, 0, 1):
        same(np.repeat(a, 2, axis=axis), np.repeat(data, 2, axis=axis))
        same(np.average(a, axis=axis), np.average(data, axis=axis), exact=False)
        weights = random(rng, (3, 4), np.float64, 0.5, 2.0)
        same(np.average(a, axis=axis, weights=dev(weights)), np.average(data, axis=axis, weights=weights), exact=False)
    same(np.float32(2) * a, np.float32(2) * data)
    same(np.float64(1) - a[0], np.float64(1) - data[0])
    with pytest.raises(TypeError):
        [1.0, 2.0, 3.0, 4.0] + a[0]


def test_copyto_memory_and_comparisons(rng):
    data = random(rng, (3, 4))
    a = dev(data)
    target = dev(np.zeros((3, 4), np.float64))
    np.copyto(target, a)
    same(target, data.astype(np.float64))
    np.copyto(target, 2)
    same(target, np.full((3, 4), 2.0))
    with pytest.raises(TypeError, match="same_kind"):
        np.copyto(dev(np.zeros(3, np.int64)), dev(np.ones(3)))
    assert np.may_share_memory(a, a[1:]) and np.shares_memory(a[1], a)
    assert not np.may_share_memory(a[0], a[1]) and not np.may_share_memory(a, a.copy())
    assert np.array_equal(a, a.copy()) and not np.array_equal(a, a + 1) and not np.array_equal(a, a[:2])
    assert np.allclose(a, a + 1e-9) and not np.allclose(a, a + 1)
    same(np.isclose(a, a[0]), np.isclose(data, data[0]))
    nan = dev(np.array([np.nan, 1.0]))
    assert not np.array_equal(nan, nan) and np.array_equal(nan, nan, equal_nan=True)
    assert np.result_type(a, 1.0) == np.float32 and np.result_type(a, dev(np.zeros(1))) == np.float64
    assert np.shape(a) == (3, 4) and np.ndim(a) == 2 and np.size(a) == 12
