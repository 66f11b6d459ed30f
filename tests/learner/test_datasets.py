"""The shipped digits data set and its split helper."""
import numpy as np
import pytest
import sklearn.datasets

from nnx import datasets


def test_digits_match_sklearn_copy():
    X, y = datasets.load_digits()
    X_ref, y_ref = sklearn.datasets.load_digits(return_X_y=True)
    assert X.dtype == np.float32 and X.shape == (1797, 64) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(X * 16, X_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_split_is_fixed_and_disjoint():
    X_train, X_test, y_train, y_test = datasets.load_digits_split()
    again = datasets.load_digits_split()
    assert X_train.shape == (1437, 64) and X_test.shape == (360, 64)
    np.testing.assert_array_equal(X_train, again[0])
    rows = {row.tobytes() for row in X_train}
    X, _ = datasets.load_digits()
    assert len(X_train) + len(X_test) == len(X)
    assert sum(row.tobytes() in rows for row in X_test) <= 5  # the data has a few duplicate images


def test_split_arguments_are_checked():
    X, y = np.arange(10.0).reshape(10, 1), np.arange(10)
    with pytest.raises(ValueError, match="test_size"):
        datasets.train_test_split(X, y, test_size=1.5)
    with pytest.raises(ValueError, match="same number of samples"):
        datasets.train_test_split(X, y[:5])
    assert [len(a) for a in datasets.train_test_split(X, y, test_size=3)] == [7, 3, 7, 3]
