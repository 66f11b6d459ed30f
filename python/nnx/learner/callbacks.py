"""Ready-made callbacks with fastai's names: early stopping, keeping the best model, stopping on NaN,
logging epochs to CSV, and gradient clipping."""
from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..nn.utils import clip_grad_norm_
from . import checkpoint
from .callback import Callback, CancelFitException
from .progress import format_time

__all__ = ["TrackerCallback", "EarlyStoppingCallback", "SaveModelCallback", "TerminateOnNaNCallback",
           "CSVLogger", "GradientClip"]


class TrackerCallback(Callback):
    """Follows one recorded value (monitor: 'valid_loss', 'train_loss' or a metric's name) across epochs,
    setting self.best and self.new_best. comp defaults to np.less for losses and error rates and to
    np.greater otherwise; an improvement must beat the best by more than min_delta."""

    order = 60

    def __init__(self, monitor: str = "valid_loss", comp: Callable[[Any, Any], Any] | None = None,
                 min_delta: float = 0.0, reset_on_fit: bool = True):
        if comp is None:
            comp = np.less if ("loss" in monitor or "error" in monitor) else np.greater
        self.monitor, self.comp, self.reset_on_fit = monitor, comp, reset_on_fit
        self.min_delta = -abs(min_delta) if comp is np.less else abs(min_delta)
        self.best = None

    def before_fit(self) -> None:
        """Find the monitored column and reset the best value (with reset_on_fit)."""
        names = self.learn.recorder.metric_names[1:-1]  # the recorded values, without epoch and time
        if self.monitor not in names:
            raise ValueError(f"{type(self).__name__}: monitor={self.monitor!r} is not recorded; "
                             f"choose one of {names}")
        self.index = names.index(self.monitor)
        if self.reset_on_fit or self.best is None:
            self.best = math.inf if self.comp is np.less else -math.inf
        self.new_best = False

    def after_epoch(self) -> None:
        """Compare this epoch's monitored value with the best: sets new_best (and best)."""
        value = self.learn.recorder.values[-1][self.index]
        self.new_best = bool(self.comp(value - self.min_delta, self.best))
        if self.new_best:
            self.best = value


class EarlyStoppingCallback(TrackerCallback):
    """Stops training when `monitor` has not improved for `patience` epochs."""

    order = TrackerCallback.order + 3

    def __init__(self, monitor: str = "valid_loss", comp: Callable[[Any, Any], Any] | None = None,
                 min_delta: float = 0.0, patience: int = 1, reset_on_fit: bool = True):
        super().__init__(monitor, comp, min_delta, reset_on_fit)
        self.patience = patience
        self.stopped_epoch = None

    def before_fit(self) -> None:
        """Reset the count of epochs without improvement."""
        super().before_fit()
        self.wait, self.stopped_epoch = 0, None

    def after_epoch(self) -> None:
        """Stop the fit (CancelFitException) after patience epochs without improvement."""
        super().after_epoch()
        self.wait = 0 if self.new_best else self.wait + 1
        if self.wait >= self.patience:
            self.stopped_epoch = self.learn.epoch
            if self.learn.verbose:
                print(f"No improvement since epoch {self.learn.epoch - self.wait}: early stopping")
            raise CancelFitException()


