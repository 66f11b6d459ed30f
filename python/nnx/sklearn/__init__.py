"""nnx.sklearn: drop-in replacements for scikit-learn's neural_network module (MLPClassifier, MLPRegressor,
BernoulliRBM), trained by nnx.

    from nnx.sklearn import MLPClassifier   # instead of: from sklearn.neural_network import MLPClassifier

scikit-learn is an optional dependency of nnx: `pip install "nnx[sklearn]"`.
"""
_INSTALL_HINT = 'nnx.sklearn needs scikit-learn >= 1.6: pip install "nnx[sklearn]" (or pip install -U scikit-learn)'

try:
    import sklearn
except ImportError as error:  # the estimators subclass scikit-learn's mixins, so nothing works without it
    raise ImportError(_INSTALL_HINT) from error


def _version_tuple(version):
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


if _version_tuple(sklearn.__version__) < (1, 6):  # __sklearn_tags__ and validate_data arrived in 1.6
    raise ImportError(f"{_INSTALL_HINT}; found scikit-learn {sklearn.__version__}")

from ._classifier import MLPClassifier  # noqa: E402
from ._rbm import BernoulliRBM  # noqa: E402
from ._regressor import MLPRegressor  # noqa: E402

__all__ = ["BernoulliRBM", "MLPClassifier", "MLPRegressor"]
