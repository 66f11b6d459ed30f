"""The Learner's guards: a NaN/inf training loss stops the fit before its step (NonFiniteLossError naming
the epoch and batch, last finite weights kept); Ctrl-C finishes the current batch and returns; bad
hyper-parameters are refused before anything changes."""
import math
import os
import signal
import threading

import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.data import DataLoader
from nnx.learner import Callback, Learner, NonFiniteLossError, TerminateOnNaNCallback

N_BATCHES = 6  # per training epoch


def make_learner(X=None, seed=0, **kwargs):
    nnx.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if X is None:
        X = rng.normal(size=(N_BATCHES * 16, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    train = DataLoader(X, y, batch_size=16, shuffle=False)
    valid = DataLoader(X[:32], y[:32], batch_size=16)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
    kwargs.setdefault("verbose", False)
    return Learner((train, valid), model, nn.CrossEntropyLoss(), lr=1e-2, **kwargs)


def weights(learn):
    return [p.numpy().copy() for p in learn.model.parameters()]


def assert_weights_equal(left, right):
    for a, b in zip(left, right, strict=True):
        np.testing.assert_array_equal(a, b)


def optimizer_steps(learn):
    return {state.get("step") for state in learn.opt.state.values()}


class StepLog(Callback):
    """Weights after every optimizer step, and the fit-level events seen."""

    order = 100

    def __init__(self):
        self.after_step_weights, self.events = [], []

    def before_fit(self):
        self.events.append("before_fit")

    def after_step(self):
        self.after_step_weights.append(weights(self.learn))

    def after_cancel_fit(self):
        self.events.append("after_cancel_fit")

    def after_fit(self):
        self.events.append("after_fit")


def poisoned_loss(bad_call, value):
    """CrossEntropyLoss whose training call number `bad_call` (from 1) returns `value` times the loss."""
    calls = []
    cross_entropy = nn.CrossEntropyLoss()

    def loss_func(pred, targ):
        loss = cross_entropy(pred, targ)
        if loss.requires_grad:
            calls.append(1)
            if len(calls) == bad_call:
                return loss * value
        return loss
    return loss_func


# ---- divergence ----

@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nonfinite_loss_stops_the_fit_before_the_step_naming_epoch_and_batch(value):
    learn = make_learner()
    learn.loss_func = poisoned_loss(N_BATCHES + 3, value)  # epoch 1, batch 2
    log = StepLog()
    with pytest.raises(NonFiniteLossError, match=r"loss is (nan|inf|-inf) at epoch 1, batch 2 \(of 6"):
        learn.fit(3, cbs=[log])
    finite_steps = N_BATCHES + 2
    assert len(log.after_step_weights) == finite_steps
    assert_weights_equal(weights(learn), log.after_step_weights[-1])
    assert all(np.isfinite(w).all() for w in weights(learn))
    assert optimizer_steps(learn) == {finite_steps}
    assert all(p.grad is None for p in learn.model.parameters())
    assert len(learn.recorder.losses) == finite_steps and len(learn.recorder.values) == 1
    assert log.events == ["before_fit", "after_cancel_fit", "after_fit"]  # callbacks could clean up
    assert not learn.training


def test_nan_in_the_data_is_caught_at_its_batch():
    X = np.random.default_rng(1).normal(size=(N_BATCHES * 16, 5)).astype(np.float32)
    X[3 * 16 + 5, 2] = np.nan  # batch 3 of every epoch
    learn = make_learner(X)
    with pytest.raises(NonFiniteLossError, match="epoch 0, batch 3"):
        learn.fit(2)
    assert all(np.isfinite(w).all() for w in weights(learn))


def test_a_fit_after_the_error_starts_cleanly():
    learn = make_learner()
    learn.loss_func = poisoned_loss(2, math.nan)
    with pytest.raises(NonFiniteLossError):
        learn.fit(1)
    learn.fit(1)  # the poisoned call has passed
    assert len(learn.recorder.losses) == N_BATCHES and optimizer_steps(learn) == {N_BATCHES + 1}


def test_terminate_on_nan_callback_stops_quietly_before_the_step():
    learn = make_learner()
    learn.loss_func = poisoned_loss(4, math.nan)
    log = StepLog()
    learn.fit(2, cbs=[TerminateOnNaNCallback(), log])
    assert learn.terminated_on_nan
    assert_weights_equal(weights(learn), log.after_step_weights[-1])
    assert len(log.after_step_weights) == 3 and optimizer_steps(learn) == {3}


def test_training_on_through_nan_when_asked():
    learn = make_learner()
    learn.stop_on_nonfinite_loss = False
    learn.loss_func = poisoned_loss(2, math.nan)
    learn.fit(1)
    assert not all(np.isfinite(w).all() for w in weights(learn))


def test_lr_find_still_sees_the_divergence():
    learn = make_learner(opt_func=nnx.optim.SGD)
    before = weights(learn)
    suggestions = learn.lr_find(start_lr=1e-3, end_lr=1e12, num_it=30, stop_div=False)
    assert not all(math.isfinite(loss) for loss in learn.recorder.losses)
    assert math.isfinite(suggestions.valley)
    assert_weights_equal(weights(learn), before)
    assert learn.stop_on_nonfinite_loss


def test_a_nan_validation_loss_does_not_stop_training():
    learn = make_learner()
    X_bad = np.full((16, 5), np.nan, np.float32)
    learn.dls.valid = DataLoader(X_bad, np.zeros(16, np.int64), batch_size=16)
    learn.fit(1)
    assert math.isnan(learn.recorder.values[-1][1])


# ---- Ctrl-C ----

@pytest.fixture(autouse=True)
def python_default_sigint_handler():
    """Python installs its Ctrl-C handler only when SIGINT is not ignored at start-up, and a shell starts
    background jobs (`cmd &`, some CI runners) with SIGINT ignored: install it as an interactive run has it."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class SendSigint(Callback):
    """Sends SIGINT to this process at one event of one training batch (as a Ctrl-C would arrive)."""

    def __init__(self, epoch, batch, event, times=1):
        self.at, self.times = (epoch, batch), times
        setattr(self, event, self._send)

    def _send(self):
        if self.learn.training and (self.learn.epoch, self.learn.iter) == self.at:
            for _ in range(self.times):
                os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("event", ["before_batch", "after_loss", "before_step", "after_batch"])
def test_ctrl_c_finishes_the_current_batch_and_returns(event):
    learn = make_learner()
    log = StepLog()
    learn.fit(3, cbs=[SendSigint(1, 2, event), log])
    assert learn.interrupted
    done = N_BATCHES + 3  # the interrupted batch completed, step included
    assert len(log.after_step_weights) == done and optimizer_steps(learn) == {done}
    assert_weights_equal(weights(learn), log.after_step_weights[-1])
    assert len(learn.recorder.losses) == done and learn.train_iter == done
    assert len(learn.recorder.values) == 1  # epoch 0's row; epoch 1 never finished
    assert log.events == ["before_fit", "after_cancel_fit", "after_fit"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    learn.fit(1)  # control is back and the Learner trains on normally
    assert not learn.interrupted and len(learn.recorder.values) == 1


def test_a_second_ctrl_c_stops_at_once():
    learn = make_learner()
    with pytest.raises(KeyboardInterrupt):
        learn.fit(2, cbs=[SendSigint(0, 2, "before_batch", times=2)])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not learn.training


def test_keyboard_interrupt_raised_inside_a_batch_abandons_it_consistently():
    class RaiseBeforeStep(Callback):
        def before_step(self):
            if self.learn.train_iter == 4:
                raise KeyboardInterrupt

    learn = make_learner()
    log = StepLog()
    learn.fit(2, cbs=[RaiseBeforeStep(), log])
    assert learn.interrupted
    assert optimizer_steps(learn) == {4} and len(learn.recorder.losses) == 4
    assert_weights_equal(weights(learn), log.after_step_weights[-1])
    assert all(p.grad is None for p in learn.model.parameters())
    assert log.events == ["before_fit", "after_cancel_fit", "after_fit"]


def test_a_fit_in_a_worker_thread_leaves_signal_handling_alone():
    learn = make_learner()
    errors = []

    def train():
        try:
            learn.fit(1)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    thread = threading.Thread(target=train)
    thread.start()
    thread.join(timeout=60)
    assert not errors and not learn.interrupted
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# ---- hyper-parameters checked before anything changes ----

@pytest.mark.parametrize("kwargs, error, match", [
    (dict(lr=-1.0), ValueError, "lr must be a finite number >= 0"),
    (dict(lr=math.nan), ValueError, "lr must be a finite number >= 0"),
    (dict(lr="fast"), TypeError, "lr must be a number"),
    (dict(lr=[1e-3, 1e-2]), ValueError, "lr has 2 values for 1 parameter groups"),
    (dict(wd=-1e-2), ValueError, "wd must be a finite number >= 0"),
    (dict(wd=math.inf), ValueError, "wd must be a finite number >= 0"),
])
def test_bad_hyperparameters_are_refused_before_the_fit_changes_anything(kwargs, error, match):
    learn = make_learner()
    learn.fit(1)
    before, groups = weights(learn), [dict(g) for g in learn.opt.param_groups]
    with pytest.raises(error, match=match):
        learn.fit(1, **kwargs)
    assert_weights_equal(weights(learn), before)
    assert [dict(g) for g in learn.opt.param_groups] == groups
    assert optimizer_steps(learn) == {N_BATCHES}
    learn.lr_find()  # nothing bad was left in the optimizer
    learn.fit(1)


def test_one_cycle_momentum_outside_adams_range_is_refused():
    learn = make_learner()
    with pytest.raises(ValueError, match=r"beta1\) must be in \[0, 1\)"):
        learn.fit_one_cycle(1, moms=(0.95, 1.5, 0.95))
    assert not learn.opt.state
