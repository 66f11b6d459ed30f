"""nnx.sklearn.BernoulliRBM against a float64 NumPy reference of scikit-learn's update rules (same injected
random generator), against scikit-learn's own BernoulliRBM, and on scikit-learn's digits-features example."""
import numpy as np
import pytest

pytest.importorskip("sklearn")
import scipy.sparse as sp  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import RidgeClassifier  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402

from nnx.sklearn import BernoulliRBM  # noqa: E402


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class ReferenceRBM:
    """scikit-learn's persistent contrastive divergence written out in float64 NumPy, drawing from `rng` in
    scikit-learn's order: N(0, 0.01) weights, then per mini-batch the visible sample, then the hidden sample."""

    def __init__(self, n_components, n_features, batch_size, learning_rate, rng):
        self.rng, self.learning_rate = rng, learning_rate
        self.W = rng.normal(0, 0.01, (n_components, n_features))
        self.b_h, self.b_v = np.zeros(n_components), np.zeros(n_features)
        self.h_samples = np.zeros((batch_size, n_components))

    def mean_hiddens(self, v):
        return _sigmoid(v @ self.W.T + self.b_h)

    def step(self, v_pos):
        h_pos = self.mean_hiddens(v_pos)
        v_neg = (self.rng.uniform(size=(self.h_samples.shape[0], self.W.shape[1]))
                 < _sigmoid(self.h_samples @ self.W + self.b_v)).astype(float)
        h_neg = self.mean_hiddens(v_neg)
        lr = self.learning_rate / v_pos.shape[0]
        self.W += lr * (h_pos.T @ v_pos - h_neg.T @ v_neg)
        self.b_h += lr * (h_pos.sum(0) - h_neg.sum(0))
        self.b_v += lr * (v_pos.sum(0) - v_neg.sum(0))
        self.h_samples = (self.rng.uniform(size=h_neg.shape) < h_neg).astype(float)

    def free_energy(self, v):
        return -v @ self.b_v - np.logaddexp(0, v @ self.W.T + self.b_h).sum(1)


def _binary_data(n=37, d=12, seed=0):
    return (np.random.default_rng(seed).random((n, d)) < 0.3).astype(np.float64)


def _assert_matches(model, reference, rtol=1e-10):
    np.testing.assert_allclose(model.components_, reference.W, rtol=rtol, atol=1e-13)
    np.testing.assert_allclose(model.intercept_hidden_, reference.b_h, rtol=rtol, atol=1e-13)
    np.testing.assert_allclose(model.intercept_visible_, reference.b_v, rtol=rtol, atol=1e-13)
    np.testing.assert_array_equal(model.h_samples_, reference.h_samples)


def test_fit_follows_the_reference_update_rules():
    X = _binary_data()
    model = BernoulliRBM(n_components=5, batch_size=8, learning_rate=0.5, n_iter=3,
                         random_state=np.random.RandomState(7)).fit(X)
    reference = ReferenceRBM(5, X.shape[1], 8, 0.5, np.random.RandomState(7))
    # scikit-learn's even slices: 37 rows in 5 batches of 8, 8, 8, 8, 5, in order, not shuffled
    for _ in range(3):
        for start in range(0, 37, 8):
            reference.step(X[start:start + 8])
    _assert_matches(model, reference)
    np.testing.assert_allclose(model.transform(X), reference.mean_hiddens(X), rtol=1e-10)


def test_partial_fit_is_one_reference_step_per_call():
    X = _binary_data()
    model = BernoulliRBM(n_components=4, batch_size=6, learning_rate=0.2, random_state=3)
    reference = ReferenceRBM(4, X.shape[1], 6, 0.2, np.random.RandomState(3))
    for start in range(0, 30, 10):  # a chunk larger than batch_size is one step, as in scikit-learn
        model.partial_fit(X[start:start + 10])
        reference.step(X[start:start + 10])
    _assert_matches(model, reference)
    assert model.components_.dtype == np.float64


def test_score_samples_is_the_pseudo_likelihood_with_one_flipped_feature():
    X = _binary_data()
    model = BernoulliRBM(n_components=5, n_iter=2, random_state=11).fit(X)
    reference = ReferenceRBM(5, X.shape[1], 10, 0.1, np.random.RandomState(0))
    reference.W, reference.b_h, reference.b_v = model.components_, model.intercept_hidden_, model.intercept_visible_
    flipped = X.copy()
    rows = np.arange(X.shape[0])
    columns = np.random.RandomState(11).randint(0, X.shape[1], X.shape[0])  # a fresh generator per call
    flipped[rows, columns] = 1 - flipped[rows, columns]
    expected = -X.shape[1] * np.logaddexp(0, -(reference.free_energy(flipped) - reference.free_energy(X)))
    X_before = X.copy()
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-10)
    np.testing.assert_array_equal(X, X_before)  # the flip happened on a copy


