"""The callbacks every Learner installs around its loop: a GPU's training losses read together, a NaN/inf training
loss stopped before its optimizer step, and Ctrl-C finishing the current batch.

Each is an ordinary Callback (learn.deferred_loss, learn.non_finite_loss, learn.ctrl_c). Their `order` puts them
where the loop used to do this work itself: the first two run before every other callback of their events, the
Ctrl-C check after every other callback's after_batch, so that what other callbacks see does not change.
"""
from __future__ import annotations

import math
import signal
import threading
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..deferred import DeviceScalars
from ..tensor import Tensor
from .callback import Callback, CancelFitException

__all__ = ["NonFiniteLossError", "DeferredLossCallback", "NonFiniteLossCallback", "CtrlCCallback"]

# Runs before every callback that does not ask for an even lower order (TrainEvalCallback is -10).
FIRST = -1000
# Runs after every callback that does not ask for an even higher order (trackers are 60-63).
LAST = 1000


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the fit stopped before that batch's optimizer step."""


class DeferredLossCallback(Callback):
    """On a GPU, keeps each training batch's loss on the device, so that the loop never waits for it; the Recorder
    reads an epoch's losses in one transfer (read()) when it or a user asks for them. On the CPU it does nothing.

    It queues the loss first thing in after_loss, so that a batch a later callback cancels there is recorded too."""

    order = FIRST
    run_valid = False

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """A new training phase: the losses read to the host (floats, in batch order), those still on the device."""
        self.read_losses: list[float] = []
        self.unread_losses = DeviceScalars()
        self.queued = False  # whether this batch's loss went to unread_losses

    def before_train(self) -> None:
        """Start a new list of the training phase's losses."""
        self.reset()

    def before_batch(self) -> None:
        """Forget the previous batch's loss."""
        self.queued = False

    def after_loss(self) -> None:
        """Queue a training batch's loss while it is still on the device."""
        learn = self.learn
        unread = learn.unread_loss if learn.yb is not None else None  # (no targets: no loss this batch)
        if unread is not None:
            self.unread_losses.append(unread)
            self.queued = True

    def read(self) -> list[float]:
        """This training phase's queued losses so far, as floats: those still on the device in one transfer."""
        if self.unread_losses:
            self.read_losses.extend(self.unread_losses.read().tolist())
        return self.read_losses


_NONFINITE_ADVICE = ("Lower the learning rate, clip gradients (GradientClip), check the data for NaN/inf, or set "
                     "learn.stop_on_nonfinite_loss = False to train on regardless.")


class NonFiniteLossCallback(Callback):
    """Stops the fit when a training loss is NaN or infinite, before that batch's backward pass and step, while
    learn.stop_on_nonfinite_loss is True; Learner.fit raises `error` (NonFiniteLossError) once after_fit has run.

    The forward pass updates buffers (BatchNorm's running statistics) before the loss is seen: they are kept before
    each guarded batch and put back, so the model is that of the last finite step, buffers included. Reading the
    loss makes a GPU wait for it: that wait per batch is the price of the guarantee."""

    order = FIRST
    run_valid = False

    def __init__(self) -> None:
        self.error: NonFiniteLossError | None = None
        self.buffer_slots: list[tuple[Any, str]] | None = None  # found once per fit
        self.buffers_before_batch: list[tuple[Any, str, Tensor, Any]] | None = None

    def before_fit(self) -> None:
        """Forget the previous fit's error and buffer snapshots."""
        self.error, self.buffer_slots, self.buffers_before_batch = None, None, None

    def before_batch(self) -> None:
        """Copy the model's buffers before a guarded training batch (its forward pass may update them)."""
        learn = self.learn
        if not (learn.stop_on_nonfinite_loss and learn.yb is not None):
            self.buffers_before_batch = None
            return
        if self.buffer_slots is None:
            self.buffer_slots = _buffer_slots(learn.model)
        self.buffers_before_batch = _snapshot_buffers(self.buffer_slots)

    def before_backward(self) -> None:
        """Raise NonFiniteLossError, buffers restored, when the training loss is NaN or infinite."""
        learn = self.learn
        if learn.stop_on_nonfinite_loss and not math.isfinite(learn.loss):
            learn.opt.zero_grad()
            _restore_buffers(self.buffers_before_batch)
            self.error = NonFiniteLossError(
                f"the training loss is {learn.loss} at epoch {learn.epoch}, batch {learn.iter} (of {learn.n_iter}; "
                f"both counted from 0): training stopped before this batch's optimizer step, so the model keeps the "
                "weights and buffers (BatchNorm statistics) of the last finite step. " + _NONFINITE_ADVICE)
            raise CancelFitException()

    def after_fit(self) -> None:
        """Drop the buffer snapshots."""
        self.buffer_slots = self.buffers_before_batch = None


