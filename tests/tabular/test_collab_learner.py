"""collab_learner end to end: a synthetic low-rank ratings matrix is learned with fit_one_cycle to an RMSE
that user + item biases alone (the best linear model) cannot reach; learned factors and biases are
inspectable by raw id; unseen ids, EmbeddingNN, export/load_learner."""
import numpy as np
import pytest

import nnx
from nnx.collab import CollabDataLoaders, EmbeddingDotBias, EmbeddingNN, collab_learner
from nnx.tabular import load_learner
from nnx.tabular.data import split_rows

N_USERS, N_ITEMS = 120, 90


def low_rank_ratings(rng, rank=3, density=0.6, noise=0.1):
    """Ratings 3 + user bias + item bias + 0.6 * U V^T (rank 3) + noise, observed on `density` of the
    matrix. User ids are 1000 + index and item ids strings, as raw ids would be."""
    factors_u, factors_v = rng.normal(size=(N_USERS, rank)), rng.normal(size=(N_ITEMS, rank))
    bias_u, bias_v = rng.normal(0, 0.5, N_USERS), rng.normal(0, 0.5, N_ITEMS)
    full = 3.0 + bias_u[:, None] + bias_v[None, :] + 0.6 * factors_u @ factors_v.T
    users, items = np.nonzero(rng.random(full.shape) < density)
    ratings = full[users, items] + noise * rng.normal(size=len(users))
    return users, items, ratings.astype(np.float32), bias_v


def bias_only_rmse(users, items, ratings, train, valid):
    """Least squares on one-hot user and item (the linear model of the ratings)."""
    design = np.zeros((len(users), N_USERS + N_ITEMS + 1))
    design[np.arange(len(users)), users] = 1
    design[np.arange(len(users)), N_USERS + items] = 1
    design[:, -1] = 1
    weights, *_ = np.linalg.lstsq(design[train], ratings[train], rcond=None)
    return np.sqrt(np.mean((design[valid] @ weights - ratings[valid]) ** 2))


@pytest.mark.slow
def test_low_rank_ratings_are_learned():
    nnx.manual_seed(0)
    users, items, ratings, item_bias = low_rank_ratings(np.random.default_rng(0))
    user_ids, item_ids = users + 1000, np.array([f"movie{i}" for i in items])
    dls = CollabDataLoaders.from_arrays(user_ids, item_ids, ratings, valid_pct=0.2, seed=0, bs=64)
    learn = collab_learner(dls, n_factors=8, metrics=nnx.metrics.rmse, verbose=False)
    learn.fit_one_cycle(10, 3e-2)

    train, valid = split_rows(len(ratings), 0.2, seed=0)
    linear_rmse = bias_only_rmse(users, items, ratings, train, valid)
    predicted = learn.predict({"user": user_ids[valid], "item": item_ids[valid]})
    rmse = np.sqrt(np.mean((predicted - ratings[valid]) ** 2))
    assert linear_rmse > 0.9  # the ratings need the latent factors
    assert rmse < 0.3, f"valid RMSE {rmse:.3f} (biases only: {linear_rmse:.3f})"

    # The learned item biases follow the true ones. Loosely: the factors can absorb part of an item's
    # mean, but bias() reading the wrong rows would leave no correlation at all.
    names = [f"movie{i}" for i in range(N_ITEMS)]
    learned = learn.model.bias(names)
    assert learned.shape == (N_ITEMS,) and np.corrcoef(learned, item_bias)[0, 1] > 0.4
    assert learn.model.weight(names[:5]).shape == (5, 8)
    assert learn.model.weight([1000, 1001], is_item=False).shape == (2, 8)


def small_dls(rng, **kwargs):
    users, items, ratings, _ = low_rank_ratings(rng, density=0.2)
    return CollabDataLoaders.from_arrays(users, items, ratings, bs=64, seed=0, **kwargs), users, items


def test_predict_unseen_ids_and_y_range(rng):
    dls, users, items = small_dls(rng)
    learn = collab_learner(dls, n_factors=4, y_range=(0.5, 5.5), verbose=False)
    learn.fit(1, 1e-2)
    predictions = learn.predict(np.array([[users[0], items[0]], [99999, items[0]], [users[0], -5]]))
    assert predictions.shape == (3,) and np.all((predictions > 0.5) & (predictions < 5.5))
    assert dls.proc.transform({"user": np.array([99999]), "item": np.array([items[0]])})[0][0, 0] == 0
    assert dls.classes["user"][0] == "#na#" and learn.model.u_weight.num_embeddings == len(dls.classes["user"])


def test_embedding_nn_learner_and_export(rng, tmp_path):
    dls, users, items = small_dls(rng)
    learn = collab_learner(dls, use_nn=True, layers=[16], y_range=(0, 6), verbose=False)
    assert isinstance(learn.model, EmbeddingNN)
    learn.fit(1, 1e-2)
    pairs = np.stack([users[:20], items[:20]], 1)
    loaded = load_learner(learn.export(tmp_path / "nn.npz"), verbose=False)
    np.testing.assert_array_equal(loaded.predict(pairs), learn.predict(pairs))

    dot = collab_learner(dls, n_factors=3, verbose=False)
    assert isinstance(dot.model, EmbeddingDotBias)
    loaded = load_learner(dot.export(tmp_path / "dot.npz"), verbose=False)
    np.testing.assert_array_equal(loaded.predict(pairs), dot.predict(pairs))
    np.testing.assert_array_equal(loaded.model.bias(items[:3]), dot.model.bias(items[:3]))


def test_training_loader_drops_a_last_batch_of_one_row(rng):
    """fastai's training loader drops the last partial batch: 129 training ratings in batches of 64 would leave
    one row, which EmbeddingNN's BatchNorm refuses in training."""
    users, items = rng.integers(0, 10, 161), rng.integers(0, 8, 161)
    dls = CollabDataLoaders.from_arrays(users, items, rng.uniform(1, 5, 161), valid_pct=0.2, bs=64, seed=0)
    assert len(dls.train.dataset) == 129 and dls.train.drop_last and len(dls.train) == 2
    learn = collab_learner(dls, use_nn=True, layers=[8], verbose=False)
    learn.fit(1, 1e-2)
    assert np.isfinite(learn.recorder.losses).all()
    tiny = CollabDataLoaders.from_arrays(users[:40], items[:40], np.ones(40), bs=64, seed=0)
    assert not tiny.train.drop_last  # fewer rows than one batch: keep them


def test_from_df(rng):
    pd = pytest.importorskip("pandas")
    users, items, ratings, _ = low_rank_ratings(rng, density=0.1)
    frame = pd.DataFrame({"userId": users, "movieId": items, "rating": ratings, "timestamp": 0})
    dls = CollabDataLoaders.from_df(frame, bs=32, seed=0)
    assert list(dls.classes) == ["userId", "movieId"]
    learn = collab_learner(dls, n_factors=2, verbose=False)
    assert learn.predict(frame[["userId", "movieId"]].iloc[:4]).shape == (4,)


def test_bad_arguments(rng):
    with pytest.raises(ValueError, match="same length"):
        CollabDataLoaders.from_arrays(np.arange(5), np.arange(4), np.ones(5))
    with pytest.raises(TypeError, match="ratings must hold numbers"):
        CollabDataLoaders.from_arrays(np.arange(3), np.arange(3), np.array(["a", "b", "c"]))
    with pytest.raises(TypeError, match="CollabDataLoaders"):
        collab_learner(object())
    dls, _, _ = small_dls(rng)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        dls.test_dl(np.zeros((3, 3)))
