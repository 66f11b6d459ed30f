"""Learner checkpoints: model, optimizer and random-generator state in one .npz file, written atomically
and verified whole before anything is restored.

Where the state of a run lives, all of which a checkpoint holds:
- model.state_dict(): parameters and persistent buffers (BatchNorm running statistics).
- opt.state_dict(): per-parameter moments and step counts, and each group's hyper-parameters;
  with it, which groups are frozen (learn.frozen_idx).
- nnx.random's default generator (seed, counter): dropout masks, initialisation, and the shuffling of
  every DataLoader made without `seed`.
- the private generator of each DataLoader made with `seed=` (its NumPy bit-generator state).

File format: np.savez (uncompressed, loaded with allow_pickle=False, so loading never runs code).
Member "header" is UTF-8 JSON {"format", "version", "sha256", "content"}; content is the nested state
with each array replaced by {"__array__": name} pointing at member `name`. sha256 covers the content
JSON and every array's name, dtype, shape and bytes, so truncation or corruption is caught before use.
"""
import hashlib
import json
import os
import re
import tempfile
import zipfile

import numpy as np

from .. import random as nnx_random
from ..tensor import Tensor

__all__ = ["CheckpointError", "save", "load", "capture", "restore", "write_atomically"]

FORMAT = "nnx.Learner checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a complete, intact nnx Learner checkpoint, or one that does not fit the Learner."""


# ---- capturing and restoring a Learner's state (in memory) ----

def capture(learn, with_opt=True):
    """(content, arrays): the Learner's state as JSON-able content plus copied arrays."""
    arrays = {}
    state = {
        "model": list(learn.model.state_dict().items()),
        "opt": learn.opt.state_dict() if (with_opt and learn.opt is not None) else None,
        "frozen_idx": learn.frozen_idx,
        "rng": nnx_random.get_state(),
        "dataloaders": [_loader_rng_state(dl) for dl in _loaders(learn)],
    }
    return _encode(state, arrays), arrays


def restore(learn, saved, with_opt=True, with_rng=True):
    """Put back what capture() took. Checks everything it can first; if restoring still fails half-way,
    the Learner's previous state is put back before the error propagates."""
    content, arrays = saved
    try:
        state = _decode(content, arrays)
        state = {key: state[key] for key in ("model", "opt", "frozen_idx", "rng", "dataloaders")}
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise CheckpointError(f"malformed checkpoint content ({error!r})") from None
    _check_fits(learn, state, with_opt)
    previous = capture(learn)
    try:
        _apply(learn, state, with_opt, with_rng)
    except Exception:
        _apply(learn, _decode(*previous), with_opt=True, with_rng=True)
        raise


def _apply(learn, state, with_opt, with_rng):
    learn.model.load_state_dict(dict(state["model"]))
    if with_opt and state["opt"] is not None:
        if learn.opt is None:
            learn.create_opt()
        learn.opt.load_state_dict(state["opt"])
        learn.freeze_to(state["frozen_idx"])
    if not with_rng:
        return
    nnx_random.set_state(state["rng"])
    for dl, rng_state in zip(_loaders(learn), state["dataloaders"]):
        _set_loader_rng_state(dl, rng_state)


def _check_fits(learn, state, with_opt):
    """Raise CheckpointError unless the saved state matches this Learner's model and optimizer."""
    own = learn.model.state_dict()
    saved = {key: value for key, value in state["model"]}
    if list(saved) != list(own):
        missing, unexpected = set(own) - set(saved), set(saved) - set(own)
        raise CheckpointError(f"the checkpoint's model does not match: missing keys {sorted(missing)}, "
                              f"unexpected keys {sorted(unexpected)}")
    for key, value in own.items():
        if tuple(np.shape(saved[key])) != tuple(value.shape):
            raise CheckpointError(f"the checkpoint's '{key}' has shape {np.shape(saved[key])}, "
                                  f"the model's has {tuple(value.shape)}")
    if with_opt and state["opt"] is not None:
        n_groups = len(state["opt"]["param_groups"])
        groups = learn.opt.param_groups if learn.opt is not None else learn.splitter(learn.model)
        sizes = [len(g["params"]) if isinstance(g, dict) else len(list(g)) for g in groups]
        saved_sizes = [len(g["params"]) for g in state["opt"]["param_groups"]]
        if saved_sizes != sizes:
            raise CheckpointError(f"the checkpoint's optimizer has {n_groups} parameter groups of sizes "
                                  f"{saved_sizes}, this Learner's has {sizes}")
    if len(state["dataloaders"]) != len(_loaders(learn)):
        raise CheckpointError(f"the checkpoint has {len(state['dataloaders'])} DataLoaders, "
                              f"this Learner has {len(_loaders(learn))}")


