"""Device backends: one module per device holding that device's op table (op name -> implementation).

Functions (nnx.ops, nnx.nn.functional) look their backend up from the array they work on and call
`backend.<op>(...)`; adding a device (cuda.py) means adding one module with the same op names and
registering its array type here, without editing any op. Plain arithmetic inside backward rules uses
the arrays' own operators (the NumPy protocol, which a device array type is expected to implement).
"""
import numpy as np

from . import cpu

_BACKEND_BY_DEVICE = {"cpu": cpu}
_BACKEND_BY_ARRAY_TYPE = {np.ndarray: cpu}
_KNOWN_DEVICE_TYPES = ("cpu", "cuda")


def for_array(array):
    """The backend that owns `array` (NumPy arrays and their subclasses live on the CPU)."""
    return _BACKEND_BY_ARRAY_TYPE.get(type(array), cpu)


def device_name(device, argument="device"):
    """Normalise a device argument ('cpu', 'cuda:0', an object whose str() is one) to a backend name;
    raise RuntimeError for a device type whose backend is not available."""
    if device is None:
        return "cpu"
    name = device if isinstance(device, str) else getattr(device, "type", None)
    if not isinstance(name, str):
        raise TypeError(f"{argument} must be a device string such as 'cpu', got {type(device).__name__}")
    device_type = name.split(":", 1)[0]
    if device_type not in _KNOWN_DEVICE_TYPES:
        raise RuntimeError(f"{argument}: expected one of {', '.join(_KNOWN_DEVICE_TYPES)} device type at start of "
                           f"device string, got {name!r}")
    if device_type not in _BACKEND_BY_DEVICE:
        raise RuntimeError(f"{argument}={name!r} is not available: nnx tensors live on the CPU for now "
                           f"(the CUDA backend is not built into this Python layer yet); use device='cpu'")
    return device_type


def get(device):
    """The backend module for a device argument."""
    return _BACKEND_BY_DEVICE[device_name(device)]
