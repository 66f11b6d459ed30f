"""Hyper-parameter schedules as pure functions of the training position, the callback that applies them
before every batch, and the learning-rate finder (fastai's callback/schedule.py semantics).

A schedule is f(pos) with pos in [0, 1] the fraction of training done. `start` and `end` may be
arrays (one value per parameter group), which is how discriminative learning rates are scheduled.
"""
from __future__ import annotations

import collections
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Union

import numpy as np

from . import checkpoint
from .callback import Callback, CancelFitException, CancelValidException
from .hypers import get_hyper, set_hyper
from .progress import without_progress

if TYPE_CHECKING:
    from .learner import Learner

__all__ = [
    "sched_lin", "sched_cos", "sched_no", "sched_exp",
    "SchedLin", "SchedCos", "SchedNo", "SchedExp", "SchedPoly", "combine_scheds", "combined_cos",
    "one_cycle_scheds", "ParamScheduler", "LRFinder", "SuggestedLRs",
    "valley", "slide", "minimum", "steep", "suggest_lrs", "run_lr_find",
]

# A hyper-parameter's value: one float, or one per parameter group (discriminative rates).
Hyper = Union[float, np.ndarray]
HyperLike = Union[float, Sequence[float], np.ndarray]
# A schedule: the value at pos, the fraction of training done (in [0, 1]).
ScheduleFunc = Callable[[float], Hyper]


def sched_lin(start: Hyper, end: Hyper, pos: float) -> Hyper:
    """Linear from start (pos=0) to end (pos=1)."""
    return start + pos * (end - start)


def sched_cos(start: Hyper, end: Hyper, pos: float) -> Hyper:
    """Half a cosine from start to end: f(p) = s + (1 + cos(pi (1 - p))) (e - s) / 2."""
    return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2


def sched_no(start: Hyper, end: Hyper, pos: float) -> Hyper:
    """Constant start."""
    return start


def sched_exp(start: Hyper, end: Hyper, pos: float) -> Hyper:
    """Exponential (geometric) from start to end: start * (end / start) ** pos."""
    return start * (end / start) ** pos


class Schedule:
    """A pure schedule function with its start and end bound: calling it with pos gives the value."""

    def __init__(self, func, start, end):
        self.func = func
        self.start = _as_value(start)
        self.end = _as_value(end)

    def __call__(self, pos):
        return self.func(self.start, self.end, pos)

    def __repr__(self):
        return f"{self.func.__name__}(start={self.start!r}, end={self.end!r})"


