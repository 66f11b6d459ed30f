"""Which device an array lives on, and moving arrays between devices: the helpers nnx.tensor, nnx.autograd,
the ops, modules and optimizers share (they sit above this layer, so none of them is imported here).

An array is a numpy.ndarray on the CPU or a backend's device array (nnx.native.cuda_array.CudaArray).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..device import device as Device
from . import cpu as _cpu_backend
from . import for_array, get, parse_device

_ndarray = np.ndarray
# An array: numpy.ndarray on the CPU, a backend's device array (CudaArray) on a GPU.
Array = Any
CPU = Device("cpu")
_DEVICES = {}  # (device type, index) -> nnx.device, so Tensor.device builds no object per call


def device_object(device_type: str, index: int | None) -> Device:
    """The shared nnx.device for a parsed (type, index): the CPU, or a device with its index (0 when none)."""
    if device_type == "cpu":
        return CPU
    key = (device_type, index or 0)
    found = _DEVICES.get(key)
    if found is None:
        found = _DEVICES[key] = Device(*key)
    return found


def target_device(device: Any, argument: str = "device") -> Device | None:
    """None for device=None, else the nnx.device named (RuntimeError when its backend is unavailable)."""
    if device is None:
        return None
    device_type, index = parse_device(device, argument)
    return device_object(device_type, index)


def is_device_argument(arg: object) -> bool:
    """True for what Tensor.to takes as a device: a string, an nnx.device (or torch.device) or an int index."""
    if isinstance(arg, (str, Device)):
        return True
    if isinstance(arg, int) and not isinstance(arg, bool):
        return True
    return isinstance(getattr(arg, "type", None), str) and not isinstance(arg, np.dtype)


def is_device_array(value: object) -> bool:
    """True for an array of a non-CPU backend (a CudaArray)."""
    return for_array(value) is not _cpu_backend and not isinstance(value, _ndarray)


def device_of_array(array: Array) -> Device:
    """The nnx.device an array lives on."""
    if type(array) is _ndarray:
        return CPU
    backend = for_array(array)
    if backend is _cpu_backend:
        return CPU
    return device_object(backend.device_type, backend.device_index(array))


def host_copy(array: Array) -> np.ndarray:
    """A NumPy copy of a device array (an explicit read: it waits for the queued work)."""
    return for_array(array).to_numpy(array)


def move_array(array: Array, device: Device) -> Array:
    """array on `device` (an nnx.device): itself when already there, else a copy on that device.
    NumPy arrays are copied to a device array; device arrays come back as a new NumPy array."""
    source = for_array(array)
    index = device.index or 0
    if source.device_type == device.type and (device.type == "cpu" or source.device_index(array) == index):
        return array
    host = source.to_numpy(array)
    if device.type == "cpu":
        return host
    return get(device.type).from_numpy(host, index)


def fill_array(array: Array, value: float) -> None:
    """array[...] = value for a NumPy or device array."""
    if type(array) is _ndarray:
        array.fill(value)
    else:
        array[...] = value


def write_host_values(array: Array, values: np.ndarray) -> None:
    """array[...] = values, where values is a NumPy array drawn on the host (init, rand): copied to
    array's device first (an explicit upload)."""
    if type(array) is not _ndarray:
        values = move_array(np.ascontiguousarray(values, dtype=array.dtype), device_of_array(array))
    array[...] = values


# --- two devices in one op: PyTorch's error, looked for only after an op failed (the CPU path pays nothing) --
def _devices_of(arrays):
    """The distinct devices of the arrays among `arrays` (other values are skipped), in order of appearance."""
    found = []
    for value in arrays:
        if isinstance(value, _ndarray) or is_device_array(value):
            device = device_of_array(value)
            if device not in found:
                found.append(device)
    return found


def _mixed_devices_error(devices):
    return RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                        f"{devices[0]} and {devices[1]}!")


def raise_if_mixed_devices(arrays: Iterable[Any], error: BaseException) -> None:
    """After `error` in an op over `arrays`: PyTorch's RuntimeError when they live on two devices."""
    devices = _devices_of(arrays)
    if len(devices) > 1:
        raise _mixed_devices_error(devices) from error


def check_same_device(arrays: Iterable[Any]) -> None:
    """RuntimeError (PyTorch's message) when the arrays among `arrays` live on two devices."""
    devices = _devices_of(arrays)
    if len(devices) > 1:
        raise _mixed_devices_error(devices)