class SaveModelCallback(TrackerCallback):
    """Saves the model whenever `monitor` improves and reloads the best one at the end of the fit.

    fname=None keeps the best state in memory; a path writes it there with Learner.save (with the
    optimizer when with_opt). every_epoch=True saves `<fname stem>_<epoch><suffix>` after every
    epoch instead (no reload); at_end=True saves once after the fit instead of reloading the best.
    """

    order = TrackerCallback.order + 1

    def __init__(self, monitor: str = "valid_loss", comp: Callable[[Any, Any], Any] | None = None,
                 min_delta: float = 0.0, fname: str | os.PathLike[str] | None = None, every_epoch: bool = False,
                 at_end: bool = False, with_opt: bool = False, reset_on_fit: bool = True):
        if (every_epoch or at_end) and fname is None:
            raise ValueError("SaveModelCallback: every_epoch and at_end need fname (a file path)")
        super().__init__(monitor, comp, min_delta, reset_on_fit)
        self.fname, self.every_epoch, self.at_end, self.with_opt = fname, every_epoch, at_end, with_opt
        self.best_epoch, self.saved = None, None

    def before_fit(self) -> None:
        """Forget the best epoch and state of an earlier fit."""
        super().before_fit()
        self.best_epoch, self.saved = None, None

    def after_epoch(self) -> None:
        """Save the model when the monitored value improved (or every epoch, with every_epoch)."""
        if self.every_epoch:
            root, suffix = os.path.splitext(os.fspath(self.fname))
            self.learn.save(f"{root}_{self.learn.epoch}{suffix}", with_opt=self.with_opt)
            return
        super().after_epoch()
        if self.new_best:
            self.best_epoch = self.learn.epoch
            if self.fname is None:
                self.saved = checkpoint.capture(self.learn, with_opt=self.with_opt)
            else:
                self.learn.save(self.fname, with_opt=self.with_opt)

    def after_fit(self) -> None:
        """Reload the best model (or, with at_end, save the final one)."""
        if self.at_end:
            self.learn.save(self.fname, with_opt=self.with_opt)
        elif not self.every_epoch and self.best_epoch is not None:
            # The random state is left where training got to: reloading weights should not rewind it.
            if self.fname is None:
                checkpoint.restore(self.learn, self.saved, with_opt=self.with_opt, with_rng=False)
            else:
                checkpoint.load(self.learn, self.fname, with_opt=self.with_opt, with_rng=False)


class TerminateOnNaNCallback(Callback):
    """Stops training quietly as soon as a training batch's loss is NaN or infinite, before that batch's
    optimizer step (the model keeps the weights of the last finite step), and sets learn.terminated_on_nan.
    Without it the Learner raises NonFiniteLossError at the same point."""

    order = -9

    def after_loss(self) -> None:
        """Stop the fit when this batch's loss is NaN or infinite."""
        if not math.isfinite(self.learn.loss):
            self.learn.terminated_on_nan = True
            raise CancelFitException()


class CSVLogger(Callback):
    """Writes the epoch table (learn.recorder's columns) to a CSV file, one row per epoch, flushed as it goes."""

    order = 60

    def __init__(self, fname: str | os.PathLike[str] = "history.csv", append: bool = False):
        self.fname, self.append = fname, append
        self.file = None

    def before_fit(self) -> None:
        """Open the file (and write the header unless appending to an existing log)."""
        appending = self.append and os.path.exists(self.fname)
        self.file = open(self.fname, "a" if appending else "w", newline="")
        self.writer = csv.writer(self.file)
        if not appending:
            self.writer.writerow(self.learn.recorder.metric_names)
            self.file.flush()

    def after_epoch(self) -> None:
        """Write the epoch's row and flush it."""
        log = self.learn.recorder.log
        self.writer.writerow([log[0], *(repr(float(v)) for v in log[1:-1]), format_time(log[-1])])
        self.file.flush()

    def after_fit(self) -> None:
        """Close the file."""
        if self.file is not None:
            self.file.close()
            self.file = None

    def read_log(self) -> list[dict[str, str]]:
        """The logged rows as a list of dicts (column name -> string)."""
        with open(self.fname, newline="") as file:
            return list(csv.DictReader(file))


class GradientClip(Callback):
    """Clips the gradients' joint norm to max_norm before every optimizer step (clip_grad_norm_)."""

    def __init__(self, max_norm: float = 1.0, norm_type: float = 2.0):
        self.max_norm, self.norm_type = max_norm, norm_type

    def before_step(self) -> None:
        """Clip the model's gradients to max_norm (clip_grad_norm_)."""
        clip_grad_norm_(self.learn.model.parameters(), self.max_norm, self.norm_type)
