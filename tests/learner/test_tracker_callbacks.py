"""EarlyStoppingCallback, SaveModelCallback, TerminateOnNaNCallback, CSVLogger, GradientClip."""
import math

import numpy as np
import pytest
from learner_setup import TRAIN_BATCHES, assert_params_equal, make_learner, param_arrays

from nnx import metrics, nn
from nnx.learner import (
    Callback,
    CSVLogger,
    EarlyStoppingCallback,
    GradientClip,
    SaveModelCallback,
    TerminateOnNaNCallback,
)


class Scripted(metrics.Metric):
    """A metric whose value at epoch k is values[k], to steer the trackers."""

    name = "scripted"

    def __init__(self, values):
        self.values, self.epoch = list(values), -1

    def reset(self):
        self.epoch += 1

    def accumulate(self, pred, targ):
        pass

    @property
    def value(self):
        return self.values[self.epoch]


class Snapshots(Callback):
    order = 90

    def __init__(self):
        self.weights = []

    def after_epoch(self):
        self.weights.append(param_arrays(self.learn.model))


def test_early_stopping_waits_patience_epochs():
    learn = make_learner(metrics=[Scripted([0.5, 0.7, 0.6, 0.65, 0.69, 0.9])])
    stopper = EarlyStoppingCallback(monitor="scripted", patience=2)
    learn.fit(6, cbs=[stopper])
    assert stopper.stopped_epoch == 3 and len(learn.recorder.values) == 4
    assert stopper.best == 0.7


def test_early_stopping_on_valid_loss_without_progress():
    learn = make_learner(lr=0.0)
    learn.fit(5, cbs=[EarlyStoppingCallback(patience=1)])
    assert len(learn.recorder.values) == 2


def test_early_stopping_monitor_must_exist():
    with pytest.raises(ValueError, match="monitor"):
        make_learner().fit(1, cbs=[EarlyStoppingCallback(monitor="accuracy")])


@pytest.mark.parametrize("to_file", [False, True])
def test_save_model_reloads_the_best_epoch(tmp_path, to_file):
    learn = make_learner(lr=1e-2, metrics=[Scripted([0.5, 0.9, 0.7, 0.8])])
    snapshots = Snapshots()
    fname = tmp_path / "best.nnx" if to_file else None
    saver = SaveModelCallback(monitor="scripted", fname=fname)
    learn.fit(4, cbs=[saver, snapshots])
    assert saver.best_epoch == 1
    assert_params_equal(param_arrays(learn.model), snapshots.weights[1])
    assert not np.array_equal(snapshots.weights[1][0], snapshots.weights[3][0])
    assert (tmp_path / "best.nnx").exists() == to_file


def test_save_model_every_epoch(tmp_path):
    learn = make_learner()
    learn.fit(2, cbs=[SaveModelCallback(fname=tmp_path / "m.nnx", every_epoch=True)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m_0.nnx", "m_1.nnx"]


def test_terminate_on_nan_stops_at_the_bad_batch():
    calls = []
    cross_entropy = nn.CrossEntropyLoss()

    def loss_func(pred, targ):
        calls.append(1)
        loss = cross_entropy(pred, targ)
        return loss * math.nan if len(calls) == 3 else loss

    learn = make_learner()
    learn.loss_func = loss_func
    learn.fit(3, cbs=[TerminateOnNaNCallback()])
    assert len(calls) == 3 and learn.terminated_on_nan
    assert learn.recorder.values == []


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    path = tmp_path / "history.csv"
    learn = make_learner(metrics=[metrics.accuracy])
    logger = CSVLogger(path)
    learn.fit(2, cbs=[logger])
    rows = logger.read_log()
    assert list(rows[0]) == ["epoch", "train_loss", "valid_loss", "accuracy", "time"]
    assert [r["epoch"] for r in rows] == ["0", "1"]
    for row, values in zip(rows, learn.recorder.values):
        assert [float(row[k]) for k in ("train_loss", "valid_loss", "accuracy")] == values
    learn.fit(1, cbs=[CSVLogger(path, append=True)])
    assert len(CSVLogger(path).read_log()) == 3


def test_gradient_clip_bounds_the_norm_seen_by_the_step():
    norms = []

    class NormSpy(Callback):
        order = 1

        def before_step(self):
            grads = [p.grad.numpy().astype(np.float64) for p in self.learn.model.parameters()]
            norms.append(math.sqrt(sum(float((g * g).sum()) for g in grads)))

    learn = make_learner(lr=1e-2)
    learn.fit(1, cbs=[GradientClip(max_norm=1e-3), NormSpy()])
    assert len(norms) == TRAIN_BATCHES
    assert max(norms) <= 1e-3 * (1 + 1e-4)
