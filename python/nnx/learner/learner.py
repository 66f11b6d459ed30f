"""Learner: fastai's training loop over a model, DataLoaders, a loss and an optimizer.

The loop is a chain of small methods, fit -> epoch -> train/validate -> batch, each wrapped in
before/after events (callback.py) with a cancel exception; bookkeeping, recording, schedules and the
progress display are callbacks. fit_one_cycle and lr_find are a few lines over ParamScheduler.

Two guards protect a run: a NaN or infinite training loss stops the fit before its optimizer step
(NonFiniteLossError names the epoch and batch; the weights and buffers are those of the last finite step), and
Ctrl-C lets the current batch finish, ends the fit cleanly and returns (learn.interrupted is True).

On a GPU the loop waits for the device only where a guarantee needs it: the loss guard reads each training
batch's loss before its step (turn the guard off, stop_on_nonfinite_loss = False, and nothing waits per
batch); learn.loss and learn.smooth_loss are read when asked for, and the Recorder reads an epoch's losses,
predictions and targets together.
"""
import contextlib
import math
import os
import signal
import threading

import numpy as np

from .. import nn, optim
from ..autograd import no_grad
from ..data import DataLoaders
from ..deferred import DeviceBatches, DeviceScalars, is_device_array
from ..metrics import as_metric, to_numpy
from ..tensor import Tensor, _target_device
from . import checkpoint
from .callback import (Callback, CancelBackwardException, CancelBatchException, CancelEpochException,
                       CancelFitException, CancelStepException, CancelTrainException, CancelValidException,
                       TrainEvalCallback)
from .hypers import check_hyper, set_hyper
from .progress import ProgressCallback
from .recorder import Recorder
from .schedule import LRFinder, ParamScheduler, one_cycle_scheds, suggest_lrs

__all__ = ["Learner", "NonFiniteLossError"]


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the fit stopped before that batch's optimizer step."""


