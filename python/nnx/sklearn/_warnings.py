"""Warnings the estimators raise, attributed so that scikit-learn users' filters catch them.

scikit-learn's examples silence its warnings with `warnings.filterwarnings("ignore", category=ConvergenceWarning,
module="sklearn")`. `module` is a regular expression matched at the start of the module a warning is attributed
to; a plain `warnings.warn` here would be attributed to `nnx.sklearn...`, and a drop-in replacement of
scikit-learn's MLP would then print warnings the user's script silences. So the estimators' warnings are
attributed to the module scikit-learn's own MLP warns from, while the printed location stays the user's call.
"""
import sys
import warnings

SKLEARN_MODULE = "sklearn.neural_network._multilayer_perceptron"


def warn(message: str, category: type = UserWarning) -> None:
    """warnings.warn(message, category) shown at the first caller outside nnx, filtered as scikit-learn's."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("nnx."):
        frame = frame.f_back
    if frame is None:  # (called from nnx itself only: no user frame to point at)
        warnings.warn(message, category, stacklevel=2)
        return
    registry = frame.f_globals.setdefault("__warningregistry__", {})
    # (no module_globals: it would make linecache ask the caller's loader for source, which some loaders refuse)
    warnings.warn_explicit(message, category, frame.f_code.co_filename, frame.f_lineno, module=SKLEARN_MODULE,
                           registry=registry)
