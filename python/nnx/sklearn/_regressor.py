"""nnx.sklearn.MLPRegressor: scikit-learn's MLPRegressor (squared error or Poisson loss, multi-output) trained
by nnx, with the same extras as the classifier (dropout, batch norm, weight decay, one-cycle)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d, validate_data

from ._base import BaseMLP


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor with scikit-learn's API, trained by nnx's native core.

    ``loss`` ('squared_error' or 'poisson') and the parameters up to ``max_fun`` are scikit-learn's, with its
    defaults and meanings. The extras (``dropout``, ``batch_norm``, ``weight_decay``, ``lr_schedule``,
    ``device``) are described in MLPClassifier and are off by default. Fitted attributes are scikit-learn's,
    plus ``validation_loss_curve_`` (the loss on the early-stopping split after every epoch, else None).
    """

    def __init__(self, loss: str = "squared_error", hidden_layer_sizes: int | Sequence[int] = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | str = "auto", learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None, tol: float = 1e-4,
                 verbose: bool | int = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8, n_iter_no_change: int = 10,
                 max_fun: int = 15000, dropout: float = 0.0, batch_norm: bool = False, weight_decay: float = 0.0,
                 lr_schedule: str | None = None, device: str = "cpu") -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.device = device

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> MLPRegressor:
        """Fit the model to data matrix X and target(s) y, shape (n_samples,) or (n_samples, n_outputs)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> MLPRegressor:
        """One epoch over (X, y)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True,
                             dtype=(np.float64, np.float32), order="C", reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError("Some value(s) of y are negative which is not allowed for loss='poisson'.")
        Y = np.asarray(y, dtype=np.float64)
        return X, Y.reshape(-1, 1) if Y.ndim == 1 else Y

    def _out_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted values, shape (n_samples,) or (n_samples, n_outputs)."""
        scores, dtype = self._raw_outputs(X)
        predictions = self._objective.activate(scores, dtype)
        return predictions.ravel() if predictions.shape[1] == 1 else predictions

    def _score_from_raw(self, scores, Y, sample_weight=None):
        """R^2 of raw validation scores (early stopping's score)."""
        predictions = self._objective.activate(scores)
        if not np.isfinite(predictions).all():
            return np.nan
        if predictions.shape[1] == 1:
            predictions, Y = predictions.ravel(), Y.ravel()
        return r2_score(Y, predictions, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