def trainable_params(model):
    """The default splitter: one group of every parameter that requires grad (ones the user froze stay out)."""
    return [[p for p in model.parameters() if p.requires_grad]]


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
    """

    stop_on_nonfinite_loss = True

    def __init__(self, dls, model, loss_func=None, opt_func=optim.Adam, lr=1e-3, splitter=trainable_params,
                 cbs=None, metrics=None, path=None, model_dir="models", wd=None, wd_bn_bias=True, train_bn=True,
                 moms=(0.95, 0.85, 0.95), verbose=True, device=None):
        if _is_old_argument_order(dls, model):
            dls, model = model, dls
        if not callable(model):
            raise TypeError(f"model must be a callable Module, got {type(model).__name__}")
        dls = _as_dataloaders(dls)
        if loss_func is None:
            loss_func = getattr(dls, "loss_func", None)
            if loss_func is None:
                raise TypeError("loss_func is required (e.g. nnx.nn.CrossEntropyLoss()): these DataLoaders carry "
                                "no default loss")
        if not callable(loss_func):
            raise TypeError(f"loss_func must be callable (e.g. nnx.nn.CrossEntropyLoss()), got {loss_func!r}")
        if not callable(opt_func):
            raise TypeError(f"opt_func must be an optimizer class such as nnx.optim.Adam, got {opt_func!r}")
        if not wd_bn_bias:
            raise NotImplementedError("wd_bn_bias=False: nnx's optimizers decay whole parameter groups; give bias "
                                      "and normalisation parameters a group of their own (splitter) and set its "
                                      "weight_decay to 0 instead")
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
        self._frozen_by_learner = {}  # id -> parameter that freeze_to switched off (and unfreeze switches on)
        self.training, self.epoch, self.n_epoch, self.start_epoch = False, 0, 1, 0
        self.train_iter, self.pct_train, self.smooth_loss = 0, 0.0, float("nan")
        self.iter = self.n_iter = 0
        self.xb = self.yb = self.pred = self.loss_grad = self.dl = None
        self.loss = float("nan")
        self._loss_queued = False  # whether this training batch's loss went to _unread_train_losses (a GPU's)
        self._reset_device_losses()
        self.interrupted = self._stop_requested = False
        self._nonfinite_loss_error = None
        self._buffers_before_batch = None  # the model's buffers before this training batch (see _do_one_batch)
        self._buffer_slots = None  # (module, name) of every buffer of the model, found once per fit
        self._device = None if device is None else _target_device(device)
        self._batch_device = None  # where batches are moved to when a loader yields them elsewhere
        self._place_on_device()
        self.cbs = []
        default_cbs = [TrainEvalCallback(), Recorder()] + ([ProgressCallback()] if verbose else [])
        self.add_cbs(default_cbs + _as_list(cbs))
        self._event("after_create")

    # ---- callbacks ----

    def add_cb(self, cb):
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

    def add_cbs(self, cbs):
        for cb in cbs:
            self.add_cb(cb)
        return self

    def remove_cb(self, cb):
        if cb in self.cbs:
            self.cbs.remove(cb)
            if getattr(self, cb.name, None) is cb:
                delattr(self, cb.name)
        cb.learn = None
        return self

    @contextlib.contextmanager
    def added_cbs(self, cbs):
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
    def device(self):
        """Where the model trains (an nnx.device): the Learner's device argument, else dls.device, else the
        model's device; None for a model without parameters on CPU loaders."""
        if self._device is not None:
            return self._device
        dls_device = getattr(self.dls, "device", None)
        if dls_device is not None:
            return dls_device
        return _model_device(self.model)

    @device.setter
    def device(self, device):
        self._device = None if device is None else _target_device(device)
        self._place_on_device()

    def _place_on_device(self):
        """Model, Module loss, optimizer state and DataLoaders on self.device (fastai moves the model to
        dls.device before each fit). Moves in place, so parameters stay the objects the optimizer holds."""
        device = self.device
        if device is None:
            self._batch_device = None
            return
        if hasattr(self.model, "to"):
            self.model.to(device)
        if isinstance(self.loss_func, nn.Module):
            self.loss_func.to(device)
        if self.opt is not None:
            self.opt._state_to_param_devices()
        on_gpu = device.type != "cpu"
        if on_gpu and getattr(self.dls, "device", None) != device:
            for loader in getattr(self.dls, "loaders", ()):
                if hasattr(loader, "to"):
                    loader.to(device)
        self._batch_device = device if on_gpu else None

    def _to_batch_device(self, batch_part):
        """A batch's xb or yb on the training device (itself when already there, or when on the CPU)."""
        device = self._batch_device
        if device is None or batch_part is None:
            return batch_part
        if isinstance(batch_part, Tensor):
            return batch_part.to(device)
        if isinstance(batch_part, (tuple, list)):
            return type(batch_part)(self._to_batch_device(part) for part in batch_part)
        return batch_part

    # ---- the optimizer and its parameter groups ----

    def create_opt(self):
        """Build the optimizer over splitter(model)'s groups, keeping any freeze in place."""
        self._release_frozen()
        groups = [list(group) for group in self.splitter(self.model)]
        if not groups or any(len(group) == 0 for group in groups):
            raise ValueError("splitter(model) must return a non-empty list of non-empty parameter groups")
        # nnx's optimizers refuse parameters without requires_grad when built; PyTorch's take them.
        user_frozen = [p for group in groups for p in group if not p.requires_grad]
        for param in user_frozen:
            param.requires_grad = True
        try:
            self.opt = self.opt_func([{"params": group} for group in groups], lr=_first_lr(self.lr))
        finally:
            for param in user_frozen:
                param.requires_grad = False
        if self.wd is not None:
            set_hyper(self.opt, "wd", self.wd)
        set_hyper(self.opt, "lr", self.lr)
        self._apply_freeze()
        return self.opt

    def freeze_to(self, n):
        """Train only the parameter groups from index n on (negative n counts from the end)."""
        if self.opt is None:
            self.create_opt()
        n_groups = len(self.opt.param_groups)
        if not isinstance(n, (int, np.integer)) or not -n_groups <= n <= n_groups:
            raise ValueError(f"freeze_to(n) needs an integer n in [{-n_groups}, {n_groups}], got {n!r}")
        self.frozen_idx = n if n >= 0 else n_groups + n
        self._apply_freeze()

    def freeze(self):
        """Train only the last parameter group (the head), as for transfer learning."""
        self.freeze_to(-1)

    def unfreeze(self):
        """Train every parameter group."""
        self.freeze_to(0)

    def _apply_freeze(self):
        """Parameters of frozen groups get requires_grad=False and no gradient, so the optimizer skips
        them and leaves their state (moments, step count) untouched. Unfreezing switches back on only
        what freezing switched off: parameters the user froze by hand stay frozen. With train_bn (fastai's
        default) normalisation layers' parameters keep training in frozen groups."""
        norm_params = _norm_param_ids(self.model) if self.train_bn else set()
        for index, group in enumerate(self.opt.param_groups):
            frozen = index < self.frozen_idx
            for param in group["params"]:
                if frozen and param.requires_grad and id(param) not in norm_params:
                    param.requires_grad = False
                    param.grad = None
                    self._frozen_by_learner[id(param)] = param
                elif not frozen and id(param) in self._frozen_by_learner:
                    param.requires_grad = True
                    del self._frozen_by_learner[id(param)]

    def _release_frozen(self):
        for param in self._frozen_by_learner.values():
            param.requires_grad = True
        self._frozen_by_learner.clear()

    # ---- the training loop ----

    def fit(self, n_epoch, lr=None, wd=None, cbs=None, reset_opt=False, start_epoch=0):
        """Train for n_epoch epochs at a constant lr (a float, or a slice for discriminative rates).

        start_epoch > 0 resumes a fit of n_epoch epochs from that epoch (after learn.load of a
        checkpoint saved at the end of epoch start_epoch - 1): schedules pick up where they were.
        """
        if not isinstance(n_epoch, (int, np.integer)) or n_epoch < 1:
            raise ValueError(f"n_epoch must be a positive integer, got {n_epoch!r}")
        if not 0 <= start_epoch < n_epoch:
            raise ValueError(f"start_epoch must be in [0, n_epoch), got {start_epoch!r} for n_epoch={n_epoch}")
        with self.added_cbs(_as_list(cbs)):
            self._place_on_device()
            if reset_opt or self.opt is None:
                self.create_opt()
            wd = self.wd if wd is None else wd
            if wd is not None:
                set_hyper(self.opt, "wd", wd)
            set_hyper(self.opt, "lr", self.lr if lr is None else lr)
            self.n_epoch, self.start_epoch = int(n_epoch), int(start_epoch)
            self.interrupted = self._stop_requested = False
            self._nonfinite_loss_error = None
            try:
                with _ctrl_c_finishes_the_batch(self):
                    self._with_events(self._do_fit, "fit", CancelFitException)
            except KeyboardInterrupt:
                if self._stop_requested:  # a second Ctrl-C: the user wants out now
                    raise
                self._end_interrupted_fit()
            finally:
                self.dl = self.xb = self.yb = self.pred = self.loss_grad = self._buffers_before_batch = None
                self._buffer_slots = None
                self.training = False
        if self.interrupted and self.verbose:
            print(f"Training interrupted (epoch {self.epoch}, batch {self.iter}): the model and the recorder hold "
                  "the state after the last completed batch.")
        if self._nonfinite_loss_error is not None:
            error, self._nonfinite_loss_error = self._nonfinite_loss_error, None
            raise error

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
        if self.training:
            self._reset_device_losses()
        for index, batch in enumerate(self.dl):
            self.iter = index
            xb, yb = _split_batch(batch)
            self.xb, self.yb = self._to_batch_device(xb), self._to_batch_device(yb)
            self._with_events(self._do_one_batch, "batch", CancelBatchException)
            if self._stop_requested:  # Ctrl-C arrived during this batch, which has now finished
                self.interrupted = True
                raise CancelFitException()

    def _do_one_batch(self):
        self._loss_queued = False
        # The forward pass updates buffers (BatchNorm's running statistics) before the loss is seen: keep them so
        # that a non-finite loss leaves the model as it was after the last finite step, buffers included.
        guarded = self.training and self.stop_on_nonfinite_loss and self.yb is not None
        if guarded and self._buffer_slots is None:
            self._buffer_slots = _buffer_slots(self.model)
        self._buffers_before_batch = _snapshot_buffers(self._buffer_slots) if guarded else None
        self.pred = self.model(self.xb)
        self._event("after_pred")
        if self.yb is not None:
            self.loss_grad = loss = self.loss_func(self.pred, self.yb)
            if type(getattr(loss, "_data", None)) is np.ndarray:  # on the CPU (the common case, kept short)
                self._loss_value, self._loss_array = float(loss.item()), None
            else:
                self._set_batch_loss(loss)
        self._event("after_loss")
        if not self.training or self.yb is None:
            return
        # The guard reads the loss (on a GPU: waits for it) so that a bad batch never takes its step.
        if self.stop_on_nonfinite_loss and not math.isfinite(self.loss):
            self._stop_on_nonfinite_loss()
        self._with_events(self._backward, "backward", CancelBackwardException)
        self._with_events(self._step, "step", CancelStepException)
        self.opt.zero_grad()

    # ---- the batch loss: a float on the CPU; on a GPU read only when someone asks ----

    @property
    def loss(self):
        """The batch's loss as a float (fastai's learn.loss, detached). On a GPU it is read from the device the
        first time it is asked for in a batch (which waits for the GPU): the loop itself never asks."""
        value = self._loss_value
        if value is None:
            value = self._loss_value = float(self._loss_array.item())
        return value

    @loss.setter
    def loss(self, value):
        self._loss_value, self._loss_array = value, None

    @property
    def smooth_loss(self):
        """fastai's learn.smooth_loss: the Recorder's smoothed training loss after the batches run so far (nan
        before any). On a GPU, reading it reads the batch losses still on the device (one transfer)."""
        recorder = getattr(self, "recorder", None)
        if isinstance(recorder, Recorder) and recorder.learn is self:
            return recorder.catch_up()
        return self._smooth_loss

    @smooth_loss.setter
    def smooth_loss(self, value):
        self._smooth_loss = value

    def _set_batch_loss(self, loss):
        data = getattr(loss, "_data", None)
        if data is None or type(data) is np.ndarray or not is_device_array(data):
            self._loss_value, self._loss_array = float(loss.item()), None
            return
        if data.size != 1:
            raise RuntimeError(f"a Tensor with {data.size} elements cannot be converted to Scalar")
        self._loss_value, self._loss_array = None, data
        if self.training:  # queued before after_loss, so that a batch a callback cancels there is recorded too
            self._unread_train_losses.append(data)
            self._train_loss_batches.append(self.iter)
            self._loss_queued = True

    # A training phase's losses on a GPU: those read to the host (floats, in batch order), then those still on
    # the device, read together when someone needs them; the batch index of each.
    def _reset_device_losses(self):
        self._train_losses, self._unread_train_losses, self._train_loss_batches = [], DeviceScalars(), []

    def _read_train_losses(self):
        """This training phase's device batch losses so far, as floats: those still on the device are read in one
        transfer (so a GPU epoch reads its losses once, at its end, unless someone asks sooner)."""
        if self._unread_train_losses:
            self._train_losses.extend(self._unread_train_losses.read().tolist())
        return self._train_losses

    def _stop_on_nonfinite_loss(self):
        """Stop the fit before the step; fit() raises the error once after_fit has run (callbacks close)."""
        self.opt.zero_grad()
        _restore_buffers(self._buffers_before_batch)
        self._nonfinite_loss_error = NonFiniteLossError(
            f"the training loss is {self.loss} at epoch {self.epoch}, batch {self.iter} (of {self.n_iter}; "
            f"both counted from 0): training stopped before this batch's optimizer step, so the model keeps the "
            "weights and buffers (BatchNorm statistics) of the last finite step. " + _NONFINITE_ADVICE)
        raise CancelFitException()

    def _backward(self):
        if self.loss_grad.requires_grad:  # False only when every parameter group is frozen
            self.loss_grad.backward()

    def _step(self):
        self.opt.step()

    # ---- schedules built on ParamScheduler ----

    def fit_one_cycle(self, n_epoch, lr_max=None, div=25.0, div_final=1e5, pct_start=0.25, wd=None,
                      moms=None, cbs=None, reset_opt=False, start_epoch=0):
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
        self.fit(n_epoch, cbs=[ParamScheduler(scheds)] + _as_list(cbs), reset_opt=reset_opt, wd=wd,
                 start_epoch=start_epoch)

    def fine_tune(self, epochs, base_lr=2e-3, freeze_epochs=1, lr_mult=100, pct_start=0.3, div=5.0, **kwargs):
        """Transfer learning: train the head (frozen body) for freeze_epochs, then everything for
        epochs with discriminative rates slice(base_lr/2/lr_mult, base_lr/2)."""
        self.freeze()
        self.fit_one_cycle(freeze_epochs, slice(base_lr), pct_start=0.99, **kwargs)
        base_lr /= 2
        self.unfreeze()
        self.fit_one_cycle(epochs, slice(base_lr / lr_mult, base_lr), pct_start=pct_start, div=div, **kwargs)

    def lr_find(self, start_lr=1e-7, end_lr=10, num_it=100, stop_div=True):
        """Train with an exponentially growing lr for num_it batches (or until the loss diverges),
        restore the model, optimizer and random state, and return SuggestedLRs(valley, slide,
        minimum, steep). learn.recorder.plot_lr_find() plots the run with its suggestions."""
        n_epoch = num_it // len(self.dls.train) + 1
        if self.opt is None:
            self.create_opt()
        saved = checkpoint.capture(self)
        stop_on_nonfinite_loss = self.stop_on_nonfinite_loss
        try:
            self.stop_on_nonfinite_loss = False  # divergence is what lr_find looks for
            with self._quiet():
                self.fit(n_epoch, cbs=[LRFinder(start_lr, end_lr, num_it, stop_div)])
        finally:
            self.stop_on_nonfinite_loss = stop_on_nonfinite_loss
            self.opt.zero_grad()
            checkpoint.restore(self, saved)
        recorder = self.recorder
        suggestions, points = suggest_lrs(recorder.lrs, recorder.losses, num_it)
        recorder.lr_find_points = {name: (suggested, point)
                                   for name, suggested, point in zip(suggestions._fields, suggestions, points)}
        return suggestions

    @contextlib.contextmanager
    def _quiet(self):
        """No progress display (lr_find is a mock training)."""
        progress = [cb for cb in self.cbs if isinstance(cb, ProgressCallback)]
        for cb in progress:
            self.remove_cb(cb)
        try:
            yield
        finally:
            self.add_cbs(progress)

    def no_bar(self):
        """fastai's `with learn.no_bar(): learn.fit(...)`: a fit without the progress display (no bar, no
        table); Learner(..., verbose=False) silences every fit."""
        return self._quiet()

    # ---- validation ----

    def validate(self, ds_idx=1, dl=None, cbs=None):
        """fastai's validate: [valid_loss, *metrics] over dl (default: dls.valid for ds_idx=1, dls.train
        for ds_idx=0), computed by the fit's validation phase (same events, eval mode, no_grad).
        Weights, optimizer, the Recorder's per-epoch values and every random state are left as they were."""
        if not isinstance(ds_idx, (int, np.integer)) or isinstance(ds_idx, bool) or ds_idx not in (0, 1):
            raise ValueError(f"ds_idx must be 0 (training set) or 1 (validation set), got {ds_idx!r}")
        if dl is None:
            dl = self._loader_for(ds_idx)
        if len(dl) == 0:
            raise ValueError("validate: the DataLoader yields no batches")
        recorder = getattr(self, "recorder", None)
        if not isinstance(recorder, Recorder):
            raise RuntimeError("validate reads its results from learn.recorder, which was removed")
        self._place_on_device()
        saved_rng = checkpoint.capture_random_state(self, extra_loaders=[dl])
        saved_loop = {name: getattr(self, name) for name in _LOOP_STATE}
        was_training = self.model.training
        try:
            with self.added_cbs(_as_list(cbs)), self._quiet(), no_grad():
                # The Recorder resets these in before_epoch (before_validate may be cancelled); no epoch here.
                for metric in [recorder.loss, *self.metrics]:
                    metric.reset()
                self.dl = dl
                self._with_events(self._all_batches, "validate", CancelValidException)
        finally:
            self.model.train(was_training)
            for name, value in saved_loop.items():
                setattr(self, name, value)
            checkpoint.restore_random_state(self, saved_rng, extra_loaders=[dl])
        if recorder.loss.count == 0:
            raise ValueError("validate: no batch with targets was evaluated (the DataLoader yields no targets, "
                             "or a callback cancelled the validation)")
        return [recorder.loss.value, *(metric.value for metric in self.metrics)]

    def _loader_for(self, ds_idx):
        dl = self.dls.train if ds_idx == 0 else self.dls.valid
        if dl is None:
            raise ValueError(f"validate: the Learner has no {'training' if ds_idx == 0 else 'validation'} set "
                             f"(ds_idx={ds_idx}); pass a DataLoader as dl")
        return dl

    # ---- inference ----

    def get_preds(self, dl=None, act=None):
        """(predictions, targets) as NumPy arrays over dl (the validation DataLoader by default), in host
        memory whatever the training device (fastai's get_preds also returns CPU tensors).

        Predictions go through act, by default the loss's activation: softmax for cross-entropy,
        sigmoid for BCE-with-logits, none otherwise. targets is None when dl has no targets.
        """
        dl = self.dls.valid if dl is None else dl
        if dl is None:
            raise ValueError("get_preds needs a DataLoader: dl is None and the Learner has no validation set")
        activation = act if act is not None else self._loss_activation()
        preds, targs = DeviceBatches(), DeviceBatches()  # (a GPU's batches are read together, not one by one)
        self._place_on_device()
        was_training = self.model.training
        self.model.eval()
        try:
            with no_grad():
                for batch in dl:
                    xb, yb = _split_batch(batch)
                    preds.append(_array_of(self.model(self._to_batch_device(xb))))
                    if yb is not None:
                        targs.append(_array_of(yb))
        finally:
            self.model.train(was_training)
        preds, targs = preds.read(), targs.read()
        if not preds:
            raise ValueError("get_preds: the DataLoader yielded no batches")
        return activation(np.concatenate(preds)), (np.concatenate(targs) if targs else None)

    def predict(self, X, batch_size=256):
        """Decoded predictions for the NumPy array X: class indices for cross-entropy, 0/1 for
        BCE-with-logits (probability > 0.5), the model's outputs otherwise."""
        X = to_numpy(X)
        if X.ndim == 0 or len(X) == 0:
            raise ValueError(f"X must be a non-empty array with one row per sample, got shape {X.shape}")
        X = self._as_model_dtype(X)
        rows = [X[start:start + batch_size] for start in range(0, len(X), batch_size)]
        probs, _ = self.get_preds(dl=[Tensor(np.ascontiguousarray(r)) for r in rows])
        kind = self._loss_kind()
        if kind == "cross_entropy":
            return probs.argmax(axis=-1)
        if kind == "bce":
            return (probs > 0.5).astype(np.int64)
        return probs

    def _as_model_dtype(self, X):
        """Numbers (lists, integers, float64) converted once to the dtype of the model's parameters."""
        if X.dtype.kind not in "biuf":
            raise TypeError(f"X must hold numbers (bool, int or float), got dtype {X.dtype}")
        param = next(iter(self.model.parameters()), None)
        if param is not None and param.dtype.kind == "f" and X.dtype != param.dtype:
            X = X.astype(param.dtype)
        return X

    def _loss_kind(self):
        loss = self.loss_func
        if isinstance(loss, getattr(nn, "CrossEntropyLoss", ())) or \
                loss is getattr(nn.functional, "cross_entropy", None):
            return "cross_entropy"
        if isinstance(loss, getattr(nn, "BCEWithLogitsLoss", ())) or \
                loss is getattr(nn.functional, "binary_cross_entropy_with_logits", None):
            return "bce"
        return None

    def _loss_activation(self):
        kind = self._loss_kind()
        if kind == "cross_entropy":
            return _softmax
        if kind == "bce":
            return _sigmoid
        return _identity

    # ---- persistence ----

    def save(self, file, with_opt=True):
        """Write model, optimizer state (with_opt) and random-generator states to one file, atomically; a
        relative name goes under path/model_dir when the Learner was given a path (fastai's). Returns the file."""
        file = self._checkpoint_file(file)
        checkpoint.save(self, file, with_opt=with_opt)
        return file

    def load(self, file, with_opt=True):
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


