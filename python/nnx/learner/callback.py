"""Callbacks: the events the Learner's training loop fires, the exceptions that cancel a stage, and the
train/eval bookkeeping (itself a callback, as in fastai).

A callback is an object with methods named after events (`before_fit`, `after_batch`, ...). The
Learner calls them in ascending `order`. A callback can read and change anything on `self.learn`
(model, opt, xb, yb, pred, loss, epoch, iter, training, ...) and can raise a Cancel*Exception to
skip the rest of a stage: `after_cancel_<stage>` then fires, then `after_<stage>` as usual.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .learner import Learner

__all__ = [
    "EVENTS", "Callback", "TrainEvalCallback",
    "CancelFitException", "CancelEpochException", "CancelTrainException", "CancelValidException",
    "CancelBatchException", "CancelBackwardException", "CancelStepException",
]

# In the order a fit fires them. after_cancel_<stage> fires only when that stage was cancelled.
EVENTS = (
    "after_create",
    "before_fit",
    "before_epoch",
    "before_train",
    "before_batch", "after_pred", "after_loss",
    "before_backward", "after_cancel_backward", "after_backward",
    "before_step", "after_cancel_step", "after_step",
    "after_cancel_batch", "after_batch",
    "after_cancel_train", "after_train",
    "before_validate", "after_cancel_validate", "after_validate",
    "after_cancel_epoch", "after_epoch",
    "after_cancel_fit", "after_fit",
)

# Events inside the batch loop: a callback with run_train=False (or run_valid=False) skips them
# during training (or validation).
INNER_LOOP_EVENTS = frozenset((
    "before_batch", "after_pred", "after_loss", "before_backward", "after_cancel_backward",
    "after_backward", "before_step", "after_cancel_step", "after_step", "after_cancel_batch", "after_batch",
))


class CancelFitException(Exception):
    """Raised by a callback to stop training; after_cancel_fit then after_fit still run."""


class CancelEpochException(Exception):
    """Raised by a callback to skip the rest of the current epoch."""


class CancelTrainException(Exception):
    """Raised by a callback to skip the rest of the training phase of this epoch."""


class CancelValidException(Exception):
    """Raised by a callback to skip the rest of the validation phase of this epoch."""


class CancelBatchException(Exception):
    """Raised by a callback to skip the rest of the current batch (no backward or step if not yet done)."""


class CancelBackwardException(Exception):
    """Raised in before_backward to skip the backward pass of this batch."""


class CancelStepException(Exception):
    """Raised in before_step to skip the optimizer step of this batch."""


def _snake_case(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Callback:
    """Base class: override the events you need. Lower `order` runs first.

    `name` is the attribute the Learner exposes it under (Recorder -> learn.recorder,
    SaveModelCallback -> learn.save_model).
    """

    order = 0
    run_train = True
    run_valid = True
    learn: Learner | None = None  # set by Learner.add_cb

    @property
    def name(self) -> str:
        """The attribute the Learner exposes this callback as: the class name in snake_case, without 'Callback'."""
        class_name = type(self).__name__
        if class_name.endswith("Callback") and class_name != "Callback":
            class_name = class_name[: -len("Callback")]
        return _snake_case(class_name)

    def __call__(self, event: str) -> None:
        method = getattr(self, event, None)
        if method is None:
            return
        if event in INNER_LOOP_EVENTS:
            training = self.learn.training
            if (training and not self.run_train) or (not training and not self.run_valid):
                return
        method()

    def __repr__(self):
        return f"{type(self).__name__}(order={self.order})"


class TrainEvalCallback(Callback):
    """Keeps the loop's counters (train_iter, pct_train) and switches the model between train and eval."""

    order = -10
    run_valid = False

    def before_fit(self) -> None:
        """Set the epoch, train_iter and pct_train counters where the fit starts."""
        learn = self.learn
        learn.epoch = learn.start_epoch
        learn.train_iter = learn.start_epoch * len(learn.dls.train)
        learn.pct_train = learn.start_epoch / learn.n_epoch

    def before_train(self) -> None:
        """Put the model in training mode and update pct_train."""
        learn = self.learn
        learn.pct_train = learn.epoch / learn.n_epoch
        learn.model.train()
        learn.training = True

    def after_batch(self) -> None:
        """Advance pct_train and train_iter by one training batch."""
        learn = self.learn
        learn.pct_train += 1.0 / (learn.n_iter * learn.n_epoch)
        learn.train_iter += 1

    def before_validate(self) -> None:
        """Put the model in evaluation mode."""
        self.learn.model.eval()
        self.learn.training = False