class CtrlCCallback(Callback):
    """While a fit runs, a first Ctrl-C (SIGINT) only asks the loop to stop after the current batch (which finishes,
    step included); the fit then ends as cancelled, returns, and learn.interrupted is True. A second Ctrl-C raises
    KeyboardInterrupt at once. Only in the main thread (where signals arrive) and only when Python's default handler
    is installed: a handler the user set up stays in charge."""

    order = LAST

    def __init__(self) -> None:
        self.stop_requested = False

    def before_fit(self) -> None:
        """Install the Ctrl-C handler that asks the loop to stop after the current batch (main thread, default
        handler only)."""
        self.stop_requested = False
        if threading.current_thread() is not threading.main_thread() or \
                signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return
        signal.signal(signal.SIGINT, self._request_stop)
        # after_fit does not run when an exception leaves the fit: the Learner's fit_cleanup runs in any case.
        self.learn.fit_cleanup.callback(signal.signal, signal.SIGINT, signal.default_int_handler)

    def _request_stop(self, signum: int, frame: Any) -> None:
        if self.stop_requested:  # the second Ctrl-C: the user wants out now
            raise KeyboardInterrupt
        self.stop_requested = True
        if self.learn.verbose:
            print("\nCtrl-C: stopping after the current batch (press Ctrl-C again to stop at once)")

    def after_batch(self) -> None:
        """End the fit (CancelFitException) when Ctrl-C was pressed during the batch."""
        if self.stop_requested:  # Ctrl-C arrived during this batch, which has now finished
            self.learn.interrupted = True
            raise CancelFitException()

    def after_fit(self) -> None:
        """Say where training stopped when Ctrl-C interrupted it (the handler itself is put back by fit_cleanup)."""
        learn = self.learn
        if learn.interrupted and learn.verbose:
            print(f"Training interrupted (epoch {learn.epoch}, batch {learn.iter}): the model and the recorder hold "
                  "the state after the last completed batch.")


def _buffer_slots(model: Any) -> list[tuple[Any, str]]:
    """(module, name) of every buffer of the model ([] when it has none, or is no Module)."""
    modules = getattr(model, "modules", None)
    if modules is None:
        return []
    return [(module, name) for module in modules() for name in getattr(module, "_buffers", {})]


def _snapshot_buffers(slots: list[tuple[Any, str]]) -> list[tuple[Any, str, Tensor, Any]]:
    """(module, name, buffer, copy of its data) for each slot holding a Tensor: a NumPy copy on the CPU (about a
    microsecond per BatchNorm buffer), a device clone otherwise."""
    snapshot = []
    for module, name in slots:
        buffer = module._buffers.get(name)
        if isinstance(buffer, Tensor):
            data = buffer._data
            copy = data.copy() if type(data) is np.ndarray else buffer.detach().clone()
            snapshot.append((module, name, buffer, copy))
    return snapshot


def _restore_buffers(snapshot: list[tuple[Any, str, Tensor, Any]] | None) -> None:
    """Put back what _snapshot_buffers took, into the same buffer objects (references to them stay valid); a buffer
    the forward pass replaced by another Tensor is replaced back by the original."""
    with no_grad():
        for module, name, buffer, saved in snapshot or ():
            if isinstance(saved, np.ndarray):
                np.copyto(buffer._data, saved)
            else:
                buffer.copy_(saved)
            if module._buffers.get(name) is not buffer:
                setattr(module, name, buffer)  # Module.__setattr__ keeps the buffer registered
