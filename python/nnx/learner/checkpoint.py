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

Files from untrusted hands (read_npz): no member is decompressed before its .npy header is read and its
declared size (shape x itemsize) checked against the zip entry and against a budget (loading into a Learner:
a few times its model's state); each member is then read in bounded chunks into an array of exactly that size,
so a decompression bomb fails after reading its declared bytes. Anything malformed raises CheckpointError.
Writing (write_atomically, atomic_files.py) follows symlinks to their target and refuses, as open() would, a target this
process may not write.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import zipfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import random as nnx_random
from ..tensor import Tensor
from .atomic_files import remove_stale_temporaries, resolve_target, write_atomically

if TYPE_CHECKING:
    from .learner import Learner

__all__ = ["CheckpointError", "save", "load", "capture", "restore", "write_atomically", "read_npz"]

FORMAT = "nnx.Learner checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a complete, intact nnx Learner checkpoint, or one that does not fit the Learner."""


# ---- capturing and restoring a Learner's state (in memory) ----

def capture(learn: Learner, with_opt: bool = True) -> tuple[Any, dict[str, np.ndarray]]:
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


def restore(learn: Learner, saved: tuple[Any, dict[str, np.ndarray]], with_opt: bool = True,
            with_rng: bool = True) -> None:
    """Put back what capture() took. Checks everything it can first; if restoring still fails half-way,
    the Learner's previous state is put back before the error propagates."""
    content, arrays = saved
    try:
        state = _decode(content, arrays)
        state = {key: state[key] for key in ("model", "opt", "frozen_idx", "rng", "dataloaders")}
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError) as error:
        raise CheckpointError(f"malformed checkpoint content ({error!r})") from None
    _check_fits(learn, state, with_opt)
    previous = capture(learn)
    try:
        _apply(learn, state, with_opt, with_rng)
    except Exception as error:
        _apply(learn, _decode(*previous), with_opt=True, with_rng=True)
        if isinstance(error, CheckpointError):
            raise
        raise CheckpointError(f"the checkpoint's state could not be restored ({error!r})") from error


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
        _check_opt_state(state["opt"]["state"])
    if not isinstance(state["frozen_idx"], int) or isinstance(state["frozen_idx"], bool):
        raise CheckpointError(f"the checkpoint's frozen_idx is {state['frozen_idx']!r}, not an integer")
    if len(state["dataloaders"]) != len(_loaders(learn)):
        raise CheckpointError(f"the checkpoint has {len(state['dataloaders'])} DataLoaders, "
                              f"this Learner has {len(_loaders(learn))}")


# Step counts beyond 2**53 are no count a run reaches (and lose exactness as PyTorch's float step).
MAX_STEP = 2 ** 53


def _check_opt_state(opt_state):
    """Each parameter's state is a dict whose 'step', when present, is an integer count in [0, MAX_STEP]: a
    negative or absurd step would be accepted by the optimizer and make every later fit fail."""
    if not isinstance(opt_state, dict):
        raise CheckpointError("the checkpoint's optimizer state is not a table of per-parameter states")
    for index, param_state in opt_state.items():
        if not isinstance(param_state, dict):
            raise CheckpointError(f"the checkpoint's optimizer state of parameter {index!r} is not a dict")
        if "step" not in param_state:
            continue
        step = param_state["step"]
        if isinstance(step, (Tensor, np.ndarray)):
            array = step.numpy() if isinstance(step, Tensor) else step
            step = array.item() if array.size == 1 and array.dtype.kind in "iuf" else step
        if isinstance(step, float) and step.is_integer():
            step = int(step)
        if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= MAX_STEP:
            raise CheckpointError(f"the checkpoint's optimizer step of parameter {index!r} is {step!r}, "
                                  f"not an integer count in [0, 2**53]")


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