@contextlib.contextmanager
def _ctrl_c_finishes_the_batch(learn):
    """While fit runs, a first Ctrl-C (SIGINT) only asks the loop to stop after the current batch; a
    second one raises KeyboardInterrupt at once. Only in the main thread (where signals arrive) and only
    when Python's default handler is installed: a handler the user set up stays in charge."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    def request_stop(signum, frame):
        if learn._stop_requested:
            raise KeyboardInterrupt
        learn._stop_requested = True
        if learn.verbose:
            print("\nCtrl-C: stopping after the current batch (press Ctrl-C again to stop at once)")

    signal.signal(signal.SIGINT, request_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_NONFINITE_ADVICE = ("Lower the learning rate, clip gradients (GradientClip), check the data for NaN/inf, or set "
                     "learn.stop_on_nonfinite_loss = False to train on regardless.")

# What one pass of the loop overwrites; validate() puts it back so that a later fit or callback sees no trace.
_LOOP_STATE = ("training", "dl", "xb", "yb", "pred", "loss_grad", "_loss_value", "_loss_array", "iter", "n_iter")


def _model_device(model):
    """The device of the model's first parameter, or None (no parameters, or not an nnx Module)."""
    parameters = getattr(model, "parameters", None)
    if parameters is None:
        return None
    first = next(iter(parameters()), None)
    return None if first is None else first.device


