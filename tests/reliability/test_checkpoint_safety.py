"""Checkpoints: a process SIGKILLed in the middle of Learner.save leaves the previous file intact; every
truncation and single-byte corruption of a checkpoint is refused (or, where the byte is padding, reads
back the same state) with the Learner untouched; Module.load_state_dict names every bad key."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.data import DataLoader
from nnx.learner import CheckpointError, Learner

# The child trains, saves a first checkpoint, trains on, then saves again through a writer slowed down
# to a crawl (one sleep per write call), so the parent can kill it while the bytes are going out.
CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    import nnx
    from nnx import nn
    from nnx.data import DataLoader
    from nnx.learner import Learner, checkpoint

    path = sys.argv[1]
    nnx.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 8)).astype(np.float32)
    y = rng.integers(0, 4, 64)
    model = nn.Sequential(nn.Linear(8, 256), nn.ReLU(), nn.Linear(256, 4))
    learn = Learner((DataLoader(X, y, batch_size=16), None), model, nn.CrossEntropyLoss(), verbose=False)
    learn.fit(1)
    learn.save(path)
    print("saved", flush=True)
    learn.fit(1)

    class SlowFile:
        def __init__(self, file):
            self.file = file
        def write(self, data):
            time.sleep(0.02)
            return self.file.write(data)
        def __getattr__(self, name):
            return getattr(self.file, name)

    write_members = checkpoint._write_members
    checkpoint._write_members = lambda file, members: write_members(SlowFile(file), members)
    print("saving again", flush=True)
    learn.save(path)
    print("finished", flush=True)
""")


def make_learner(seed=0):
    nnx.manual_seed(seed)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 8)).astype(np.float32)
    y = rng.integers(0, 4, 64)
    model = nn.Sequential(nn.Linear(8, 256), nn.ReLU(), nn.Linear(256, 4))
    return Learner((DataLoader(X, y, batch_size=16, shuffle=True), None), model, nn.CrossEntropyLoss(),
                   verbose=False)


def learner_state(learn):
    """Everything a load could change: weights, optimizer moments and steps, hyper-parameters, RNG."""
    params = [p.numpy().copy() for p in learn.model.parameters()]
    opt = learn.opt.state_dict() if learn.opt is not None else None
    moments = [] if opt is None else [(k, name, np.array(v.numpy() if hasattr(v, "numpy") else v))
                                      for k, s in sorted(opt["state"].items()) for name, v in sorted(s.items())]
    groups = None if opt is None else [dict(g) for g in opt["param_groups"]]
    return params, moments, groups, nnx.random.get_state()


def assert_same_state(left, right):
    params_l, moments_l, groups_l, rng_l = left
    params_r, moments_r, groups_r, rng_r = right
    for a, b in zip(params_l, params_r, strict=True):
        np.testing.assert_array_equal(a, b)
    assert [(k, n) for k, n, _ in moments_l] == [(k, n) for k, n, _ in moments_r]
    for (_, _, a), (_, _, b) in zip(moments_l, moments_r):
        np.testing.assert_array_equal(a, b)
    assert groups_l == groups_r and rng_l == rng_r


def temporary_files(directory, name):
    return [f for f in os.listdir(directory) if f.startswith(f".{name}.") and f.endswith(".tmp")]


@pytest.mark.parametrize("first", ["load", "save"])
def test_sigkill_during_save_leaves_the_previous_checkpoint_readable(tmp_path, first):
    path = tmp_path / "model.nnx"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "saved"
        first_bytes = path.read_bytes()
        assert child.stdout.readline().strip() == "saving again"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill once the new file is being written, not before
            partial = temporary_files(tmp_path, path.name)
            if partial and os.path.getsize(tmp_path / partial[0]) > 0:
                break
            time.sleep(0.005)
        else:
            pytest.fail("the child never started writing the second checkpoint")
        child.send_signal(signal.SIGKILL)
        rest = child.communicate(timeout=60)[0]
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL and "finished" not in rest
    assert path.read_bytes() == first_bytes  # the previous checkpoint, byte for byte
    # The partial file is left beside it (nothing runs after SIGKILL), named with the dead writer's pid;
    # it never replaces the checkpoint, and the next load (or save) of the checkpoint removes it.
    assert [name.split(".")[3] for name in temporary_files(tmp_path, path.name)] == [str(child.pid)]
    learn = make_learner(seed=9)
    learn.fit(1)
    if first == "load":
        learn.load(path)
        assert learn.opt.state_dict()["state"][0]["step"] == 4  # the first save: one epoch of 4 batches
        assert temporary_files(tmp_path, path.name) == []
    learn.save(path)
    assert temporary_files(tmp_path, path.name) == []
    make_learner(seed=3).load(path)


