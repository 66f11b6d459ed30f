"""Learner.validate (fastai's): the fit's validation phase run on its own, returning [valid_loss, *metrics],
with weights, optimizer, Recorder values and random states left untouched."""
import numpy as np
import pytest
from learner_setup import EventLog, make_data, make_learner

from nnx.data import DataLoader
from nnx.learner import Callback, CancelValidException, checkpoint
from nnx.metrics import accuracy, error_rate


def full_state(learn):
    """Everything a checkpoint holds (model, optimizer, nnx.random and loader generators), comparable."""
    content, arrays = checkpoint.capture(learn)
    return content, {name: array.copy() for name, array in arrays.items()}


def assert_same_state(before, after):
    assert before[0] == after[0]
    assert before[1].keys() == after[1].keys()
    for name in before[1]:
        np.testing.assert_array_equal(before[1][name], after[1][name])


def reference_loss_and_accuracy(learn, X, y):
    """float64 cross-entropy (mean over samples) and accuracy from the model's outputs."""
    probs, _ = learn.get_preds(dl=DataLoader(X, y, batch_size=len(y)))
    probs = probs.astype(np.float64)
    loss = -np.mean(np.log(probs[np.arange(len(y)), y]))
    return loss, np.mean(probs.argmax(axis=1) == y)


def test_validate_after_fit_equals_last_recorded_row_and_changes_nothing():
    learn = make_learner(dropout=0.3, loader_seed=7, metrics=[accuracy, error_rate])
    learn.fit(2, 1e-2)
    values = [list(row) for row in learn.recorder.values]
    log, losses = list(learn.recorder.log), list(learn.recorder.losses)
    before = full_state(learn)
    result = learn.validate()
    assert len(result) == 3
    np.testing.assert_allclose(result, values[-1][1:], rtol=1e-6)
    assert_same_state(before, full_state(learn))
    assert learn.recorder.values == values and learn.recorder.log == log and learn.recorder.losses == losses
    assert learn.model.training is False and learn.training is False
    assert learn.dl is None and learn.pred is None


def test_validate_matches_a_float64_reference_and_restores_train_mode():
    learn = make_learner(metrics=accuracy)
    learn.fit(1, 1e-2)
    learn.model.train()
    _, _, X_valid, y_valid = make_data()
    loss, acc = learn.validate()
    ref_loss, ref_acc = reference_loss_and_accuracy(learn, X_valid, y_valid)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
    assert acc == pytest.approx(ref_acc)
    assert learn.model.training is True


def test_validate_on_the_training_set_keeps_the_shuffling_generators():
    for loader_seed in (None, 3):  # nnx.random's default generator, then the loader's own
        learn = make_learner(dropout=0.5, loader_seed=loader_seed, metrics=accuracy)
        learn.fit(1, 1e-2)
        before = full_state(learn)
        X_train, y_train, _, _ = make_data()
        loss, acc = learn.validate(ds_idx=0)
        assert_same_state(before, full_state(learn))
        ref_loss, ref_acc = reference_loss_and_accuracy(learn, X_train, y_train)
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
        assert acc == pytest.approx(ref_acc)


def test_validate_a_given_dataloader_with_odd_batches():
    learn = make_learner(metrics=accuracy)
    learn.fit(1, 1e-2)
    _, _, X_valid, y_valid = make_data()
    X, y = X_valid[:37], y_valid[:37]
    loss, acc = learn.validate(dl=DataLoader(X, y, batch_size=5))
    ref_loss, ref_acc = reference_loss_and_accuracy(learn, X, y)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
    assert acc == pytest.approx(ref_acc)


def test_validate_fires_the_validation_events_and_passes_extra_callbacks():
    learn = make_learner()
    spy = EventLog()
    learn.validate(cbs=[spy])
    assert spy.events[0] == "before_validate" and spy.events[-1] == "after_validate"
    assert spy.events.count("before_batch") == 2  # 64 validation samples, batches of 50
    assert "before_fit" not in spy.events and "before_epoch" not in spy.events and "after_epoch" not in spy.events
    assert spy not in learn.cbs


def test_validate_before_any_fit_and_an_empty_recorder():
    learn = make_learner(metrics=accuracy)
    assert learn.opt is None
    loss, acc = learn.validate()
    assert np.isfinite(loss) and 0.0 <= acc <= 1.0
    assert learn.opt is None and learn.recorder.values == []


@pytest.mark.parametrize("ds_idx", [2, -1, True, "valid", 1.0, 1.5])
def test_validate_rejects_a_bad_ds_idx(ds_idx):
    with pytest.raises(ValueError, match="ds_idx"):
        make_learner().validate(ds_idx=ds_idx)


def test_validate_without_a_validation_set_says_so():
    X_train, y_train, _, _ = make_data()
    learn = make_learner()
    learn.dls.valid = None
    with pytest.raises(ValueError, match="no validation set"):
        learn.validate()
    loss, = learn.validate(dl=DataLoader(X_train, y_train, batch_size=64))
    assert np.isfinite(loss)


def test_validate_refuses_loaders_without_batches_or_targets():
    X_train, y_train, _, _ = make_data()
    learn = make_learner()
    with pytest.raises(ValueError, match="no batches"):
        learn.validate(dl=[])
    with pytest.raises(ValueError, match="no batch with targets"):
        learn.validate(dl=DataLoader(X_train, batch_size=64))


def test_a_cancelled_validation_is_an_error_not_stale_numbers():
    class CancelValidation(Callback):
        def before_validate(self):
            raise CancelValidException()

    learn = make_learner()
    with pytest.raises(ValueError, match="cancelled"):
        learn.validate(cbs=[CancelValidation()])
