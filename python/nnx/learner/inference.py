"""Prediction with a trained Learner: get_preds (activated predictions and targets over a DataLoader) and predict
(decoded predictions for a NumPy array). Learner.get_preds and Learner.predict call these."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..deferred import DeviceBatches, is_device_array
from ..metrics import to_numpy
from ..tensor import Tensor

__all__ = ["get_preds", "predict", "split_batch", "loss_kind", "loss_activation"]


def get_preds(model: Any, dl: Any, activation: Callable[[np.ndarray], np.ndarray],
              to_device: Callable[[Any], Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """(activation(predictions), targets) of model over dl as NumPy arrays, in eval mode without gradients, each
    xb moved by to_device; targets is None when dl has no targets. A GPU's batches are read together at the end."""
    preds, targs = DeviceBatches(), DeviceBatches()
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for batch in dl:
                xb, yb = split_batch(batch)
                preds.append(_array_of(model(to_device(xb))))
                if yb is not None:
                    targs.append(_array_of(yb))
    finally:
        model.train(was_training)
    preds, targs = preds.read(), targs.read()
    if not preds:
        raise ValueError("get_preds: the DataLoader yielded no batches")
    return activation(np.concatenate(preds)), (np.concatenate(targs) if targs else None)


def predict(learn: Any, X: Any, batch_size: int = 256) -> np.ndarray:
    """Decoded predictions for the NumPy array X: class indices for cross-entropy, 0/1 for
    BCE-with-logits (probability > 0.5), the model's outputs otherwise."""
    X = to_numpy(X)
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"X must be a non-empty array with one row per sample, got shape {X.shape}")
    X = _as_model_dtype(learn.model, X)
    rows = [X[start:start + batch_size] for start in range(0, len(X), batch_size)]
    probs, _ = learn.get_preds(dl=[Tensor(np.ascontiguousarray(r)) for r in rows])
    if callable(getattr(learn.loss_func, "decodes", None)):  # fastai's losses decode over their own axis
        return np.asarray(learn.loss_func.decodes(probs)).astype(np.int64)
    kind = loss_kind(learn.loss_func)
    if kind == "cross_entropy":
        return probs.argmax(axis=-1)
    if kind == "bce":
        return (probs > 0.5).astype(np.int64)
    return probs


def split_batch(batch: Any) -> tuple[Any, Any]:
    """(xb, yb) from a batch that is (xb, yb), (xb,) or xb alone (yb None)."""
    if isinstance(batch, (tuple, list)):
        if len(batch) == 1:
            return batch[0], None
        if len(batch) == 2:
            return batch[0], batch[1]
        raise ValueError(f"a batch must be xb or (xb, yb), got a {type(batch).__name__} of {len(batch)} items")
    return batch, None


def loss_kind(loss: Any) -> str | None:
    """'cross_entropy', 'bce' (with logits) or None: what the predictions of a model trained with `loss` mean."""
    if isinstance(loss, getattr(nn, "CrossEntropyLoss", ())) or \
            loss is getattr(nn.functional, "cross_entropy", None):
        return "cross_entropy"
    if isinstance(loss, getattr(nn, "BCEWithLogitsLoss", ())) or \
            loss is getattr(nn.functional, "binary_cross_entropy_with_logits", None):
        return "bce"
    return None


def loss_activation(loss: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The activation that turns the model's outputs into predictions: the loss's own `activation` when it has one
    (fastai's losses: nnx.losses' softmax over their class axis), else softmax, sigmoid or none (loss_kind)."""
    if callable(getattr(loss, "activation", None)):
        return loss.activation
    kind = loss_kind(loss)
    if kind == "cross_entropy":
        return _softmax
    if kind == "bce":
        return _sigmoid
    return _identity


def _as_model_dtype(model: Any, X: np.ndarray) -> np.ndarray:
    """Numbers (lists, integers, float64) converted once to the dtype of the model's parameters."""
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X must hold numbers (bool, int or float), got dtype {X.dtype}")
    param = next(iter(model.parameters()), None)
    if param is not None and param.dtype.kind == "f" and X.dtype != param.dtype:
        X = X.astype(param.dtype)
    return X


def _array_of(value: Any) -> Any:
    """A Tensor's array as it is (a device array stays on the device), anything else as a NumPy array."""
    data = value.detach()._data if isinstance(value, Tensor) else None
    return data if data is not None and is_device_array(data) else to_numpy(value)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * logits))


def _identity(outputs: np.ndarray) -> np.ndarray:
    return outputs