def save(learn: Learner, path: str | os.PathLike[str], with_opt: bool = True) -> None:
    """Write a checkpoint atomically (write_atomically)."""
    content, arrays = capture(learn, with_opt=with_opt)
    header = {"format": FORMAT, "version": VERSION, "sha256": _digest(content, arrays), "content": content}
    members = {"header": np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)}
    members.update(arrays)
    write_atomically(path, lambda file: _write_members(file, members))


def _write_members(file, members):
    np.savez(file, **members)


def load(learn: Learner, path: str | os.PathLike[str], with_opt: bool = True, with_rng: bool = True) -> None:
    """Read and verify the whole checkpoint, then restore it into `learn`. What is read is bounded by the
    size of learn's own state (state_budget): a file declaring more is refused before anything is allocated."""
    remove_stale_temporaries(resolve_target(path))
    content, arrays = read(path, max_bytes=state_budget(learn))
    try:
        restore(learn, (content, arrays), with_opt=with_opt, with_rng=with_rng)
    except CheckpointError as error:
        raise CheckpointError(f"{os.fspath(path)}: {error}") from None
    except RecursionError:
        raise CheckpointError(f"{os.fspath(path)}: the checkpoint's content is nested too deeply") from None


def state_budget(learn):
    """The most bytes a checkpoint of `learn` may declare: its model's state times 8 (the model, an optimizer
    keeping up to a few moments per parameter, step counts) plus 64 MiB for the header and random states."""
    model_bytes = sum(int(np.prod(value.shape)) * np.dtype(value.dtype).itemsize
                      for value in learn.model.state_dict().values())
    return 8 * model_bytes + (64 << 20)


