"""TabularModel against a hand-written NumPy float64 forward; emb_sz_rule/get_emb_sz; y_range bounds."""
import numpy as np
import pytest

import nnx
from nnx.tabular import SigmoidRange, TabularModel, TabularPreprocessor, emb_sz_rule, get_emb_sz


def randomize(model, rng):
    """Every parameter and running statistic set to fresh random values (BatchNorm starts at 1/0 otherwise)."""
    state = {}
    for key, value in model.state_dict().items():
        array = value.numpy()
        if key.endswith("num_batches_tracked"):
            state[key] = array
        elif key.endswith("running_var"):
            state[key] = rng.uniform(0.5, 2.0, array.shape).astype(array.dtype)
        else:
            state[key] = rng.uniform(-1.0, 1.0, array.shape).astype(array.dtype)
    model.load_state_dict(state)
    return {k: np.array(v, dtype=np.float64) for k, v in state.items()}


def batch_norm(x, p, prefix, training, eps=1e-5):
    mean, var = (x.mean(0), x.var(0)) if training else (p[f"{prefix}.running_mean"], p[f"{prefix}.running_var"])
    return (x - mean) / np.sqrt(var + eps) * p[f"{prefix}.weight"] + p[f"{prefix}.bias"]


def numpy_tabular_forward(p, x_cat, x_cont, n_layers, training, y_range=None, bn_final=False, bn_cont=True):
    """fastai's TabularModel written out: embeddings, BN on conts, [Linear -> ReLU -> BN] blocks, Linear."""
    parts = [p[f"embeds.{i}.weight"][x_cat[:, i]] for i in range(x_cat.shape[1])]
    if x_cont.shape[1]:
        parts.append(batch_norm(x_cont.astype(np.float64), p, "bn_cont", training) if bn_cont else x_cont)
    h = np.concatenate(parts, 1)
    for i in range(n_layers):
        h = np.maximum(h @ p[f"layers.{i}.0.weight"].T, 0.0)
        h = batch_norm(h, p, f"layers.{i}.2", training)
    h = h @ p[f"layers.{n_layers}.0.weight"].T + p.get(f"layers.{n_layers}.0.bias", 0.0)
    if bn_final:
        h = batch_norm(h, p, f"layers.{n_layers}.1", training)
    if y_range is not None:
        h = 1 / (1 + np.exp(-h)) * (y_range[1] - y_range[0]) + y_range[0]
    return h


def inputs(rng, cardinalities, n_cont, n):
    x_cat = np.stack([rng.integers(0, c, n) for c in cardinalities], 1).astype(np.int64)
    return x_cat.reshape(n, len(cardinalities)), rng.normal(size=(n, n_cont)).astype(np.float32)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("n", [2, 17, 70])
def test_forward_matches_numpy(rng, training, n):
    emb_szs, layers = [(5, 3), (9, 4), (2, 1)], [11, 6]
    model = TabularModel(emb_szs, 3, 2, layers, ps=[0.3, 0.1], embed_p=0.2)
    params = randomize(model, rng)
    x_cat, x_cont = inputs(rng, [5, 9, 2], 3, n)
    model.train(training)
    if training:  # dropout draws random masks: compare the deterministic network (p = 0) in training
        model = TabularModel(emb_szs, 3, 2, layers)
        model.load_state_dict({k: v.astype(np.float32) if k[-7:] != "tracked" else v.astype(np.int64)
                               for k, v in params.items()})
    out = model(nnx.tensor(x_cat), nnx.tensor(x_cont))
    expected = numpy_tabular_forward(params, x_cat, x_cont, len(layers), training)
    assert out.dtype == nnx.float32 and tuple(out.shape) == (n, 2)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-4)


