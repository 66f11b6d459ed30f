"""Checkpoints from untrusted hands (issue 20 items 5, 8, 9): a decompression bomb is refused after reading
no more than the sizes its headers declare; every malformed file (flipped compression method, deeply nested
header, huge declared shape, absurd optimizer step, 400 random byte flips) raises CheckpointError and leaves
the Learner untouched; saving respects a write-protected target and writes through symlinks."""
import json
import os
import random
import shutil
import struct
import tempfile
import time
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.data import DataLoader
from nnx.learner import CheckpointError, Learner, checkpoint
from nnx.tabular import load_learner


def make_learner(seed=0):
    nnx.manual_seed(seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(32, 3)).astype(np.float32)
    y = rng.integers(0, 2, 32)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    return Learner(dls=(DataLoader(X, y, batch_size=16, seed=seed), None), model=model,
                   loss_func=nn.CrossEntropyLoss(), verbose=False)


def learner_state(learn):
    return ({k: v.numpy().copy() for k, v in learn.model.state_dict().items()},
            json.dumps(checkpoint.capture(learn)[0], sort_keys=True), nnx.random.get_state())


def assert_same(left, right):
    assert left[0].keys() == right[0].keys()
    for key in left[0]:
        np.testing.assert_array_equal(left[0][key], right[0][key], err_msg=key)
    assert left[1:] == right[1:]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("untrusted") / "good.nnx"
    learn = make_learner(seed=1)
    learn.fit(1)
    learn.save(path)
    return path


@pytest.fixture
def target():
    learn = make_learner(seed=2)
    learn.fit(1)
    return learn


def write_checksummed(path, state):
    """A checkpoint with a correct checksum around `state` (what a forger who read the format would write)."""
    arrays = {}
    content = checkpoint._encode(state, arrays)
    header = {"format": checkpoint.FORMAT, "version": checkpoint.VERSION,
              "sha256": checkpoint._digest(content, arrays), "content": content}
    members = {"header": np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays}
    with open(path, "wb") as file:
        np.savez(file, **members)


def saved_state(path):
    return checkpoint._decode(*checkpoint.read(path))


