"""nnx.sklearn trains the same model as scikit-learn's MLP: with the same random_state it draws the same initial
weights, shuffles and splits, and its updates (Adam's epsilon, SGD's momentum under lr schedules, the L2 term,
sample weights, every loss) agree with scikit-learn's after several epochs. Both train in the dtype of X (float64
here, NumPy's default), so the tolerances only absorb a different order of the same float64 sums."""
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from nnx import sklearn as nnx_sklearn  # noqa: E402
from sklearn import neural_network  # noqa: E402


def _fit_both(kind, X, y, fit_kwargs=None, **params):
    fit_kwargs = fit_kwargs or {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: a few epochs on purpose
        theirs = getattr(neural_network, kind)(**params).fit(X, y, **fit_kwargs)
        ours = getattr(nnx_sklearn, kind)(**params).fit(X, y, **fit_kwargs)
    return theirs, ours


def _assert_same_model(theirs, ours, rtol=2e-3, atol=2e-4):
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.n_layers_ == theirs.n_layers_ and ours.n_outputs_ == theirs.n_outputs_
    for mine, reference in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert mine.shape == reference.shape and mine.dtype == reference.dtype == np.float64
        scale = np.abs(reference).max()
        np.testing.assert_allclose(mine, reference, rtol=rtol, atol=atol * scale)
    if hasattr(theirs, "loss_curve_"):
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-3)


def _data(rng, n=157, features=9, outputs=None):
    X = rng.standard_normal((n, features))
    return X, X @ rng.standard_normal((features, outputs or 1))


@pytest.mark.parametrize("params", [
    dict(),  # adam, alpha=1e-4
    dict(alpha=0.3, beta_1=0.7, beta_2=0.99, epsilon=1e-3),
    dict(solver="sgd", learning_rate_init=0.05),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.2, power_t=0.3),
    dict(solver="sgd", nesterovs_momentum=False, momentum=0.5, learning_rate_init=0.05),
    dict(solver="sgd", momentum=0.0, learning_rate_init=0.05, shuffle=False),
    dict(activation="tanh", hidden_layer_sizes=(7, 5), batch_size=32),
    dict(activation="logistic", hidden_layer_sizes=(6,), batch_size=50),
    dict(activation="identity", hidden_layer_sizes=4),
])
def test_classifier_matches_sklearn_epoch_by_epoch(rng, params):
    X = rng.standard_normal((157, 9))
    y = np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.4])  # three classes
    theirs, ours = _fit_both("MLPClassifier", X, y, max_iter=6, random_state=3, **params)
    _assert_same_model(theirs, ours)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=2e-4)


def test_binary_and_multilabel_losses_match(rng):
    X = rng.standard_normal((120, 5))
    y_binary = (X[:, 0] > 0).astype(int)
    _assert_same_model(*_fit_both("MLPClassifier", X, y_binary, max_iter=5, random_state=0))
    y_multilabel = (X[:, :3] + 0.3 * rng.standard_normal((120, 3)) > 0).astype(int)
    theirs, ours = _fit_both("MLPClassifier", X, y_multilabel, max_iter=5, random_state=0)
    _assert_same_model(theirs, ours)
    assert ours.out_activation_ == "logistic" and ours.predict(X).shape == (120, 3)


@pytest.mark.parametrize("params", [dict(), dict(loss="poisson", alpha=0.01), dict(solver="sgd",
                                                                                   learning_rate_init=1e-3)])
def test_regressor_matches_sklearn_with_several_outputs(rng, params):
    X, Y = _data(rng, outputs=3)
    if params.get("loss") == "poisson":
        Y = rng.poisson(np.exp(0.3 * X[:, :3]))
    theirs, ours = _fit_both("MLPRegressor", X, Y, max_iter=5, random_state=1, **params)
    _assert_same_model(theirs, ours)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=2e-3, atol=2e-3 * np.abs(Y).max())


def test_sample_weights_match(rng):
    X = rng.standard_normal((140, 6))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    weights = rng.uniform(0.1, 3.0, size=140)
    theirs, ours = _fit_both("MLPClassifier", X, y, dict(sample_weight=weights), max_iter=5, random_state=2,
                             alpha=0.1)
    _assert_same_model(theirs, ours)


def test_adaptive_learning_rate_and_stopping_match(rng):
    """'adaptive' divides the SGD learning rate by 5 after n_iter_no_change epochs without tol improvement."""
    X = rng.standard_normal((90, 4))
    y = (X[:, 0] > 0).astype(int)
    params = dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.3, tol=0.05, n_iter_no_change=2,
                  max_iter=25, random_state=0)
    theirs, ours = _fit_both("MLPClassifier", X, y, **params)
    _assert_same_model(theirs, ours, rtol=5e-3, atol=1e-3)
    assert ours._solver.learning_rate == pytest.approx(theirs._optimizer.learning_rate)
    assert ours._solver.learning_rate < 0.3


def test_early_stopping_matches_split_scores_and_best_weights(rng):
    X = rng.standard_normal((200, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    params = dict(early_stopping=True, validation_fraction=0.2, n_iter_no_change=3, max_iter=40, random_state=4,
                  learning_rate_init=0.01)
    theirs, ours = _fit_both("MLPClassifier", X, y, **params)
    assert ours.best_loss_ is None
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, atol=0.011)
    assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_, abs=0.011)
    assert len(ours.validation_loss_curve_) == ours.n_iter_
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y), abs=0.02)


def test_stopping_on_training_loss_matches(rng):
    X = rng.standard_normal((100, 5))
    y = (X[:, 0] > 0).astype(int)
    theirs, ours = _fit_both("MLPClassifier", X, y, random_state=0, tol=1e-3, learning_rate_init=0.01)
    assert ours.n_iter_ == theirs.n_iter_ < 200
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-3)
