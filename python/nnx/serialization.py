"""nnx.save / nnx.load: PyTorch's torch.save / torch.load(weights_only=True) for tensors, arrays, state dicts
and nested containers of them, in a safe format that never unpickles.

What can be saved: Tensors (and Parameters), NumPy arrays and NumPy scalars of numeric or bool dtype,
None, bool, int, float, str, and dicts, lists and tuples of these (dict keys may be any of the scalars:
optimizer state is keyed by int). Anything else is refused with a TypeError naming where it sits
(`obj['state'][0]['fn']`). As torch.save does, a Tensor keeps its dtype, requires_grad, its class
(Parameter or Tensor) and the device it was on; each is loaded as a new leaf. Tensors that share
memory are saved (and loaded) as separate copies.

File format: a zip archive written by np.savez (uncompressed). Member "header" is UTF-8 JSON {"format",
"version", "sha256", "content"}: content is the nested object with each array replaced by a reference to
its member and that member's declared dtype and shape; sha256 covers the content and every array (the
Learner checkpoint's digest, learner/checkpoint.py). Loading reads the header first and then each member
only after checking that it is stored uncompressed, with exactly the size its declared dtype and shape
need, so a crafted file can make nnx read no more than the file's own size, and every array is read with
allow_pickle=False. A truncated, corrupt or foreign file raises nnx.serialization.SerializationError
(a ValueError), never anything worse.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from typing import IO, Any, Union

import numpy as np

from .learner.checkpoint import _digest, _write_members, write_atomically
from .tensor import Tensor, _target_device, move_array

__all__ = ["save", "load", "SerializationError"]

FORMAT = "nnx.save"
VERSION = 1
_MAX_DEPTH = 100  # nesting deeper than this is refused on save and on load (no RecursionError)
_SCALARS = (type(None), bool, int, float, str)

PathOrFile = Union[str, os.PathLike, IO[bytes]]


class SerializationError(ValueError):
    """A file that is not a complete, intact file written by nnx.save."""


# ---- save ----

def save(obj: Any, f: PathOrFile) -> None:
    """Write `obj` to `f` (a path, written atomically, or a binary file object), as torch.save."""
    arrays: dict[str, np.ndarray] = {}
    content = _encode(obj, arrays, "obj", 0)
    header = {"format": FORMAT, "version": VERSION, "sha256": _digest(content, arrays), "content": content}
    members = {"header": np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)}
    members.update(arrays)
    if isinstance(f, (str, os.PathLike)):
        write_atomically(f, lambda file: _write_members(file, members))
    elif hasattr(f, "write"):
        _write_members(f, members)
    else:
        raise TypeError(f"f must be a path (str or os.PathLike) or a binary file object, got {type(f).__name__}")


def _encode(value: Any, arrays: dict, where: str, depth: int) -> Any:
    """JSON-able form of value; arrays are copied into `arrays` under fresh names."""
    if depth > _MAX_DEPTH:
        raise TypeError(f"nnx.save: {where} is nested more than {_MAX_DEPTH} levels deep")
    if isinstance(value, np.generic):  # before the Python scalars: np.float64 is a float subclass
        return {"__scalar__": _store(np.asarray(value), arrays, where)}
    if isinstance(value, _SCALARS):
        if type(value) in _SCALARS:
            return value
        return _encode_exact_scalar(value, where)  # an int/float/str subclass (an IntEnum, say)
    if isinstance(value, Tensor):
        return _encode_tensor(value, arrays, where)
    if isinstance(value, np.ndarray):
        return {"__array__": _store(value, arrays, where)}
    if isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            if not isinstance(key, _SCALARS) or isinstance(key, Tensor):
                raise TypeError(f"nnx.save: {where} has a key of type {type(key).__name__}; keys must be "
                                "None, bool, int, float or str")
            pairs.append([_encode(key, arrays, where, depth + 1),
                          _encode(item, arrays, f"{where}[{key!r}]", depth + 1)])
        return {"__dict__": pairs}
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        items = [_encode(item, arrays, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
        return items if isinstance(value, list) else {"__tuple__": items}
    raise TypeError(f"nnx.save: cannot save {where} of type {type(value).__name__}: only Tensors, NumPy arrays, "
                    "None, bool, int, float, str and dicts, lists and tuples of them are saved (nothing is "
                    "pickled)")


def _encode_exact_scalar(value, where):
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    raise TypeError(f"nnx.save: cannot save {where} of type {type(value).__name__}")


def _encode_tensor(tensor: Tensor, arrays: dict, where: str) -> dict:
    from .nn.parameter import Parameter  # nn sits above this module's imports
    host = tensor.detach().cpu().numpy()  # a CUDA tensor: a host copy
    return {"__tensor__": _store(host, arrays, where), "requires_grad": bool(tensor.requires_grad),
            "parameter": isinstance(tensor, Parameter), "device": str(tensor.device)}


def _store(array: np.ndarray, arrays: dict, where: str) -> dict:
    if array.dtype.kind not in "biufc":
        raise TypeError(f"nnx.save: cannot save {where}: arrays of dtype {array.dtype} are not saved "
                        "(only numbers and bools; nothing is pickled)")
    name = f"a{len(arrays)}"
    arrays[name] = np.array(array, copy=True, order="C")
    return {"name": name, "dtype": array.dtype.str, "shape": list(array.shape)}


# ---- load ----

def load(f: PathOrFile, map_location: Any = None, weights_only: bool = True, **kwargs: Any) -> Any:
    """Read what nnx.save wrote, as torch.load. map_location: None (each tensor on the device it was saved
    from), a device or device string (every tensor there), or a dict {saved device: device}.
    weights_only is accepted for PyTorch's signature: nnx files never hold code, so both values load the
    same things, safely. SerializationError for anything that is not an intact nnx.save file."""
    if kwargs:
        raise TypeError(f"load() got unexpected keyword arguments {sorted(kwargs)}")
    if not isinstance(weights_only, bool):
        raise TypeError(f"weights_only must be a bool, got {type(weights_only).__name__}")
    place = _placement(map_location)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as file:
            return _load_file(file, os.fspath(f), place)
    if hasattr(f, "read"):
        return _load_file(f, "<file object>", place)
    raise TypeError(f"f must be a path (str or os.PathLike) or a binary file object, got {type(f).__name__}")


def _load_file(file, name: str, place) -> Any:
    if not (hasattr(file, "seekable") and file.seekable()):
        file = io.BytesIO(file.read())  # zipfile needs to seek
    try:
        with zipfile.ZipFile(file) as archive:
            header, arrays = _read_archive(archive)
    except SerializationError as error:
        raise SerializationError(f"{name}: {error}") from None
    except (OSError, EOFError, ValueError, KeyError, NotImplementedError, RuntimeError, zipfile.BadZipFile,
            RecursionError, OverflowError) as error:
        raise SerializationError(f"{name}: not a readable nnx.save file ({type(error).__name__}: {error}); it may "
                                 "be truncated, corrupt, or of another kind") from None
    if _digest(header["content"], arrays) != header.get("sha256"):
        raise SerializationError(f"{name}: checksum mismatch: the file is corrupt or was modified")
    try:
        return _decode(header["content"], arrays, place, 0)
    except SerializationError as error:
        raise SerializationError(f"{name}: {error}") from None


def _read_archive(archive: zipfile.ZipFile) -> tuple[dict, dict]:
    """(header, arrays): the header read first; each array read only once its member is checked against
    the dtype and shape the header declares."""
    infos = {info.filename: info for info in archive.infolist()}
    header_info = infos.get("header.npy")
    if header_info is None:
        raise SerializationError("not an nnx.save file (no 'header' member)")
    header_array = _read_member(archive, header_info, "|u1", None)
    header = json.loads(header_array.tobytes().decode("utf-8"))
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else None
        raise SerializationError(f"not an nnx.save file (format {found!r}, expected {FORMAT!r})")
    if header.get("version") != VERSION:
        raise SerializationError(f"version {header.get('version')!r}; this nnx reads version {VERSION}")
    arrays = {}
    for ref in _references(header.get("content"), 0):
        if ref["name"] in arrays:  # one member read many times would amplify a small file without bound
            raise SerializationError(f"the header refers to array {ref['name']!r} more than once")
        info = infos.get(f"{ref['name']}.npy")
        if info is None:
            raise SerializationError(f"the header refers to a missing array {ref['name']!r}")
        arrays[ref["name"]] = _read_member(archive, info, ref["dtype"], ref["shape"])
    return header, arrays


def _references(value, depth):
    """Every array reference in the content, checked for shape: dicts {"name", "dtype", "shape"}."""
    if depth > _MAX_DEPTH:
        raise SerializationError(f"the header is nested more than {_MAX_DEPTH} levels deep")
    if isinstance(value, list):
        for item in value:
            yield from _references(item, depth + 1)
    elif isinstance(value, dict):
        for key in ("__tensor__", "__array__", "__scalar__"):
            if key in value:
                yield _checked_reference(value[key])
                return
        for item in value.values():
            yield from _references(item, depth + 1)


def _checked_reference(ref) -> dict:
    if not (isinstance(ref, dict) and isinstance(ref.get("name"), str) and isinstance(ref.get("dtype"), str)
            and isinstance(ref.get("shape"), list)
            and all(type(n) is int and n >= 0 for n in ref["shape"])):
        raise SerializationError(f"malformed array reference in the header: {ref!r}")
    return ref


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dtype: str, shape) -> np.ndarray:
    """The .npy member `info`, read only when it is stored uncompressed (np.savez's way, so reading is
    bounded by the file's size) and its .npy header declares `dtype` and `shape` (any shape when None)."""
    if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
        raise SerializationError(f"member {info.filename!r} is compressed; nnx.save never compresses")
    try:
        expected = np.dtype(dtype)
    except TypeError:
        raise SerializationError(f"member {info.filename!r}: unknown dtype {dtype!r}") from None
    if expected.kind not in "biufc":
        raise SerializationError(f"member {info.filename!r}: dtype {expected} is not a number or bool dtype")
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise SerializationError(f"member {info.filename!r}: unsupported .npy version {version}")
        found_shape, fortran_order, found_dtype = read_header(member)
        if found_dtype != expected or (shape is not None and list(found_shape) != shape):
            raise SerializationError(f"member {info.filename!r} holds {found_dtype} {found_shape}, the header "
                                     f"declares {expected} {tuple(shape or ())}")
        count = int(np.prod(found_shape, dtype=object))
        if count * expected.itemsize > info.file_size - member.tell():
            raise SerializationError(f"member {info.filename!r} is shorter than its declared shape {found_shape}")
        data = member.read(count * expected.itemsize)
    array = np.frombuffer(data, dtype=expected, count=count)
    array = array.reshape(found_shape, order="F" if fortran_order else "C")
    return np.array(array, copy=True, order="C")


def _decode(value, arrays: dict, place, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise SerializationError(f"the header is nested more than {_MAX_DEPTH} levels deep")
    if isinstance(value, list):
        return [_decode(item, arrays, place, depth + 1) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if not isinstance(value, dict):
        raise SerializationError(f"unexpected entry in the header: {value!r}")
    if "__dict__" in value:
        pairs = value["__dict__"]
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise SerializationError("malformed dict entry in the header")
        result = {}
        for key, item in pairs:
            if not isinstance(key, (type(None), bool, int, float, str)):
                raise SerializationError(f"malformed dict key in the header: {key!r}")
            result[key] = _decode(item, arrays, place, depth + 1)
        return result
    if "__tuple__" in value and isinstance(value["__tuple__"], list):
        return tuple(_decode(item, arrays, place, depth + 1) for item in value["__tuple__"])
    if "__array__" in value:
        return arrays[value["__array__"]["name"]]
    if "__scalar__" in value:
        return arrays[value["__scalar__"]["name"]][()]
    if "__tensor__" in value:
        return _decode_tensor(value, arrays[value["__tensor__"]["name"]], place)
    raise SerializationError(f"unexpected entry in the header: {value!r}")


def _decode_tensor(entry: dict, array: np.ndarray, place) -> Tensor:
    from .nn.parameter import Parameter
    saved_device = entry.get("device", "cpu")
    if not isinstance(saved_device, str):
        raise SerializationError(f"malformed device in the header: {saved_device!r}")
    requires_grad = entry.get("requires_grad") is True
    if requires_grad and array.dtype.kind not in "fc":
        raise SerializationError("the header asks for requires_grad on a tensor that is not floating point")
    data = _placed(array, saved_device, place)
    if entry.get("parameter") is True:
        return Parameter(Tensor._wrap(data), requires_grad=requires_grad)
    tensor = Tensor._wrap(data)
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


# ---- map_location ----

def _placement(map_location):
    """A function saved-device-string -> target device (None: the CPU), from load's map_location."""
    if map_location is None:
        return lambda saved: _target_device(saved, "the saved device")
    if isinstance(map_location, dict):
        mapping = {str(key): value for key, value in map_location.items()}
        return lambda saved: _target_device(mapping.get(saved, saved), "map_location")
    if isinstance(map_location, str) or hasattr(map_location, "type"):
        target = _target_device(map_location, "map_location")
        return lambda saved: target
    raise TypeError(f"map_location must be None, a device, a device string or a dict of them, "
                    f"got {type(map_location).__name__}")


def _placed(array: np.ndarray, saved_device: str, place):
    """array on the device map_location gives for `saved_device` (RuntimeError when it is unavailable)."""
    try:
        device = place(saved_device)
    except RuntimeError as error:
        raise RuntimeError(f"nnx.load: a tensor was saved on {saved_device!r}, which is not available here "
                           f"({error}); pass map_location='cpu' to load it on the CPU") from None
    if device is None or device.type == "cpu":
        return array
    return move_array(array, device)
