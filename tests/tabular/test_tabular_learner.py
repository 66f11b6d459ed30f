"""tabular_learner end to end: synthetic tasks whose targets hang on interactions between categories (and
a nonlinear continuous effect) are learned with fit_one_cycle well beyond what a linear model reaches;
predict on raw rows, export/load_learner, TabularDataLoaders."""
import os

import numpy as np
import pytest

import nnx
from nnx.tabular import TabularDataLoaders, TabularLearner, load_learner, tabular_learner
from nnx.tabular.data import split_rows


def interaction_task(rng, n, classify=False):
    """Targets hanging on table[shop, weekday] and sin(2 temp): no additive model fits them.

    Regression: y = table + sin(2 temp) + 0.5 rain^2 + noise (0.1). Classification: 'buy' where
    ±1 table + 0.8 sin(2 temp) + noise (0.3) > 0, else 'skip'."""
    shop, weekday = rng.integers(0, 10, n), rng.integers(0, 8, n)
    temp, rain = rng.normal(size=n), rng.normal(size=n)
    X = {"shop": shop, "weekday": weekday, "temp": temp, "rain": rain}
    if classify:
        score = rng.choice([-1.0, 1.0], size=(10, 8))[shop, weekday] + 0.8 * np.sin(2 * temp)
        return X, np.where(score + 0.3 * rng.normal(size=n) > 0, "buy", "skip")
    y = rng.normal(size=(10, 8))[shop, weekday] + np.sin(2 * temp) + 0.5 * rain**2 + 0.1 * rng.normal(size=n)
    return X, y.astype(np.float32)


def linear_fit_predict(X, target, train, valid):
    """Least squares on one-hot categories plus the continuous columns: the best additive linear model."""
    design = np.column_stack([np.eye(10)[X["shop"]], np.eye(8)[X["weekday"]], X["temp"], X["rain"]])
    weights, *_ = np.linalg.lstsq(design[train], target[train], rcond=None)
    return design[valid] @ weights


@pytest.mark.slow
def test_regression_with_category_interactions():
    nnx.manual_seed(0)
    X, y = interaction_task(np.random.default_rng(0), 5000)
    dls = TabularDataLoaders.from_arrays(X, y, cat_names=["shop", "weekday"], cont_names=["temp", "rain"],
                                         bs=128, seed=0)
    learn = tabular_learner(dls, metrics=nnx.metrics.rmse, verbose=False)
    assert [layer[0].out_features for layer in learn.model.layers] == [200, 100, 1]
    learn.fit_one_cycle(8, 2e-2)

    train, valid = split_rows(5000, 0.2, seed=0)
    linear_rmse = np.sqrt(np.mean((linear_fit_predict(X, y, train, valid) - y[valid]) ** 2))
    rows = {name: column[valid] for name, column in X.items()}
    rmse = np.sqrt(np.mean((learn.predict(rows) - y[valid]) ** 2))
    assert linear_rmse > 1.2  # the task needs the interactions
    assert rmse < 0.45, f"valid RMSE {rmse:.3f} (linear model: {linear_rmse:.3f})"
    assert learn.recorder.values[-1][2] == pytest.approx(rmse, rel=1e-4)  # the metric saw the same rows


@pytest.mark.slow
def test_classification_with_string_labels():
    nnx.manual_seed(1)
    X, y = interaction_task(np.random.default_rng(1), 5000, classify=True)
    dls = TabularDataLoaders.from_arrays(X, y, cat_names=["shop", "weekday"], cont_names=["temp", "rain"],
                                         bs=128, seed=1)
    learn = tabular_learner(dls, layers=[64, 32], metrics=nnx.metrics.accuracy, verbose=False)
    assert learn.model.layers[-1][0].out_features == 2
    learn.fit_one_cycle(8, 2e-2)

    train, valid = split_rows(5000, 0.2, seed=1)
    is_buy = (y == "buy").astype(np.float64)
    linear_accuracy = np.mean((linear_fit_predict(X, is_buy, train, valid) > 0.5) == (y[valid] == "buy"))
    predicted = learn.predict({name: column[valid] for name, column in X.items()})
    accuracy = np.mean(predicted == y[valid])
    assert set(predicted) <= {"buy", "skip"}
    assert linear_accuracy < 0.8
    assert accuracy > 0.92, f"valid accuracy {accuracy:.3f} (linear model: {linear_accuracy:.3f})"


def small_learner(rng, n=300, **kwargs):
    temp = rng.normal(size=n)
    temp[rng.random(n) < 0.1] = np.nan
    X = {"city": rng.choice(np.array(["oslo", "rome", "lima"]), n), "temp": temp, "size": rng.uniform(1, 9, n)}
    y = (rng.normal(size=n) + (X["city"] == "rome")).astype(np.float32)
    dls = TabularDataLoaders.from_arrays(X, y, cat_names=["city"], cont_names=["temp", "size"], bs=32, seed=0)
    return tabular_learner(dls, layers=[8], verbose=False, **kwargs), X


