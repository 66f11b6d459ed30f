"""losses family: cross_entropy, nll_loss, mse_loss, l1_loss and binary cross-entropy.

cross_entropy without class weights is one fused native call that also writes dloss/dlogits when a
gradient will be needed, so its backward is a scale (or nothing for an upstream gradient of 1).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import native
from ..autograd import Function, is_one
from ..tensor import Tensor
from ._checks import (
    _REDUCTIONS,
    as_dtype,
    as_int64_indices,
    as_target,
    check_float,
    check_reduction,
    host_data_on_device_of,
)
from ._common import Array
from .softmax import Softmax


# --- cross-entropy and nll over class indices ----------------------------------------------------------------
class CrossEntropyFunction(Function):
    """Softmax + cross-entropy of logits (N, C) against int64 targets (N,), forward and gradient in one pass."""

    @staticmethod
    def forward(ctx: Any, logits: Array, target: Array, reduction: str, ignore_index: int,
                label_smoothing: float) -> Array:
        with_grad = bool(ctx.needs_input_grad)
        loss, _, grad_logits = native.for_array(logits).cross_entropy_forward(
            logits, target, reduction, ignore_index, label_smoothing, with_grad)
        ctx.grad_logits, ctx.reduction = grad_logits, reduction
        return loss

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        if ctx.reduction == "none":
            return ctx.grad_logits * grad[:, None], None, None, None, None
        if grad == 1 if type(grad) is np.ndarray else is_one(grad):  # (on a GPU without reading grad)
            return ctx.grad_logits, None, None, None, None
        return ctx.grad_logits * grad, None, None, None, None


def _class_rows(input, target, function):
    """(rows (M, C) Tensor, targets (M,) int64 array, output shape for reduction='none') for an input of shape
    (C,), (N, C) or (N, C, d1, ...) with targets of shape (), (N,) or (N, d1, ...)."""
    check_float(input, "input", function)
    indices = target._data if isinstance(target, Tensor) else host_data_on_device_of(target, input)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{function}(): target must be an integer tensor of class indices (int64), got dtype "
                        f"{indices.dtype}")
    indices = as_int64_indices(indices, "target", function)
    shape = input.shape
    if input.ndim == 0:
        raise ValueError(f"{function}(): input must have at least 1 dimension (classes), got a 0-d tensor")
    expected = () if input.ndim == 1 else shape[:1] + shape[2:]
    if indices.shape != expected:
        raise ValueError(f"{function}(): target must have shape {expected} for input of shape {shape}, got "
                         f"{indices.shape}")
    if input.ndim == 1:
        return input.reshape(1, shape[0]), indices.reshape(1), ()
    if input.ndim == 2:
        return input, indices, expected
    return _classes_last(input), indices.reshape(-1), expected


def _classes_last(input):
    """(N, C, d1, ...) -> (N * d1 * ..., C): rows of class scores."""
    order = (0,) + tuple(range(2, input.ndim)) + (1,)
    return input.permute(*order).reshape(-1, input.shape[1])


def _picked_weights(indices, num_classes, weight, ignore_index, dtype, function):
    """(per-row weight of its target class, 0 for ignored rows; safe indices) with targets range-checked."""
    valid = indices != ignore_index
    safe = np.where(valid, indices, 0)
    if safe.size and (safe.min().item() < 0 or safe.max().item() >= num_classes):
        bad = indices[valid & ((indices < 0) | (indices >= num_classes))][0].item()
        raise IndexError(f"{function}(): target {bad} is out of bounds for {num_classes} classes "
                         f"(and is not ignore_index={ignore_index})")
    row_weights = valid.astype(dtype) if weight is None else weight[safe] * valid
    return row_weights, safe, valid


def _reduce(losses, reduction, divisor):
    if reduction == "none":
        return losses
    total = losses.sum()
    return total if reduction == "sum" else total / divisor


def _weight_array(weight, num_classes, input, function):
    """The class weights as an array of input's dtype on its device (or None)."""
    if weight is None:
        return None
    data = weight._data if isinstance(weight, Tensor) else host_data_on_device_of(weight, input)
    if data.shape != (num_classes,):
        raise ValueError(f"{function}(): weight must have shape ({num_classes},) (one per class), got {data.shape}")
    return as_dtype(data, input.dtype)


def _nll_rows(log_probs, indices, weight, ignore_index, reduction, function):
    rows = log_probs.shape[0]
    row_weights, safe, _ = _picked_weights(indices, log_probs.shape[1], weight, ignore_index, log_probs.dtype,
                                           function)
    picked = log_probs[np.arange(rows, like=safe), safe]
    return _reduce(-(picked * row_weights), reduction, row_weights.sum())  # row_weights has log_probs' dtype


