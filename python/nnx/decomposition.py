"""Principal component analysis on NumPy arrays, with scikit-learn's names, attributes and signs.

Used to reduce input features (and to inspect learned embeddings) the way the fastai course does.
"""
from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["PCA"]


def _as_float_matrix(X, name="X"):
    """X as a 2-D float array; float32 stays float32 (like scikit-learn), anything else becomes float64."""
    if isinstance(X, (str, bytes)) or X is None:
        raise TypeError(f"{name} must be a 2-D array of numbers, got {type(X).__name__}")
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return X


def _flip_signs(Vt):
    """scikit-learn's svd_flip(u_based_decision=False): each component's largest-magnitude entry is positive."""
    largest = np.argmax(np.abs(Vt), axis=1)
    signs = np.sign(Vt[np.arange(Vt.shape[0]), largest])
    signs[signs == 0] = 1.0
    return Vt * signs[:, None]


class PCA:
    """PCA(n_components=None, whiten=False): project centred data onto its top principal axes.

    n_components: None keeps min(n_samples, n_features); an int keeps that many; a float in (0, 1)
    keeps the fewest components whose explained variance ratio adds up to more than it.
    The SVD runs in float64 (NumPy/LAPACK); fitted attributes take the input's float dtype.
    """

    def __init__(self, n_components: int | float | None = None, whiten: bool = False) -> None:
        self.n_components = n_components
        self.whiten = whiten

    def __repr__(self):
        return f"PCA(n_components={self.n_components!r}, whiten={self.whiten!r})"

    # --- fitting -------------------------------------------------------------------------------
    def _n_kept(self, ratio, max_components):
        n = self.n_components
        if n is None:
            return max_components
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Real):
            raise TypeError(f"n_components must be None, an int or a float in (0, 1), got {n!r}")
        if isinstance(n, numbers.Integral):
            if not 1 <= n <= max_components:
                raise ValueError(f"n_components={n} must be between 1 and "
                                 f"min(n_samples, n_features)={max_components}")
            return int(n)
        if not 0.0 < n < 1.0:
            raise ValueError(f"n_components as a float must be in (0, 1), got {n}")
        # side='right' so the kept variance is strictly greater than the requested fraction.
        return min(int(np.searchsorted(np.cumsum(ratio), n, side="right")) + 1, max_components)

    def fit(self, X: ArrayLike, y: object = None) -> PCA:
        """Learn mean_, components_ and the explained variances from X (n_samples, n_features)."""
        X = _as_float_matrix(X)
        n_samples, n_features = X.shape
        if n_samples < 2:
            raise ValueError(f"X must have at least 2 samples to estimate a variance, got {n_samples}")
        X64 = X.astype(np.float64)
        mean = X64.mean(axis=0)
        _, singular_values, Vt = np.linalg.svd(X64 - mean, full_matrices=False)
        Vt = _flip_signs(Vt)
        variance = singular_values**2 / (n_samples - 1)
        total = variance.sum()
        ratio = variance / total if total > 0 else np.zeros_like(variance)
        k = self._n_kept(ratio, min(n_samples, n_features))

        dtype = X.dtype
        self.n_components_ = k
        self.n_samples_, self.n_features_in_ = n_samples, n_features
        self.mean_ = mean.astype(dtype)
        self.components_ = np.ascontiguousarray(Vt[:k]).astype(dtype)
        self.explained_variance_ = variance[:k].astype(dtype)
        self.explained_variance_ratio_ = ratio[:k].astype(dtype)
        self.singular_values_ = singular_values[:k].astype(dtype)
        self.noise_variance_ = float(variance[k:].mean()) if k < min(n_samples, n_features) else 0.0
        return self

    # --- projecting ----------------------------------------------------------------------------
    def _require_fitted(self):
        if not hasattr(self, "components_"):
            raise RuntimeError("This PCA instance is not fitted yet: call fit(X) first")

    def _check_fitted(self, X):
        self._require_fitted()
        X = _as_float_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but PCA was fitted with {self.n_features_in_}")
        return X

    def _whitening_scale(self):
        # Components with zero variance stay zero instead of dividing by zero.
        std = np.sqrt(self.explained_variance_.astype(np.float64))
        return np.where(std > 0, std, 1.0)

    def transform(self, X: ArrayLike) -> np.ndarray:
        """X (n, n_features) -> coordinates (n, n_components) on the principal axes."""
        X = self._check_fitted(X)
        Z = (X - self.mean_) @ self.components_.T
        if self.whiten:
            Z = Z / self._whitening_scale()
        return Z.astype(self.components_.dtype, copy=False)

    def fit_transform(self, X: ArrayLike, y: object = None) -> np.ndarray:
        """fit(X), then transform(X)."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: ArrayLike) -> np.ndarray:
        """Coordinates (n, n_components) -> points (n, n_features) in the original space."""
        self._require_fitted()
        Z = _as_float_matrix(Z, "X")
        if Z.shape[1] != self.n_components_:
            raise ValueError(f"X has {Z.shape[1]} columns, expected n_components_={self.n_components_}")
        if self.whiten:
            Z = Z * self._whitening_scale()
        X = Z @ self.components_ + self.mean_
        return X.astype(self.components_.dtype, copy=False)
