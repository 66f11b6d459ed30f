"""The fit -> epoch -> batch chain: event order, callback order, cancellation, recording, display, inference."""
import io

import numpy as np
import pytest
from learner_setup import (
    BATCH,
    N_VALID,
    TRAIN_BATCHES,
    EventLog,
    assert_params_equal,
    make_data,
    make_learner,
    param_arrays,
)

import nnx
from nnx import metrics, nn
from nnx.learner import (
    Callback,
    CancelBackwardException,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelStepException,
    CancelTrainException,
    CancelValidException,
    Learner,
    ProgressCallback,
)

VALID_BATCHES = 2  # 64 samples in batches of 50

TRAIN_BATCH_EVENTS = ["before_batch", "after_pred", "after_loss", "before_backward", "after_backward",
                      "before_step", "after_step", "after_batch"]
VALID_BATCH_EVENTS = ["before_batch", "after_pred", "after_loss", "after_batch"]


def expected_epoch_events():
    return (["before_epoch", "before_train"] + TRAIN_BATCH_EVENTS * TRAIN_BATCHES + ["after_train", "before_validate"]
            + VALID_BATCH_EVENTS * VALID_BATCHES + ["after_validate", "after_epoch"])


def test_events_fire_in_order():
    learn = make_learner()
    log = EventLog()
    learn.fit(2, cbs=[log])
    assert log.events == ["before_fit"] + expected_epoch_events() * 2 + ["after_fit"]
    assert log not in learn.cbs  # cbs passed to fit are removed after it


def test_callbacks_run_by_ascending_order():
    calls = []

    class Named(Callback):
        def __init__(self, order):
            self.order = order

        def before_fit(self):
            calls.append(self.order)

        @property
        def name(self):
            return f"named_{self.order + 10}"

    learn = make_learner(cbs=[Named(7), Named(-3), Named(55)])
    learn.fit(1)
    assert calls == [-3, 7, 55]


def test_a_callback_after_the_recorder_sees_this_batch_recorded():
    seen = []

    class AfterRecorder(Callback):
        order = 55

        def after_batch(self):
            if self.learn.training:
                seen.append(len(self.learn.recorder.losses))

    make_learner(cbs=[AfterRecorder()]).fit(1)
    assert seen == list(range(1, TRAIN_BATCHES + 1))


class Raiser(Callback):
    """Raises `exception` at `event` when `when(learn)` holds."""

    def __init__(self, event, exception, when=lambda learn: True):
        self.exception, self.when = exception, when
        setattr(self, event, self._maybe_raise)

    def _maybe_raise(self):
        if self.when(self.learn):
            raise self.exception()


def test_cancel_batch_skips_backward_and_step():
    learn = make_learner()
    before = param_arrays(learn.model)
    log = EventLog()
    learn.fit(1, cbs=[Raiser("after_loss", CancelBatchException, lambda learn: learn.training), log])
    assert_params_equal(param_arrays(learn.model), before)
    train_part = log.events[log.events.index("before_train"):log.events.index("after_train")]
    assert train_part.count("after_cancel_batch") == TRAIN_BATCHES
    assert train_part.count("after_batch") == TRAIN_BATCHES
    assert "before_backward" not in train_part
    assert len(learn.recorder.values) == 1 and np.isfinite(learn.recorder.values[0][1])


def test_cancel_step_keeps_the_weights_and_cancel_backward_leaves_no_gradient():
    learn = make_learner()
    before = param_arrays(learn.model)
    learn.fit(1, cbs=[Raiser("before_step", CancelStepException)])
    assert_params_equal(param_arrays(learn.model), before)
    assert all(p.grad is None for p in learn.model.parameters())  # zero_grad still ran

    grads_seen = []

    class GradSpy(Callback):
        order = 1

        def before_step(self):
            grads_seen.append(all(p.grad is None for p in self.learn.model.parameters()))

    learn.fit(1, cbs=[Raiser("before_backward", CancelBackwardException), GradSpy()])
    assert grads_seen == [True] * TRAIN_BATCHES


def test_cancel_epoch_skips_the_rest_of_that_epoch_only():
    learn = make_learner()
    log = EventLog()
    learn.fit(3, cbs=[Raiser("before_train", CancelEpochException, lambda learn: learn.epoch == 1), log])
    assert log.events.count("after_cancel_epoch") == 1
    assert log.events.count("after_epoch") == 3
    assert log.events.count("before_validate") == 2
    assert log.events.count("before_step") == 2 * TRAIN_BATCHES


def test_cancel_train_and_cancel_validate():
    learn = make_learner()
    log = EventLog()
    learn.fit(1, cbs=[Raiser("after_batch", CancelTrainException, lambda learn: learn.training and learn.iter == 2),
                      log])
    assert log.events.count("before_step") == 3 and log.events.count("before_validate") == 1
    learn.fit(1, cbs=[Raiser("before_validate", CancelValidException)])
    assert np.isnan(learn.recorder.values[-1][1])  # no validation loss


def test_cancel_fit_stops_everything_but_runs_after_fit():
    learn = make_learner()
    log = EventLog()
    learn.fit(5, cbs=[Raiser("after_batch", CancelFitException, lambda learn: learn.train_iter == 3), log])
    assert log.events.count("before_step") == 3
    assert log.events[-2:] == ["after_cancel_fit", "after_fit"]
    assert learn.training is False