def dead_pid():
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def stray(directory, name, pid, tag="x1y2z3ab"):
    """A temporary file as a writer with `pid` leaves it when killed before its rename."""
    path = directory / f".{name}.{pid}.{tag}.tmp"
    path.write_bytes(b"PK\x03\x04 half a checkpoint")
    return path


@pytest.mark.parametrize("action", ["save", "load"])
def test_a_dead_writers_temporary_file_is_removed_by_the_next_save_or_load(tmp_path, action):
    path = tmp_path / "model.nnx"
    learn = make_learner()
    learn.save(path)
    leftover = stray(tmp_path, path.name, dead_pid())
    getattr(learn, action)(path)
    assert not leftover.exists() and temporary_files(tmp_path, path.name) == []
    make_learner(seed=3).load(path)


def test_live_writers_and_other_files_are_left_alone(tmp_path, monkeypatch):
    path = tmp_path / "model.nnx"
    learn = make_learner()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        kept = [stray(tmp_path, path.name, sleeper.pid),  # another process saving right now
                stray(tmp_path, path.name, os.getpid()),  # a save in another thread of this process
                stray(tmp_path, "model.nnx.7", dead_pid()),  # another target's
                stray(tmp_path, path.name, "abc"),  # not a pid: not ours to judge
                tmp_path / f".{path.name}.x1y2z3ab.tmp",  # an older nnx's name, without a pid
                tmp_path / "notes.txt"]
        kept[-2].write_bytes(b"old")
        kept[-1].write_text("keep me")
        learn.save(path)
        learn.load(path)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert all(p.exists() for p in kept)
    # a writer owned by another user (os.kill answers PermissionError) is alive too
    other_user = stray(tmp_path, path.name, 424242)

    def kill(pid, signal_number):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(os, "kill", kill)
    learn.save(path)
    assert other_user.exists()


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "source.nnx"
    source = make_learner(seed=1)
    source.fit(1)
    source.save(path)
    return path.read_bytes()


@pytest.fixture
def target():
    learn = make_learner(seed=2)
    learn.fit(1)
    return learn


