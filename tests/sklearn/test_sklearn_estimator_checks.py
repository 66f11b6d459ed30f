"""scikit-learn's own estimator checks (sklearn.utils.estimator_checks) on both estimators."""
import pytest

pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from nnx.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# max_iter small enough to keep the checks fast, large enough for the checks that need a decent fit
# (check_classifiers_train, check_regressors_train); ConvergenceWarning is expected at these sizes.
# No expected failures: the estimators train in the dtype of X as scikit-learn's do (float64 for the checks'
# float64 data), so even check_sample_weight_equivalence's rtol=1e-7 holds.
@parametrize_with_checks([MLPClassifier(max_iter=50), MLPRegressor(max_iter=50)])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sklearn_estimator_check(estimator, check):
    check(estimator)