def test_tuple_input_numpy_input_and_y_range(rng):
    model = TabularModel([(6, 4)], 2, 1, [8], y_range=(-1.0, 3.0), bn_final=True).eval()
    params = randomize(model, rng)
    x_cat, x_cont = inputs(rng, [6], 2, 13)
    expected = numpy_tabular_forward(params, x_cat, x_cont, 1, False, y_range=(-1.0, 3.0), bn_final=True)
    np.testing.assert_allclose(model((x_cat, x_cont)).numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model(x_cat, x_cont).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_only_categorical_or_only_continuous(rng):
    cat_only = TabularModel([(4, 2), (3, 2)], 0, 1, [5]).eval()
    params = randomize(cat_only, rng)
    x_cat, _ = inputs(rng, [4, 3], 0, 9)
    expected = numpy_tabular_forward(params, x_cat, np.zeros((9, 0)), 1, False)
    np.testing.assert_allclose(cat_only(x_cat, None).numpy(), expected, rtol=1e-5, atol=1e-5)

    cont_only = TabularModel([], 4, 3, [7], bn_cont=False).eval()
    params = randomize(cont_only, rng)
    x_cont = rng.normal(size=(9, 4)).astype(np.float32)
    expected = numpy_tabular_forward(params, np.zeros((9, 0), np.int64), x_cont, 1, False, bn_cont=False)
    np.testing.assert_allclose(cont_only(np.zeros((9, 0), np.int64), x_cont).numpy(), expected,
                               rtol=1e-5, atol=1e-5)


def test_state_dict_keys_follow_fastai():
    model = TabularModel([(4, 3), (5, 2)], 2, 1, [8, 4])
    keys = list(model.state_dict())
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    expected = (["embeds.0.weight", "embeds.1.weight"] + [f"bn_cont.{k}" for k in bn]
                + ["layers.0.0.weight"] + [f"layers.0.2.{k}" for k in bn]
                + ["layers.1.0.weight"] + [f"layers.1.2.{k}" for k in bn]
                + ["layers.2.0.weight", "layers.2.0.bias"])
    assert keys == expected


def test_embeddings_start_small_like_fastai():
    nnx.manual_seed(3)
    weight = TabularModel([(500, 40)], 0, 1, [4]).embeds[0].weight.numpy()
    assert np.abs(weight).max() <= 0.02 + 1e-7
    assert 0.007 < weight.std() < 0.011


def test_y_range_bounds_hold_for_extreme_inputs(rng):
    model = TabularModel([(3, 2)], 2, 1, [4], y_range=(0.5, 5.5)).eval()
    randomize(model, rng)
    x_cont = np.array([[1e6, -1e6], [-1e6, 1e6], [0.0, 0.0]], dtype=np.float32)
    out = model(np.array([[0], [1], [2]]), x_cont).numpy()
    assert np.all(out >= 0.5) and np.all(out <= 5.5) and np.isfinite(out).all()
    np.testing.assert_allclose(SigmoidRange(-2, 2)(nnx.tensor([-50.0, 0.0, 50.0])).numpy(), [-2, 0, 2], atol=1e-6)


def test_emb_sz_rule_and_get_emb_sz():
    assert [emb_sz_rule(n) for n in (2, 3, 10, 100, 10_000, 10**7)] == [2, 3, 6, 21, 278, 600]
    assert emb_sz_rule(3) == round(1.6 * 3**0.56)
    proc = TabularPreprocessor(["a", "b"], ["x"]).fit({"a": np.arange(10) % 4, "b": np.array(list("abcdeabcde")),
                                                       "x": np.r_[np.nan, np.arange(9.0)]})
    assert get_emb_sz(proc) == [(5, 4), (6, 4), (3, 3)]  # a, b and the x_na indicator
    assert get_emb_sz(proc, {"b": 10}) == [(5, 4), (6, 10), (3, 3)]
    assert get_emb_sz([100, 7]) == [(100, 21), (7, 5)]
    with pytest.raises(ValueError, match="cardinalities"):
        get_emb_sz([0])


def test_bad_arguments_and_inputs(rng):
    with pytest.raises(ValueError, match="emb_szs"):
        TabularModel([(4, 0)], 1, 1, [3])
    with pytest.raises(ValueError, match="out_sz"):
        TabularModel([(4, 2)], 1, 0, [3])
    with pytest.raises(ValueError, match="ps"):
        TabularModel([(4, 2)], 1, 1, [3, 2], ps=[0.1])
    with pytest.raises(ValueError, match="at least one"):
        TabularModel([], 0, 1, [3])
    with pytest.raises(ValueError, match="y_range"):
        TabularModel([(4, 2)], 1, 1, [3], y_range=(2, 1))
    with pytest.raises(TypeError, match="act_cls"):
        TabularModel([(4, 2)], 1, 1, [3], act_cls="relu")
    model = TabularModel([(4, 2), (3, 2)], 2, 1, [3]).eval()
    x_cat, x_cont = inputs(rng, [4, 3], 2, 5)
    with pytest.raises(ValueError, match=r"x_cat must have shape \(N, 2\)"):
        model(x_cat[:, :1], x_cont)
    with pytest.raises(TypeError, match="integer category codes"):
        model(x_cat.astype(np.float32), x_cont)
    with pytest.raises(ValueError, match="x_cont must have shape"):
        model(x_cat, x_cont[:, :1])
    with pytest.raises(ValueError, match="same number of rows"):
        model(x_cat, x_cont[:3])
    with pytest.raises(IndexError):
        model(x_cat + 10, x_cont)


def test_numpy_inputs_are_converted_once_at_the_boundary(rng):
    model = TabularModel([(5, 3)], 2, 1, [4]).eval()
    params = randomize(model, rng)
    x_cat, x_cont = inputs(rng, [5], 2, 6)
    expected = numpy_tabular_forward(params, x_cat, x_cont, 1, False)
    out = model(x_cat.astype(np.int32), x_cont.astype(np.float64))  # NumPy: int64 codes, float32 values
    assert out.dtype == nnx.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model(x_cat.tolist(), x_cont.tolist()).numpy(), expected, rtol=1e-5, atol=1e-5)
