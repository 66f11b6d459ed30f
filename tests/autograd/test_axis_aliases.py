"""NumPy's `axis=`/`keepdims=` as aliases of `dim=`/`keepdim=` in every reduction and scan, methods and
functions, as PyTorch accepts them; both spellings at once is a TypeError, as in torch."""
import numpy as np
import pytest

import nnx

# name -> NumPy reference of name(x, axis=1, keepdims=True); None where the result is (values, indices).
REDUCTIONS = {
    "sum": lambda x: np.sum(x, axis=1, keepdims=True),
    "mean": lambda x: np.mean(x, axis=1, keepdims=True),
    "std": lambda x: np.std(x, axis=1, ddof=1, keepdims=True),
    "var": lambda x: np.var(x, axis=1, ddof=1, keepdims=True),
    "prod": lambda x: np.prod(x, axis=1, keepdims=True),
    "amax": lambda x: np.max(x, axis=1, keepdims=True),
    "amin": lambda x: np.min(x, axis=1, keepdims=True),
    "argmax": lambda x: np.argmax(x, axis=1, keepdims=True),
    "argmin": lambda x: np.argmin(x, axis=1, keepdims=True),
    "all": lambda x: np.all(x > 0, axis=1, keepdims=True),
    "any": lambda x: np.any(x > 0, axis=1, keepdims=True),
    "logsumexp": lambda x: np.log(np.sum(np.exp(x), axis=1, keepdims=True)),
    "norm": lambda x: np.sqrt(np.sum(x * x, axis=1, keepdims=True)),
    "max": lambda x: np.max(x, axis=1, keepdims=True),
    "min": lambda x: np.min(x, axis=1, keepdims=True),
    "median": lambda x: np.sort(x, axis=1)[:, [(x.shape[1] - 1) // 2]],
}
SCANS = {"cumsum": lambda x: np.cumsum(x, axis=0), "cumprod": lambda x: np.cumprod(x, axis=0),
         "softmax": lambda x: np.exp(x) / np.exp(x).sum(axis=0, keepdims=True),
         "argsort": lambda x: np.argsort(x, axis=0, kind="stable"),
         "count_nonzero": lambda x: np.count_nonzero(x > 0, axis=0)}


def _call(owner, name, x, **kwargs):
    """x.<name>(**kwargs) for owner 'method', nnx.<name>(x, **kwargs) for 'function'."""
    if name in ("all", "any", "count_nonzero"):
        x = x > 0
    return getattr(x, name)(**kwargs) if owner == "method" else getattr(nnx, name)(x, **kwargs)


def _values(result):
    return (result.values if isinstance(result, tuple) else result).numpy()


@pytest.fixture
def values(rng):
    return rng.uniform(0.5, 1.5, size=(3, 5)) * rng.choice([-1.0, 1.0], size=(3, 5))


@pytest.mark.parametrize("owner", ["method", "function"])
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_accepts_axis_and_keepdims(values, owner, name):
    x = nnx.tensor(values, dtype=nnx.float64)
    expected = REDUCTIONS[name](values)
    np.testing.assert_allclose(_values(_call(owner, name, x, axis=1, keepdims=True)), expected, rtol=1e-12)
    np.testing.assert_allclose(_values(_call(owner, name, x, dim=1, keepdims=True)), expected, rtol=1e-12)
    np.testing.assert_allclose(_values(_call(owner, name, x, axis=1, keepdim=True)), expected, rtol=1e-12)
    np.testing.assert_allclose(_values(_call(owner, name, x, axis=1)), expected[:, 0], rtol=1e-12)


@pytest.mark.parametrize("owner", ["method", "function"])
@pytest.mark.parametrize("name", sorted(SCANS))
def test_scan_accepts_axis(values, owner, name):
    x = nnx.tensor(values, dtype=nnx.float64)
    np.testing.assert_allclose(_values(_call(owner, name, x, axis=0)), SCANS[name](values), rtol=1e-12)


@pytest.mark.parametrize("owner", ["method", "function"])
@pytest.mark.parametrize("name", sorted(REDUCTIONS) + sorted(SCANS))
def test_both_spellings_at_once_is_a_type_error(values, owner, name):
    x = nnx.tensor(values)
    with pytest.raises(TypeError, match="'dim' and its alias 'axis'"):
        _call(owner, name, x, dim=0, axis=0)
    if name in REDUCTIONS:
        with pytest.raises(TypeError, match="'keepdim' and its alias 'keepdims'"):
            _call(owner, name, x, dim=0, keepdim=True, keepdims=True)


def test_positional_dim_and_axis_is_a_type_error(values):
    with pytest.raises(TypeError):
        nnx.tensor(values).sum(0, axis=0)


def test_alias_gradients_equal_the_dim_spelling(values):
    a = nnx.tensor(values, requires_grad=True)
    b = nnx.tensor(values, requires_grad=True)
    (a.std(axis=0, keepdims=True) * a.mean(axis=1, keepdims=True)).sum().backward()
    (b.std(dim=0, keepdim=True) * b.mean(dim=1, keepdim=True)).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_max_with_axis_returns_values_and_indices(values):
    result = nnx.tensor(values).max(axis=1)
    np.testing.assert_array_equal(result.indices.numpy(), values.argmax(axis=1))


def test_aliases_match_torch(values):
    torch = pytest.importorskip("torch")
    x, t = nnx.tensor(values), torch.tensor(values)
    for name in ("sum", "mean", "std", "var", "prod", "logsumexp", "amax", "argmax", "cumsum"):
        kwargs = {"axis": 1} if name == "cumsum" else {"axis": 1, "keepdims": True}
        ours, theirs = getattr(nnx, name)(x, **kwargs), getattr(torch, name)(t, **kwargs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, err_msg=name)
    with pytest.raises(TypeError):
        torch.sum(t, dim=1, axis=1)  # the behaviour nnx copies