def _buffer_slots(model):
    """(module, name) of every buffer of the model ([] when it has none, or is no Module)."""
    modules = getattr(model, "modules", None)
    if modules is None:
        return []
    return [(module, name) for module in modules() for name in getattr(module, "_buffers", {})]


def _snapshot_buffers(slots):
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


def _restore_buffers(snapshot):
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


def _array_of(value):
    """A Tensor's array as it is (a device array stays on the device), anything else as a NumPy array."""
    data = value.detach()._data if isinstance(value, Tensor) else None
    return data if data is not None and is_device_array(data) else to_numpy(value)


def _norm_param_ids(model):
    """ids of the parameters of the model's normalisation layers (fastai's norm_types), which train_bn keeps
    training in frozen groups: their statistics must follow the data the head now sees."""
    norm_types = tuple(getattr(nn, name) for name in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d",
                                                      "InstanceNorm2d", "InstanceNorm3d", "LayerNorm", "GroupNorm")
                       if isinstance(getattr(nn, name, None), type))
    modules = getattr(model, "modules", None)
    if modules is None or not norm_types:
        return set()
    return {id(param) for module in modules() if isinstance(module, norm_types)
            for param in module.parameters(recurse=False)}


def _is_old_argument_order(dls, model):
    """Whether Learner got nnx's former (model, dls) order: a Module first and DataLoaders (or a pair) second.
    DataLoaders are never Modules, so the two orders cannot be confused."""
    if isinstance(model, nn.Module) or not isinstance(dls, nn.Module):
        return False
    return (hasattr(model, "train") and hasattr(model, "valid")) or isinstance(model, (tuple, list)) or \
        not callable(model)


