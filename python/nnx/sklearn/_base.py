"""What MLPClassifier and MLPRegressor share: scikit-learn's BaseMultilayerPerceptron (parameters, fit,
partial_fit, warm start, fitted attributes) with an nnx network doing the arithmetic.

The network trains in the dtype of the first fit's X, as scikit-learn's: float32 X trains in float32 (nnx's
fast path), any other X is converted to float64 and trains in float64 (nnx's CPU kernels have both). Later
partial_fit / warm-start calls convert X to the network's dtype. On a GPU (device='cuda') it trains in float32."""
import contextlib

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

import nnx
import nnx.random

from . import _network
from ._lbfgs import fit_lbfgs
from ._losses import Objective
from ._params import hidden_layer_sizes_list, validate_params
from ._training import fit_stochastic

_STOCHASTIC_SOLVERS = ("sgd", "adam")
_NOT_PICKLED = ("_network", "_solver", "coefs_", "intercepts_")


class BaseMLP(BaseEstimator):
    """Shared machinery; subclasses define _validate_input, _out_activation and _score_from_raw."""

    _is_classifier = False

    # --- fitting ------------------------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, incremental=False):
        validate_params(self)
        hidden_sizes = hidden_layer_sizes_list(self.hidden_layer_sizes)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        sample_weight = self._training_weights(sample_weight, X, y, incremental)
        layer_units = [X.shape[1]] + hidden_sizes + [Y.shape[1]]
        self._random_state = check_random_state(self.random_state)
        device = _network.training_device(_check_device(self.device))
        dtype = _training_dtype(X.dtype, device) if first_pass else _network.network_dtype(self._network)
        if X.dtype != dtype:
            X = X.astype(dtype)
        with _private_nnx_random_stream():
            if first_pass:
                self._initialize(Y, layer_units, dtype)
            else:
                self._check_continuation(layer_units)
                self._sync_network()
            if self.dropout > 0:  # dropout masks come from nnx's generator: seeded by random_state
                nnx.random.manual_seed(int(self._random_state.randint(np.iinfo(np.int32).max)))
            self._objective = Objective(self.out_activation_, self.n_outputs_, dtype)
            with _network.on_device(self, device):
                if self.solver in _STOCHASTIC_SOLVERS:
                    fit_stochastic(self, X, Y, sample_weight, incremental, device)
                else:
                    fit_lbfgs(self, X, Y, sample_weight)
        if not all(np.isfinite(array).all() for array in self.coefs_ + self.intercepts_):
            raise ValueError("Solver produced non-finite parameter weights. The input data may contain large "
                             "values and need to be preprocessed.")
        return self

    def _initialize(self, Y, layer_units, dtype):
        """A fresh network of `dtype` with scikit-learn's initialisation and the fitted attributes of a first fit."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._out_activation()
        self._layer_units = list(layer_units)
        self._network = _network.build_network(layer_units, self.activation, self.dropout, self.batch_norm, dtype)
        coefs, intercepts = _network.glorot_uniform_init(layer_units, self.activation, self._random_state, dtype)
        _network.load_weights(self._network, coefs, intercepts)
        self._network.eval()
        self.coefs_, self.intercepts_ = _network.weight_views(self._network)
        self._solver = None
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:  # the weights to restore if no epoch ever scores (scikit-learn's rule)
                self._best_state = _network.network_state(self._network)
                self.validation_scores_ = []
                self.validation_loss_curve_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.validation_loss_curve_ = None
                self.best_validation_score_ = None

    def _check_continuation(self, layer_units):
        if layer_units != self._layer_units:
            raise ValueError(f"warm_start / partial_fit needs the same layer sizes as the previous fit: it had "
                             f"{self._layer_units} (n_features, hidden_layer_sizes..., n_outputs), this call "
                             f"has {layer_units}.")
        if self.solver in _STOCHASTIC_SOLVERS and not hasattr(self, "loss_curve_"):
            raise ValueError("warm_start from a model fitted with solver='lbfgs' to a stochastic solver is not "
                             "supported: refit with warm_start=False.")

    def _check_solver(self):
        """partial_fit exists only for the stochastic solvers (scikit-learn's available_if test)."""
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. {self.solver} is not "
                                 "stochastic.")
        return True

    def _training_weights(self, sample_weight, X, y, incremental):
        """Sample weights as float64 (n,), or None; the classifier multiplies in its class weights."""
        if sample_weight is None:
            return None
        return _check_sample_weight(sample_weight, X.shape[0])

    # --- prediction ---------------------------------------------------------------------------------
    def _raw_outputs(self, X):
        """Last-layer scores of validated X and the dtype predictions come back in: scikit-learn's, the result
        type of X (float32 stays float32, anything else float64) and the weights (float64 after a float64 fit)."""
        check_is_fitted(self)
        network_dtype = _network.network_dtype(self._network)
        input_dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        X = validate_data(self, X, reset=False, accept_sparse=["csr"], dtype=network_dtype, order="C")
        self._sync_network()
        return _network.raw_outputs(self._network, X), np.result_type(input_dtype, network_dtype)

    def _sync_network(self):
        """Make the network hold coefs_/intercepts_ (rebuilt after unpickling; copied in if reassigned)."""
        if not _network.shares_weights(self._network, self.coefs_, self.intercepts_):
            _network.load_weights(self._network, self.coefs_, self.intercepts_)
            self.coefs_, self.intercepts_ = _network.weight_views(self._network)

    # --- pickling: NumPy state only, independent of nnx's internal classes ------------------------
    def __getstate__(self):
        state = super().__getstate__()
        if "_network" in state:
            state = {k: v for k, v in state.items() if k not in _NOT_PICKLED}
            state["_network_state"] = _network.network_state(self._network)
            state["_solver_state"] = self._solver
        return state

    def __setstate__(self, state):
        network_state = state.pop("_network_state", None)
        solver = state.pop("_solver_state", None)
        super().__setstate__(state)
        if network_state is None:
            return
        dtype = np.asarray(next(iter(network_state.values()))).dtype if network_state else np.float32
        with _private_nnx_random_stream():
            self._network = _network.build_network(self._layer_units, self.activation, self.dropout,
                                                   self.batch_norm, dtype)
        _network.load_network_state(self._network, network_state)
        self._network.eval()
        self.coefs_, self.intercepts_ = _network.weight_views(self._network)
        if solver is not None:
            solver.rebind(self._network, self)
        self._solver = solver

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _check_sample_weight(sample_weight, n_samples):
    """sample_weight as float64 (n_samples,), finite and non-negative, with messages naming it."""
    if np.isscalar(sample_weight):
        return np.full(n_samples, float(sample_weight))
    weights = np.asarray(sample_weight)
    if weights.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must hold numbers, got dtype {weights.dtype}")
    weights = weights.astype(np.float64)
    if weights.ndim != 1:
        raise ValueError(f"Sample weights must be 1D array or scalar, got shape {weights.shape}")
    if weights.shape != (n_samples,):
        raise ValueError(f"sample_weight.shape == {weights.shape}, expected {(n_samples,)}!")
    if not np.isfinite(weights).all():
        raise ValueError("sample_weight contains NaN or infinity")
    if (weights < 0).any():
        raise ValueError("Negative values in data passed to sample_weight")
    if not weights.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weights


def _training_dtype(input_dtype, device):
    """scikit-learn's rule: float32 X trains in float32, everything else (already float64 here) in float64;
    nnx's CUDA kernels are float32, so a GPU fit trains in float32."""
    return np.dtype(np.float32) if device is not None else np.dtype(input_dtype)


def _check_device(device):
    """device itself, or RuntimeError when it names CUDA and nnx has none to offer."""
    if device != "cpu" and not nnx.cuda.is_available():
        raise RuntimeError(f"device={device!r} needs nnx's CUDA backend and an NVIDIA GPU, and this nnx has none "
                           "available (nnx.cuda.is_available() is False). Use device='cpu'.")
    return device


@contextlib.contextmanager
def _private_nnx_random_stream():
    """fit draws from nnx's default generator (layer construction, dropout) and then hands the caller's
    stream back untouched, as torch.random.fork_rng does: an estimator does not shift a user's random numbers."""
    saved = nnx.random.get_state()
    try:
        yield
    finally:
        nnx.random.set_state(saved)
