"""nnx.accelerator: PyTorch's device-agnostic torch.accelerator queries, backed by nnx.cuda.

nnx has one accelerator type, CUDA. One deliberate difference from PyTorch: torch reports the accelerator
its build was compiled for even on a machine without one (`current_accelerator()` is device('cuda') on a
GPU-less box with a CUDA build), while nnx's CUDA wheels are routinely installed on CPU-only machines, so
nnx reports CUDA only when it can be used (nnx.cuda.is_available()); elsewhere current_accelerator() is
None, as with PyTorch's CPU build. The MNIST example's
`device = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else torch.device("cpu")`
therefore runs unchanged. nnx computes on the device a tensor names ('cuda' is 'cuda:0'); there is no
mutable current device, so set_device_index accepts only the device 'cuda' already means.
"""
from __future__ import annotations

from . import cuda as _cuda
from .device import device as _device

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index", "set_device_index",
           "current_device_idx", "set_device_idx", "synchronize"]

_NONE_AVAILABLE = "Cannot access accelerator device when none is available."  # PyTorch's message


def is_available() -> bool:
    """True when an accelerator (a CUDA device nnx can use) is visible; never raises."""
    return _cuda.is_available()


def current_accelerator(check_available: bool = False) -> _device | None:
    """device('cuda') when nnx can use CUDA, else None. The index is None, as in PyTorch (ask
    current_device_index()). check_available is accepted for PyTorch's signature; nnx always checks."""
    del check_available  # nnx reports an accelerator only when it is usable, so the answer is the same
    return _device("cuda") if is_available() else None


def device_count() -> int:
    """Number of accelerator devices nnx can use (0 without one); never raises."""
    return _cuda.device_count() if is_available() else 0


def current_device_index() -> int:
    """Index of the device 'cuda' means (always 0 in nnx); RuntimeError without an accelerator."""
    _require_accelerator()
    return _cuda.current_device()


def set_device_index(device: _device | str | int, /) -> None:
    """PyTorch's set_device_index: a negative index is a no-op; 0 (what 'cuda' already means) is accepted;
    another index raises, since nnx has no mutable current device (name it: 'cuda:N')."""
    index = _device_index(device)
    if index < 0:
        return
    _require_accelerator()
    if index >= device_count():
        raise RuntimeError(f"set_device_index: device index {index} is out of range "
                           f"({device_count()} device(s) visible)")
    if index != _cuda.current_device():
        raise RuntimeError(f"set_device_index({index}): nnx has no mutable current device; 'cuda' is always "
                           f"cuda:0, put tensors and modules on 'cuda:{index}' explicitly")


def synchronize(device: _device | str | int | None = None, /) -> None:
    """Wait until every kernel queued on `device` (default: every device nnx used) has finished; raises here
    any error a kernel recorded. RuntimeError without an accelerator, as in PyTorch."""
    _require_accelerator()
    _cuda.synchronize(None if device is None else _device_index(device))


# PyTorch's deprecated spellings, kept so older scripts run.
current_device_idx = current_device_index
set_device_idx = set_device_index


def _require_accelerator() -> None:
    if not is_available():
        raise RuntimeError(_NONE_AVAILABLE)


def _device_index(device) -> int:
    """An index from an int, 'cuda', 'cuda:N' or an nnx.device of the accelerator's type; RuntimeError
    for another device type (PyTorch's 'Accelerator expected'), TypeError for anything else."""
    if isinstance(device, bool) or device is None:
        raise TypeError(f"device must be an int, a device string or an nnx.device, got {device!r}")
    if isinstance(device, int):
        return device
    if isinstance(device, str) or isinstance(device, _device):
        parsed = _device(device)
        if parsed.type != "cuda":
            raise RuntimeError(f"Accelerator expected: device {str(parsed)!r} is not of the accelerator's "
                               f"type 'cuda'")
        return 0 if parsed.index is None else parsed.index
    raise TypeError(f"device must be an int, a device string or an nnx.device, got {type(device).__name__}")
