"""EmbeddingDotBias and EmbeddingNN against NumPy float64: forward, gradients with repeated users/items,
y_range bounds, weight()/bias() lookups by raw id."""
import numpy as np
import pytest

import nnx
from nnx.collab import EmbeddingDotBias, EmbeddingNN


def randomize(model, rng):
    state = {k: rng.uniform(-1, 1, v.shape).astype(np.float32) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    return {k: v.astype(np.float64) for k, v in state.items()}


def numpy_dot_bias(p, x, y_range=None):
    users, items = x[:, 0], x[:, 1]
    out = (p["u_weight.weight"][users] * p["i_weight.weight"][items]).sum(1)
    out = out + p["u_bias.weight"][users, 0] + p["i_bias.weight"][items, 0]
    if y_range is not None:
        out = 1 / (1 + np.exp(-out)) * (y_range[1] - y_range[0]) + y_range[0]
    return out


def numpy_dot_bias_grads(p, x, grad_out):
    """d(sum(out * grad_out)) for each table: rows of repeated users/items accumulate (scatter-add)."""
    users, items = x[:, 0], x[:, 1]
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    np.add.at(grads["u_weight.weight"], users, grad_out[:, None] * p["i_weight.weight"][items])
    np.add.at(grads["i_weight.weight"], items, grad_out[:, None] * p["u_weight.weight"][users])
    np.add.at(grads["u_bias.weight"], users, grad_out[:, None])
    np.add.at(grads["i_bias.weight"], items, grad_out[:, None])
    return grads


@pytest.mark.parametrize("n", [1, 7, 300])
def test_dot_bias_forward_and_gradients_match_numpy(rng, n):
    model = EmbeddingDotBias(5, n_users=11, n_items=4)
    params = randomize(model, rng)
    x = np.stack([rng.integers(0, 11, n), rng.integers(0, 4, n)], 1)  # 300 pairs: many repeats
    grad_out = rng.uniform(-1, 1, n).astype(np.float32)
    out = model(nnx.tensor(x))
    assert tuple(out.shape) == (n,) and out.dtype == nnx.float32
    np.testing.assert_allclose(out.numpy(), numpy_dot_bias(params, x), rtol=1e-5, atol=1e-5)
    out.backward(nnx.tensor(grad_out))
    expected = numpy_dot_bias_grads(params, x, grad_out.astype(np.float64))
    for name, param in model.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), expected[name], rtol=1e-5, atol=1e-5, err_msg=name)


def test_dot_bias_y_range_bounds(rng):
    model = EmbeddingDotBias(3, 6, 6, y_range=(0.5, 5.5))
    params = randomize(model, rng)
    x = np.stack([rng.integers(0, 6, 40), rng.integers(0, 6, 40)], 1)
    out = model(x).numpy()
    np.testing.assert_allclose(out, numpy_dot_bias(params, x, (0.5, 5.5)), rtol=1e-5, atol=1e-5)
    with nnx.no_grad():
        model.u_bias.weight.numpy()[:] = 1e4  # saturate: still inside the range, no overflow
    out = model(x).numpy()
    assert np.isfinite(out).all() and out.min() >= 0.5 and out.max() <= 5.5


def test_weight_and_bias_by_raw_id():
    classes = {"user": ["#na#", "ann", "bob"], "movie": ["#na#", 101, 205, 307]}
    model = EmbeddingDotBias.from_classes(4, classes)
    assert model.user == "user" and model.item == "movie"
    assert model.i_weight.num_embeddings == 4 and model.u_weight.num_embeddings == 3
    items = model.i_weight.weight.numpy()
    np.testing.assert_array_equal(model.weight([307, 101]), items[[3, 1]])
    np.testing.assert_array_equal(model.bias([205]), model.i_bias.weight.numpy()[[2], 0])
    np.testing.assert_array_equal(model.bias(["bob"], is_item=False), model.u_bias.weight.numpy()[[2], 0])
    assert model.weight(["ann", "bob"], is_item=False).shape == (2, 4)
    with pytest.raises(KeyError, match="not in the training data"):
        model.weight([999])
    plain = EmbeddingDotBias(2, 3, 3)
    np.testing.assert_array_equal(plain.weight([2, 0]), plain.i_weight.weight.numpy()[[2, 0]])
    with pytest.raises(IndexError, match="item indices"):
        plain.weight([3])


def test_embedding_nn_matches_numpy(rng):
    model = EmbeddingNN([(7, 3), (5, 2)], [6]).eval()
    state = {}
    for key, value in model.state_dict().items():
        array = value.numpy()
        if key.endswith("num_batches_tracked"):
            state[key] = array
        elif key.endswith("running_var"):
            state[key] = rng.uniform(0.5, 2, array.shape).astype(np.float32)
        else:
            state[key] = rng.uniform(-1, 1, array.shape).astype(np.float32)
    model.load_state_dict(state)
    p = {k: v.astype(np.float64) for k, v in state.items()}
    x = np.stack([rng.integers(0, 7, 9), rng.integers(0, 5, 9)], 1)
    h = np.concatenate([p["embeds.0.weight"][x[:, 0]], p["embeds.1.weight"][x[:, 1]]], 1)
    h = np.maximum(h @ p["layers.0.0.weight"].T, 0)
    h = (h - p["layers.0.2.running_mean"]) / np.sqrt(p["layers.0.2.running_var"] + 1e-5)
    h = h * p["layers.0.2.weight"] + p["layers.0.2.bias"]
    expected = h @ p["layers.1.0.weight"].T + p["layers.1.0.bias"]
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_factors"):
        EmbeddingDotBias(0, 3, 3)
    with pytest.raises(ValueError, match="n_users"):
        EmbeddingDotBias(2, -1, 3)
    with pytest.raises(ValueError, match="y_range"):
        EmbeddingDotBias(2, 3, 3, y_range=(5, 5))
    model = EmbeddingDotBias(2, 3, 3)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        model(np.zeros((4, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="integer"):
        model(np.zeros((4, 2), dtype=np.float32))
    with pytest.raises(IndexError):
        model(np.array([[0, 3]]))
