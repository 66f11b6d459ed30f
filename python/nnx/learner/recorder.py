"""Recorder: the history of a fit (per-batch lr, momentum and smoothed loss; per-epoch losses and
metrics) and its plots. Added to every Learner as learn.recorder.

losses are fastai's: the training loss smoothed by an exponential moving average (beta=0.98, with
bias correction), one value per training batch. values holds one row per epoch:
[train_loss, valid_loss, *metrics], train_loss being the smoothed loss at the end of the epoch.

On a GPU nothing is read per batch (each read would make the host wait for the GPU): the batch losses,
validation losses, predictions and targets stay on the device and are read together at the end of each
phase, or sooner when someone asks (learn.smooth_loss, a metric's value); the numbers are the same.
"""
from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..deferred import DeviceBatches, DeviceScalars, is_device_array
from ..metrics import Metric, to_numpy
from .callback import Callback
from .guards import DeferredLossCallback
from .hypers import get_hyper

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Recorder", "AvgLoss", "AvgSmoothLoss"]


class AvgLoss(Metric):
    """Mean of the loss over a phase, weighted by batch size (the loss being a per-batch mean). A loss given
    as a one-element device array is added when the value is read (all such losses in one transfer)."""

    name = "loss"

    def reset(self) -> None:
        self.total, self.count = 0.0, 0
        self._unread, self._unread_sizes = DeviceScalars(), []

    def accumulate(self, loss: float | Any, batch_size: int) -> None:
        if type(loss) is float or not is_device_array(loss):
            if self._unread_sizes:
                self._add_unread()
            self.total += loss * batch_size
        else:
            self._unread.append(loss)
            self._unread_sizes.append(batch_size)
        self.count += batch_size

    def _add_unread(self):
        if self._unread_sizes:
            for loss, batch_size in zip(self._unread.read().tolist(), self._unread_sizes):
                self.total += loss * batch_size
            self._unread_sizes = []

    @property
    def value(self) -> float:
        self._add_unread()
        return self.total / self.count if self.count else float("nan")


class AvgSmoothLoss(Metric):
    """Exponential moving average of the loss with bias correction, over the whole fit."""

    name = "smooth_loss"

    def __init__(self, beta: float = 0.98):
        self.beta = beta
        self.reset()

    def reset(self) -> None:
        self.average, self.count = 0.0, 0

    def accumulate(self, loss: float) -> None:
        self.count += 1
        self.average = self.beta * self.average + (1 - self.beta) * loss

    @property
    def value(self) -> float:
        return self.average / (1 - self.beta**self.count) if self.count else float("nan")