def npy_header(dtype, shape):
    """The bytes of a version 1.0 .npy header for an array of `dtype` and `shape` (np.lib.format's layout)."""
    text = repr({"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape})
    text += " " * (-(len(text) + 11) % 64) + "\n"  # magic (6) + version (2) + length (2) + text: 64-aligned
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def refuses_untouched(learn, path, match=None):
    before = learner_state(learn)
    with pytest.raises(CheckpointError, match=match):
        learn.load(path)
    assert_same(learner_state(learn), before)


# ---- decompression bombs and declared sizes ----

def bomb(path, good, payload_bytes, kind):
    """The good checkpoint with member a0 replaced by payload_bytes of deflated zeros (a file of ~1/1000 that
    size). kind 'honest': the .npy header declares all of them (the issue's bomb: a 1 MiB file that made the
    old reader allocate and inflate 1 GiB); 'trailing': it declares 4 floats and the zeros follow; 'lying': as
    'trailing', and the zip entry's declared size is patched to match the .npy header's."""
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            if info.filename != "a0.npy":
                out.writestr(info.filename, source.read(info))
                continue
            with out.open("a0.npy", "w", force_zip64=False) as member:
                if kind == "honest":
                    member.write(npy_header(np.float32, (payload_bytes // 4,)))
                else:
                    member.write(npy_header(np.float32, (4,)) + b"\0" * 16)
                chunk = b"\0" * (1 << 20)
                for _ in range(payload_bytes >> 20):
                    member.write(chunk)
    if kind == "lying":  # patch the central directory's uncompressed size of a0.npy
        data = bytearray(path.read_bytes())
        entry = data.find(b"PK\x01\x02")
        while entry >= 0:
            name_length = struct.unpack_from("<H", data, entry + 28)[0]
            if data[entry + 46:entry + 46 + name_length] == b"a0.npy":
                honest = struct.unpack_from("<I", data, entry + 24)[0]
                struct.pack_into("<I", data, entry + 24, honest - payload_bytes)
            entry = data.find(b"PK\x01\x02", entry + 4)
        path.write_bytes(bytes(data))


@pytest.mark.parametrize("kind", ["honest", "trailing", "lying"])
def test_a_decompression_bomb_is_refused_fast_in_bounded_memory(tmp_path, saved, target, kind):
    path = tmp_path / "bomb.nnx"
    bomb(path, saved, 128 << 20, kind)
    # an honest declaration is far more than a model of 40 parameters needs: refused from the headers alone
    assert checkpoint.state_budget(target) < (100 << 20)
    assert path.stat().st_size < (1 << 20)
    before = learner_state(target)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(CheckpointError, match="over the" if kind == "honest" else "bomb.nnx"):
            target.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2.0
    assert peak < (8 << 20), peak  # the state itself and a chunk, never the 128 MiB
    assert_same(learner_state(target), before)


@pytest.mark.parametrize("kind", ["honest", "trailing"])
def test_a_tabular_export_bomb_is_refused(tmp_path, saved, monkeypatch, kind):
    """load_learner has no model to size a budget from before reading: it allows DEFAULT_MAX_BYTES (4 GiB) of
    declared arrays; lowered here so that an honest 64 MiB bomb is over it."""
    monkeypatch.setattr(checkpoint, "DEFAULT_MAX_BYTES", 16 << 20)
    path = tmp_path / "bomb.pkl"
    bomb(path, saved, 64 << 20, kind)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="bomb.pkl"):
            load_learner(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < (8 << 20), peak


def test_a_huge_declared_shape_is_a_checkpoint_error_not_a_memory_error(tmp_path, saved, target):
    path = tmp_path / "huge.nnx"
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(path, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "a0.npy":
                data = npy_header(np.float64, (1 << 40, 1 << 20)) + b"\0" * 16
            out.writestr(info.filename, data)
    refuses_untouched(target, path, match="declares")


# ---- malformed files ----

def test_an_unknown_compression_method_is_a_checkpoint_error(tmp_path, saved, target):
    data = bytearray(saved.read_bytes())
    entry = data.find(b"PK\x01\x02")  # the first central-directory entry: its method is at offset 10
    struct.pack_into("<H", data, entry + 10, 99)
    path = tmp_path / "method.nnx"
    path.write_bytes(bytes(data))
    refuses_untouched(target, path, match="compression method 99")


def test_a_deeply_nested_header_is_a_checkpoint_error(tmp_path, target):
    path = tmp_path / "nested.nnx"
    text = '{"format": "%s", "version": 1, "sha256": "", "content": %s}' % (
        checkpoint.FORMAT, "[" * 200_000 + "]" * 200_000)
    with open(path, "wb") as file:
        np.savez(file, header=np.frombuffer(text.encode(), np.uint8))
    refuses_untouched(target, path, match="nested")


@pytest.mark.parametrize("step", [-5, 10 ** 30, 2.5, "3", None, True, [1]])
def test_an_absurd_optimizer_step_is_refused_at_load(tmp_path, saved, target, step):
    state = saved_state(saved)
    first = next(iter(state["opt"]["state"]))
    state["opt"]["state"][first]["step"] = step
    path = tmp_path / "step.nnx"
    write_checksummed(path, state)
    refuses_untouched(target, path, match="step")
    target.fit(1)  # the Learner still trains


def test_a_sane_step_in_a_checksummed_file_still_loads(tmp_path, saved, target):
    state = saved_state(saved)
    for param_state in state["opt"]["state"].values():
        param_state["step"] = 7
    path = tmp_path / "step.nnx"
    write_checksummed(path, state)
    target.load(path)
    assert {s["step"] for s in target.opt.state_dict()["state"].values()} == {7}
    target.fit(1)


def saved_state_of(learn):
    return checkpoint._decode(*checkpoint.capture(learn))


def test_a_bad_hyper_parameter_or_rng_state_is_a_checkpoint_error(tmp_path, saved, target):
    path = tmp_path / "hyper.nnx"
    state = saved_state(saved)
    state["opt"]["param_groups"][0]["lr"] = "fast"
    write_checksummed(path, state)
    refuses_untouched(target, path)
    state = saved_state(saved)
    state["rng"] = {"nonsense": 1}
    write_checksummed(path, state)
    refuses_untouched(target, path)


def test_400_random_byte_corruptions_load_identically_or_raise_checkpoint_error(tmp_path, saved, target):
    good = saved.read_bytes()
    reference = make_learner(seed=3)
    reference.load(saved)
    expected = learner_state(reference)
    before = learner_state(target)
    path = tmp_path / "fuzz.nnx"
    rng = random.Random(20)
    refused = 0
    started = time.perf_counter()
    for _ in range(400):
        corrupt = bytearray(good)
        corrupt[rng.randrange(len(corrupt))] ^= rng.randrange(1, 256)
        path.write_bytes(bytes(corrupt))
        try:
            target.load(path)
        except CheckpointError:
            refused += 1
            assert_same(learner_state(target), before)
            continue
        assert_same(learner_state(target), expected)
        before = expected
    assert refused > 300
    assert time.perf_counter() - started < 30


# ---- writing: permissions and symlinks ----

def read_bytes(path):
    with open(path, "rb") as file:
        return file.read()


def _save_as_nobody(learn, path):
    """learn.save(path) in a forked child running as uid/gid 65534: 'denied', 'saved' or an error name."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12 warns about fork in threaded processes
        pid = os.fork()
    if pid == 0:
        outcome = b"error"
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                learn.save(path)
                outcome = b"saved"
            except PermissionError:
                outcome = b"denied"
            except BaseException as error:  # noqa: BLE001 - reported to the parent
                outcome = type(error).__name__.encode()
        finally:
            os.write(write_end, outcome)
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as pipe:
        return pipe.read().decode()


def test_a_write_protected_checkpoint_is_not_replaced(saved):
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    learn = make_learner(seed=4)
    folder = tempfile.mkdtemp(prefix="nnx-perm-")  # in /tmp: reachable by an unprivileged uid
    try:
        os.chmod(folder, 0o777)  # the folder is writable: only the file's own mode protects it
        path = os.path.join(folder, "protected.nnx")
        shutil.copyfile(saved, path)
        old = read_bytes(path)
        if os.getuid() == 0:  # root overrides modes, as open() lets it: check as an unprivileged user
            os.chown(path, 65534, 65534)
            os.chmod(path, 0o444)
            assert _save_as_nobody(learn, path) == "denied"
        else:
            os.chmod(path, 0o444)
            with pytest.raises(PermissionError, match="protected.nnx"):
                learn.save(path)
        assert read_bytes(path) == old
        assert sorted(os.listdir(folder)) == ["protected.nnx"]  # no temporary left behind
    finally:
        shutil.rmtree(folder)


def test_saving_to_a_symlink_writes_through_to_its_target(tmp_path):
    learn = make_learner(seed=5)
    learn.fit(1)
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "model.nnx"
    real.write_bytes(b"stale")
    link = tmp_path / "link.nnx"
    link.symlink_to(os.path.join("real", "model.nnx"))  # relative, as users make them
    learn.save(link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("real", "model.nnx")
    assert real.read_bytes()[:2] == b"PK"
    fresh = make_learner(seed=6)
    fresh.load(real)
    assert_same(learner_state(fresh), learner_state(learn))
    assert sorted(os.listdir(tmp_path / "real")) == ["model.nnx"]
    dangling = tmp_path / "dangling.nnx"
    dangling.symlink_to(tmp_path / "real" / "new.nnx")
    learn.save(dangling)
    assert dangling.is_symlink() and (tmp_path / "real" / "new.nnx").exists()


def test_a_saved_file_keeps_the_mode_of_the_one_it_replaces(tmp_path):
    learn = make_learner(seed=7)
    path = tmp_path / "mode.nnx"
    learn.save(path)
    os.chmod(path, 0o640)
    learn.save(path)
    assert path.stat().st_mode & 0o777 == 0o640