def _as_dataloaders(dls):
    if hasattr(dls, "train") and hasattr(dls, "valid"):
        return dls
    if isinstance(dls, (tuple, list)) and len(dls) == 2:
        return DataLoaders(*dls)
    raise TypeError(f"dls must be nnx.data.DataLoaders or a (train, valid) pair of DataLoaders, got {dls!r}")


def _split_batch(batch):
    """(xb, yb) from a batch that is (xb, yb), (xb,) or xb alone (yb None)."""
    if isinstance(batch, (tuple, list)):
        if len(batch) == 1:
            return batch[0], None
        if len(batch) == 2:
            return batch[0], batch[1]
        raise ValueError(f"a batch must be xb or (xb, yb), got a {type(batch).__name__} of {len(batch)} items")
    return batch, None


def _as_list(cbs):
    if cbs is None:
        return []
    if isinstance(cbs, (list, tuple)):
        return list(cbs)
    return [cbs]


def _first_lr(lr):
    """A plain float for the optimizer's constructor; set_hyper spreads slices over groups after."""
    if isinstance(lr, slice):
        return float(lr.stop)
    return float(np.asarray(lr, dtype=np.float64).reshape(-1)[-1])


def _softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _sigmoid(logits):
    return 0.5 * (1.0 + np.tanh(0.5 * logits))


def _identity(outputs):
    return outputs
