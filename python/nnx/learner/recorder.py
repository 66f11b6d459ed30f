"""Recorder: the history of a fit (per-batch lr, momentum and smoothed loss; per-epoch losses and
metrics) and its plots. Added to every Learner as learn.recorder.

losses are fastai's: the training loss smoothed by an exponential moving average (beta=0.98, with
bias correction), one value per training batch. values holds one row per epoch:
[train_loss, valid_loss, *metrics], train_loss being the smoothed loss at the end of the epoch.
"""
import math
import time

from ..metrics import Metric, to_numpy
from .callback import Callback
from .hypers import get_hyper

__all__ = ["Recorder", "AvgLoss", "AvgSmoothLoss"]


class AvgLoss(Metric):
    """Mean of the loss over a phase, weighted by batch size (the loss being a per-batch mean)."""

    name = "loss"

    def reset(self):
        self.total, self.count = 0.0, 0

    def accumulate(self, loss, batch_size):
        self.total += loss * batch_size
        self.count += batch_size

    @property
    def value(self):
        return self.total / self.count if self.count else float("nan")


class AvgSmoothLoss(Metric):
    """Exponential moving average of the loss with bias correction, over the whole fit."""

    name = "smooth_loss"

    def __init__(self, beta=0.98):
        self.beta = beta
        self.reset()

    def reset(self):
        self.average, self.count = 0.0, 0

    def accumulate(self, loss):
        self.count += 1
        self.average = self.beta * self.average + (1 - self.beta) * loss

    @property
    def value(self):
        return self.average / (1 - self.beta**self.count) if self.count else float("nan")


class Recorder(Callback):
    """Records lrs, moms and (smoothed) losses per training batch, and values per epoch."""

    order = 50

    def __init__(self, beta=0.98):
        self.loss = AvgLoss()
        self.smooth_loss = AvgSmoothLoss(beta)
        self.lrs, self.moms, self.losses, self.iters, self.values, self.hps = [], [], [], [], [], {}
        self.log = []

    @property
    def metric_names(self):
        return ["epoch", "train_loss", "valid_loss", *(m.name for m in self.learn.metrics), "time"]

    def before_fit(self):
        self.lrs, self.moms, self.losses, self.iters, self.values, self.hps = [], [], [], [], [], {}
        self.smooth_loss.reset()
        self.learn.smooth_loss = float("nan")

    def before_epoch(self):
        self.epoch_start = time.perf_counter()
        self.log = [self.learn.epoch]
        self.train_value = float("nan")
        # Validation accumulators start here rather than in before_validate, which a callback may cancel.
        self.loss.reset()
        for metric in self.learn.metrics:
            metric.reset()

    def after_batch(self):
        learn = self.learn
        if learn.yb is None:
            return
        if learn.training:
            self.smooth_loss.accumulate(learn.loss)
            learn.smooth_loss = self.smooth_loss.value
            self.losses.append(learn.smooth_loss)
            self.lrs.append(get_hyper(learn.opt, "lr"))
            mom = get_hyper(learn.opt, "mom")
            self.moms.append(float("nan") if mom is None else mom)
            return
        batch_size = len(learn.yb)
        self.loss.accumulate(learn.loss, batch_size)
        pred, targ = to_numpy(learn.pred), to_numpy(learn.yb)
        for metric in learn.metrics:
            metric.accumulate(pred, targ)

    def after_train(self):
        self.train_value = self.smooth_loss.value

    def after_epoch(self):
        learn = self.learn
        validated = learn.dls.valid is not None and self.loss.count > 0
        valid_values = [self.loss.value, *(m.value for m in learn.metrics)] if validated else \
            [float("nan")] * (1 + len(learn.metrics))
        learn.final_record = [self.train_value, *valid_values]
        self.values.append(learn.final_record)
        self.iters.append(self.smooth_loss.count)
        self.log = [learn.epoch, *learn.final_record, time.perf_counter() - self.epoch_start]

    # ---- plots (matplotlib is optional: imported only here) ----

    def plot_loss(self, skip_start=5, with_valid=True):
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

    def plot_sched(self):
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

    def plot_lr_find(self, skip_end=5, suggestions=None):
        """Smoothed loss against learning rate (log scale) after learn.lr_find(), with its suggestions
        ({name: (suggested lr, (lr, loss) of the point to mark)}, by default those lr_find made)."""
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


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "plotting needs matplotlib, which is not installed: pip install matplotlib") from error
    return plt