def _as_value(value):
    """Floats stay floats; sequences (one value per group) become float64 arrays."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return np.asarray(value, dtype=np.float64)
    return value


def SchedLin(start: HyperLike, end: HyperLike) -> Schedule:  # noqa: N802 - fastai's name
    """Linear schedule from start to end."""
    return Schedule(sched_lin, start, end)


def SchedCos(start: HyperLike, end: HyperLike) -> Schedule:  # noqa: N802
    """Cosine schedule from start to end."""
    return Schedule(sched_cos, start, end)


def SchedNo(start: HyperLike, end: HyperLike) -> Schedule:  # noqa: N802
    """Constant schedule at start."""
    return Schedule(sched_no, start, end)


def SchedExp(start: HyperLike, end: HyperLike) -> Schedule:  # noqa: N802
    """Exponential schedule from start to end."""
    return Schedule(sched_exp, start, end)


def SchedPoly(start: HyperLike, end: HyperLike, power: float) -> ScheduleFunc:  # noqa: N802
    """Polynomial schedule: start + (end - start) * pos ** power."""
    start, end = _as_value(start), _as_value(end)

    def poly(pos):
        return start + (end - start) * pos**power

    return poly


def combine_scheds(pcts: Sequence[float],
                   scheds: Sequence[ScheduleFunc]) -> ScheduleFunc:
    """One schedule that runs scheds[i] over the fraction pcts[i] of training, in turn (pcts sum to 1)."""
    if len(pcts) != len(scheds) or not pcts:
        raise ValueError(f"pcts and scheds must have the same non-zero length, got {len(pcts)} and {len(scheds)}")
    if any(p < 0 for p in pcts) or not math.isclose(sum(pcts), 1.0, abs_tol=1e-9):
        raise ValueError(f"pcts must be non-negative and sum to 1, got {list(pcts)}")
    bounds = np.concatenate([[0.0], np.cumsum(pcts)])
    last_segment = len(scheds) - 1

    def combined(pos):
        segment = min(int(np.nonzero(pos >= bounds)[0].max()), last_segment)
        width = bounds[segment + 1] - bounds[segment]
        segment_pos = (pos - bounds[segment]) / width if width > 0 else 1.0
        return scheds[segment](float(segment_pos))

    return combined


def combined_cos(pct: float, start: HyperLike, middle: HyperLike,
                 end: HyperLike) -> ScheduleFunc:
    """Cosine from start to middle over the first pct of training, then cosine from middle to end."""
    return combine_scheds([pct, 1 - pct], [SchedCos(start, middle), SchedCos(middle, end)])


def one_cycle_scheds(lr_max: HyperLike, div: float = 25.0, div_final: float = 1e5,
                     pct_start: float = 0.25,
                     moms: tuple[float, float, float] = (0.95, 0.85, 0.95)) -> dict[str, ScheduleFunc]:
    """The 1cycle policy: lr warms up lr_max/div -> lr_max, then anneals to lr_max/div_final; the
    momentum moves the other way, moms[0] -> moms[1] -> moms[2]. lr_max may be one value per group."""
    if not 0.0 <= pct_start <= 1.0:
        raise ValueError(f"pct_start must be in [0, 1], got {pct_start}")
    if div <= 0 or div_final <= 0:
        raise ValueError(f"div and div_final must be positive, got div={div}, div_final={div_final}")
    lr_max = _as_value(lr_max)
    return {
        "lr": combined_cos(pct_start, lr_max / div, lr_max, lr_max / div_final),
        "mom": combined_cos(pct_start, *moms),
    }


class ParamScheduler(Callback):
    """Sets each scheduled hyper-parameter ('lr', 'mom', 'wd') from its schedule before every training
    batch, at the position learn.pct_train; records the values used in self.hps."""

    order = 60
    run_valid = False

    def __init__(self, scheds: Mapping[str, ScheduleFunc]):
        self.scheds = dict(scheds)

    def before_fit(self) -> None:
        """Start a new record of the values used (hps)."""
        self.hps = {name: [] for name in self.scheds}

    def before_batch(self) -> None:
        """Set each scheduled hyper-parameter to its schedule's value at learn.pct_train."""
        self._apply(self.learn.pct_train)

    def _apply(self, pos):
        for name, schedule in self.scheds.items():
            set_hyper(self.learn.opt, name, schedule(pos))

    def after_batch(self) -> None:
        """Record the values this batch used."""
        for name in self.scheds:
            self.hps[name].append(get_hyper(self.learn.opt, name))

    def after_fit(self) -> None:
        """Hand the recorded values to learn.recorder.hps."""
        recorder = getattr(self.learn, "recorder", None)
        if recorder is not None:
            recorder.hps = self.hps


class LRFinder(ParamScheduler):
    """Trains with a learning rate growing exponentially from start_lr to end_lr over num_it batches,
    stopping early when the smoothed loss exceeds 4x its best; the Learner restores the model after."""

    def __init__(self, start_lr: float = 1e-7, end_lr: float = 10, num_it: int = 100, stop_div: bool = True):
        if not (0 < start_lr < end_lr):
            raise ValueError(f"lr_find needs 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}")
        super().__init__({"lr": SchedExp(start_lr, end_lr)})
        self.num_it = max(int(num_it), 6)
        self.stop_div = stop_div

    def before_fit(self) -> None:
        """Start the record, with no best loss yet."""
        super().before_fit()
        self.best_loss = float("inf")

    def before_batch(self) -> None:
        """Set the lr for this batch: exponential in train_iter / num_it."""
        self._apply(self.learn.train_iter / self.num_it)

    def after_batch(self) -> None:
        """Stop after num_it batches, or (stop_div) when the smoothed loss exceeds 4x its best."""
        super().after_batch()
        smooth_loss = self.learn.smooth_loss
        if smooth_loss < self.best_loss:
            self.best_loss = smooth_loss
        diverged = smooth_loss > 4 * self.best_loss or not math.isfinite(smooth_loss)
        if self.stop_div and diverged:
            raise CancelFitException()
        if self.learn.train_iter >= self.num_it:
            raise CancelFitException()

    def before_validate(self) -> None:
        """Skip validation: lr_find only trains."""
        raise CancelValidException()


# ---- learning-rate suggestions from an lr_find run (fastai's definitions) ----

SuggestedLRs = collections.namedtuple("SuggestedLRs", ["valley", "slide", "minimum", "steep"])


def valley(lrs: Sequence[float] | np.ndarray,
           losses: Sequence[float] | np.ndarray) -> tuple[float, tuple[float, float]]:
    """Inside the longest run of decreasing losses (a longest decreasing subsequence), the lr a third
    plus a sixth of the way along it. Returns (suggestion, (lr, loss) to plot)."""
    n = len(losses)
    run_length = [1] * n
    best_start, best_end = 0, 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and run_length[i] < run_length[j] + 1:
                run_length[i] = run_length[j] + 1
            if run_length[best_end] < run_length[i]:
                best_end = i
                best_start = best_end - run_length[best_end]
    sections = (best_end - best_start) / 3
    index = best_start + int(sections) + int(sections / 2)
    return float(lrs[index]), (float(lrs[index]), float(losses[index]))


