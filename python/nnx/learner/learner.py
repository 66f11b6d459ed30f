"""Learner: fastai's training loop over a model, DataLoaders, a loss and an optimizer.

The loop is a chain of small methods, fit -> epoch -> train/validate -> batch, each wrapped in
before/after events (callback.py) with a cancel exception; bookkeeping, recording, schedules and the
progress display are callbacks. fit_one_cycle and lr_find are a few lines over ParamScheduler.

Every Learner also installs the callbacks of guards.py: a NaN or infinite training loss stops the fit before its
optimizer step (NonFiniteLossError names the epoch and batch; the weights and buffers are those of the last finite
step), Ctrl-C lets the current batch finish, ends the fit cleanly and returns (learn.interrupted is True), and on a
GPU the training losses stay on the device until read together. Prediction (get_preds, predict) is inference.py.

On a GPU the loop waits for the device only where a guarantee needs it: the loss guard reads each training
batch's loss before its step (turn the guard off, stop_on_nonfinite_loss = False, and nothing waits per
batch); learn.loss and learn.smooth_loss are read when asked for, and the Recorder reads an epoch's losses,
predictions and targets together.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from .. import optim
from ..autograd import no_grad
from ..deferred import is_device_array
from ..metrics import as_metric
from ..tensor import _target_device
from . import checkpoint, inference, placement, validation
from .arguments import as_list, checked_arguments
from .callback import (
    Callback,
    CancelBackwardException,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelStepException,
    CancelTrainException,
    CancelValidException,
    TrainEvalCallback,
)
from .guards import CtrlCCallback, DeferredLossCallback, NonFiniteLossCallback, NonFiniteLossError
from .hypers import check_hyper, set_hyper
from .param_groups import GroupFreezer, build_optimizer, trainable_params
from .progress import ProgressCallback, without_progress
from .recorder import Recorder
from .schedule import ParamScheduler, SuggestedLRs, one_cycle_scheds, run_lr_find

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from ..data import DataLoader, DataLoaders
    from ..device import device as Device
    from ..metrics import Metric
    from ..nn import Module, Parameter
    from ..tensor import Tensor

__all__ = ["Learner", "NonFiniteLossError", "trainable_params"]

# What cbs= takes: a callback, a Callback class (instantiated by the Learner), a list of them, or None.
Callbacks = Union[Callback, type[Callback], Sequence[Union[Callback, type[Callback]]], None]


class Learner:
    """Trains `model` on `dls` (DataLoaders, or a (train, valid) pair of DataLoaders) with `loss_func`.

    The signature is fastai's (v1 and v2), data first: Learner(dls, model, loss_func, ...). The older nnx
    order Learner(model, dls, loss_func, ...) is recognised (an nnx Module given first, DataLoaders second:
    never ambiguous) and accepted as it is, without a warning, so existing scripts keep working.
    loss_func: None takes dls.loss_func when the DataLoaders carry one (fastai's default), else TypeError.
    opt_func(param_groups, lr=...) builds the optimizer (nnx.optim.Adam by default) over the groups
    that splitter(model) returns (default: one group). wd, when given, is written to every group's
    weight_decay: with opt_func=nnx.optim.AdamW that is decoupled weight decay (fastai's true_wd),
    with Adam, SGD or RMSprop it is PyTorch's L2 penalty added to the gradient. With wd=None the
    optimizer's own default applies (0 for Adam, 1e-2 for AdamW).
    wd_bn_bias: nnx's optimizers decay per parameter group, so weight decay reaches bias and normalisation
    parameters too (wd_bn_bias=True, the default here); fastai's False is refused with NotImplementedError
    rather than silently ignored (a splitter that puts them in a group of their own, with its weight_decay
    set to 0 after create_opt, does it).
    train_bn (fastai's): normalisation layers (BatchNorm, LayerNorm, ...) in frozen groups still train.
    metrics: functions of (pred, targ) or nnx.metrics.Metric objects, computed on the validation set.
    cbs: extra callbacks. verbose: show the progress display (on a terminal or in a notebook).
    path, model_dir (fastai's): when path is given, save(name)/load(name) of a relative name use
    path/model_dir/name; without path a name is used as given (relative to the working folder).
    device: where to train ('cuda', 'cpu'); by default dls.device (fastai's), else the model's device.
    The model (and a Module loss) is moved there in place, the DataLoaders yield batches there, and
    batches of other loaders (a list of tensors given to get_preds, say) are moved as they come.

    stop_on_nonfinite_loss (attribute, default True): a NaN or infinite training loss raises
    NonFiniteLossError before the step; False trains on regardless (lr_find does, to see divergence).
    On a GPU the check reads each batch's loss from the device before the step (a wait per batch, so that
    the weights are still those of the last finite step); with False the loop never waits per batch.

    Callbacks every Learner has (besides cbs): TrainEvalCallback, Recorder, DeferredLossCallback,
    NonFiniteLossCallback (the guard above), CtrlCCallback, and ProgressCallback when verbose.
    """

    stop_on_nonfinite_loss = True

    def __init__(self, dls: DataLoaders | tuple[DataLoader, DataLoader | None], model: Module,
                 loss_func: Callable[..., Tensor] | None = None, opt_func: Callable[..., optim.Optimizer] = optim.Adam,
                 lr: float | slice = 1e-3, splitter: Callable[[Module], list[list[Parameter]]] = trainable_params,
                 cbs: Callbacks = None,
                 metrics: Metric | Callable[..., Any] | Sequence[Metric | Callable[..., Any]] | None = None,
                 path: str | os.PathLike[str] | None = None, model_dir: str | os.PathLike[str] = "models",
                 wd: float | None = None, wd_bn_bias: bool = True, train_bn: bool = True,
                 moms: tuple[float, float, float] = (0.95, 0.85, 0.95), verbose: bool = True,
                 device: str | Device | None = None):
        dls, model, loss_func = checked_arguments(dls, model, loss_func, opt_func, wd_bn_bias)
        self.model, self.dls, self.loss_func, self.opt_func = model, dls, loss_func, opt_func
        self.lr, self.wd, self.moms, self.verbose = lr, wd, tuple(moms), verbose
        self.wd_bn_bias, self.train_bn = bool(wd_bn_bias), bool(train_bn)
        self.path = None if path is None else os.fspath(path)
        self.model_dir = os.fspath(model_dir)
        self.splitter = splitter if splitter is not None else trainable_params
        metrics = [] if metrics is None else metrics
        cbs = [] if cbs is None else cbs
        self.metrics = [as_metric(m) for m in (metrics if isinstance(metrics, (list, tuple)) else [metrics])]
        self.opt, self.frozen_idx = None, 0
        self._freezer = GroupFreezer()
        self.training, self.epoch, self.n_epoch, self.start_epoch = False, 0, 1, 0
        self.train_iter, self.pct_train, self.smooth_loss = 0, 0.0, float("nan")
        self.iter = self.n_iter = 0
        self.xb = self.yb = self.pred = self.loss_grad = self.dl = None
        self.loss = float("nan")
        self.interrupted = False
        # What a callback must undo however the fit ends (after_fit does not run when an exception leaves it).
        self.fit_cleanup = contextlib.ExitStack()
        self._device = None if device is None else _target_device(device)
        self._batch_device = None  # where batches are moved to when a loader yields them elsewhere
        self._place_on_device()
        self.cbs = []
        default_cbs = [TrainEvalCallback(), Recorder(), DeferredLossCallback(), NonFiniteLossCallback(),
                       CtrlCCallback()] + ([ProgressCallback()] if verbose else [])
        self.add_cbs(default_cbs + as_list(cbs))
        self._event("after_create")

    # ---- callbacks ----

    def add_cb(self, cb: Callback | type[Callback]) -> Learner:
        """Attach a callback (an instance, or a Callback class to instantiate); also as learn.<cb.name>."""
        if isinstance(cb, type):
            cb = cb()
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be Callback instances, got {cb!r}")
        cb.learn = self
        if not isinstance(getattr(self, cb.name, cb), Callback):
            raise ValueError(f"a callback named {cb.name!r} would hide the Learner attribute of that name: "
                             "override its `name`")
        setattr(self, cb.name, cb)
        self.cbs.append(cb)
        self.cbs.sort(key=lambda c: c.order)  # stable: equal orders keep the order they were added in
        return self

    def add_cbs(self, cbs: Iterable[Callback | type[Callback]]) -> Learner:
        """Attach each callback of cbs (add_cb)."""
        for cb in cbs:
            self.add_cb(cb)
        return self

    def remove_cb(self, cb: Callback) -> Learner:
        """Detach a callback (and its learn.<cb.name> attribute)."""
        if cb in self.cbs:
            self.cbs.remove(cb)
            if getattr(self, cb.name, None) is cb:
                delattr(self, cb.name)
        cb.learn = None
        return self

    @contextlib.contextmanager
    def added_cbs(self, cbs: Callbacks) -> Iterator[None]:
        """Callbacks attached for the duration of a `with` block (e.g. one fit)."""
        cbs = [cb() if isinstance(cb, type) else cb for cb in (cbs or [])]
        self.add_cbs(cbs)
        try:
            yield
        finally:
            for cb in cbs:
                self.remove_cb(cb)

    def _event(self, name):
        for cb in self.cbs:
            cb(name)

    def _with_events(self, body, stage, cancel_exception):
        try:
            self._event(f"before_{stage}")
            body()
        except cancel_exception:
            self._event(f"after_cancel_{stage}")
        self._event(f"after_{stage}")

    # ---- the device ----

    @property
    def device(self) -> Device | None:
        """Where the model trains (an nnx.device): the Learner's device argument, else dls.device, else the
        model's device; None for a model without parameters on CPU loaders."""
        if self._device is not None:
            return self._device
        dls_device = getattr(self.dls, "device", None)
        if dls_device is not None:
            return dls_device
        return placement.model_device(self.model)

    @device.setter
    def device(self, device: str | Device | None) -> None:
        self._device = None if device is None else _target_device(device)
        self._place_on_device()

    def _place_on_device(self):
        """Model, Module loss, optimizer state and DataLoaders on self.device (placement.place)."""
        self._batch_device = placement.place(self.device, self.model, self.loss_func, self.opt, self.dls)

    def _to_batch_device(self, batch_part):
        """A batch's xb or yb on the training device (itself when already there, or when on the CPU)."""
        return placement.to_device(batch_part, self._batch_device)

    # ---- the optimizer and its parameter groups ----

    def create_opt(self) -> optim.Optimizer:
        """Build the optimizer over splitter(model)'s groups, keeping any freeze in place."""
        self._freezer.release()
        self.opt = build_optimizer(self.opt_func, [list(group) for group in self.splitter(self.model)], self.lr)
        if self.wd is not None:
            set_hyper(self.opt, "wd", self.wd)
        set_hyper(self.opt, "lr", self.lr)
        self._apply_freeze()
        return self.opt

    def freeze_to(self, n: int) -> None:
        """Train only the parameter groups from index n on (negative n counts from the end)."""
        if self.opt is None:
            self.create_opt()
        n_groups = len(self.opt.param_groups)
        if not isinstance(n, (int, np.integer)) or not -n_groups <= n <= n_groups:
            raise ValueError(f"freeze_to(n) needs an integer n in [{-n_groups}, {n_groups}], got {n!r}")
        self.frozen_idx = n if n >= 0 else n_groups + n
        self._apply_freeze()

    def freeze(self) -> None:
        """Train only the last parameter group (the head), as for transfer learning."""
        self.freeze_to(-1)

    def unfreeze(self) -> None:
        """Train every parameter group."""
        self.freeze_to(0)

    def _apply_freeze(self):
        """Groups before frozen_idx stop training (param_groups.GroupFreezer); train_bn keeps norms training."""
        self._freezer.apply(self.opt, self.frozen_idx, self.model, self.train_bn)

    # ---- the training loop ----

    def fit(self, n_epoch: int, lr: float | slice | None = None, wd: float | None = None, cbs: Callbacks = None,
            reset_opt: bool = False, start_epoch: int = 0) -> None:
        """Train for n_epoch epochs at a constant lr (a float, or a slice for discriminative rates).

        start_epoch > 0 resumes a fit of n_epoch epochs from that epoch (after learn.load of a
        checkpoint saved at the end of epoch start_epoch - 1): schedules pick up where they were.
        """
        if not isinstance(n_epoch, (int, np.integer)) or n_epoch < 1:
            raise ValueError(f"n_epoch must be a positive integer, got {n_epoch!r}")
        if not 0 <= start_epoch < n_epoch:
            raise ValueError(f"start_epoch must be in [0, n_epoch), got {start_epoch!r} for n_epoch={n_epoch}")
        with self.added_cbs(as_list(cbs)):
            self._place_on_device()
            if reset_opt or self.opt is None:
                self.create_opt()
            wd = self.wd if wd is None else wd
            if wd is not None:
                set_hyper(self.opt, "wd", wd)
            set_hyper(self.opt, "lr", self.lr if lr is None else lr)
            self.n_epoch, self.start_epoch = int(n_epoch), int(start_epoch)
            self.interrupted = False
            with contextlib.ExitStack() as self.fit_cleanup:
                self._fit_catching_keyboard_interrupt()
        guard = getattr(self, "non_finite_loss", None)
        if isinstance(guard, NonFiniteLossCallback) and guard.error is not None:
            error, guard.error = guard.error, None
            raise error  # after after_fit, so that callbacks could close what they opened

    def _fit_catching_keyboard_interrupt(self):
        """Only the Learner sees exceptions: a KeyboardInterrupt ends the fit as cancelled, unless it is the
        second Ctrl-C (CtrlCCallback), which the user meant to stop everything at once."""
        try:
            self._with_events(self._do_fit, "fit", CancelFitException)
        except KeyboardInterrupt:
            ctrl_c = getattr(self, "ctrl_c", None)
            if isinstance(ctrl_c, CtrlCCallback) and ctrl_c.stop_requested:
                raise
            self._end_interrupted_fit()
        finally:
            self.dl = self.xb = self.yb = self.pred = self.loss_grad = None
            self.training = False

    def _end_interrupted_fit(self):
        """A KeyboardInterrupt raised inside a batch (by a callback, or by a Ctrl-C handler other than
        nnx's): that batch is abandoned, the fit ends as if cancelled and returns to the caller."""
        self.interrupted = True
        if self.opt is not None:
            self.opt.zero_grad()
        self._event("after_cancel_fit")
        self._event("after_fit")

    def _do_fit(self):
        for epoch in range(self.start_epoch, self.n_epoch):
            self.epoch = epoch
            self._with_events(self._do_epoch, "epoch", CancelEpochException)

    def _do_epoch(self):
        self.dl = self.dls.train
        self._with_events(self._all_batches, "train", CancelTrainException)
        if self.dls.valid is not None:
            self.dl = self.dls.valid
            with no_grad():
                self._with_events(self._all_batches, "validate", CancelValidException)

    def _all_batches(self):
        self.n_iter = len(self.dl)
        for index, batch in enumerate(self.dl):
            self.iter = index
            xb, yb = inference.split_batch(batch)
            self.xb, self.yb = self._to_batch_device(xb), self._to_batch_device(yb)
            self._with_events(self._do_one_batch, "batch", CancelBatchException)

    def _do_one_batch(self):
        self.pred = self.model(self.xb)
        self._event("after_pred")
        if self.yb is not None:
            self.loss_grad = self.loss_func(self.pred, self.yb)
            self._set_batch_loss(self.loss_grad)
        self._event("after_loss")
        if not self.training or self.yb is None:
            return
        self._with_events(self._backward, "backward", CancelBackwardException)
        self._with_events(self._step, "step", CancelStepException)
        self.opt.zero_grad()

    # ---- the batch loss: a float on the CPU; on a GPU read only when someone asks ----

    @property
    def loss(self) -> float:
        """The batch's loss as a float (fastai's learn.loss, detached). On a GPU it is read from the device the
        first time it is asked for in a batch (which waits for the GPU): the loop itself never asks."""
        value = self._loss_value
        if value is None:
            value = self._loss_value = float(self._loss_array.item())
        return value

    @loss.setter
    def loss(self, value: float) -> None:
        self._loss_value, self._loss_array = value, None

    @property
    def smooth_loss(self) -> float:
        """fastai's learn.smooth_loss: the Recorder's smoothed training loss after the batches run so far (nan
        before any). On a GPU, reading it reads the batch losses still on the device (one transfer)."""
        recorder = getattr(self, "recorder", None)
        if isinstance(recorder, Recorder) and recorder.learn is self:
            return recorder.catch_up()
        return self._smooth_loss

    @smooth_loss.setter
    def smooth_loss(self, value: float) -> None:
        self._smooth_loss = value

    @property
    def unread_loss(self) -> Any | None:
        """The batch's loss as a one-element GPU array while nobody has read it as a float, else None (on the
        CPU the loss is a float at once). DeferredLossCallback and the Recorder keep it unread."""
        return self._loss_array if self._loss_value is None else None

    def _set_batch_loss(self, loss):
        data = getattr(loss, "_data", None)
        if type(data) is np.ndarray or data is None or not is_device_array(data):  # the CPU: a float at once
            self._loss_value, self._loss_array = float(loss.item()), None
            return
        if data.size != 1:
            raise RuntimeError(f"a Tensor with {data.size} elements cannot be converted to Scalar")
        self._loss_value, self._loss_array = None, data

    def _backward(self):
        if self.loss_grad.requires_grad:  # False only when every parameter group is frozen
            self.loss_grad.backward()

    def _step(self):
        self.opt.step()

    # ---- schedules built on ParamScheduler ----

    def fit_one_cycle(self, n_epoch: int, lr_max: float | slice | None = None, div: float = 25.0,
                      div_final: float = 1e5, pct_start: float = 0.25, wd: float | None = None,
                      moms: tuple[float, float, float] | None = None, cbs: Callbacks = None, reset_opt: bool = False,
                      start_epoch: int = 0) -> None:
        """fastai's 1cycle policy: before every batch, at position p = batches done / total, lr follows
        cosine lr_max/div -> lr_max over the first pct_start, then cosine -> lr_max/div_final; the
        momentum (Adam's beta1) follows moms[0] -> moms[1] -> moms[2]. lr_max may be a slice."""
        if self.opt is None:
            self.create_opt()
        moms = self.moms if moms is None else moms
        for mom in moms:  # refused now rather than at the batch where the schedule reaches it
            check_hyper(self.opt, "mom", mom)
        set_hyper(self.opt, "lr", self.lr if lr_max is None else lr_max)
        group_lr_max = np.array([group["lr"] for group in self.opt.param_groups])
        scheds = one_cycle_scheds(group_lr_max, div, div_final, pct_start, moms)
        self.fit(n_epoch, cbs=[ParamScheduler(scheds)] + as_list(cbs), reset_opt=reset_opt, wd=wd,
                 start_epoch=start_epoch)

    def fine_tune(self, epochs: int, base_lr: float = 2e-3, freeze_epochs: int = 1, lr_mult: float = 100,
                  pct_start: float = 0.3, div: float = 5.0, **kwargs: Any) -> None:
        """Transfer learning: train the head (frozen body) for freeze_epochs, then everything for
        epochs with discriminative rates slice(base_lr/2/lr_mult, base_lr/2)."""
        self.freeze()
        self.fit_one_cycle(freeze_epochs, slice(base_lr), pct_start=0.99, **kwargs)
        base_lr /= 2
        self.unfreeze()
        self.fit_one_cycle(epochs, slice(base_lr / lr_mult, base_lr), pct_start=pct_start, div=div, **kwargs)

    def lr_find(self, start_lr: float = 1e-7, end_lr: float = 10, num_it: int = 100,
                stop_div: bool = True) -> SuggestedLRs:
        """Train with an exponentially growing lr for num_it batches (or until the loss diverges),
        restore the model, optimizer and random state, and return SuggestedLRs(valley, slide,
        minimum, steep). learn.recorder.plot_lr_find() plots the run with its suggestions."""
        return run_lr_find(self, start_lr, end_lr, num_it, stop_div)

    def no_bar(self) -> contextlib.AbstractContextManager[None]:
        """fastai's `with learn.no_bar(): learn.fit(...)`: a fit without the progress display (no bar, no
        table); Learner(..., verbose=False) silences every fit."""
        return without_progress(self)

    # ---- validation ----

    def validate(self, ds_idx: int = 1, dl: DataLoader | None = None, cbs: Callbacks = None) -> list[float]:
        """fastai's validate: [valid_loss, *metrics] over dl (default: dls.valid for ds_idx=1, dls.train
        for ds_idx=0), computed by the fit's validation phase (same events, eval mode, no_grad).
        Weights, optimizer, the Recorder's per-epoch values and every random state are left as they were."""
        return validation.validate(self, ds_idx, dl, as_list(cbs))

    # ---- inference (inference.py) ----

    def get_preds(self, dl: DataLoader | Iterable[Any] | None = None,
                  act: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """(predictions, targets) as NumPy arrays over dl (the validation DataLoader by default), in host
        memory whatever the training device (fastai's get_preds also returns CPU tensors).

        Predictions go through act, by default the loss's activation: softmax for cross-entropy,
        sigmoid for BCE-with-logits, none otherwise. targets is None when dl has no targets.
        """
        dl = self.dls.valid if dl is None else dl
        if dl is None:
            raise ValueError("get_preds needs a DataLoader: dl is None and the Learner has no validation set")
        activation = act if act is not None else inference.loss_activation(self.loss_func)
        self._place_on_device()
        return inference.get_preds(self.model, dl, activation, self._to_batch_device)

    def predict(self, X: ArrayLike, batch_size: int = 256) -> np.ndarray:
        """Decoded predictions for the NumPy array X: class indices for cross-entropy, 0/1 for
        BCE-with-logits (probability > 0.5), the model's outputs otherwise."""
        return inference.predict(self, X, batch_size)

    # ---- persistence ----

    def save(self, file: str | os.PathLike[str], with_opt: bool = True) -> str | os.PathLike[str]:
        """Write model, optimizer state (with_opt) and random-generator states to one file, atomically; a
        relative name goes under path/model_dir when the Learner was given a path (fastai's). Returns the file."""
        file = self._checkpoint_file(file)
        checkpoint.save(self, file, with_opt=with_opt)
        return file

    def load(self, file: str | os.PathLike[str], with_opt: bool = True) -> Learner:
        """Restore what save() wrote. The whole file is verified first: a truncated, corrupt or foreign
        file raises nnx.learner.CheckpointError and leaves the Learner untouched."""
        checkpoint.load(self, self._checkpoint_file(file), with_opt=with_opt)
        return self

    def _checkpoint_file(self, file):
        if self.path is None or os.path.isabs(os.fspath(file)):
            return file
        return os.path.join(self.path, self.model_dir, os.fspath(file))

    def __repr__(self):
        opt_name = getattr(self.opt_func, "__name__", self.opt_func)
        return (f"Learner(model={type(self.model).__name__}, opt_func={opt_name}, "
                f"lr={self.lr}, metrics={[m.name for m in self.metrics]}, cbs={[type(c).__name__ for c in self.cbs]})")

