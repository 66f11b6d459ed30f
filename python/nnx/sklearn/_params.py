"""Validation of the estimators' constructor parameters, done in fit (scikit-learn's convention: __init__ only
stores them). The constraints mirror scikit-learn's MLP; each failure names the parameter and what it expects."""
from numbers import Integral, Real

import numpy as np


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter has a bad type or value (a ValueError and a TypeError, like scikit-learn's)."""


def _is_int(value):
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, Real) and not isinstance(value, bool)


def _fail(name, expected, value):
    raise InvalidParameterError(f"The '{name}' parameter of {{estimator}} must be {expected}. Got {value!r} instead.")


def _check_options(name, value, options):
    if not isinstance(value, str) or value not in options:
        _fail(name, "a str among " + str(sorted(options)), value)


def _check_int(name, value, low):
    if not _is_int(value) or value < low:
        _fail(name, f"an int in the range [{low}, inf)", value)


def _check_real(name, value, low=None, high=None, closed="both"):
    """value must be a real number in the interval (low, high) with the ends `closed` ('both', 'left', ...)."""
    if not _is_real(value) or np.isnan(value):
        _fail(name, "a float" + _interval_text(low, high, closed), value)
    low_ok = low is None or (value >= low if closed in ("both", "left") else value > low)
    high_ok = high is None or (value <= high if closed in ("both", "right") else value < high)
    if not (low_ok and high_ok):
        _fail(name, "a float" + _interval_text(low, high, closed), value)


def _interval_text(low, high, closed):
    left = "[" if closed in ("both", "left") else "("
    right = "]" if closed in ("both", "right") else ")"
    low_text = "-inf" if low is None else str(low)
    high_text = "inf" if high is None else str(high)
    return f" in the range {left}{low_text}, {high_text}{right}"


def _check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        _fail(name, "an instance of 'bool'", value)


def hidden_layer_sizes_list(hidden_layer_sizes):
    """hidden_layer_sizes as a list of positive ints (an int means one hidden layer), like scikit-learn."""
    sizes = hidden_layer_sizes
    if not hasattr(sizes, "__iter__") or isinstance(sizes, str):
        sizes = [sizes]
    sizes = list(sizes)
    if not all(_is_int(size) for size in sizes):
        _fail("hidden_layer_sizes", "an int or an array-like of ints", hidden_layer_sizes)
    if any(size <= 0 for size in sizes):
        raise InvalidParameterError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    return [int(size) for size in sizes]


def _check_class_weight(value):
    if value is None or value == "balanced" or isinstance(value, (dict, list)):
        return
    _fail("class_weight", "a dict, a list of dicts, 'balanced' or None", value)


def _check_device(value):
    if not isinstance(value, str) or not (value == "cpu" or value == "cuda" or value.startswith("cuda:")):
        _fail("device", "'cpu', 'cuda' or 'cuda:<index>'", value)


def validate_params(estimator):
    """Raise InvalidParameterError for the first constructor parameter outside its allowed values."""
    try:
        _validate_all(estimator)
    except InvalidParameterError as error:
        raise InvalidParameterError(str(error).replace("{estimator}", type(estimator).__name__)) from None


def _validate_all(est):
    hidden_layer_sizes_list(est.hidden_layer_sizes)
    _check_options("activation", est.activation, {"identity", "logistic", "tanh", "relu"})
    _check_options("solver", est.solver, {"lbfgs", "sgd", "adam"})
    _check_real("alpha", est.alpha, 0.0)
    if not (est.batch_size == "auto" if isinstance(est.batch_size, str) else _is_int(est.batch_size)) or (
            _is_int(est.batch_size) and est.batch_size < 1):
        _fail("batch_size", "'auto' or an int in the range [1, inf)", est.batch_size)
    _check_options("learning_rate", est.learning_rate, {"constant", "invscaling", "adaptive"})
    _check_real("learning_rate_init", est.learning_rate_init, 0.0, closed="neither")
    _check_real("power_t", est.power_t, 0.0)
    _check_int("max_iter", est.max_iter, 1)
    _check_bool("shuffle", est.shuffle)
    _check_real("tol", est.tol, 0.0)
    if not (isinstance(est.verbose, (bool, np.bool_)) or _is_int(est.verbose)):
        _fail("verbose", "a bool or an int", est.verbose)
    _check_bool("warm_start", est.warm_start)
    _check_real("momentum", est.momentum, 0.0, 1.0)
    _check_bool("nesterovs_momentum", est.nesterovs_momentum)
    _check_bool("early_stopping", est.early_stopping)
    _check_real("validation_fraction", est.validation_fraction, 0.0, 1.0, closed="left")
    _check_real("beta_1", est.beta_1, 0.0, 1.0, closed="left")
    _check_real("beta_2", est.beta_2, 0.0, 1.0, closed="left")
    _check_real("epsilon", est.epsilon, 0.0, closed="neither")
    if not (_is_int(est.n_iter_no_change) and est.n_iter_no_change >= 1) and est.n_iter_no_change != np.inf:
        _fail("n_iter_no_change", "an int in the range [1, inf) or inf", est.n_iter_no_change)
    _check_int("max_fun", est.max_fun, 1)
    _validate_extras(est)


def _validate_extras(est):
    """The parameters scikit-learn's MLP does not have."""
    _check_real("dropout", est.dropout, 0.0, 1.0, closed="left")
    _check_bool("batch_norm", est.batch_norm)
    _check_real("weight_decay", est.weight_decay, 0.0)
    if est.lr_schedule is not None:
        _check_options("lr_schedule", est.lr_schedule, {"one_cycle"})
    _check_device(est.device)
    if hasattr(est, "class_weight"):
        _check_class_weight(est.class_weight)
    if hasattr(est, "loss"):
        _check_options("loss", est.loss, {"squared_error", "poisson"})
    if est.solver == "lbfgs" and est.dropout > 0:
        raise InvalidParameterError("dropout > 0 needs a stochastic solver ('adam' or 'sgd'): L-BFGS needs a "
                                    f"deterministic loss. Got solver='lbfgs', dropout={est.dropout}.")
    if est.solver == "lbfgs" and est.lr_schedule is not None:
        raise InvalidParameterError("lr_schedule applies to the stochastic solvers ('adam', 'sgd'), not 'lbfgs'.")