def test_every_truncation_is_refused_and_leaves_the_learner_untouched(tmp_path, checkpoint_bytes, target):
    size = len(checkpoint_bytes)
    cuts = sorted(set([0, 1, 2, 4, 22, 100, size - 22, size - 1] + list(range(0, size, max(1, size // 60)))))
    before = learner_state(target)
    path = tmp_path / "cut.nnx"
    for cut in cuts:
        path.write_bytes(checkpoint_bytes[:cut])
        with pytest.raises(CheckpointError, match="cut.nnx"):
            target.load(path)
        assert_same_state(learner_state(target), before)


def test_single_byte_corruption_is_refused_or_harmless(tmp_path, checkpoint_bytes, target):
    """A flipped byte either raises CheckpointError or (zip timestamps, padding) changes nothing loaded."""
    good = tmp_path / "good.nnx"
    good.write_bytes(checkpoint_bytes)
    reference = make_learner(seed=3)
    reference.load(good)
    expected = learner_state(reference)  # what an intact load gives (the random state is global)
    before = learner_state(target)
    path = tmp_path / "flip.nnx"
    size, refused = len(checkpoint_bytes), 0
    positions = sorted(set(range(0, size, max(1, size // 80))) | {size - 1})
    for position in positions:
        corrupt = bytearray(checkpoint_bytes)
        corrupt[position] ^= 0x5A
        path.write_bytes(bytes(corrupt))
        try:
            target.load(path)
        except CheckpointError:
            refused += 1
            assert_same_state(learner_state(target), before)
            continue
        assert_same_state(learner_state(target), expected)  # loaded: then it is the saved state exactly
        before = expected
    assert refused >= len(positions) * 0.9


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


@pytest.mark.parametrize("content", [
    b"", b"\x00" * 64, b"PK\x05\x06" + b"\x00" * 18, b"not a checkpoint\n", b"\x93NUMPY garbage",
    "npy", "npz-without-header", "npz-with-foreign-header", "pickle", "torch",
])
def test_foreign_files_raise_a_checkpoint_error_and_run_nothing(tmp_path, target, content, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "foreign.bin"
    if content == "npy":
        with path.open("wb") as file:
            np.save(file, np.ones(3))
    elif content == "npz-without-header":
        with path.open("wb") as file:
            np.savez(file, weight=np.ones(3))
    elif content == "npz-with-foreign-header":
        with path.open("wb") as file:
            np.savez(file, header=np.frombuffer(b'{"format": "other", "version": 1}', np.uint8))
    elif content == "pickle":
        import pickle
        path.write_bytes(pickle.dumps({"model": _Payload()}))
    elif content == "torch":
        torch = pytest.importorskip("torch")
        torch.save({"weight": torch.ones(3)}, path)
    else:
        path.write_bytes(content)
    before = learner_state(target)
    with pytest.raises(CheckpointError, match="foreign.bin"):
        target.load(path)
    assert_same_state(learner_state(target), before)
    assert not (tmp_path / "pwned").exists()


def test_saving_onto_a_directory_is_refused_before_writing(tmp_path):
    learn = make_learner()
    (tmp_path / "dir.nnx").mkdir()
    with pytest.raises(IsADirectoryError, match="dir.nnx"):
        learn.save(tmp_path / "dir.nnx")
    assert sorted(os.listdir(tmp_path)) == ["dir.nnx"]


# ---- Module.load_state_dict ----

def two_layers():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def module_arrays(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


def test_load_state_dict_names_missing_unexpected_and_mismatched_keys():
    model = two_layers()
    before = module_arrays(model)
    state = {k: np.asarray(v) + 1 for k, v in before.items()}
    del state["2.bias"]
    state["2.scale"] = np.ones(2)
    state["0.weight"] = np.ones((4, 5))
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert 'Missing key(s) in state_dict: "2.bias"' in message
    assert 'Unexpected key(s) in state_dict: "2.scale"' in message
    assert "size mismatch for 0.weight" in message and "(4, 5)" in message and "(4, 3)" in message
    for key, value in module_arrays(model).items():
        np.testing.assert_array_equal(value, before[key])


def test_load_state_dict_strict_false_reports_and_loads_the_rest():
    model = two_layers()
    before = module_arrays(model)
    state = {k: v + 1 for k, v in before.items() if k != "2.bias"}
    state["extra.weight"] = np.zeros(1)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["extra.weight"]
    after = module_arrays(model)
    np.testing.assert_array_equal(after["2.bias"], before["2.bias"])
    np.testing.assert_array_equal(after["0.weight"], before["0.weight"] + 1)


def test_load_state_dict_shape_mismatch_raises_even_when_not_strict():
    model = two_layers()
    before = module_arrays(model)
    with pytest.raises(RuntimeError, match="size mismatch for 2.weight"):
        model.load_state_dict({"2.weight": np.ones((3, 4))}, strict=False)
    for key, value in module_arrays(model).items():
        np.testing.assert_array_equal(value, before[key])


def test_load_state_dict_unconvertible_value_leaves_the_module_untouched():
    model = two_layers()
    before = module_arrays(model)
    state = {k: v + 1 for k, v in before.items()}
    state["2.bias"] = np.array(["a", "b"])
    with pytest.raises((TypeError, ValueError), match="2.bias"):
        model.load_state_dict(state)
    for key, value in module_arrays(model).items():
        np.testing.assert_array_equal(value, before[key])


def test_load_state_dict_refuses_complex_values():
    model = two_layers()
    state = {k: v.astype(np.complex64) * 1j for k, v in module_arrays(model).items()}
    with pytest.raises(TypeError, match="0.weight"):
        model.load_state_dict(state)