def read(path, max_bytes=None):
    """(content, arrays) of a verified checkpoint file; CheckpointError naming the path otherwise. max_bytes
    bounds the arrays' declared total (read_npz); None: DEFAULT_MAX_BYTES."""
    path = os.fspath(path)
    members = read_npz(path, max_bytes=max_bytes, what="nnx Learner checkpoint", required=("header",))
    header_array = members.pop("header")
    try:
        header = json.loads(header_array.tobytes().decode("utf-8"))
        if not isinstance(header, dict):
            raise CheckpointError("the header is not a JSON object")
        if header.get("format") != FORMAT:
            raise CheckpointError(f"format is {header.get('format')!r}, expected {FORMAT!r}")
        if header.get("version") != VERSION:
            raise CheckpointError(f"version {header.get('version')!r}, this nnx reads version {VERSION}")
        content = header["content"]
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError, KeyError, CheckpointError) as error:
        raise CheckpointError(f"{path}: not an nnx Learner checkpoint ({error})") from None
    except RecursionError:
        raise CheckpointError(f"{path}: not an nnx Learner checkpoint (its header is nested too deeply)") from None
    try:
        digest = _digest(content, members)
    except (TypeError, ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: malformed checkpoint content ({type(error).__name__})") from None
    if digest != header.get("sha256"):
        raise CheckpointError(f"{path}: checksum mismatch: the checkpoint is corrupt or was modified")
    return content, members


# ---- reading .npz archives from untrusted hands ----

DEFAULT_MAX_BYTES = 1 << 32  # 4 GiB of declared array data, when the caller knows no tighter bound
_CHUNK = 1 << 20  # members are decompressed at most this many bytes at a time
_ALLOWED_KINDS = "biufcSUV"  # numbers, booleans, bytes and str; never objects ('O')


def read_npz(path: str | os.PathLike[str], max_bytes: int | None = None, what: str = "nnx file",
             required: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """{name: array} of an .npz archive (np.savez's format), read without trusting it: no pickle; only stored
    or deflated members; each member's .npy header is read first, its declared size (shape x itemsize) must
    match the zip entry's and the declared total must stay within max_bytes (None: DEFAULT_MAX_BYTES) before
    anything is allocated; then each member is decompressed in chunks into exactly its declared size, and one
    byte more is an error. So a decompression bomb costs at most max_bytes and fails fast. Any problem raises
    CheckpointError naming `path` and the problem (FileNotFoundError/PermissionError/IsADirectoryError of
    the file itself pass as they are)."""
    path = os.fspath(path)
    limit = DEFAULT_MAX_BYTES if max_bytes is None else int(max_bytes)
    with open(path, "rb") as file:
        try:
            return _read_npz_file(file, limit, required)
        except CheckpointError as error:
            raise CheckpointError(f"{path}: not a readable {what} ({error})") from None
        except MemoryError:
            raise CheckpointError(f"{path}: not a readable {what} (its arrays do not fit in memory)") from None
        except Exception as error:  # zipfile, zlib and the .npy parser raise many kinds: all mean malformed
            raise CheckpointError(f"{path}: not a readable {what} ({type(error).__name__}: {error}); the "
                                  "file may be truncated, corrupt, or of another kind") from None


def _read_npz_file(file, limit, required):
    try:
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile as error:
        raise CheckpointError(f"not a zip archive: {error}") from None
    with archive:
        entries = archive.infolist()
        names = [entry.filename for entry in entries]
        if len(set(names)) != len(names):
            raise CheckpointError("the archive names a member twice")
        for name in required:
            if f"{name}.npy" not in names:
                raise CheckpointError(f"no {name!r} member")
        plans, total = [], 0
        for entry in entries:  # every header first: nothing is allocated before the whole file is judged
            plan = _plan_member(archive, entry)
            total += plan[3]
            if total > limit:
                raise CheckpointError(f"its arrays declare {total} bytes or more, over the {limit} this load "
                                      "allows (a crafted or foreign file)")
            plans.append(plan)
        return {name: _read_member(archive, entry, dtype, shape, nbytes, fortran, offset)
                for entry, (name, dtype, shape, nbytes, fortran, offset) in zip(entries, plans)}


def _plan_member(archive, entry):
    """(name, dtype, shape, nbytes, fortran_order, header_length) of one member, from its .npy header alone."""
    name = entry.filename
    if not name.endswith(".npy") or len(name) == 4:
        raise CheckpointError(f"member {name!r} is not an .npy array")
    if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise CheckpointError(f"member {name!r} uses compression method {entry.compress_type}, not stored "
                              "or deflated")
    if entry.flag_bits & 0x1:
        raise CheckpointError(f"member {name!r} is encrypted")
    with archive.open(entry) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise CheckpointError(f"member {name!r} has .npy version {version}")
        offset = member.tell()
    if dtype.hasobject or dtype.kind not in _ALLOWED_KINDS or dtype.fields is not None:
        raise CheckpointError(f"member {name!r} has dtype {dtype}, not plain numbers or text")
    if any(not isinstance(n, int) or n < 0 for n in shape):
        raise CheckpointError(f"member {name!r} declares shape {shape}")
    nbytes = math.prod(shape) * dtype.itemsize  # Python integers: no overflow
    if entry.file_size != offset + nbytes:
        raise CheckpointError(f"member {name!r} declares {nbytes} bytes of data for shape {shape} and dtype "
                              f"{dtype}, but its zip entry holds {entry.file_size - offset}")
    return name[:-4], dtype, shape, nbytes, fortran, offset


def _read_member(archive, entry, dtype, shape, nbytes, fortran, offset):
    """The member's array, decompressed in chunks into a buffer of exactly nbytes; more data is an error."""
    buffer = bytearray(nbytes)
    view = memoryview(buffer)
    with archive.open(entry) as member:
        member.read(offset)
        filled = 0
        while filled < nbytes:
            chunk = member.read(min(_CHUNK, nbytes - filled))
            if not chunk:
                raise CheckpointError(f"member {entry.filename!r} ends after {filled} of its {nbytes} bytes")
            view[filled:filled + len(chunk)] = chunk
            filled += len(chunk)
        if member.read(1):
            raise CheckpointError(f"member {entry.filename!r} holds more data than its header declares")
    array = np.frombuffer(buffer, dtype=dtype, count=math.prod(shape))
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def _digest(content, arrays):
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8"))
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


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
