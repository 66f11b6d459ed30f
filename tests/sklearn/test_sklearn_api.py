"""nnx.sklearn as scikit-learn's tools use it: Pipeline, GridSearchCV, cross_val_score, clone, pickle; labels,
dtypes, sparse and non-contiguous inputs; multi-label, multi-output, partial_fit, warm start; bad input."""
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from scipy import sparse  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import nnx  # noqa: E402
import nnx.random  # noqa: E402
from nnx.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _blobs(rng, n=150, features=6, classes=3):
    """Well separated classes (centres 5.7 standard deviations apart), so score thresholds hold for any seed."""
    centers = 4.0 * np.eye(classes, features) + rng.normal(0, 0.2, (classes, features))
    y = rng.integers(0, classes, n)
    return centers[y] + rng.normal(0, 1, (n, features)), y


def test_import_nnx_does_not_need_scikit_learn():
    code = """
import sys
class HideSklearn:
    def find_spec(self, name, path=None, target=None):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError("No module named 'sklearn' (hidden by the test)")
sys.meta_path.insert(0, HideSklearn())
import nnx
assert "nnx.sklearn" not in sys.modules
try:
    import nnx.sklearn
except ImportError as error:
    assert 'pip install "nnx[sklearn]"' in str(error), str(error)
    print("clear ImportError")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "clear ImportError" in result.stdout


def test_pipeline_grid_search_and_cross_val_score(rng):
    X, y = _blobs(rng)
    pipeline = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), max_iter=60,
                                                           learning_rate_init=0.01, random_state=0))
    assert cross_val_score(pipeline, X, y, cv=3).mean() > 0.9
    search = GridSearchCV(pipeline, {"mlpclassifier__alpha": [1e-4, 1e-1], "mlpclassifier__batch_size": [32, 64]},
                          cv=2)
    search.fit(X, y)
    assert search.best_score_ > 0.9
    assert set(search.best_params_) == {"mlpclassifier__alpha", "mlpclassifier__batch_size"}


def test_clone_keeps_parameters_and_drops_the_fit(rng):
    X, y = _blobs(rng)
    model = MLPClassifier(hidden_layer_sizes=(9, 4), alpha=0.01, dropout=0.1, max_iter=5).fit(X, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "coefs_")


@pytest.mark.parametrize("extras", [{}, {"batch_norm": True}])
def test_pickle_round_trip_predicts_the_same_and_resumes_the_optimizer(rng, extras):
    X, y = _blobs(rng)
    model = MLPClassifier(hidden_layer_sizes=(12,), max_iter=5, random_state=0, **extras).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    # Adam's moments and step count travel with the model: one more epoch gives the same weights.
    model.partial_fit(X, y)
    restored.partial_fit(X, y)
    for ours, theirs in zip(model.coefs_ + model.intercepts_, restored.coefs_ + restored.intercepts_):
        np.testing.assert_array_equal(ours, theirs)


def test_string_labels_and_non_contiguous_inputs(rng):
    X, y = _blobs(rng, features=8)
    names = np.array(["emu", "cat", "dog"])[y]
    wide = np.repeat(X, 2, axis=1)[:, ::2]  # a strided view equal to X
    model = MLPClassifier(max_iter=40, random_state=0).fit(np.asfortranarray(X), names)
    assert list(model.classes_) == ["cat", "dog", "emu"]
    assert set(model.predict(X)) <= set(model.classes_)
    assert model.score(X, names) > 0.9
    reference = MLPClassifier(max_iter=40, random_state=0).fit(X, names)
    np.testing.assert_allclose(model.predict_proba(wide), reference.predict_proba(X), rtol=1e-5, atol=1e-6)
    integer_labels = np.array([3, 10, 42])[y]
    assert set(MLPClassifier(max_iter=5).fit(X, integer_labels).predict(X)) <= {3, 10, 42}


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("input_dtype, training_dtype", [(np.float32, np.float32), (np.float64, np.float64),
                                                          (np.int64, np.float64), (np.float16, np.float64)])
def test_trains_in_the_dtype_of_X_as_scikit_learn(rng, estimator, input_dtype, training_dtype):
    """float32 X trains in float32; anything else is converted once to float64 and trains in float64 (scikit-learn's
    rule); predictions come back in the result type of the input and the weights, as scikit-learn's do."""
    from sklearn import neural_network
    X, y = _blobs(rng)
    X = (X * 10).astype(input_dtype)
    model = estimator(max_iter=5, random_state=0).fit(X, y)
    reference = getattr(neural_network, estimator.__name__)(max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X, y)
    assert all(c.dtype == training_dtype for c in model.coefs_ + model.intercepts_)
    assert [c.dtype for c in model.coefs_] == [c.dtype for c in reference.coefs_]
    assert model.coefs_[0].shape == (6, 100)
    method = "predict_proba" if estimator is MLPClassifier else "predict"
    for query in (X.astype(np.float64), X.astype(np.float32)):
        assert getattr(model, method)(query).dtype == getattr(reference, method)(query).dtype


