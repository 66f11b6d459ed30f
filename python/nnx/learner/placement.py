"""Where a Learner trains: its model, Module loss, optimizer state and DataLoaders moved to one device, and each
batch a loader yields elsewhere moved as it comes."""
from __future__ import annotations

from typing import Any

from .. import nn
from ..tensor import Tensor

__all__ = ["model_device", "place", "to_device"]


def model_device(model: Any) -> Any:
    """The device of the model's first parameter, or None (no parameters, or not an nnx Module)."""
    parameters = getattr(model, "parameters", None)
    if parameters is None:
        return None
    first = next(iter(parameters()), None)
    return None if first is None else first.device


def place(device: Any, model: Any, loss_func: Any, opt: Any, dls: Any) -> Any:
    """Model, Module loss, optimizer state and DataLoaders on device (fastai moves the model to dls.device before
    each fit). Moves in place, so parameters stay the objects the optimizer holds. Returns the device batches must
    be moved to (None: on the CPU, or nowhere to move them)."""
    if device is None:
        return None
    if hasattr(model, "to"):
        model.to(device)
    if isinstance(loss_func, nn.Module):
        loss_func.to(device)
    if opt is not None:
        opt._state_to_param_devices()
    on_gpu = device.type != "cpu"
    if on_gpu and getattr(dls, "device", None) != device:
        for loader in getattr(dls, "loaders", ()):
            if hasattr(loader, "to"):
                loader.to(device)
    return device if on_gpu else None


def to_device(batch_part: Any, device: Any) -> Any:
    """A batch's xb or yb (a Tensor, or a tuple or list of them) on device; itself when device is None."""
    if device is None or batch_part is None:
        return batch_part
    if isinstance(batch_part, Tensor):
        return batch_part.to(device)
    if isinstance(batch_part, (tuple, list)):
        return type(batch_part)(to_device(part, device) for part in batch_part)
    return batch_part