def slide(lrs: Sequence[float] | np.ndarray, losses: Sequence[float] | np.ndarray, lr_diff: int = 15,
          thresh: float = 0.005, adjust_value: float = 1.0) -> tuple[float, tuple[float, float]]:
    """Slides a window of lr_diff points leftwards from the end until the loss gradient at both ends
    agrees within thresh; suggests the lr at the window's left end."""
    losses = np.asarray(losses, dtype=np.float64)
    loss_grad = np.gradient(losses)
    right = -1
    left = right - min(lr_diff, len(losses) - 1)
    local_min_lr = lrs[left]
    while left >= -len(losses) and abs(loss_grad[right] - loss_grad[left]) > thresh:
        local_min_lr = lrs[left]
        right -= 1
        left -= 1
    suggestion = float(local_min_lr) * adjust_value
    return suggestion, (suggestion, _loss_at(suggestion, lrs, losses))


def minimum(lrs: Sequence[float] | np.ndarray,
            losses: Sequence[float] | np.ndarray) -> tuple[float, tuple[float, float]]:
    """One tenth of the lr at the lowest loss; the point to plot is the suggestion itself, on the curve
    (marking the minimum would label it with an lr ten times smaller than where it stands)."""
    index = int(np.argmin(losses))
    suggestion = float(lrs[index]) / 10
    return suggestion, (suggestion, _loss_at(suggestion, lrs, losses))


def _loss_at(lr, lrs, losses):
    """The recorded loss curve at lr, interpolated in log(lr) (the ends held outside the recorded range)."""
    return float(np.interp(np.log10(lr), np.log10(np.asarray(lrs, dtype=np.float64)), losses))


def steep(lrs: Sequence[float] | np.ndarray, losses: Sequence[float] | np.ndarray) -> tuple[float, tuple[float, float]]:
    """The lr where the loss falls fastest per unit of log(lr)."""
    lrs, losses = np.asarray(lrs, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    slopes = (losses[1:] - losses[:-1]) / (np.log(lrs[1:]) - np.log(lrs[:-1]))
    index = int(np.argmin(slopes))
    return float(lrs[index]), (float(lrs[index]), float(losses[index]))


def suggest_lrs(lrs: Sequence[float] | np.ndarray, losses: Sequence[float] | np.ndarray,
                num_it: int) -> tuple[SuggestedLRs, list[tuple[float, float]]]:
    """fastai's four suggestions from recorded (lrs, smoothed losses), skipping the first tenth and the
    last 5 points, and anything from the first non-finite loss on. Returns (SuggestedLRs, plot points)."""
    lrs = np.asarray(lrs, dtype=np.float64)[num_it // 10: -5]
    losses = np.asarray(losses, dtype=np.float64)[num_it // 10: -5]
    not_finite = np.nonzero(~np.isfinite(losses))[0]
    if len(not_finite):
        lrs, losses = lrs[: not_finite[0]], losses[: not_finite[0]]
    if len(losses) < 2:
        raise RuntimeError(
            f"lr_find recorded too few usable points ({len(losses)}) to suggest a learning rate: "
            "the loss diverged almost at once; try a smaller end_lr, a larger num_it, or stop_div=False")
    results = [rule(lrs, losses) for rule in (valley, slide, minimum, steep)]
    return SuggestedLRs(*(lr for lr, _ in results)), [point for _, point in results]


def run_lr_find(learn: Learner, start_lr: float = 1e-7, end_lr: float = 10, num_it: int = 100,
                stop_div: bool = True) -> SuggestedLRs:
    """Learner.lr_find: a fit with LRFinder (no progress display, the loss guard off: divergence is what it looks
    for), then model, optimizer and random state restored; returns SuggestedLRs and keeps the points to mark in
    learn.recorder.lr_find_points."""
    n_epoch = num_it // len(learn.dls.train) + 1
    if learn.opt is None:
        learn.create_opt()
    saved = checkpoint.capture(learn)
    stop_on_nonfinite_loss = learn.stop_on_nonfinite_loss
    try:
        learn.stop_on_nonfinite_loss = False
        with without_progress(learn):
            learn.fit(n_epoch, cbs=[LRFinder(start_lr, end_lr, num_it, stop_div)])
    finally:
        learn.stop_on_nonfinite_loss = stop_on_nonfinite_loss
        learn.opt.zero_grad()
        checkpoint.restore(learn, saved)
    recorder = learn.recorder
    suggestions, points = suggest_lrs(recorder.lrs, recorder.losses, num_it)
    recorder.lr_find_points = {name: (suggested, point)
                               for name, suggested, point in zip(suggestions._fields, suggestions, points)}
    return suggestions
