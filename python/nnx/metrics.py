"""Metrics with fastai's names: functions of (predictions, targets) on Tensors or NumPy arrays, plus the
Metric classes the Learner uses to accumulate them over a whole validation set.

Argument order is fastai's, `metric(pred, targ)` (scikit-learn's is `(y_true, y_pred)`). A function
metric given to the Learner is averaged over batches weighted by batch size (fastai's AvgMetric),
which is exact for means such as accuracy, mse and mae; rmse and r2_score are not means, so they
are marked `needs_whole_set` and computed once on all predictions (fastai's AccumMetric).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Union

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from .tensor import Tensor

# What a metric accepts for predictions and targets.
ArrayOrTensor = Union["Tensor", ArrayLike]

__all__ = [
    "accuracy", "error_rate", "mse", "rmse", "mae", "r2_score", "F1Score",
    "Metric", "AvgMetric", "AccumMetric", "as_metric",
]
__all__ += ["foreground_acc", "dice", "Dice", "DiceMulti"]  # segmentation (issue 16)


def to_numpy(x: ArrayOrTensor) -> np.ndarray:
    """A NumPy view of a Tensor (detached) or array-like, without copying when it can: a CUDA tensor is
    copied to the host (an explicit read, so metrics see the values the device computed)."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        x = x.detach()
        return x.cpu().numpy() if hasattr(x, "cpu") else x.numpy()
    return np.asarray(x)


def _class_predictions(pred, targ, axis):
    """Predicted labels: argmax over `axis` when pred holds one score per class, else pred itself."""
    pred, targ = to_numpy(pred), to_numpy(targ)
    if pred.ndim > targ.ndim:
        pred = pred.argmax(axis=axis)
    return _flatten_pair(pred, targ)


def _flatten_pair(pred, targ):
    pred, targ = to_numpy(pred).reshape(-1), to_numpy(targ).reshape(-1)
    if pred.shape != targ.shape:
        raise ValueError(f"pred and targ must hold the same number of values, got {pred.size} and {targ.size}")
    if pred.size == 0:
        raise ValueError("pred and targ are empty: a metric needs at least one sample")
    return pred, targ


def accuracy(pred: ArrayOrTensor, targ: ArrayOrTensor, axis: int = -1) -> float:
    """Fraction of correct labels; pred is class scores (argmax over `axis`) or labels."""
    labels, targ = _class_predictions(pred, targ, axis)
    return float(np.mean(labels == targ))


def error_rate(pred: ArrayOrTensor, targ: ArrayOrTensor, axis: int = -1) -> float:
    """1 - accuracy."""
    return 1.0 - accuracy(pred, targ, axis=axis)


def mse(pred: ArrayOrTensor, targ: ArrayOrTensor) -> float:
    """Mean squared error over all values."""
    pred, targ = _flatten_pair(pred, targ)
    diff = pred.astype(np.float64) - targ.astype(np.float64)
    return float(np.mean(diff * diff))


def rmse(pred: ArrayOrTensor, targ: ArrayOrTensor) -> float:
    """Root mean squared error over all values (computed on the whole set by the Learner)."""
    return float(np.sqrt(mse(pred, targ)))


def mae(pred: ArrayOrTensor, targ: ArrayOrTensor) -> float:
    """Mean absolute error over all values."""
    pred, targ = _flatten_pair(pred, targ)
    return float(np.mean(np.abs(pred.astype(np.float64) - targ.astype(np.float64))))


def r2_score(pred: ArrayOrTensor, targ: ArrayOrTensor) -> float:
    """Coefficient of determination, averaged uniformly over output columns like scikit-learn's.

    A column whose targets are constant scores 1.0 when predicted exactly and 0.0 otherwise
    (scikit-learn's force_finite behaviour).
    """
    pred = to_numpy(pred).astype(np.float64)
    targ = to_numpy(targ).astype(np.float64)
    if pred.size != targ.size:
        raise ValueError(f"pred and targ must hold the same number of values, got {pred.size} and {targ.size}")
    targ = targ.reshape(len(targ), -1) if targ.ndim else targ.reshape(1, 1)
    pred = pred.reshape(targ.shape)
    if len(targ) < 2:
        raise ValueError(f"r2_score needs at least two samples, got {len(targ)}")
    residual = ((targ - pred) ** 2).sum(axis=0)
    total = ((targ - targ.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1.0),
                          np.where(residual == 0, 1.0, 0.0))
    return float(scores.mean())


rmse.needs_whole_set = True
r2_score.needs_whole_set = True