def test_continuation_converts_X_to_the_networks_dtype(rng):
    X, y = _blobs(rng)
    model = MLPClassifier(max_iter=3, random_state=0, warm_start=True).fit(X.astype(np.float32), y)
    model.fit(X, y)  # float64 X continues the float32 network
    model.partial_fit(X, y)
    assert all(c.dtype == np.float32 for c in model.coefs_)
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)


def test_sparse_input_gives_the_dense_result(rng):
    X, y = _blobs(rng)
    X[np.abs(X) < 1] = 0
    dense = MLPClassifier(max_iter=5, random_state=0).fit(X, y)
    model = MLPClassifier(max_iter=5, random_state=0).fit(sparse.csr_matrix(X), y)
    np.testing.assert_allclose(model.predict_proba(sparse.csc_matrix(X)), dense.predict_proba(X), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_refused(rng, bad):
    X, y = _blobs(rng)
    X[3, 2] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        MLPClassifier(max_iter=2).fit(X, y)
    model = MLPRegressor(max_iter=2).fit(np.nan_to_num(X, posinf=0, neginf=0), y.astype(float))
    with pytest.raises(ValueError, match="NaN|infinity"):
        model.predict(X)


def test_multilabel_classification(rng):
    X = rng.normal(size=(200, 5))
    Y = (X[:, :3] > 0).astype(int)
    model = MLPClassifier(max_iter=150, random_state=0).fit(X, Y)
    assert model.out_activation_ == "logistic" and model.n_outputs_ == 3
    assert model.predict(X).shape == (200, 3) and model.predict_proba(X).shape == (200, 3)
    assert (model.predict(X) == Y).mean() > 0.93  # per label
    assert model.score(X, Y) > 0.8  # subset accuracy: all three labels right


def test_multi_output_regression(rng):
    X = rng.normal(size=(300, 4))
    Y = X @ rng.normal(size=(4, 3)) + 0.05 * rng.normal(size=(300, 3))
    model = MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, learning_rate_init=0.01, random_state=0).fit(X, Y)
    assert model.predict(X).shape == (300, 3) and model.n_outputs_ == 3
    assert model.score(X, Y) > 0.95


def test_partial_fit_needs_classes_first_and_learns_incrementally(rng):
    X, y = _blobs(rng, n=240)
    model = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X, y)
    first = y != 2  # the first batch need not hold every class
    model.partial_fit(X[first], y[first], classes=[0, 1, 2])
    assert list(model.classes_) == [0, 1, 2] and model.n_iter_ == 1
    for _ in range(30):
        model.partial_fit(X, y)
    assert model.score(X, y) > 0.9 and model.t_ == first.sum() + 30 * len(y)
    with pytest.raises(ValueError, match="classes"):
        model.partial_fit(X, y + 5)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")


def test_warm_start_continues_and_checks_the_architecture(rng):
    X, y = _blobs(rng)
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, warm_start=True, random_state=0).fit(X, y)
    before = [c.copy() for c in model.coefs_]
    model.fit(X, y)
    assert model.t_ == 6 * len(y) and not np.allclose(before[0], model.coefs_[0])
    model.set_params(early_stopping=True).fit(X, y)  # switching early stopping on and off mid-way works
    assert len(model.validation_scores_) == model.n_iter_
    model.set_params(early_stopping=False).fit(X, y)
    assert model.validation_scores_ is None and np.isfinite(model.best_loss_)
    model.set_params(hidden_layer_sizes=(9,))
    with pytest.raises(ValueError, match="same layer sizes"):
        model.fit(X, y)


def test_coefs_are_live_views_of_the_network(rng):
    X, y = _blobs(rng)
    model = MLPRegressor(hidden_layer_sizes=(5,), max_iter=3).fit(X, y.astype(float))
    model.coefs_[-1][...] = 0
    model.intercepts_[-1][...] = 1.5
    np.testing.assert_allclose(model.predict(X), 1.5)
    model.intercepts_ = [b.copy() for b in model.intercepts_]  # reassigned arrays are picked up too
    model.intercepts_[-1][...] = -2.0
    np.testing.assert_allclose(model.predict(X), -2.0)


def test_early_stopping_restores_the_best_weights(rng):
    X, y = _blobs(rng, n=300)
    model = MLPClassifier(early_stopping=True, learning_rate_init=0.05, n_iter_no_change=4, max_iter=60,
                          random_state=0).fit(X, y)
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_loss_ is None and len(model.validation_loss_curve_) == model.n_iter_
    for array, name in zip(model.coefs_ + model.intercepts_, ["0.weight", "2.weight", "0.bias", "2.bias"]):
        np.testing.assert_array_equal(array.T if array.ndim == 2 else array, model._best_state[name])
    assert MLPClassifier(max_iter=2).fit(X, y).validation_loss_curve_ is None


