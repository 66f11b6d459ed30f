"""Small real data sets shipped inside the package, so examples and tests never download anything.

digits.npz is scikit-learn's copy of the UCI "Optical Recognition of Handwritten Digits" test set:
E. Alpaydin and C. Kaynak (1998), UCI Machine Learning Repository, https://doi.org/10.24432/C50P49,
licensed CC BY 4.0. 1797 images of 8x8 pixels with integer intensities 0..16, labels 0..9.
It is stored as uint8 arrays (images (1797, 64), target (1797,)) with np.savez_compressed (45 KB).
"""
from __future__ import annotations

import os

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["load_digits", "train_test_split", "load_digits_split"]

_DIGITS_PATH = os.path.join(os.path.dirname(__file__), "digits.npz")
_DIGITS_MAX_INTENSITY = 16.0


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits: X float32 (1797, 64) scaled to [0, 1] (pixel / 16), y int64 (1797,).

    The same samples in the same order as sklearn.datasets.load_digits(return_X_y=True), whose X is
    the unscaled 0..16 intensities; multiply X by 16 to get those back exactly.
    """
    with np.load(_DIGITS_PATH, allow_pickle=False) as arrays:
        images = arrays["images"]
        target = arrays["target"]
    X = images.astype(np.float32) / np.float32(_DIGITS_MAX_INTENSITY)
    y = target.astype(np.int64)
    return X, y


def train_test_split(X: ArrayLike, y: ArrayLike, test_size: float | int = 0.2,
                     random_state: int | None = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A reproducible shuffled split, in scikit-learn's order: X_train, X_test, y_train, y_test.

    test_size is a fraction in (0, 1) or a number of samples; random_state seeds a NumPy generator,
    so the same arguments always give the same split, whatever nnx's own generator holds.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(f"X and y must have the same number of samples, got X {X.shape} and y {y.shape}")
    n_samples = len(X)
    n_test = _test_count(test_size, n_samples)
    order = np.random.default_rng(random_state).permutation(n_samples)
    test_rows, train_rows = order[:n_test], order[n_test:]
    return X[train_rows], X[test_rows], y[train_rows], y[test_rows]


def _test_count(test_size, n_samples):
    if isinstance(test_size, (bool, np.bool_)) or not isinstance(test_size, (int, float, np.integer, np.floating)):
        raise TypeError(f"test_size must be a float in (0, 1) or an int, got {test_size!r}")
    if isinstance(test_size, (float, np.floating)):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"test_size as a fraction must be in (0, 1), got {test_size}")
        n_test = int(np.ceil(test_size * n_samples))
    else:
        n_test = int(test_size)
    if not 0 < n_test < n_samples:
        raise ValueError(f"test_size={test_size!r} leaves an empty train or test set for {n_samples} samples")
    return n_test


def load_digits_split(test_size: float | int = 0.2,
                      random_state: int | None = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits split once and for all: X_train, X_test, y_train, y_test (1437 / 360 samples by default)."""
    X, y = load_digits()
    return train_test_split(X, y, test_size=test_size, random_state=random_state)
