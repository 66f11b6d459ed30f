"""nnx.device: where a tensor lives, PyTorch's torch.device ('cpu', 'cuda', 'cuda:1', device('cuda', 1)).

A device names a place; making one never checks that the place exists (as in PyTorch): that happens
when a tensor is put there. One deliberate difference: a device also equals its string
(`t.device == "cpu"` is True; PyTorch answers False, a classic silent bug), and hashes like it.
"""
from __future__ import annotations

import numpy as np

_DEVICE_TYPES = ("cpu", "cuda")


class device:  # noqa: N801 (PyTorch's name)
    """device(type_or_string, index=None): device('cuda:1'), device('cuda', 1), device('cpu'), device(1)
    (an integer is a CUDA index, as in PyTorch) or device(other_device). Immutable and hashable."""

    __slots__ = ("_type", "_index")
    _type: str
    _index: int | None

    def __init__(self, type: str | int | device, index: int | None = None) -> None:  # noqa: A002 (PyTorch's argument name)
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): an index cannot be given with a device object")
            self._type, self._index = type._type, type._index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device() expects a device string such as 'cuda:0', an int or a device, "
                            f"got {_type_name(type)}")
        parsed_type, parsed_index = _parse(type)
        if index is not None:
            if parsed_index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed "
                                   f"explicitly: {type}")
            parsed_index = _check_index(index)
        self._type, self._index = parsed_type, parsed_index

    @property
    def type(self) -> str:
        """'cpu' or 'cuda'."""
        return self._type

    @property
    def index(self) -> int | None:
        """The device number, or None when none was given ('cuda' means the current device)."""
        return self._index

    def __str__(self):
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self):
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self._type == other._type and self._index == other._index

    def __hash__(self):
        return hash(str(self))  # equal to its string, so it hashes like it

    def __reduce__(self):
        return device, (self._type, self._index)

    def __setattr__(self, name, value):
        if name in device.__slots__ and not hasattr(self, name):
            object.__setattr__(self, name, value)
            return
        raise AttributeError(f"attribute '{name}' of 'nnx.device' objects is not writable")


def _parse(text):
    """('cuda', 1) from 'cuda:1'; RuntimeError with PyTorch's messages for anything else."""
    device_type, colon, index_text = text.partition(":")
    if device_type not in _DEVICE_TYPES:
        if device_type.strip() in _DEVICE_TYPES or not device_type:
            raise RuntimeError(f"Invalid device string: '{text}'")
        raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device string: "
                           f"{text}")
    if not colon:
        return device_type, None
    if not index_text.isdigit() or (len(index_text) > 1 and index_text[0] == "0"):
        raise RuntimeError(f"Invalid device string: '{text}'")
    return device_type, int(index_text)


def _check_index(index):
    if isinstance(index, np.integer):
        index = int(index)
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"device index must be an int, got {_type_name(index)}")
    if index < 0:
        raise RuntimeError(f"Device index must not be negative, got {index}")
    return index


def _type_name(value):
    return type(value).__name__