class Metric:
    """What the Learner needs of a metric: reset() before validation, accumulate() per batch, value after."""

    name = "metric"

    def reset(self) -> None:
        """Forget what was accumulated (called before each validation pass)."""
        raise NotImplementedError

    def accumulate(self, pred: ArrayOrTensor, targ: ArrayOrTensor) -> None:
        """Take in one batch's predictions and targets."""
        raise NotImplementedError

    @property
    def value(self) -> float:
        """The metric over everything accumulated since reset (nan when nothing was)."""
        raise NotImplementedError


class _FunctionMetric(Metric):
    """A Metric built on a function of (pred, targ), named after it unless `name` is given."""

    def __init__(self, func: Callable[..., float], name: str | None = None) -> None:
        self.func = func
        self.name: str = name or getattr(func, "__name__", type(func).__name__)
        self.reset()


class AvgMetric(_FunctionMetric):
    """Averages func(pred, targ) over batches, weighted by batch size."""

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def accumulate(self, pred: ArrayOrTensor, targ: ArrayOrTensor) -> None:
        batch_size = len(to_numpy(targ))
        self.total += float(self.func(pred, targ)) * batch_size
        self.count += batch_size

    @property
    def value(self) -> float:
        return self.total / self.count if self.count else float("nan")


class AccumMetric(_FunctionMetric):
    """Keeps every prediction and target, and computes func on all of them at the end."""

    def reset(self) -> None:
        self.preds: list[np.ndarray] = []
        self.targs: list[np.ndarray] = []

    def accumulate(self, pred: ArrayOrTensor, targ: ArrayOrTensor) -> None:
        # Copies: a backend may reuse the buffers behind the views it handed out.
        self.preds.append(np.array(to_numpy(pred)))
        self.targs.append(np.array(to_numpy(targ)))

    @property
    def value(self) -> float:
        if not self.preds:
            return float("nan")
        return float(self.func(np.concatenate(self.preds), np.concatenate(self.targs)))


class F1Score(AccumMetric):
    """F1 score of class predictions, like sklearn.metrics.f1_score(targ, pred, average=...).

    average: 'macro' (unweighted mean over the labels present in targ or pred), 'weighted' (weighted
    by each label's support), 'micro' (global counts), or 'binary' (the score of `pos_label`).
    Undefined precision or recall count as 0 (scikit-learn's zero_division=0). Call it on one batch
    (`F1Score()(pred, targ)`) or hand it to the Learner, which accumulates it over the epoch.
    """

    _AVERAGES = ("macro", "weighted", "micro", "binary")

    def __init__(self, average: str = "macro", pos_label: int = 1, axis: int = -1) -> None:
        if average not in self._AVERAGES:
            raise ValueError(f"average must be one of {self._AVERAGES}, got {average!r}")
        self.average, self.pos_label, self.axis = average, pos_label, axis
        super().__init__(self._score, name="f1_score")

    def __call__(self, pred: ArrayOrTensor, targ: ArrayOrTensor) -> float:
        return self._score(pred, targ)

    def accumulate(self, pred: ArrayOrTensor, targ: ArrayOrTensor) -> None:
        labels, targ = _class_predictions(pred, targ, self.axis)
        super().accumulate(labels, targ)

    def _score(self, pred, targ):
        pred, targ = _class_predictions(pred, targ, self.axis)
        labels = np.union1d(pred, targ)
        true_pos = np.array([np.sum((pred == c) & (targ == c)) for c in labels], dtype=np.float64)
        false_pos = np.array([np.sum((pred == c) & (targ != c)) for c in labels], dtype=np.float64)
        false_neg = np.array([np.sum((pred != c) & (targ == c)) for c in labels], dtype=np.float64)
        if self.average == "micro":
            return _f1(true_pos.sum(), false_pos.sum(), false_neg.sum())
        scores = np.array([_f1(t, p, n) for t, p, n in zip(true_pos, false_pos, false_neg)])
        if self.average == "binary":
            if len(labels) > 2:
                raise ValueError(f"average='binary' needs two classes, got labels {labels.tolist()}")
            return float(scores[labels == self.pos_label].sum())
        if self.average == "weighted":
            support = true_pos + false_neg
            return float((scores * support).sum() / support.sum())
        return float(scores.mean())

    def __repr__(self):
        return f"F1Score(average={self.average!r})"


def _f1(true_pos, false_pos, false_neg):
    denominator = 2 * true_pos + false_pos + false_neg
    return float(2 * true_pos / denominator) if denominator else 0.0


# ---- segmentation (fastai/metrics.py): scores (N, C, H, W) against masks (N, H, W) ----