def test_non_finite_training_raises_a_clear_error(rng):
    X, y = _blobs(rng)
    with pytest.raises(ValueError, match="non-finite"):
        MLPRegressor(learning_rate_init=10.0, solver="sgd", max_iter=20).fit(X * 1e17, y * 1e17)


def test_lbfgs_solver_fits(rng):
    X, y = _blobs(rng)
    model = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(10,), max_iter=200, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.95 and 1 <= model.n_iter_ <= 200
    assert not hasattr(model, "loss_curve_")
    regressor = MLPRegressor(solver="lbfgs", hidden_layer_sizes=(10,), max_iter=300, random_state=0)
    assert regressor.fit(X, X[:, :2] @ [1.0, -2.0]).score(X, X[:, :2] @ [1.0, -2.0]) > 0.99


def test_extras_dropout_batch_norm_weight_decay_one_cycle(rng):
    X, y = _blobs(rng, n=300)
    nnx.manual_seed(5)
    user_stream = nnx.random.get_state()
    with_dropout = [MLPClassifier(dropout=0.3, max_iter=20, random_state=1).fit(X, y) for _ in range(2)]
    np.testing.assert_array_equal(with_dropout[0].coefs_[0], with_dropout[1].coefs_[0])  # reproducible
    assert nnx.random.get_state() == user_stream  # fitting leaves the caller's nnx random numbers alone
    assert with_dropout[0].score(X, y) > 0.9
    assert MLPClassifier(batch_norm=True, max_iter=20, random_state=0).fit(X, y).score(X, y) > 0.9
    plain = MLPClassifier(max_iter=20, random_state=0).fit(X, y)
    decayed = MLPClassifier(max_iter=20, random_state=0, weight_decay=5.0).fit(X, y)
    assert np.linalg.norm(decayed.coefs_[0]) < 0.9 * np.linalg.norm(plain.coefs_[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a one-cycle run is meant to end at max_iter
        cycled = MLPClassifier(lr_schedule="one_cycle", learning_rate_init=0.01, max_iter=15, tol=10.0,
                               random_state=0).fit(X, y)
    assert cycled.n_iter_ == 15 and cycled.score(X, y) > 0.9


def test_class_and_sample_weights(rng):
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] > 1.2).astype(int)  # about 12% positives
    plain = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0).fit(X, y)
    balanced = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0, class_weight="balanced")
    balanced.fit(X, y)
    recall = lambda model: model.predict(X)[y == 1].mean()  # noqa: E731
    assert recall(balanced) > recall(plain)
    weights = np.where(y == 1, 1.0 / y.mean(), 1.0 / (1 - y.mean())) / 2
    weighted = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(weighted.coefs_[0], balanced.coefs_[0], rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="partial_fit"):
        balanced.partial_fit(X, y)


@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-7, 0), (np.float32, 1e-5, 1e-6)])
def test_integer_sample_weights_equal_repeated_samples(dtype, rtol, atol):
    """scikit-learn's check_sample_weight_equivalence_on_dense_data setup (one full batch per epoch): float64 X
    meets the check's own rtol=1e-7, atol=0; float32 X agrees to float32 rounding."""
    rng = np.random.RandomState(42)
    X = rng.rand(15, 30).astype(dtype)
    y = rng.randint(0, 3, size=15)
    weights = rng.randint(0, 5, size=15)
    for estimator, method in ((MLPClassifier, "predict_proba"), (MLPRegressor, "predict")):
        repeated = estimator(max_iter=100, random_state=0).fit(X.repeat(weights, axis=0), y.repeat(weights))
        weighted = estimator(max_iter=100, random_state=0).fit(X, y, sample_weight=weights)
        np.testing.assert_allclose(getattr(weighted, method)(X), getattr(repeated, method)(X), rtol=rtol, atol=atol)


def test_validation_loss_curve_and_verbose_progress(rng, capsys):
    X, y = _blobs(rng)
    model = MLPClassifier(early_stopping=True, max_iter=4, verbose=True, random_state=0).fit(X, y)
    output = capsys.readouterr().out
    assert "Iteration 1, loss = " in output and "validation loss = " in output and "Validation score: " in output
    assert np.all(np.isfinite(model.validation_loss_curve_))


@pytest.mark.parametrize("params, error, match", [
    (dict(alpha=-1.0), ValueError, "alpha"),
    (dict(hidden_layer_sizes=(10, 0)), ValueError, "hidden_layer_sizes"),
    (dict(solver="newton"), ValueError, "solver"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(dropout=1.0), ValueError, "dropout"),
    (dict(lr_schedule="cosine"), ValueError, "lr_schedule"),
    (dict(device="tpu"), ValueError, "device"),
    (dict(device="cuda"), RuntimeError, "cuda"),
    (dict(solver="lbfgs", dropout=0.2), ValueError, "dropout"),
])
def test_bad_parameters_raise_naming_the_parameter(rng, params, error, match):
    X, y = _blobs(rng, n=30)
    with pytest.raises(error, match=match):
        MLPClassifier(max_iter=2, **params).fit(X, y)