def test_recorder_values_match_a_separate_evaluation():
    learn = make_learner(metrics=[metrics.accuracy, metrics.F1Score()])
    learn.fit(2, lr=3e-3)
    values = learn.recorder.values
    assert len(values) == 2 and all(len(row) == 4 for row in values)
    assert learn.recorder.metric_names == ["epoch", "train_loss", "valid_loss", "accuracy", "f1_score",
                                           "time"]
    probs, targets = learn.get_preds()
    _, _, X_valid, y_valid = make_data()
    np.testing.assert_array_equal(targets, y_valid)
    with nnx.no_grad():
        logits = learn.model.eval()(nnx.Tensor(X_valid)).numpy().astype(np.float64)
    log_probs = logits - logits.max(1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(1, keepdims=True))
    assert values[-1][1] == pytest.approx(-log_probs[np.arange(N_VALID), y_valid].mean(), rel=1e-5)
    assert values[-1][2] == pytest.approx(metrics.accuracy(logits, y_valid), abs=1e-12)
    assert values[-1][3] == pytest.approx(metrics.F1Score()(logits, y_valid), abs=1e-12)
    assert len(learn.recorder.losses) == len(learn.recorder.lrs) == 2 * TRAIN_BATCHES
    assert learn.recorder.lrs == [3e-3] * (2 * TRAIN_BATCHES)
    assert learn.recorder.moms == [0.9] * (2 * TRAIN_BATCHES)  # Adam's beta1


def test_get_preds_and_predict():
    learn = make_learner()
    learn.fit(1, lr=1e-2)
    _, _, X_valid, _ = make_data()
    learn.model.train()
    probs, _ = learn.get_preds()
    assert probs.shape == (N_VALID, 3)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    labels = learn.predict(X_valid)
    np.testing.assert_array_equal(labels, probs.argmax(1))
    assert labels.dtype.kind == "i"
    assert learn.model.training  # get_preds put the mode back
    regression = Learner(learn.dls, nn.Linear(6, 2), nn.MSELoss(), verbose=False)
    outputs = regression.predict(X_valid, batch_size=7)
    with nnx.no_grad():
        expected = regression.model(nnx.Tensor(X_valid)).numpy()
    np.testing.assert_allclose(outputs, expected, rtol=1e-6)


def test_progress_display_plain_meter_and_table():
    buffer = io.StringIO()
    learn = make_learner(verbose=True, metrics=[metrics.accuracy])
    learn.remove_cb(learn.progress)
    learn.add_cb(ProgressCallback(file=buffer, interactive=True, use_tqdm=False))
    learn.fit(2)
    text = buffer.getvalue()
    lines = [line.split("\r")[-1].split() for line in text.split("\n")]  # what a terminal shows last
    lines = [line for line in lines if line]
    assert lines[0] == ["epoch", "train_loss", "valid_loss", "accuracy", "time"]
    rows = [line for line in lines[1:] if line[0].isdigit()]
    assert [row[0] for row in rows] == ["0", "1"]
    assert float(rows[1][2]) == pytest.approx(learn.recorder.values[1][1], abs=1e-6)
    assert "eta" in text and "loss" in text and "\r" in text and f"{TRAIN_BATCHES}/{TRAIN_BATCHES}" in text


def test_progress_display_with_tqdm():
    pytest.importorskip("tqdm")
    buffer = io.StringIO()
    learn = make_learner(verbose=True)
    learn.remove_cb(learn.progress)
    learn.add_cb(ProgressCallback(file=buffer, interactive=True, use_tqdm=True))
    learn.fit(1)
    text = buffer.getvalue()
    assert "train_loss" in text and "epoch 1/1 train" in text and "loss" in text


def test_table_without_bar_when_not_a_terminal_and_silent_when_not_verbose(capsys):
    make_learner(verbose=True).fit(1)  # (pytest's captured stdout is not a terminal)
    captured = capsys.readouterr()
    assert captured.out.split()[:3] == ["epoch", "train_loss", "valid_loss"] and "\r" not in captured.out
    make_learner(verbose=False).fit(1)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_bad_arguments_raise_clear_errors():
    learn = make_learner()
    with pytest.raises(TypeError, match="dls"):
        Learner(5, learn.model, nn.CrossEntropyLoss())
    with pytest.raises(TypeError, match="loss_func"):
        Learner(learn.dls, learn.model, "ce")
    with pytest.raises(ValueError, match="n_epoch"):
        learn.fit(0)
    with pytest.raises(ValueError, match="parameter groups"):
        learn.fit(1, lr=[1e-3, 1e-2])
    with pytest.raises(TypeError, match="Callback"):
        learn.add_cb(object())

    class Model(Callback):
        pass

    with pytest.raises(ValueError, match="would hide"):
        learn.add_cb(Model())
    with pytest.raises(ValueError, match="start_epoch"):
        learn.fit(2, start_epoch=2)
    assert BATCH == 32


def test_training_without_a_validation_set():
    learn = make_learner(metrics=[metrics.accuracy])
    learn = Learner((learn.dls.train, None), learn.model, nn.CrossEntropyLoss(), metrics=[metrics.accuracy],
                    verbose=False)
    learn.fit(2)
    assert [np.isnan(v) for v in learn.recorder.values[-1]] == [False, True, True]
    with pytest.raises(ValueError, match="validation"):
        learn.get_preds()