def _seg_pair(inp: ArrayOrTensor, targ: ArrayOrTensor, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(predicted classes, targets) flattened: argmax of inp over axis, targ with a (N, 1, H, W) channel dropped."""
    inp, targ = to_numpy(inp), to_numpy(targ)
    if targ.ndim == inp.ndim and targ.ndim > 1 and targ.shape[1] == 1:
        targ = targ[:, 0]  # fastai's targ.squeeze(1)
    return _flatten_pair(inp.argmax(axis=axis), targ)


def foreground_acc(inp: ArrayOrTensor, targ: ArrayOrTensor, bkg_idx: int = 0, axis: int = 1) -> float:
    """fastai's foreground_acc: accuracy of argmax(inp, axis) over the pixels whose target is not bkg_idx (nan when
    every pixel is background)."""
    pred, targ = _seg_pair(inp, targ, axis)
    keep = targ != bkg_idx
    return float(np.mean(pred[keep] == targ[keep])) if keep.any() else float("nan")


def dice(input: ArrayOrTensor, targs: ArrayOrTensor, iou: bool = False, eps: float = 1e-8) -> float:
    """fastai's dice of one batch, for binary masks: 2 |P & T| / (|P| + |T|) with P = argmax(input, 1), or the
    IoU |P & T| / |P | T| (iou=True); 1 when both are empty. Given to a Learner it is accumulated over the whole
    validation set as fastai's Dice metric (the sums, not a mean of per-batch values)."""
    pred, targ = _seg_pair(input, targs, 1)
    inter, union = float(np.sum(pred * targ, dtype=np.float64)), float(np.sum(pred + targ, dtype=np.float64))
    if union <= 0:
        return 1.0
    return 2.0 * inter / union if not iou else inter / (union - inter + eps)


class Dice(Metric):
    """fastai's Dice(axis=1): the binary Dice coefficient 2 sum(P T) / sum(P + T), P = argmax over axis, both sums
    accumulated over the epoch (nan when nothing was seen; fastai's None)."""

    name = "dice"

    def __init__(self, axis: int = 1) -> None:
        self.axis = axis
        self.reset()

    def reset(self) -> None:
        self.inter, self.union = 0.0, 0.0

    def accumulate(self, pred: ArrayOrTensor, targ: ArrayOrTensor) -> None:
        p, t = _seg_pair(pred, targ, self.axis)
        self.inter += float(np.sum(p * t, dtype=np.float64))
        self.union += float(np.sum(p + t, dtype=np.float64))

    @property
    def value(self) -> float:
        return 2.0 * self.inter / self.union if self.union > 0 else float("nan")


class DiceMulti(Metric):
    """fastai's DiceMulti(axis=1): the Dice of each class c (pixels predicted c against pixels labelled c, sums
    accumulated over the epoch), averaged over the classes seen (a class absent from both counts as nan and is left
    out: fastai's nanmean); the macro F1 of the pixels."""

    name = "dice_multi"

    def __init__(self, axis: int = 1) -> None:
        self.axis = axis
        self.reset()

    def reset(self) -> None:
        self.inter: dict[int, float] = {}
        self.union: dict[int, float] = {}

    def accumulate(self, pred: ArrayOrTensor, targ: ArrayOrTensor) -> None:
        n_classes = to_numpy(pred).shape[self.axis]
        p, t = _seg_pair(pred, targ, self.axis)
        for c in range(n_classes):
            pc, tc = p == c, t == c
            self.inter[c] = self.inter.get(c, 0.0) + float(np.sum(pc & tc))
            self.union[c] = self.union.get(c, 0.0) + float(np.sum(pc)) + float(np.sum(tc))

    @property
    def value(self) -> float:
        scores = [2.0 * self.inter[c] / self.union[c] for c in self.inter if self.union[c] > 0]
        return float(np.mean(scores)) if scores else float("nan")


dice.accumulated_as = Dice  # as_metric makes the Learner accumulate dice over the epoch as fastai's Dice


def as_metric(metric: Metric | Callable[..., float]) -> Metric:
    """The Metric the Learner accumulates for `metric` (a Metric, or a function of (pred, targ))."""
    if isinstance(metric, Metric):
        return metric
    if not callable(metric):
        raise TypeError(f"metrics must be Metric objects or functions of (pred, targ), got {metric!r}")
    if getattr(metric, "accumulated_as", None) is not None:  # (dice: its Metric class sums over the epoch)
        return metric.accumulated_as()
    if getattr(metric, "needs_whole_set", False):
        return AccumMetric(metric)
    return AvgMetric(metric)