def nll_loss(input: Tensor, target: Any, weight: Any = None, size_average: bool | None = None, ignore_index: int = -100,
             reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """-input[i, target[i]] * weight[target[i]] for log-probabilities input; mean divides by the weights summed
    over the non-ignored targets."""
    reduction = check_reduction(reduction, size_average, reduce)
    rows, indices, none_shape = _class_rows(input, target, "nll_loss")
    weight = _weight_array(weight, rows.shape[1], rows, "nll_loss")
    loss = _nll_rows(rows, indices, weight, ignore_index, reduction, "nll_loss")
    return loss.reshape(none_shape) if reduction == "none" else loss


def _cross_entropy_weighted(rows, indices, weight, ignore_index, reduction, label_smoothing):
    """PyTorch's class-weighted (and label-smoothed) cross-entropy composed from log_softmax and indexing."""
    log_probs = Softmax.apply(rows, 1, True)
    loss = _nll_rows(log_probs, indices, weight, ignore_index, reduction, "cross_entropy")
    if label_smoothing == 0:
        return loss
    row_weights, _, valid = _picked_weights(indices, rows.shape[1], weight, ignore_index, rows.dtype, "cross_entropy")
    per_class = log_probs if weight is None else log_probs * weight
    smooth = -per_class.sum(1) * valid.astype(rows.dtype)
    smooth = _reduce(smooth, reduction, row_weights.sum())
    return loss * (1 - label_smoothing) + smooth * (label_smoothing / rows.shape[1])


def _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing):
    """Cross-entropy against class probabilities of the input's shape (N, C, ...)."""
    target_shape = tuple(target.shape) if isinstance(target, Tensor) else np.shape(target)
    if target_shape != tuple(input.shape):
        # Most often class labels held in a float array: say both ways the target can be written.
        raise ValueError(
            f"cross_entropy(): target size {target_shape} does not match input size {tuple(input.shape)}: class "
            f"indices must have an integer dtype, e.g. target.long() or labels.astype(np.int64); a floating point "
            f"target holds class probabilities and must have the input's shape {tuple(input.shape)}")
    target = as_target(target, input, "cross_entropy")
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    class_dim = 1 if input.ndim > 1 else 0
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    log_probs = input.log_softmax(class_dim)
    product = log_probs * target
    if weight is not None:
        weights = _weight_array(weight, classes, input, "cross_entropy")
        product = product * weights.reshape((classes,) + (1,) * (input.ndim - class_dim - 1))
    losses = -product.sum(class_dim)
    return _reduce(losses, reduction, max(input._data.size // max(classes, 1), 1) if input._data.size else 0)


def cross_entropy(input: Tensor, target: Any, weight: Any = None, size_average: bool | None = None,
                  ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits input (N, C) (or (C,), or (N, C, d1, ...)) against class indices or
    class probabilities, with PyTorch's weight, ignore_index, reduction and label_smoothing."""
    if size_average is not None or reduce is not None or reduction not in _REDUCTIONS:
        reduction = check_reduction(reduction, size_average, reduce)
    if type(ignore_index) is not int:
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
            raise TypeError(f"cross_entropy(): ignore_index must be an int, got {type(ignore_index).__name__}")
        ignore_index = int(ignore_index)
    if not isinstance(label_smoothing, (int, float, np.number)) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy(): label_smoothing must be a number between 0.0 and 1.0, got "
                         f"{label_smoothing!r}")
    if (weight is None and isinstance(input, Tensor) and isinstance(target, Tensor) and input._data.ndim == 2
            and input._data.dtype.kind == "f" and target._data.dtype == np.int64):
        # The training step's case: the kernel checks the target's shape and range itself.
        return CrossEntropyFunction.apply(input, target, reduction, ignore_index, float(label_smoothing))
    check_float(input, "input", "cross_entropy")
    target_data = target._data if isinstance(target, Tensor) else np.asarray(target)  # (only its dtype is read)
    if target_data.dtype.kind == "f":
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing)
    rows, indices, none_shape = _class_rows(input, target, "cross_entropy")
    if weight is not None:
        weight = _weight_array(weight, rows.shape[1], rows, "cross_entropy")
        loss = _cross_entropy_weighted(rows, indices, weight, ignore_index, reduction, label_smoothing)
    else:
        loss = CrossEntropyFunction.apply(rows, indices, reduction, ignore_index, float(label_smoothing))
    return loss.reshape(none_shape) if reduction == "none" and loss.shape != none_shape else loss


# --- pointwise losses: mse, l1, binary cross-entropy with logits (native) ----------------------------------------
def _bce_with_logits_target_grad(x, pos_weight):
    """d loss / d target per element: loss = (1 - t) x + (1 + (pw - 1) t) softplus(-x)."""
    if type(x) is np.ndarray:
        softplus_neg = np.logaddexp(0, -x)
    else:  # the same value from the ufuncs every device has: max(-x, 0) + log1p(exp(-|x|))
        softplus_neg = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
    return -x + ((pos_weight - 1) * softplus_neg if pos_weight is not None else 0)


class PointwiseLoss(Function):
    """A native loss over input and target of one shape: name is 'mse_loss', 'l1_loss' or 'bce_with_logits'."""

    @staticmethod
    def forward(ctx: Any, x: Array, target: Array, name: str, reduction: str, pos_weight: Array | None = None) -> Array:
        options = {} if pos_weight is None else {"pos_weight": pos_weight}
        ctx.x, ctx.target, ctx.name, ctx.reduction, ctx.options = x, target, name, reduction, options
        return native.for_array(x).pointwise_loss_forward(name, x, target, reduction, **options)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        need_x, need_target = ctx.needs_input_grad[:2]
        x, target, name = ctx.x, ctx.target, ctx.name
        grad_x = native.for_array(x).pointwise_loss_backward(name, grad, x, target, ctx.reduction, **ctx.options)
        grad_target = None
        if need_target:
            if name == "bce_with_logits":
                scale = grad if ctx.reduction == "none" else grad / (x.size if ctx.reduction == "mean" else 1)
                grad_target = scale * _bce_with_logits_target_grad(x, ctx.options.get("pos_weight"))
            else:  # mse and l1 depend on input - target only
                grad_target = -grad_x
        return (grad_x if need_x else None), grad_target, None, None, None


def _pointwise_loss(name, function, input, target, reduction, pos_weight=None):
    check_float(input, "input", function)
    target = as_target(target, input, function)
    return PointwiseLoss.apply(input, target, name, reduction, pos_weight)


def mse_loss(input: Tensor, target: Any, size_average: bool | None = None, reduce: bool | None = None,
             reduction: str = "mean") -> Tensor:
    """The squared error (input - target) ** 2, averaged (mean), summed (sum) or per element (none)."""
    return _pointwise_loss("mse_loss", "mse_loss", input, target, check_reduction(reduction, size_average, reduce))


def l1_loss(input: Tensor, target: Any, size_average: bool | None = None, reduce: bool | None = None,
            reduction: str = "mean") -> Tensor:
    """The absolute error |input - target|, averaged (mean), summed (sum) or per element (none)."""
    return _pointwise_loss("l1_loss", "l1_loss", input, target, check_reduction(reduction, size_average, reduce))


def _elementwise_weight(weight, input, function):
    data = weight._data if isinstance(weight, Tensor) else host_data_on_device_of(weight, input)
    try:
        np.broadcast_shapes(data.shape, input.shape)
    except ValueError:
        raise ValueError(f"{function}(): weight of shape {data.shape} does not broadcast to input shape "
                         f"{input.shape}") from None
    if isinstance(weight, Tensor):
        return weight.to(input.dtype)
    return Tensor._wrap(as_dtype(data, input.dtype))


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None, size_average: bool | None = None,
                                     reduce: bool | None = None, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """Sigmoid + binary cross-entropy on logits, numerically stable; pos_weight (C,) weighs positives per class."""
    reduction = check_reduction(reduction, size_average, reduce)
    function = "binary_cross_entropy_with_logits"
    check_float(input, "input", function)
    if pos_weight is not None:
        data = pos_weight._data if isinstance(pos_weight, Tensor) else host_data_on_device_of(pos_weight, input)
        classes = input.shape[-1] if input.ndim else 1
        if data.ndim > 1 or data.size not in (1, classes):
            raise ValueError(f"{function}(): pos_weight must have shape ({classes},) (one per class, the input's "
                             f"last dimension), got {data.shape}")
        pos_weight = native.for_array(data).contiguous(np.broadcast_to(as_dtype(data, input.dtype), (classes,)))
    if weight is None:
        return _pointwise_loss("bce_with_logits", function, input, target, reduction, pos_weight)
    losses = _pointwise_loss("bce_with_logits", function, input, target, "none", pos_weight)
    losses = losses * _elementwise_weight(weight, input, function)
    return _reduce(losses, reduction, losses._data.size)


class BinaryCrossEntropy(Function):
    """-(t log p + (1 - t) log(1 - p)) with both logs clamped at -100, as PyTorch (NumPy: no kernel needed)."""

    @staticmethod
    def forward(ctx: Any, p: Array, target: Array) -> Array:
        if p.size and (p.min().item() < 0 or p.max().item() > 1):
            raise RuntimeError("binary_cross_entropy(): all elements of input should be between 0 and 1")
        with np.errstate(divide="ignore"):
            log_p, log_not_p = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
        ctx.p, ctx.target, ctx.log_ratio = p, target, log_p - log_not_p
        return -(target * log_p + (1 - target) * log_not_p)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        p, target = ctx.p, ctx.target
        grad_p = grad * (p - target) / np.maximum(p * (1 - p), 1e-12)
        return grad_p, -grad * ctx.log_ratio


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None, size_average: bool | None = None,
                         reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities input in [0, 1] against targets of the same shape."""
    reduction = check_reduction(reduction, size_average, reduce)
    check_float(input, "input", "binary_cross_entropy")
    losses = BinaryCrossEntropy.apply(input, as_target(target, input, "binary_cross_entropy"))
    if weight is not None:
        losses = losses * _elementwise_weight(weight, input, "binary_cross_entropy")
    return _reduce(losses, reduction, losses._data.size)


__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy_with_logits",
           "binary_cross_entropy"]
