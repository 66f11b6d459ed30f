"""nnx.sklearn.BernoulliRBM: scikit-learn's BernoulliRBM (persistent contrastive divergence) with its GEMMs,
sigmoids and column sums on nnx's native core.

The update rules, the order in which the random generator is drawn and the fitted attributes are scikit-learn's
(sklearn/neural_network/_rbm.py), so a float64 fit follows the same path as scikit-learn's up to rounding.
Sparse input is accepted as scikit-learn accepts it (CSR) and densified one mini-batch (or chunk) at a time.
"""
from __future__ import annotations

import time
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils import check_random_state, gen_even_slices
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from nnx import _C

_CHUNK_ROWS = 4096  # rows densified at a time when transform / score_samples get sparse input


class BernoulliRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Bernoulli Restricted Boltzmann Machine with scikit-learn's API, trained by nnx's native core.

    Parameters, defaults, fitted attributes (``components_``, ``intercept_hidden_``, ``intercept_visible_``,
    ``h_samples_``, ``n_features_in_``, ``feature_names_in_``) and methods (fit, partial_fit, transform,
    gibbs, score_samples) are scikit-learn's. ``fit`` keeps float32 input in float32 (nnx's fast path),
    ``partial_fit`` starts in float64, as scikit-learn's.
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(self, n_components: int = 256, *, learning_rate: float = 0.1, batch_size: int = 10,
                 n_iter: int = 10, verbose: int = 0,
                 random_state: int | np.random.RandomState | None = None) -> None:
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state

    # --- the model: P(h|v), P(v|h), free energy ---------------------------------------------------------
    def _mean_hiddens(self, v: np.ndarray) -> np.ndarray:
        """P(h=1|v) = sigmoid(v @ components_.T + intercept_hidden_): one fused GEMM+bias+sigmoid."""
        hidden = np.empty((v.shape[0], self.components_.shape[0]), dtype=self.components_.dtype)
        _C.linear_forward(v, self.components_, self.intercept_hidden_, hidden, "sigmoid")
        return hidden

    def _mean_visibles(self, h: np.ndarray) -> np.ndarray:
        """P(v=1|h) = sigmoid(h @ components_ + intercept_visible_)."""
        visible = np.empty((h.shape[0], self.components_.shape[1]), dtype=self.components_.dtype)
        _C.gemm(h, self.components_, visible)
        visible += self.intercept_visible_
        _C.activation_forward("sigmoid", visible, visible)
        return visible

    def _sample_hiddens(self, v: np.ndarray, rng) -> np.ndarray:
        p = self._mean_hiddens(v)
        return rng.uniform(size=p.shape) < p

    def _sample_visibles(self, h: np.ndarray, rng) -> np.ndarray:
        p = self._mean_visibles(h)
        return rng.uniform(size=p.shape) < p

    def _free_energy(self, v: np.ndarray) -> np.ndarray:
        """F(v) = -v @ intercept_visible_ - sum_j log(1 + exp(v @ components_[j] + intercept_hidden_[j]))."""
        preact = np.empty((v.shape[0], self.components_.shape[0]), dtype=self.components_.dtype)
        _C.linear_forward(v, self.components_, self.intercept_hidden_, preact, "none")
        visible_term = np.empty((v.shape[0], 1), dtype=self.components_.dtype)
        _C.gemm(v, self.intercept_visible_.reshape(-1, 1), visible_term)
        return -visible_term[:, 0] - np.logaddexp(0, preact).sum(axis=1)

    # --- training -----------------------------------------------------------------------------------
    def _fit(self, v_pos, rng) -> None:
        """One step of persistent contrastive divergence on the mini-batch v_pos (scikit-learn's _fit)."""
        v_pos = self._as_model_rows(v_pos)
        h_pos = self._mean_hiddens(v_pos)
        v_neg = self._sample_visibles(self.h_samples_, rng).astype(self.components_.dtype)
        h_neg = self._mean_hiddens(v_neg)
        lr = float(self.learning_rate) / v_pos.shape[0]
        # components_ += lr * (h_pos.T @ v_pos - h_neg.T @ v_neg), accumulated in place by two GEMMs
        _C.gemm(h_pos, v_pos, self.components_, trans_a=True, alpha=lr, beta=1.0)
        _C.gemm(h_neg, v_neg, self.components_, trans_a=True, alpha=-lr, beta=1.0)
        self.intercept_hidden_ += lr * (_column_sum(h_pos) - _column_sum(h_neg))
        self.intercept_visible_ += lr * (_column_sum(v_pos) - _column_sum(v_neg))
        h_neg[rng.uniform(size=h_neg.shape) < h_neg] = 1.0  # sample binomial
        self.h_samples_ = np.floor(h_neg, h_neg)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: ArrayLike, y: object = None) -> BernoulliRBM:
        """One PCD step on X (the first call starts the model, in float64 as scikit-learn's)."""
        first_pass = not hasattr(self, "components_")
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=first_pass)
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        if first_pass:
            self._initialize(X.shape[1], X.dtype, self.random_state_)
        self._fit(X, self.random_state_)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: object = None) -> BernoulliRBM:
        """n_iter sweeps of PCD over X in mini-batches of batch_size, in X's order (not shuffled)."""
        X = validate_data(self, X, accept_sparse="csr", dtype=(np.float64, np.float32))
        n_samples = X.shape[0]
        rng = check_random_state(self.random_state)
        self._initialize(X.shape[1], X.dtype, rng)
        n_batches = int(np.ceil(float(n_samples) / self.batch_size))
        batch_slices = list(gen_even_slices(n_batches * self.batch_size, n_batches, n_samples=n_samples))
        begin = time.time()
        for iteration in range(1, self.n_iter + 1):
            for batch_slice in batch_slices:
                self._fit(X[batch_slice], rng)
            if self.verbose:
                end = time.time()
                print("[%s] Iteration %d, pseudo-likelihood = %.2f, time = %.2fs"
                      % (type(self).__name__, iteration, self.score_samples(X).mean(), end - begin))
                begin = end
        return self

    def _initialize(self, n_features: int, dtype, rng) -> None:
        """Weights ~ N(0, 0.01), zero biases and zero persistent chain, drawn as scikit-learn draws them."""
        self.components_ = np.ascontiguousarray(rng.normal(0, 0.01, (self.n_components, n_features)), dtype=dtype)
        self._n_features_out = self.components_.shape[0]
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=dtype)
        self.intercept_visible_ = np.zeros(n_features, dtype=dtype)
        self.h_samples_ = np.zeros((self.batch_size, self.n_components), dtype=dtype)

    # --- using a fitted model -------------------------------------------------------------------------
    def transform(self, X: ArrayLike) -> np.ndarray:
        """P(h=1|v=X), the hidden units' activation probabilities: (n_samples, n_components)."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False, dtype=(np.float64, np.float32))
        dtype = np.result_type(X.dtype, self.components_.dtype)
        with self._computing_in(dtype):
            return self._by_chunks(X, self._mean_hiddens)

    def gibbs(self, v: ArrayLike) -> np.ndarray:
        """One Gibbs sampling step from the visible layer v: a boolean (n_samples, n_features) sample."""
        check_is_fitted(self)
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        h_ = self._sample_hiddens(self._as_model_rows(v), self.random_state_)
        return self._sample_visibles(h_.astype(self.components_.dtype), self.random_state_)

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """Pseudo-likelihood of each row of X: the free energy against X with one random feature flipped per row."""
        check_is_fitted(self)
        v = validate_data(self, X, accept_sparse="csr", reset=False)
        rng = check_random_state(self.random_state)
        columns = rng.randint(0, v.shape[1], v.shape[0])  # the feature flipped in each row
        with self._computing_in(np.result_type(v.dtype, self.components_.dtype)):
            gaps = [self._free_energy(_flip(rows.copy(), columns[start:start + len(rows)])) - self._free_energy(rows)
                    for start, rows in zip(range(0, v.shape[0], _CHUNK_ROWS), self._dense_chunks(v))]
        gap = np.concatenate(gaps) if gaps else np.empty(0, self.components_.dtype)
        return -v.shape[1] * np.logaddexp(0, -gap)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # --- helpers ---------------------------------------------------------------------------------------
    def _as_model_rows(self, rows) -> np.ndarray:
        """rows as a dense C-contiguous array of the model's dtype (the native kernels' contract), never the user's."""
        if sp.issparse(rows):
            rows = rows.toarray()
        return np.ascontiguousarray(rows, dtype=self.components_.dtype)

    def _dense_chunks(self, X):
        """X's rows _CHUNK_ROWS at a time, each as _as_model_rows (dense X: views of it, no copy)."""
        for start in range(0, X.shape[0], _CHUNK_ROWS):
            yield self._as_model_rows(X[start:start + _CHUNK_ROWS])

    def _by_chunks(self, X, function) -> np.ndarray:
        if not sp.issparse(X):
            return function(self._as_model_rows(X))
        out = [function(rows) for rows in self._dense_chunks(X)]
        return np.concatenate(out) if out else np.empty((0, self.components_.shape[0]), self.components_.dtype)

    def _computing_in(self, dtype):
        """Context in which the parameters are `dtype` (float32 model, float64 X: computed in float64 as NumPy)."""
        return _ParametersAs(self, dtype)


class _ParametersAs:
    """Temporarily casts the fitted parameters to a wider dtype, restoring them on exit."""

    _NAMES = ("components_", "intercept_hidden_", "intercept_visible_")

    def __init__(self, model: BernoulliRBM, dtype) -> None:
        self.model, self.dtype, self.saved = model, np.dtype(dtype), None

    def __enter__(self):
        if self.model.components_.dtype != self.dtype:
            self.saved = {name: getattr(self.model, name) for name in self._NAMES}
            for name, value in self.saved.items():
                setattr(self.model, name, value.astype(self.dtype))
        return self

    def __exit__(self, *exc_info) -> None:
        if self.saved is not None:
            for name, value in self.saved.items():
                setattr(self.model, name, value)


def _column_sum(x: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape[1], dtype=x.dtype)
    _C.column_sum(x, out)
    return out


def _flip(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """rows (already a private copy) with rows[i, columns[i]] replaced by 1 - rows[i, columns[i]]."""
    index = np.arange(rows.shape[0])
    rows[index, columns] = 1 - rows[index, columns]
    return rows
