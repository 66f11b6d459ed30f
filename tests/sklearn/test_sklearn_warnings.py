"""The estimators' warnings are scikit-learn's classes, shown at the user's call, and silenced by the filters
scikit-learn's own examples use (`module="sklearn"`)."""
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from nnx.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    return X, (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_convergence_warning_is_sklearns_and_points_at_the_caller(solver):
    X, y = _data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MLPClassifier(max_iter=2, solver=solver, random_state=0).fit(X, y)  # this line is the warning's location
    convergence = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(convergence) == 1
    assert convergence[0].filename == __file__


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_sklearn_examples_filter_silences_it(estimator):
    X, y = _data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=ConvergenceWarning, module="sklearn")  # as in sklearn's examples
        estimator(max_iter=2, random_state=0).fit(X, y)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_category_filter_silences_it_and_error_filter_raises():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning, match="Maximum iterations"):
            MLPClassifier(max_iter=1, random_state=0).fit(X, y)
