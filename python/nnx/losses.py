"""fastai's flattened losses (fastai/losses.py): CrossEntropyLossFlat and BCEWithLogitsLossFlat move the class axis
`axis` last, flatten scores and targets, and call PyTorch's loss; so a language model's (bs, seq, vocab) scores meet
their (bs, seq) targets (axis=-1) and a segmentation model's (N, C, H, W) scores their (N, H, W) masks (axis=1).
Each says how its outputs become predictions: `activation` (softmax / sigmoid over the class axis, what get_preds
applies) and `decodes` (argmax over the axis / a threshold, what predict returns), as fastai's BaseLoss."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import nn
from .tensor import Tensor

__all__ = ["CrossEntropyLossFlat", "BCEWithLogitsLossFlat"]


def _move_last(x: Tensor, axis: int) -> Tensor:
    """x with axis swapped with the last one (fastai's transpose(axis, -1)), contiguous for the reshape."""
    if x.ndim == 0:
        return x
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of range for a tensor of {x.ndim} dimensions")
    return x.transpose(axis, -1).contiguous() if axis % x.ndim != x.ndim - 1 else x


def _softmax(x: Any, axis: int) -> Any:
    if isinstance(x, Tensor):
        return x.softmax(axis)
    x = np.asarray(x)
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def _argmax(x: Any, axis: int) -> Any:
    return x.argmax(axis) if isinstance(x, Tensor) else np.asarray(x).argmax(axis=axis)


class CrossEntropyLossFlat(nn.CrossEntropyLoss):
    """fastai's CrossEntropyLossFlat(*args, axis=-1, **kwargs): cross-entropy (nn.CrossEntropyLoss's arguments:
    weight, ignore_index, reduction, label_smoothing) of scores whose class axis is `axis` against integer targets
    without it, both flattened after moving that axis last (fastai transposes the targets alike, so (N, C, H, W)
    scores meet (N, H, W) masks with axis=1). A CrossEntropyLoss, so the Learner treats it as one."""

    y_int = True

    def __init__(self, *args: Any, axis: int = -1, flatten: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.axis, self.flatten = int(axis), bool(flatten)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        scores, targ = _move_last(input, self.axis), _move_last(target, self.axis) if target.ndim > 1 else target
        if self.flatten:
            scores, targ = scores.reshape(-1, scores.shape[-1]), targ.reshape(-1)
        return super().forward(scores, targ)

    def decodes(self, x: Any) -> Any:
        """The predicted classes: argmax over axis (fastai's decodes)."""
        return _argmax(x, self.axis)

    def activation(self, x: Any) -> Any:
        """Probabilities: softmax over axis (fastai's activation; what get_preds returns)."""
        return _softmax(x, self.axis)

    def extra_repr(self) -> str:
        """axis, as in fastai's repr."""
        return f"axis={self.axis}"


class BCEWithLogitsLossFlat(nn.BCEWithLogitsLoss):
    """fastai's BCEWithLogitsLossFlat(*args, axis=-1, floatify=True, thresh=0.5, **kwargs): binary cross-entropy on
    logits (nn.BCEWithLogitsLoss's arguments) of scores and targets of one shape, both flattened after moving axis
    last, targets made float (floatify). With pos_weight the inputs are not flattened (fastai's rule: the per-class
    weight must broadcast against the last axis). decodes: activation > thresh."""

    def __init__(self, *args: Any, axis: int = -1, floatify: bool = True, thresh: float = 0.5,
                 flatten: bool | None = None, **kwargs: Any) -> None:
        if kwargs.get("pos_weight") is not None and flatten is True:
            raise ValueError("`flatten` must be False when using `pos_weight` to avoid a RuntimeError due to shape "
                             "mismatch")
        super().__init__(*args, **kwargs)
        self.axis, self.floatify, self.thresh = int(axis), bool(floatify), float(thresh)
        self.flatten = kwargs.get("pos_weight") is None if flatten is None else bool(flatten)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        scores, targ = _move_last(input, self.axis), _move_last(target, self.axis)
        if self.floatify and targ.dtype != scores.dtype:
            targ = targ.to(scores.dtype)
        if self.flatten:
            scores, targ = scores.reshape(-1), targ.reshape(-1)
        return super().forward(scores, targ)

    def decodes(self, x: Any) -> Any:
        """x > thresh (fastai applies it to the activation's output)."""
        return x > self.thresh

    def activation(self, x: Any) -> Any:
        """Probabilities: the sigmoid of x."""
        return x.sigmoid() if isinstance(x, Tensor) else 1 / (1 + np.exp(-np.asarray(x)))

    def extra_repr(self) -> str:
        """axis and thresh."""
        return f"axis={self.axis}, thresh={self.thresh}"
