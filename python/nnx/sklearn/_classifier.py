"""nnx.sklearn.MLPClassifier: scikit-learn's MLPClassifier (same parameters, attributes and results up to
rounding; float32 X trains in float32, other X in float64, as scikit-learn's) trained by nnx, plus dropout,
batch norm, decoupled weight decay, one-cycle, class weights."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from ._base import BaseMLP


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier with scikit-learn's API, trained by nnx's native core.

    Parameters up to ``max_fun`` are scikit-learn's, with its defaults and meanings. The extras are off by
    default, so a default MLPClassifier trains the same model as scikit-learn's:

    dropout : float, default=0.0
        Dropout probability after each hidden layer's activation (training only).
    batch_norm : bool, default=False
        BatchNorm1d between each hidden Linear layer and its activation.
    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW's): the weights shrink by ``lr * weight_decay`` each step, on top of
        ``alpha``'s L2 penalty.
    lr_schedule : {None, 'one_cycle'}, default=None
        'one_cycle' runs fastai's one-cycle policy over ``max_iter`` epochs with ``learning_rate_init`` as the
        peak (momentum or beta_1 cycled 0.95 -> 0.85 -> 0.95); training then lasts ``max_iter`` epochs unless
        ``early_stopping`` stops it.
    class_weight : dict, list of dicts, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight`` (scikit-learn's compute_sample_weight).
    device : str, default='cpu'
        Where to train; 'cuda' raises until nnx's estimators run on its CUDA backend.

    Fitted attributes are scikit-learn's (``coefs_`` are (fan_in, fan_out) NumPy arrays of the training dtype, views of
    the network), plus ``validation_loss_curve_``: the loss on the early-stopping split after every epoch
    (None without early_stopping).
    """

    _is_classifier = True

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001, power_t: float = 0.5,
                 max_iter: int = 200, shuffle: bool = True, random_state: int | np.random.RandomState | None = None,
                 tol: float = 1e-4, verbose: bool | int = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8, n_iter_no_change: int = 10,
                 max_fun: int = 15000, dropout: float = 0.0, batch_norm: bool = False, weight_decay: float = 0.0,
                 lr_schedule: str | None = None, class_weight: dict | list[dict] | str | None = None,
                 device: str = "cpu") -> None:
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
        self.class_weight = class_weight
        self.device = device

    # --- fitting ------------------------------------------------------------------------------------
    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> MLPClassifier:
        """Fit the model to data matrix X and target(s) y (class labels, or a label indicator matrix)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
                    classes: ArrayLike | None = None) -> MLPClassifier:
        """One epoch over (X, y). `classes` (all the labels of every call) is required on the first call."""
        if _first_partial_fit_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _validate_input(self, X, y, incremental, reset):
        """X as float32 or float64 (scikit-learn's rule, converted once) and y binarized (n, n_outputs), with
        scikit-learn's class checks."""
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32),
                             order="C", reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes as in the previous "
                                     f"call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {classes}.")
        Y = self._label_binarizer.transform(y).astype(np.float32)
        return X, Y.reshape(-1, 1) if Y.ndim == 1 else Y

    def _out_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _training_weights(self, sample_weight, X, y, incremental):
        weights = super()._training_weights(sample_weight, X, y, incremental)
        if self.class_weight is None:
            return weights
        if incremental and self.class_weight == "balanced":
            raise ValueError("class_weight='balanced' is not supported for partial_fit: the class frequencies of "
                             "one batch are not those of the data. Compute weights once with sklearn.utils."
                             "class_weight.compute_class_weight('balanced', classes=classes, y=y_all) and pass "
                             "them as a dict.")
        class_weights = compute_sample_weight(self.class_weight, np.asarray(y))
        return class_weights if weights is None else weights * class_weights

    # --- prediction ---------------------------------------------------------------------------------
    def predict(self, X: ArrayLike) -> np.ndarray:
        """The predicted classes (n_samples,), or the label indicator matrix for multi-label targets."""
        probabilities = self._probabilities(*self._raw_outputs(X))
        return self._labels_from_probabilities(probabilities)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Probability of each class in classes_ order, shape (n_samples, n_classes)."""
        probabilities = self._probabilities(*self._raw_outputs(X))
        if probabilities.shape[1] == 1:
            return np.hstack([1 - probabilities, probabilities])
        return probabilities

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """log(predict_proba(X))."""
        probabilities = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(probabilities, out=probabilities)

    def _probabilities(self, scores, dtype):
        return self._objective.activate(scores, dtype)

    def _labels_from_probabilities(self, probabilities):
        if self.n_outputs_ == 1:
            probabilities = probabilities.ravel()
        return self._label_binarizer.inverse_transform(probabilities)

    def _score_from_raw(self, scores, Y, sample_weight=None):
        """Accuracy of raw validation scores against binarized labels Y (early stopping's score)."""
        probabilities = self._probabilities(scores, np.float64)
        if not np.isfinite(probabilities).all():
            return np.nan
        y_true = self._label_binarizer.inverse_transform(Y.ravel() if self.n_outputs_ == 1 else Y)
        return accuracy_score(y_true, self._labels_from_probabilities(probabilities), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def _first_partial_fit_call(classifier, classes):
    """True on the first partial_fit call (which must name every class); checks classes on the later ones."""
    previous = getattr(classifier, "classes_", None)
    if previous is None and classes is None:
        raise ValueError("classes must be passed on the first call to partial_fit.")
    if classes is None:
        return False
    if previous is not None:
        if not np.array_equal(previous, unique_labels(classes)):
            raise ValueError(f"`classes={classes!r}` is not the same as on last call to partial_fit, was: "
                             f"{previous!r}")
        return False
    classifier.classes_ = unique_labels(classes)
    return True
