"""nnx.native: everything below the Python ops (the compiled modules _C and _cuda, device arrays, the
kernel table). Device backends: one module per device holding that device's op table (op name -> implementation).

Functions (nnx.ops, nnx.nn.functional) look their backend up from the array they work on and call
`native.for_array(x).<op>(...)`; adding a device means adding one module with the same op names and registering its
array type here, without editing any op. Plain arithmetic inside backward rules uses the arrays' own
operators (the NumPy protocol, which CudaArray implements). The CUDA backend is imported on first use,
so `import nnx` stays fast and works without the CUDA module.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np

from . import cpu
from .loader import _C, _cuda  # noqa: F401 (nnx.native._C and nnx.native._cuda: the compiled modules)

_BACKEND_BY_DEVICE = {"cpu": cpu}
_BACKEND_BY_ARRAY_TYPE = {np.ndarray: cpu}
_KNOWN_DEVICE_TYPES = ("cpu", "cuda")


def _cuda_backend():
    """nnx.native.cuda, imported and registered on first use."""
    module = _BACKEND_BY_DEVICE.get("cuda")
    if module is None:
        module = importlib.import_module(__name__ + ".cuda")
        _BACKEND_BY_DEVICE["cuda"] = module
        _BACKEND_BY_ARRAY_TYPE[module.array_type] = module
    return module


def for_array(array: Any) -> ModuleType:
    """The backend that owns `array` (NumPy arrays and their subclasses live on the CPU)."""
    backend = _BACKEND_BY_ARRAY_TYPE.get(type(array))
    if backend is not None:
        return backend
    if type(array).__module__ == __name__ + ".cuda_array":
        return _cuda_backend()
    return cpu


def cuda_available() -> bool:
    """True when CUDA arrays can be made: the module is built and sees a device (or a test stand-in is installed)."""
    return _cuda_backend().is_available()


def parse_device(device: Any, argument: str = "device") -> tuple[str, int]:
    """(type, index) for a device argument: None or 'cpu' -> ('cpu', 0); 'cuda' -> ('cuda', 0); 'cuda:N', an int N
    (as PyTorch reads it) or an object with .type and .index (nnx.device). RuntimeError for an unknown device
    type, a CUDA device that is not available, or an index out of range; TypeError for anything else."""
    if device is None:
        return "cpu", 0
    if isinstance(device, (int, np.integer)) and not isinstance(device, (bool, np.bool_)):
        device_type, index, name = "cuda", int(device), f"cuda:{int(device)}"
    elif isinstance(device, str):
        device_type, index, name = _split_device_string(device, argument) + (device,)
    elif isinstance(getattr(device, "type", None), str) and not isinstance(device, np.dtype):
        index = getattr(device, "index", None)
        device_type, name = device.type, str(device)
        if index is not None and (isinstance(index, bool) or not isinstance(index, (int, np.integer))):
            raise TypeError(f"{argument}.index must be an int or None, got {type(index).__name__}")
    else:
        raise TypeError(f"{argument} must be a device string such as 'cpu' or 'cuda:0', an int or an nnx.device, "
                        f"got {type(device).__name__}")
    if device_type not in _KNOWN_DEVICE_TYPES:
        raise RuntimeError(f"{argument}: expected one of {', '.join(_KNOWN_DEVICE_TYPES)} device type at start of "
                           f"device string, got {name!r}")
    index = 0 if index is None else int(index)
    if index < 0:
        raise RuntimeError(f"{argument}={name!r}: the device index must be non-negative, got {index}")
    if device_type == "cuda":
        _check_cuda_device(name, index, argument)
    return device_type, index


def _split_device_string(text, argument):
    device_type, colon, index = text.partition(":")
    if not colon:
        return device_type, None
    if not index.isdigit():
        raise RuntimeError(f"{argument}: invalid device string {text!r} (expected 'type' or 'type:index', e.g. "
                           "'cuda:0')")
    return device_type, int(index)


def _check_cuda_device(name, index, argument):
    cuda = _cuda_backend()
    reason = cuda.unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"{argument}={name!r} is not available (CUDA is not available: {reason}); use "
                           "device='cpu'")
    count = cuda.device_count()
    if index >= count:
        raise RuntimeError(f"{argument}={name!r}: invalid device index {index}, {count} CUDA device(s) visible")


def device_name(device: Any, argument: str = "device") -> str:
    """The backend name ('cpu' or 'cuda') of a device argument (see parse_device)."""
    return parse_device(device, argument)[0]


def get(device: Any, argument: str = "device") -> ModuleType:
    """The backend module for a device argument."""
    device_type = device_name(device, argument)
    return cpu if device_type == "cpu" else _cuda_backend()