def test_predict_handles_unseen_categories_and_missing_values(rng):
    learn, _ = small_learner(rng)
    learn.fit(1, 1e-3)
    rows = {"city": np.array(["oslo", "paris", None], dtype=object), "temp": np.array([np.nan, 3.0, 1.0]),
            "size": np.array([2.0, 5.0, 7.0])}
    predictions = learn.predict(rows)
    assert predictions.shape == (3,) and np.isfinite(predictions).all()
    assert learn.dls.proc.transform(rows)[0].tolist() == [[2, 2], [0, 1], [0, 1]]  # city codes, temp_na


def test_export_and_load_learner_predict_the_same(rng, tmp_path):
    learn, X = small_learner(rng, config={"ps": [0.1], "embed_p": 0.05}, y_range=(-4, 4))
    learn.fit(2, 1e-2)
    path = learn.export(tmp_path / "model.npz")
    loaded = load_learner(path, verbose=False)
    assert isinstance(loaded, TabularLearner)
    np.testing.assert_array_equal(loaded.predict(X), learn.predict(X))
    assert loaded.dls.classes == learn.dls.classes
    assert str(loaded.model) == str(learn.model)


def test_export_writes_like_checkpoint_save(rng, tmp_path):
    """export shares checkpoint.save's atomic write: missing folders made, a directory refused, mode 0o644,
    and no temporary file left behind."""
    learn, X = small_learner(rng)
    path = learn.export(tmp_path / "new" / "folder" / "model.npz")
    assert (os.stat(path).st_mode & 0o777) == 0o644
    assert os.listdir(tmp_path / "new" / "folder") == ["model.npz"]
    np.testing.assert_array_equal(load_learner(path, verbose=False).predict(X), learn.predict(X))
    with pytest.raises(IsADirectoryError, match="directory"):
        learn.export(tmp_path / "new")


def test_load_learner_rejects_foreign_files(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable nnx tabular export"):
        load_learner(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", header=np.frombuffer(b'{"format": "other"}', dtype=np.uint8))
    with pytest.raises(ValueError, match="not an nnx tabular export"):
        load_learner(tmp_path / "other.npz")


def test_dataloaders_split_batches_and_inferred_columns(rng):
    X = {"kind": rng.choice(np.array(["a", "b"]), 103), "x": rng.normal(size=103)}
    y = rng.normal(size=103).astype(np.float32)
    dls = TabularDataLoaders.from_arrays(X, y, bs=16, valid_pct=0.25, seed=4)
    assert dls.cat_names == ["kind"] and dls.cont_names == ["x"]
    assert dls.train.n + dls.valid.n == 103 and dls.valid.n == 25
    (x_cat, x_cont), yb = next(iter(dls.train))
    assert x_cat.dtype == nnx.int64 and x_cont.dtype == nnx.float32 and tuple(yb.shape) == (16, 1)
    assert len(dls.train) == 78 // 16  # the last partial batch is dropped (BatchNorm needs two rows)
    again = TabularDataLoaders.from_arrays(X, y, bs=16, valid_pct=0.25, seed=4)
    np.testing.assert_array_equal(again.valid.dataset.arrays[1], dls.valid.dataset.arrays[1])
    explicit = TabularDataLoaders.from_arrays(X, y, valid_idx=[0, 5, 7], bs=16)
    assert explicit.valid.n == 3
    np.testing.assert_allclose(explicit.valid.dataset.arrays[2][:, 0], y[[0, 5, 7]])


def test_dataframe_input(rng):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"city": rng.choice(["oslo", "rome"], 80), "x": rng.normal(size=80),
                          "target": rng.normal(size=80)})
    dls = TabularDataLoaders.from_df(frame, y_names="target", bs=16, seed=0)
    assert dls.cat_names == ["city"] and dls.cont_names == ["x"]
    learn = tabular_learner(dls, layers=[4], verbose=False)
    assert learn.predict(frame.iloc[:5]).shape == (5,)


def test_bad_arguments(rng):
    X = {"c": rng.choice(np.array(["a", "b"]), 20), "x": rng.normal(size=20)}
    with pytest.raises(ValueError, match="valid_pct"):
        TabularDataLoaders.from_arrays(X, np.zeros(20), valid_pct=1.5)
    with pytest.raises(ValueError, match="y must"):
        TabularDataLoaders.from_arrays(X, None)
    with pytest.raises(IndexError, match="valid_idx"):
        TabularDataLoaders.from_arrays(X, np.zeros(20), valid_idx=[25])
    with pytest.raises(TypeError, match="TabularDataLoaders"):
        tabular_learner(None)
    dls = TabularDataLoaders.from_arrays(X, np.zeros(20), bs=4)
    with pytest.raises(TypeError, match="unknown arguments"):
        tabular_learner(dls, config={"dropout": 0.5})


def test_checkpoint_resume_is_bit_identical(rng, tmp_path):
    """learn.save/load (the Learner's checkpoint) works with TabularDataLoader's shuffling generator."""
    def make():
        nnx.manual_seed(5)
        return small_learner(np.random.default_rng(5))[0]
    straight = make()
    straight.fit(2, 1e-2)
    straight.save(tmp_path / "ckpt.npz")
    straight.fit(1, 1e-2)
    resumed = make()
    resumed.load(tmp_path / "ckpt.npz")
    resumed.fit(1, 1e-2)
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
