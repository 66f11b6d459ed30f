"""Tensor edge cases of issue 20 (items 10, 11, 13) answered as PyTorch answers them: std/var of one value,
of an empty dim and of huge values; gather with a negative index; chunk/split of an empty dim; max/min(dim)
with another empty dim."""
import warnings

import numpy as np
import pytest

import nnx


def _std_reference(x, axis, correction):
    """float64 two-pass standard deviation, scaled by the largest deviation (no overflow)."""
    centered = x - x.mean(axis=axis, keepdims=True)
    scale = np.abs(centered).max(axis=axis, keepdims=True)
    scale[scale == 0] = 1
    divisor = x.shape[axis] - correction
    return (np.sqrt(((centered / scale) ** 2).sum(axis=axis, keepdims=True) / divisor) * scale).squeeze(axis)


def test_std_of_a_batch_of_one_gives_nan_gradients():
    for reduce in ("std", "var"):
        x = nnx.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = getattr(x, reduce)(0)
            out.sum().backward()
        assert np.isnan(out.numpy()).all() and np.isnan(x.grad.numpy()).all()


def test_var_and_std_of_an_empty_dim_are_nan():
    empty = nnx.zeros(0, 3)
    for reduce in ("var", "std"):
        values = getattr(empty, reduce)(0).numpy()
        assert values.shape == (3,) and np.isnan(values).all()
        assert np.isnan(getattr(empty, reduce)().item())


def test_std_of_huge_float32_values_does_not_overflow():
    assert nnx.tensor([1e30, -1e30]).std().item() == pytest.approx(np.sqrt(2) * 1e30, rel=1e-6)
    assert nnx.tensor([1e300, -1e300], dtype=nnx.float64).std().item() == pytest.approx(np.sqrt(2) * 1e300)


def test_std_of_a_constant_has_zero_gradient():
    x = nnx.ones(4, requires_grad=True)
    x.std().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(4))


@pytest.mark.parametrize("shape, dim, correction", [((7,), 0, 1), ((4, 5), 1, 0), ((3, 17), 0, 1), ((1, 6), 1, 1)])
def test_std_value_and_gradient_match_a_float64_reference(rng, shape, dim, correction):
    values = rng.normal(0.0, 3.0, shape)
    x = nnx.tensor(values, requires_grad=True)
    out = x.std(dim, correction=correction)
    weights = rng.normal(size=out.shape)
    (out * nnx.tensor(weights)).sum().backward()
    np.testing.assert_allclose(out.numpy(), _std_reference(values, dim, correction), rtol=1e-12)
    step, numeric = 1e-6, np.zeros(shape)
    for index in np.ndindex(*shape):
        plus, minus = values.copy(), values.copy()
        plus[index] += step
        minus[index] -= step
        numeric[index] = ((_std_reference(plus, dim, correction) - _std_reference(minus, dim, correction))
                          * weights).sum() / (2 * step)
    np.testing.assert_allclose(x.grad.numpy(), numeric, rtol=1e-6, atol=1e-8)


def test_gather_refuses_a_negative_index():
    x = nnx.ones(2, 3)
    with pytest.raises(IndexError, match=r"gather\(\): index -1 is out of range"):
        x.gather(1, nnx.tensor([[0, -1, 0], [0, 0, 0]]))
    np.testing.assert_array_equal(x.gather(1, nnx.tensor([[2], [0]])).numpy(), [[1.0], [1.0]])


def test_chunk_and_split_of_an_empty_dim_give_empty_pieces():
    empty = nnx.zeros(0, 3)
    assert [p.shape for p in empty.split(2)] == [(0, 3)]
    assert [p.shape for p in empty.chunk(2)] == [(0, 3), (0, 3)]
    assert [p.shape for p in empty.split(0)] == [(0, 3)]
    assert [p.shape for p in nnx.zeros(5, 0).split(2)] == [(2, 0), (2, 0), (1, 0)]
    assert [p.shape for p in nnx.zeros(5, 2).chunk(2)] == [(3, 2), (2, 2)]
    with pytest.raises(RuntimeError, match="split_size"):
        nnx.zeros(3).split(0)
    with pytest.raises(RuntimeError, match="chunks must be a positive int"):
        nnx.zeros(3).chunk(0)


def test_max_and_min_over_a_dim_when_another_dim_is_empty():
    for name in ("max", "min"):
        values, indices = getattr(nnx.zeros(3, 0), name)(0)
        assert values.shape == (0,) and indices.shape == (0,) and indices.dtype == np.int64
        values, indices = getattr(nnx.zeros(0, 3), name)(1, keepdim=True)
        assert values.shape == (0, 1) and indices.shape == (0, 1)
        with pytest.raises(IndexError, match=f"{name}\\(\\): Expected reduction dim 0 to have non-zero size"):
            getattr(nnx.zeros(0, 3), name)(0)


def test_edge_cases_match_torch():
    torch = pytest.importorskip("torch")
    for build in (lambda lib: [tuple(p.shape) for p in lib.zeros(0, 3).chunk(3)],
                  lambda lib: [tuple(p.shape) for p in lib.zeros(0, 3).split(2)],
                  lambda lib: tuple(lib.zeros(2, 0).max(0).values.shape),
                  lambda lib: round(lib.tensor([1e30, -1e30]).std().item() / 1e30, 5)):
        assert build(nnx) == build(torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns about degrees of freedom <= 0
        tx = torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
        tx.std(0).sum().backward()
    assert np.isnan(tx.grad.numpy()).all()


def test_uint64_labels_beyond_int64_are_refused_not_wrapped():
    import nnx.nn.functional as F
    huge = nnx.from_numpy(np.array([2 ** 63, 1], dtype=np.uint64))
    logits = nnx.randn(2, 3)
    for call in (lambda: F.cross_entropy(logits, huge), lambda: F.nll_loss(logits.log_softmax(1), huge),
                 lambda: nnx.nn.Embedding(4, 2)(huge)):
        with pytest.raises(IndexError, match="9223372036854775808, above the int64 range"):
            call()
    small = nnx.from_numpy(np.array([2, 1], dtype=np.uint64))
    expected = F.cross_entropy(logits, nnx.tensor([2, 1])).item()
    assert F.cross_entropy(logits, small).item() == pytest.approx(expected)


def test_load_state_dict_refuses_an_integer_that_does_not_fit():
    module = nnx.nn.BatchNorm1d(3)
    state = {key: value.numpy().copy() for key, value in module.state_dict().items()}
    state["running_mean"] += 1.0
    with pytest.raises(RuntimeError, match="num_batches_tracked does not fit"):  # it would wrap to -1
        module.load_state_dict({**state, "num_batches_tracked": np.array(2 ** 64 - 1, dtype=np.uint64)})
    assert module.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(module.running_mean.numpy(), np.zeros(3))  # nothing written
    module.load_state_dict({**state, "num_batches_tracked": np.array(7, dtype=np.uint64)})
    assert module.num_batches_tracked.item() == 7
