"""Learner.save/load: bit-identical resume, atomic writes, and clear errors for bad files."""
import os
import pickle

import numpy as np
import pytest
from learner_setup import assert_params_equal, make_learner, param_arrays

import nnx
from nnx.learner import Callback, CancelFitException, CheckpointError, checkpoint


@pytest.mark.parametrize("loader_seed", [None, 7])
def test_fit_resumed_from_a_checkpoint_is_bit_identical(tmp_path, loader_seed):
    path = tmp_path / "run.nnx"
    uninterrupted = make_learner(dropout=0.3, loader_seed=loader_seed)
    uninterrupted.fit(4, lr=3e-3)
    rng_after = nnx.random.get_state()

    first_half = make_learner(dropout=0.3, loader_seed=loader_seed)
    first_half.fit(2, lr=3e-3)
    first_half.save(path)

    resumed = make_learner(seed=12345, dropout=0.3, loader_seed=loader_seed)  # other init, other RNG state
    resumed.load(path)
    resumed.fit(2, lr=3e-3)
    assert_params_equal(param_arrays(resumed.model), param_arrays(uninterrupted.model))
    assert nnx.random.get_state() == rng_after


class SaveAndStop(Callback):
    """Saves after epoch `epoch` and stops, like a job killed right after its checkpoint."""

    order = 100

    def __init__(self, path, epoch):
        self.path, self.epoch = path, epoch

    def after_epoch(self):
        if self.learn.epoch == self.epoch:
            self.learn.save(self.path)
            raise CancelFitException()


def test_one_cycle_resumed_with_start_epoch_is_bit_identical(tmp_path):
    path = tmp_path / "cycle.nnx"
    uninterrupted = make_learner(dropout=0.2)
    uninterrupted.fit_one_cycle(4, 1e-2)

    killed = make_learner(dropout=0.2)
    killed.fit_one_cycle(4, 1e-2, cbs=[SaveAndStop(path, epoch=1)])
    assert not np.array_equal(param_arrays(killed.model)[0], param_arrays(uninterrupted.model)[0])

    resumed = make_learner(seed=99, dropout=0.2)
    resumed.load(path)
    resumed.fit_one_cycle(4, 1e-2, start_epoch=2)
    assert_params_equal(param_arrays(resumed.model), param_arrays(uninterrupted.model))
    assert resumed.recorder.lrs == uninterrupted.recorder.lrs[len(uninterrupted.recorder.lrs) // 2:]


def test_save_is_atomic_when_the_writer_crashes(tmp_path, monkeypatch):
    path = tmp_path / "model.nnx"
    learn = make_learner()
    learn.fit(1)
    learn.save(path)
    saved_weights = param_arrays(learn.model)
    original_bytes = path.read_bytes()
    learn.fit(1)

    def crash_mid_write(file, members):
        file.write(b"PK\x03\x04 half a zip file")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(checkpoint, "_write_members", crash_mid_write)
    with pytest.raises(OSError, match="simulated"):
        learn.save(path)
    assert path.read_bytes() == original_bytes
    assert os.listdir(tmp_path) == ["model.nnx"]  # no temporary file left behind
    monkeypatch.undo()
    fresh = make_learner(seed=5)
    fresh.load(path)
    assert_params_equal(param_arrays(fresh.model), saved_weights)


def _assert_load_fails_untouched(learn, path, match):
    weights = param_arrays(learn.model)
    rng_state = nnx.random.get_state()
    with pytest.raises(CheckpointError, match=match) as error:
        learn.load(path)
    assert str(path) in str(error.value)
    assert_params_equal(param_arrays(learn.model), weights)
    assert nnx.random.get_state() == rng_state


def test_truncated_or_corrupt_checkpoint_raises_and_leaves_the_model(tmp_path):
    path = tmp_path / "model.nnx"
    source = make_learner()
    source.fit(1)
    source.save(path)
    data = path.read_bytes()
    target = make_learner(seed=3)
    target.fit(1)
    for cut in (10, len(data) // 2, len(data) - 30):
        truncated = tmp_path / f"cut{cut}.nnx"
        truncated.write_bytes(data[:cut])
        _assert_load_fails_untouched(target, truncated, "checkpoint")
    corrupt = bytearray(data)
    corrupt[len(data) // 2] ^= 0xFF
    (tmp_path / "corrupt.nnx").write_bytes(bytes(corrupt))
    _assert_load_fails_untouched(target, tmp_path / "corrupt.nnx", "checkpoint|corrupt")


PICKLE_RAN = []


def _record_pickle_call():
    PICKLE_RAN.append(True)


class _Payload:
    def __reduce__(self):
        return (_record_pickle_call, ())


def test_foreign_files_raise_and_never_run_code(tmp_path):
    learn = make_learner()
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint\n")
    _assert_load_fails_untouched(learn, text, "not a readable nnx Learner checkpoint")
    arrays = tmp_path / "arrays.npz"
    with open(arrays, "wb") as file:
        np.savez(file, weights=np.ones(3))
    _assert_load_fails_untouched(learn, arrays, "header")
    pickled = tmp_path / "evil.pkl"
    pickled.write_bytes(pickle.dumps({"model": _Payload()}))
    _assert_load_fails_untouched(learn, pickled, "checkpoint")
    assert PICKLE_RAN == []
    with pytest.raises(FileNotFoundError):
        learn.load(tmp_path / "missing.nnx")


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    from nnx import nn
    from nnx.learner import Learner

    path = tmp_path / "other.nnx"
    other = Learner(make_learner().dls, nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)),
                    nn.CrossEntropyLoss(), verbose=False)
    other.save(path)
    _assert_load_fails_untouched(make_learner(), path, "does not match")


def test_without_optimizer_state(tmp_path):
    path = tmp_path / "weights.nnx"
    learn = make_learner()
    learn.fit(1)
    learn.save(path, with_opt=False)
    fresh = make_learner(seed=8)
    fresh.load(path)
    assert_params_equal(param_arrays(fresh.model), param_arrays(learn.model))
    assert fresh.opt is None


def test_frozen_groups_travel_with_the_optimizer(tmp_path):
    from learner_setup import three_groups

    path = tmp_path / "sub" / "dir" / "frozen.nnx"  # missing folders are created
    learn = make_learner(splitter=three_groups)
    learn.freeze()
    learn.fit(1)
    learn.save(path)
    fresh = make_learner(seed=4, splitter=three_groups)
    fresh.load(path)
    assert fresh.frozen_idx == 2
    assert [p.requires_grad for p in fresh.model.parameters()] == [False] * 4 + [True] * 2
