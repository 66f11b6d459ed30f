"""Learner.validate: [valid_loss, *metrics] over a DataLoader, computed by the fit's own validation phase (same
events, eval mode, no_grad) and leaving no trace: weights, optimizer, the loop's attributes, the Recorder's
per-epoch values and every random state are as they were before."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import no_grad
from . import checkpoint
from .callback import CancelValidException
from .progress import without_progress
from .recorder import Recorder

__all__ = ["validate"]

# What one pass of the loop overwrites; validate() puts it back so that a later fit or callback sees no trace.
_LOOP_STATE = ("training", "dl", "xb", "yb", "pred", "loss_grad", "_loss_value", "_loss_array", "iter", "n_iter")


def validate(learn: Any, ds_idx: int, dl: Any, cbs: list[Any]) -> list[float]:
    """learn.validate(ds_idx, dl, cbs) with cbs already a list: see Learner.validate."""
    if not isinstance(ds_idx, (int, np.integer)) or isinstance(ds_idx, bool) or ds_idx not in (0, 1):
        raise ValueError(f"ds_idx must be 0 (training set) or 1 (validation set), got {ds_idx!r}")
    if dl is None:
        dl = _loader_for(learn, ds_idx)
    if len(dl) == 0:
        raise ValueError("validate: the DataLoader yields no batches")
    recorder = getattr(learn, "recorder", None)
    if not isinstance(recorder, Recorder):
        raise RuntimeError("validate reads its results from learn.recorder, which was removed")
    learn._place_on_device()
    saved_rng = checkpoint.capture_random_state(learn, extra_loaders=[dl])
    saved_loop = {name: getattr(learn, name) for name in _LOOP_STATE}
    was_training = learn.model.training
    try:
        with learn.added_cbs(cbs), without_progress(learn), no_grad():
            # The Recorder resets these in before_epoch (before_validate may be cancelled); no epoch here.
            for metric in [recorder.loss, *learn.metrics]:
                metric.reset()
            learn.dl = dl
            learn._with_events(learn._all_batches, "validate", CancelValidException)
    finally:
        learn.model.train(was_training)
        for name, value in saved_loop.items():
            setattr(learn, name, value)
        checkpoint.restore_random_state(learn, saved_rng, extra_loaders=[dl])
    if recorder.loss.count == 0:
        raise ValueError("validate: no batch with targets was evaluated (the DataLoader yields no targets, "
                         "or a callback cancelled the validation)")
    return [recorder.loss.value, *(metric.value for metric in learn.metrics)]


def _loader_for(learn: Any, ds_idx: int) -> Any:
    dl = learn.dls.train if ds_idx == 0 else learn.dls.valid
    if dl is None:
        raise ValueError(f"validate: the Learner has no {'training' if ds_idx == 0 else 'validation'} set "
                         f"(ds_idx={ds_idx}); pass a DataLoader as dl")
    return dl