class Recorder(Callback):
    """Records lrs, moms and (smoothed) losses per training batch, and values per epoch."""

    order = 50

    def __init__(self, beta: float = 0.98):
        self.loss = AvgLoss()
        self.smooth_loss = AvgSmoothLoss(beta)
        self.lrs, self.moms, self.losses, self.iters, self.values, self.hps = [], [], [], [], [], {}
        self.log = []
        self._unrecorded = self._consumed = 0  # device losses: batches not yet recorded / losses taken
        self._predictions, self._targets = DeviceBatches(), DeviceBatches()

    @property
    def metric_names(self) -> list[str]:
        """The epoch table's columns: epoch, train_loss, valid_loss, the metrics' names, time."""
        return ["epoch", "train_loss", "valid_loss", *(m.name for m in self.learn.metrics), "time"]

    def before_fit(self) -> None:
        """Clear the history of an earlier fit."""
        self.lrs, self.moms, self.losses, self.iters, self.values, self.hps = [], [], [], [], [], {}
        self.smooth_loss.reset()
        self._unrecorded = self._consumed = 0
        self.learn.smooth_loss = float("nan")

    def before_epoch(self) -> None:
        """Start the epoch's timer and reset the validation loss and metrics."""
        self.epoch_start = time.perf_counter()
        self.log = [self.learn.epoch]
        self.train_value = float("nan")
        # Validation accumulators start here rather than in before_validate, which a callback may cancel.
        self.loss.reset()
        for metric in self.learn.metrics:
            metric.reset()
        self._predictions, self._targets = DeviceBatches(), DeviceBatches()

    def before_train(self) -> None:
        """Start counting this phase's losses still on the device."""
        self._unrecorded = self._consumed = 0  # (DeferredLossCallback starts a new list of device losses)

    def after_batch(self) -> None:
        """Record a training batch's lr, momentum and smoothed loss; add a validation batch to the loss and
        metrics."""
        learn = self.learn
        if learn.yb is None:
            return
        if learn.training:
            self.lrs.append(get_hyper(learn.opt, "lr"))
            mom = get_hyper(learn.opt, "mom")
            self.moms.append(float("nan") if mom is None else mom)
            if self._deferred_losses().queued:  # a GPU's loss: recorded when read (catch_up)
                self._unrecorded += 1
                return
            if self._unrecorded:
                self.catch_up()
            self.smooth_loss.accumulate(learn.loss)
            self.losses.append(self.smooth_loss.value)
            return
        unread = learn.unread_loss
        self.loss.accumulate(learn.loss if unread is None else unread, len(learn.yb))
        if learn.metrics:
            self._accumulate_metrics(learn.pred, learn.yb)

    def catch_up(self) -> float:
        """Record the batches whose losses are still on a GPU, reading them (one transfer for all); returns the
        smoothed loss. learn.smooth_loss calls this."""
        if self._unrecorded:
            losses = self._deferred_losses().read()
            for loss in losses[self._consumed:self._consumed + self._unrecorded]:
                self.smooth_loss.accumulate(loss)
                self.losses.append(self.smooth_loss.value)
            self._consumed += self._unrecorded
            self._unrecorded = 0
        return self.smooth_loss.value

    def _deferred_losses(self):
        """The Learner's DeferredLossCallback, or one that queued nothing (when it was removed)."""
        deferred = getattr(self.learn, "deferred_loss", None)
        return deferred if isinstance(deferred, DeferredLossCallback) else _NOTHING_DEFERRED

    def _accumulate_metrics(self, pred, targ):
        """Metrics see host arrays, batch by batch; device batches are read together later (_read_metrics)."""
        pred_data, targ_data = getattr(pred, "_data", None), getattr(targ, "_data", None)
        if type(pred_data) is not np.ndarray and pred_data is not None and targ_data is not None \
                and is_device_array(pred_data) and is_device_array(targ_data):
            self._predictions.append(pred_data)
            self._targets.append(targ_data)
            return
        if self._predictions:
            self._read_metrics()  # (earlier device batches first: metrics see the batches in order)
        pred, targ = to_numpy(pred), to_numpy(targ)
        for metric in self.learn.metrics:
            metric.accumulate(pred, targ)

    def _read_metrics(self):
        if self._predictions:
            for pred, targ in zip(self._predictions.read(), self._targets.read()):
                for metric in self.learn.metrics:
                    metric.accumulate(pred, targ)

    def after_train(self) -> None:
        """Read the phase's remaining device losses: the epoch's train_loss."""
        self.train_value = self.catch_up()

    def after_validate(self) -> None:
        """Give the metrics the validation batches still on the device."""
        self._read_metrics()

    def after_fit(self) -> None:
        """Record the batches of a fit cancelled during training."""
        self.catch_up()  # a fit cancelled during training: the batches it ran are recorded

    def after_epoch(self) -> None:
        """Append the epoch's [train_loss, valid_loss, *metrics] to values and its row to log."""
        learn = self.learn
        self._read_metrics()
        validated = learn.dls.valid is not None and self.loss.count > 0
        valid_values = [self.loss.value, *(m.value for m in learn.metrics)] if validated else \
            [float("nan")] * (1 + len(learn.metrics))
        learn.final_record = [self.train_value, *valid_values]
        self.values.append(learn.final_record)
        self.iters.append(self.smooth_loss.count)
        self.log = [learn.epoch, *learn.final_record, time.perf_counter() - self.epoch_start]

    # ---- plots (matplotlib is optional: imported only here) ----

    def plot_loss(self, skip_start: int = 5, with_valid: bool = True) -> Figure:
        """Smoothed training loss per batch, and the validation loss at the end of each epoch."""
        plt = _pyplot()
        fig, ax = plt.subplots()
        start = min(skip_start, max(len(self.losses) - 1, 0))
        ax.plot(range(start, len(self.losses)), self.losses[start:], label="train")
        if with_valid and self.values:
            valid = [row[1] for row in self.values]
            ax.plot(self.iters[: len(valid)], valid, label="valid")
        ax.set_xlabel("batch")
        ax.set_ylabel("loss")
        ax.legend()
        return fig

    def plot_sched(self) -> Figure:
        """The learning rate and momentum of the last parameter group, per batch."""
        plt = _pyplot()
        fig, (ax_lr, ax_mom) = plt.subplots(1, 2, figsize=(10, 4))
        ax_lr.plot(self.lrs)
        ax_lr.set_xlabel("batch")
        ax_lr.set_ylabel("lr")
        ax_mom.plot(self.moms)
        ax_mom.set_xlabel("batch")
        ax_mom.set_ylabel("mom")
        return fig

    def plot_lr_find(self, skip_end: int = 5,
                     suggestions: Mapping[str, tuple[float, tuple[float, float]]] | None = None) -> Figure:
        """Smoothed loss against learning rate (log scale) after learn.lr_find(), with its suggestions
        ({name: (suggested lr, (lr, loss) of the point to mark)}, by default those lr_find made), each marked
        at its own learning rate and labelled with it. Returns the matplotlib Figure: in a script, save it
        (fig.savefig("lr_find.png")) or show it (matplotlib.pyplot.show()); a notebook shows it."""
        plt = _pyplot()
        end = len(self.lrs) - skip_end if skip_end and len(self.lrs) > skip_end else len(self.lrs)
        fig, ax = plt.subplots()
        ax.plot(self.lrs[:end], self.losses[:end])
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        points = suggestions if suggestions is not None else getattr(self, "lr_find_points", None)
        if points:
            for name, (suggested, (lr, loss)) in points.items():
                if math.isfinite(lr) and math.isfinite(loss):
                    ax.plot([lr], [loss], "o", label=f"{name}: {suggested:.2e}")
            ax.legend()
        return fig


    # ---- fastai v1 (course-v3) names ----

    def plot(self, skip_start: int = 10, skip_end: int = 5, suggestion: bool = False) -> Figure:
        """fastai v1's recorder.plot(): the lr_find plot (plot_lr_find), without the first skip_start and last
        skip_end points; suggestion=True marks lr_find's suggestions. Returns the Figure."""
        fig = self.plot_lr_find(skip_end=skip_end, suggestions=None if suggestion else {})
        line = fig.axes[0].lines[0]
        line.set_data(line.get_xdata()[skip_start:], line.get_ydata()[skip_start:])
        fig.axes[0].relim()
        fig.axes[0].autoscale_view()
        return fig

    def plot_lr(self, show_moms: bool = False) -> Figure:
        """fastai v1's recorder.plot_lr(): the learning rate per batch (and the momentum with show_moms)."""
        if show_moms:
            return self.plot_sched()
        plt = _pyplot()
        fig, ax = plt.subplots()
        ax.plot(self.lrs)
        ax.set_xlabel("batch")
        ax.set_ylabel("lr")
        return fig

    def plot_losses(self, skip_start: int = 0) -> Figure:
        """fastai v1's recorder.plot_losses(): training and validation losses (plot_loss)."""
        return self.plot_loss(skip_start=skip_start)

    def plot_metrics(self) -> Figure:
        """fastai v1's recorder.plot_metrics(): each metric's value at the end of every epoch, against the batch
        count, one panel per metric."""
        names = [metric.name for metric in self.learn.metrics]
        if not names or not self.values:
            raise ValueError("there are no metrics to plot: give the Learner metrics and fit it first")
        plt = _pyplot()
        fig, axes = plt.subplots(len(names), 1, figsize=(6, 3 * len(names)), squeeze=False)
        for index, (name, ax) in enumerate(zip(names, axes[:, 0])):
            ax.plot(self.iters[:len(self.values)], [row[2 + index] for row in self.values])
            ax.set_xlabel("batch")
            ax.set_ylabel(name)
        return fig


_NOTHING_DEFERRED = DeferredLossCallback()


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            'plotting needs matplotlib, which is not installed: pip install "nnx[plot]" (or pip install matplotlib)'
        ) from error
    return plt
