"""The direct training step (nnx/sklearn/_direct.py: the native kernels called over NumPy arrays, no autograd graph,
no optimizer planning) trains exactly the model the generic path (network + autograd + nnx.optim) trains: the same
weights, loss curve and optimizer state bit for bit, for every configuration it takes; the others still go through
the generic path."""
import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from scipy import sparse  # noqa: E402

from nnx.sklearn import MLPClassifier, MLPRegressor, _training  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def direct_calls(monkeypatch):
    """Counts the fits (and partial_fit calls) the direct step trains."""
    calls = []
    original = _training.direct_step_for

    def counting(*args):
        step = original(*args)
        calls.append(step is not None)
        return step
    monkeypatch.setattr(_training, "direct_step_for", counting)
    return calls


def _generic_path(monkeypatch):
    monkeypatch.setattr(_training, "direct_step_for", lambda *args: None)


def _classification(rng, n=203, features=7, classes=3):
    X = rng.standard_normal((n, features))
    y = np.digitize(X[:, 0] + 0.5 * X[:, 1], np.linspace(-0.8, 0.8, classes - 1))
    return X, y


def _optimizer_state(model):
    saved = model._solver.optimizer.state_dict()
    return {index: {name: (np.asarray(value._data) if hasattr(value, "_data") else value)
                    for name, value in entry.items()} for index, entry in saved["state"].items()}, saved["param_groups"]


def _assert_identical(direct, generic):
    assert direct.n_iter_ == generic.n_iter_ and direct.t_ == generic.t_
    assert direct.loss_curve_ == generic.loss_curve_
    for mine, reference in zip(direct.coefs_ + direct.intercepts_, generic.coefs_ + generic.intercepts_):
        assert mine.dtype == reference.dtype
        np.testing.assert_array_equal(mine, reference)
    state, groups = _optimizer_state(direct)
    reference_state, reference_groups = _optimizer_state(generic)
    assert groups == reference_groups
    assert state.keys() == reference_state.keys()
    for index, entry in state.items():
        assert entry.keys() == reference_state[index].keys()
        for name, value in entry.items():
            np.testing.assert_array_equal(value, reference_state[index][name])


def _fit_both(monkeypatch, direct_calls, make, X, y, **fit_kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = make().fit(X, y, **fit_kwargs)
        assert direct_calls and all(direct_calls)
        _generic_path(monkeypatch)
        generic = make().fit(X, y, **fit_kwargs)
    return direct, generic


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("params", [
    dict(),  # adam, relu, alpha=1e-4
    dict(alpha=0.3, beta_1=0.7, beta_2=0.99, epsilon=1e-3, activation="tanh", hidden_layer_sizes=(9, 5)),
    dict(solver="sgd", learning_rate_init=0.05),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.2, power_t=0.3, activation="logistic"),
    dict(solver="sgd", learning_rate="adaptive", nesterovs_momentum=False, momentum=0.5, tol=0.5, max_iter=30),
    dict(solver="sgd", momentum=0.0, learning_rate_init=0.05, shuffle=False, activation="identity"),
    dict(lr_schedule="one_cycle", weight_decay=0.01, batch_size=64),
    dict(solver="sgd", lr_schedule="one_cycle", weight_decay=0.01, batch_size=64),
    dict(batch_size=1000),  # one batch of every row
    dict(early_stopping=True, max_iter=15, n_iter_no_change=2),
])
def test_classifier_direct_step_is_the_generic_step(rng, monkeypatch, direct_calls, dtype, params):
    X, y = _classification(rng)
    settings = dict(max_iter=8, random_state=5, hidden_layer_sizes=(11,))
    settings.update(params)
    direct, generic = _fit_both(monkeypatch, direct_calls, lambda: MLPClassifier(**settings), X.astype(dtype), y)
    _assert_identical(direct, generic)


@pytest.mark.parametrize("target", ["binary", "multilabel"])
def test_logistic_outputs_direct_step_is_the_generic_step(rng, monkeypatch, direct_calls, target):
    X, y = _classification(rng)
    if target == "multilabel":
        y = np.stack([y == 0, y == 2, X[:, 2] > 0], axis=1).astype(int)
    else:
        y = y == 1
    direct, generic = _fit_both(monkeypatch, direct_calls,
                                lambda: MLPClassifier(hidden_layer_sizes=(8,), max_iter=6, random_state=1), X, y)
    _assert_identical(direct, generic)


@pytest.mark.parametrize("outputs", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_regressor_direct_step_is_the_generic_step(rng, monkeypatch, direct_calls, outputs, dtype):
    X = rng.standard_normal((180, 6)).astype(dtype)
    y = X @ rng.standard_normal((6, outputs))
    y = y[:, 0] if outputs == 1 else y
    direct, generic = _fit_both(monkeypatch, direct_calls,
                                lambda: MLPRegressor(hidden_layer_sizes=(10, 4), max_iter=7, random_state=2), X, y)
    _assert_identical(direct, generic)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_continues_alike(rng, monkeypatch, solver):
    """Optimizer state the direct step leaves (moments, step counts) is what the generic path continues from, and
    the reverse; a pickled estimator continues the same way."""
    X, y = _classification(rng)
    classes = np.unique(y)

    def train(first_direct, second_direct):
        model = MLPClassifier(hidden_layer_sizes=(6,), random_state=4, solver=solver, learning_rate_init=0.03)
        for use_direct in (first_direct, second_direct):
            if not use_direct:
                monkeypatch.setattr(_training, "direct_step_for", lambda *args: None)
            model.partial_fit(X, y, classes=classes)
            model = pickle.loads(pickle.dumps(model))
            monkeypatch.undo()
        return model

    reference = train(False, False)
    for first, second in ((True, True), (True, False), (False, True)):
        _assert_identical(train(first, second), reference)


def test_sparse_input_direct_step_is_the_generic_step(rng, monkeypatch, direct_calls):
    X, y = _classification(rng)
    X[np.abs(X) < 0.8] = 0
    direct, generic = _fit_both(monkeypatch, direct_calls,
                                lambda: MLPClassifier(hidden_layer_sizes=(8,), max_iter=4, random_state=0),
                                sparse.csr_matrix(X), y)
    _assert_identical(direct, generic)


def test_configurations_the_direct_step_leaves_to_the_generic_path(rng, direct_calls):
    X, y = _classification(rng, n=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, batch_norm=True).fit(X, y)
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, dropout=0.2).fit(X, y)
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, y, sample_weight=np.linspace(0.5, 1.5, len(y)))
        MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, loss="poisson").fit(X, np.abs(X[:, 0]))
        assert direct_calls == [False] * 4
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, y)
    assert direct_calls[-1] is True