def capture_random_state(learn, extra_loaders=()):
    """nnx.random's state and the shuffling generators of the Learner's DataLoaders and of extra_loaders."""
    loaders = _loaders(learn) + list(extra_loaders)
    return nnx_random.get_state(), [_loader_rng_state(dl) for dl in loaders]


def restore_random_state(learn, saved, extra_loaders=()):
    """Put back what capture_random_state(learn, extra_loaders) took."""
    rng, loader_states = saved
    nnx_random.set_state(rng)
    for dl, rng_state in zip(_loaders(learn) + list(extra_loaders), loader_states):
        _set_loader_rng_state(dl, rng_state)


def _loaders(learn):
    return [dl for dl in (learn.dls.train, learn.dls.valid) if dl is not None]


def _loader_rng_state(dl):
    """The state of a DataLoader's own shuffling generator, or None when it draws from nnx.random."""
    generator = getattr(dl, "_generator", None)
    return None if generator is None else generator.bit_generator.state


def _set_loader_rng_state(dl, rng_state):
    generator = getattr(dl, "_generator", None)
    if rng_state is None and generator is None:
        return
    if rng_state is None or generator is None:
        raise CheckpointError("a DataLoader's shuffling seed differs between the checkpoint and this Learner "
                              "(one was made with seed=, the other without)")
    generator.bit_generator.state = rng_state


# ---- files ----

def save(learn, path, with_opt=True):
    """Write a checkpoint atomically (write_atomically)."""
    content, arrays = capture(learn, with_opt=with_opt)
    header = {"format": FORMAT, "version": VERSION, "sha256": _digest(content, arrays), "content": content}
    members = {"header": np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)}
    members.update(arrays)
    write_atomically(path, lambda file: _write_members(file, members))


def write_atomically(path, write_fn):
    """Write a file so that `path` holds either its old content or the whole new one, never a part:
    write_fn(file) fills a temporary file beside `path` (missing folders are created), which is
    fsync'd, given the mode of the file it replaces (0o644 for a new one) and then os.replace'd.
    The temporary's name carries this process's pid, so that the next save or load of `path` removes
    it if this process dies before the rename (remove_stale_temporaries) and never a live writer's."""
    path = os.fspath(path)
    if os.path.isdir(path):  # checked first: the temporary file would otherwise go into its parent
        raise IsADirectoryError(f"path {path!r} is a directory; give a file name to write")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    remove_stale_temporaries(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.{os.getpid()}.", suffix=".tmp",
                                     dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            write_fn(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, _file_mode(path))
        os.replace(temporary, path)
    except BaseException:
        with _ignoring(FileNotFoundError):
            os.unlink(temporary)
        raise


def remove_stale_temporaries(path):
    """Remove the temporary files of `path` (.<name>.<pid>.<random>.tmp, beside it) whose writer is dead,
    e.g. SIGKILLed in the middle of a save; called by every save and load of `path`. A file whose writer
    is alive (another process saving now, or this one: a save in another thread) is left alone, as is
    anything not named that way. Best effort: what cannot be listed or removed stays."""
    if os.name != "posix":  # os.kill(pid, 0) only tests liveness on POSIX (elsewhere signal 0 is CTRL_C_EVENT)
        return
    directory = os.path.dirname(os.path.abspath(path))
    pattern = re.compile(re.escape(f".{os.path.basename(path)}.") + r"([0-9]+)\.[A-Za-z0-9_]+\.tmp")
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or _writer_alive(int(match.group(1))):
            continue
        with _ignoring(OSError):  # gone already (another process cleaned it), not ours to remove, a folder
            os.unlink(os.path.join(directory, name))


def _writer_alive(pid):
    """Whether process `pid` may still be writing: os.kill(pid, 0) semantics; PermissionError means it
    exists (another user's), and this process's own files belong to a save that may be in progress."""
    if pid <= 0 or pid == os.getpid():  # 0 and negative pids name process groups, never a writer
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, OSError):  # a number no process can have: not a file of ours, leave it
        return True
    return True