def test_gibbs_draws_hiddens_then_visibles():
    X = _binary_data()
    model = BernoulliRBM(n_components=5, n_iter=1, random_state=0).fit(X)
    model.random_state_ = np.random.RandomState(5)
    rng = np.random.RandomState(5)
    h = rng.uniform(size=(X.shape[0], 5)) < _sigmoid(X @ model.components_.T + model.intercept_hidden_)
    expected = rng.uniform(size=X.shape) < _sigmoid(h @ model.components_ + model.intercept_visible_)
    sample = model.gibbs(X)
    assert sample.dtype == bool
    np.testing.assert_array_equal(sample, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_path_as_scikit_learn(dtype):
    from sklearn.neural_network import BernoulliRBM as SklearnRBM

    X = (load_digits().data[:300] / 16).astype(dtype)
    ours = BernoulliRBM(n_components=16, n_iter=2, random_state=0).fit(X)
    theirs = SklearnRBM(n_components=16, n_iter=2, random_state=0).fit(X)
    tolerance = 1e-4 if dtype == np.float32 else 1e-10
    for name in ("components_", "intercept_hidden_", "intercept_visible_", "h_samples_"):
        assert getattr(ours, name).dtype == getattr(theirs, name).dtype == dtype
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=tolerance, atol=tolerance)
    assert ours.transform(X).dtype == theirs.transform(X).dtype
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=tolerance, atol=tolerance)
    assert list(ours.get_feature_names_out()) == list(theirs.get_feature_names_out())


def test_sparse_input_gives_the_dense_result():
    X = _binary_data(n=40, d=15)
    dense = BernoulliRBM(n_components=6, n_iter=2, random_state=1).fit(X)
    sparse = BernoulliRBM(n_components=6, n_iter=2, random_state=1).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(sparse.components_, dense.components_, rtol=1e-12)
    np.testing.assert_allclose(sparse.transform(sp.csr_matrix(X)), dense.transform(X), rtol=1e-12)
    np.testing.assert_allclose(sparse.score_samples(sp.csr_matrix(X)), dense.score_samples(X), rtol=1e-10)


def test_transform_of_float64_on_a_float32_model_is_float64_as_numpy():
    X = _binary_data()
    model = BernoulliRBM(n_components=3, n_iter=1, random_state=0).fit(X.astype(np.float32))
    assert model.components_.dtype == np.float32
    out = model.transform(X)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, _sigmoid(X @ model.components_.astype(np.float64).T + model.intercept_hidden_))
    assert model.components_.dtype == np.float32  # the model itself is left as it was


def test_bad_parameters_are_refused_by_name():
    with pytest.raises(InvalidParameterError, match="n_components"):
        BernoulliRBM(n_components=0).fit(_binary_data())
    with pytest.raises(InvalidParameterError, match="learning_rate"):
        BernoulliRBM(learning_rate=-1.0).fit(_binary_data())


def test_verbose_prints_scikit_learns_progress_line(capsys):
    BernoulliRBM(n_components=3, n_iter=2, verbose=1, random_state=0).fit(_binary_data())
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("[BernoulliRBM] Iteration 2, pseudo-likelihood = ")


def test_digits_features_classify_as_well_as_scikit_learns():
    """scikit-learn's "RBM features for digits classification" example, a linear classifier on the features."""
    from sklearn.neural_network import BernoulliRBM as SklearnRBM

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.3, random_state=0)

    def accuracy(rbm, dtype):
        pipeline = Pipeline([("rbm", rbm), ("classifier", RidgeClassifier(alpha=1e-2))])
        return pipeline.fit(X_train.astype(dtype), y_train).score(X_test.astype(dtype), y_test)

    def pseudo_likelihood(rbm, dtype):
        return rbm.fit(X_train.astype(dtype)).score_samples(X_test.astype(dtype)).mean()

    ours = BernoulliRBM(n_components=64, learning_rate=0.06, n_iter=5, random_state=1)
    theirs = SklearnRBM(n_components=64, learning_rate=0.06, n_iter=5, random_state=2)
    assert accuracy(ours, np.float32) >= accuracy(theirs, np.float64) - 0.03
    # the model learned the digits as well: held-out pseudo-likelihood as scikit-learn's, far above untrained
    ours_likelihood, theirs_likelihood = pseudo_likelihood(ours, np.float32), pseudo_likelihood(theirs, np.float64)
    untrained = pseudo_likelihood(BernoulliRBM(n_components=64, n_iter=0, random_state=1), np.float32)
    assert abs(ours_likelihood - theirs_likelihood) < 0.1 * abs(theirs_likelihood)
    assert ours_likelihood > 0.7 * untrained  # (negative numbers: untrained is about -44, trained about -22)
