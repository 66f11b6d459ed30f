"""nnx.cuda: PyTorch's torch.cuda queries for nnx's CUDA backend (availability, devices, memory, synchronize).

is_available() and device_count() never raise (False / 0 without CUDA, as in PyTorch); the others raise a
RuntimeError that says why CUDA is missing (nnx built without its CUDA module, or no device visible).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Union

from . import native as _native_modules

if TYPE_CHECKING:
    from .device import device as _device

# A CUDA device as the queries accept it: None (the current one), an index, 'cuda:N' or an nnx.device.
device_or_index = Union["_device", str, int, None]

__all__ = ["is_available", "device_count", "current_device", "synchronize", "get_device_name",
           "get_device_capability", "memory_allocated", "memory_reserved", "empty_cache"]


def is_available() -> bool:
    """True when nnx can put tensors on a CUDA device (its CUDA module is built and a device is visible)."""
    try:
        return bool(_native_modules.cuda_available())
    except Exception:  # noqa: BLE001 - a broken driver means "not available", never an error here
        return False


def device_count() -> int:
    """How many CUDA devices nnx can use (0 without CUDA)."""
    if not is_available():
        return 0
    return int(_native().device_count())


def current_device() -> int:
    """The index of the device 'cuda' means: nnx always uses device 0 unless told 'cuda:N'."""
    _native()
    return 0


def synchronize(device: device_or_index = None) -> None:
    """Wait until every kernel nnx queued on `device` (default: every device nnx used) has finished; raises
    here any error a kernel recorded (a bad index, say)."""
    native = _native()
    native.synchronize(-1 if device is None else _index(device))


def get_device_name(device: device_or_index = None) -> str:
    """The device's name as CUDA reports it, e.g. 'NVIDIA H100 80GB HBM3'."""
    return _native().get_device_name(_index(device))


def get_device_capability(device: device_or_index = None) -> tuple[int, int]:
    """(major, minor) compute capability, e.g. (9, 0) for an H100."""
    return tuple(_native().get_device_capability(_index(device)))


def memory_allocated(device: device_or_index = None) -> int:
    """Bytes in live device arrays (the caching allocator's rounded block sizes)."""
    return int(_native().memory_allocated(_index(device)))


def memory_reserved(device: device_or_index = None) -> int:
    """Bytes the caching allocator holds from CUDA (live arrays plus cached free blocks)."""
    return int(_native().memory_reserved(_index(device)))


def empty_cache() -> None:
    """Return cached, unused device memory to CUDA (live arrays are untouched)."""
    _native().empty_cache()


def _native():
    """The CUDA native module in use, or RuntimeError saying why CUDA is missing."""
    from .native import cuda as cuda_backend  # imported on first use, like the device registry does
    reason = cuda_backend.unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"CUDA is not available: {reason} (nnx.cuda.is_available() is False)")
    return cuda_backend._native


def _index(device):
    """A device index from None (the current device), an int, 'cuda:N' or an nnx.device."""
    if device is None:
        return 0
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    device_type, index = _native_modules.parse_device(device, "device")
    if device_type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {device}")
    return index or 0