def _write_members(file, members):
    np.savez(file, **members)


def load(learn, path, with_opt=True, with_rng=True):
    """Read and verify the whole checkpoint, then restore it into `learn`."""
    remove_stale_temporaries(os.fspath(path))
    content, arrays = read(path)
    try:
        restore(learn, (content, arrays), with_opt=with_opt, with_rng=with_rng)
    except CheckpointError as error:
        raise CheckpointError(f"{os.fspath(path)}: {error}") from None


def read(path):
    """(content, arrays) of a verified checkpoint file; CheckpointError naming the path otherwise."""
    path = os.fspath(path)
    with open(path, "rb") as file:  # opened here so that it is closed even when np.load fails
        try:
            members = _read_members(file)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
            raise CheckpointError(f"{path}: not a readable nnx Learner checkpoint ({error}); the file may be "
                                  "truncated, corrupt, or of another kind") from None
    header_array = members.pop("header")
    try:
        header = json.loads(header_array.tobytes().decode("utf-8"))
        if header.get("format") != FORMAT:
            raise CheckpointError(f"format is {header.get('format')!r}, expected {FORMAT!r}")
        if header.get("version") != VERSION:
            raise CheckpointError(f"version {header.get('version')!r}, this nnx reads version {VERSION}")
        content = header["content"]
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError, KeyError, CheckpointError) as error:
        raise CheckpointError(f"{path}: not an nnx Learner checkpoint ({error})") from None
    if _digest(content, members) != header.get("sha256"):
        raise CheckpointError(f"{path}: checksum mismatch: the checkpoint is corrupt or was modified")
    return content, members


def _read_members(file):
    loaded = np.load(file, allow_pickle=False)
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError("a single .npy array, not an .npz archive")
    with loaded as npz:
        if "header" not in npz.files:
            raise ValueError("no 'header' member")
        return {name: npz[name] for name in npz.files}


def _digest(content, arrays):
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8"))
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode("utf-8"))
        digest.update(array.tobytes())
    return digest.hexdigest()


def _file_mode(path):
    """Keep the mode of the file being replaced; a new file gets 0o644 (mkstemp would leave 0o600)."""
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        return 0o644


class _ignoring:
    def __init__(self, *exceptions):
        self.exceptions = exceptions

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        return kind is not None and issubclass(kind, self.exceptions)


# ---- nested state <-> JSON + arrays ----

def _encode(value, arrays):
    """JSON-able form of nested dicts/lists/tuples of numbers, strings, arrays and Tensors.

    Dicts keep key types (optimizer state is keyed by int) as lists of [key, value] pairs; arrays
    and Tensors are copied into `arrays` under fresh names.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, Tensor):
        return {"__tensor__": _store(value.detach().cpu().numpy(), arrays)}  # a CUDA tensor: a host copy
    if isinstance(value, np.ndarray):
        return {"__array__": _store(value, arrays)}
    raise TypeError(f"cannot save a {type(value).__name__} in a checkpoint: {value!r}")


def _store(array, arrays):
    if array.dtype.hasobject:
        raise TypeError("cannot save an array of Python objects in a checkpoint")
    name = f"a{len(arrays)}"
    arrays[name] = np.array(array, copy=True, order="C")
    return name


def _decode(value, arrays):
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__dict__" in value:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in value["__dict__"]}
    if "__tuple__" in value:
        return tuple(_decode(v, arrays) for v in value["__tuple__"])
    if "__tensor__" in value:
        return Tensor(np.array(_member(arrays, value["__tensor__"]), copy=True))
    if "__array__" in value:
        return np.array(_member(arrays, value["__array__"]), copy=True)
    raise CheckpointError(f"unexpected entry in the checkpoint header: {value!r}")


def _member(arrays, name):
    if name not in arrays:
        raise CheckpointError(f"the checkpoint header refers to a missing array {name!r}")
    return arrays[name]
