"""Gradient clipping with torch.nn.utils' names: clip_grad_norm_ and clip_grad_value_.

Both run between backward() and the optimizer step and change the .grad arrays in place. On a GPU the norm
and the scaling stay on the device (as in PyTorch): nothing is read on the host unless error_if_nonfinite
asks for a check.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Union

import numpy as np

from ..deferred import is_device_array
from ..tensor import Tensor

# One Tensor or any iterable of them (model.parameters()), as torch.nn.utils accepts.
Parameters = Union[Tensor, Iterable[Tensor]]


def _gradients(parameters, name="parameters"):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = []
    for p in parameters:
        if not isinstance(p, Tensor):
            raise TypeError(f"{name} must be Tensors (or an iterable of them), got {type(p).__name__}")
        if p.grad is not None:
            grads.append(p.grad._data)
    return grads


def clip_grad_norm_(parameters: Parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Scale all gradients together so that their joint norm is at most max_norm.

    The joint norm is the norm of the vector of per-gradient norms (as if all gradients were
    concatenated). Gradients are multiplied by max_norm / (total_norm + 1e-6) when that is below 1.
    Returns the total norm before clipping, as a 0-d float Tensor.
    """
    grads = _gradients(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if math.isnan(norm_type) or norm_type <= 0:
        raise ValueError(f"norm_type must be positive (or inf), got {norm_type}")
    dtype = grads[0].dtype if grads else np.float32
    if not grads:
        return Tensor._wrap(np.zeros((), dtype=dtype))
    if is_device_array(grads[0]):
        return Tensor._wrap(_clip_on_device(grads, max_norm, norm_type, error_if_nonfinite).astype(dtype))
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(g)).item()) if g.size else 0.0 for g in grads)
    else:
        norms = np.array([_vector_norm(g, norm_type) for g in grads])
        total = float(_vector_norm(norms, norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                           "so it cannot be clipped. To disable this error and scale the gradients by the "
                           "non-finite norm anyway, set `error_if_nonfinite=False`")
    clip_coefficient = max_norm / (total + 1e-6)
    if clip_coefficient < 1.0 or math.isnan(clip_coefficient):
        for g in grads:
            g *= g.dtype.type(clip_coefficient)
    return Tensor._wrap(np.full((), total, dtype=dtype, like=grads[0]))


def _clip_on_device(grads, max_norm, norm_type, error_if_nonfinite):
    """clip_grad_norm_ for device gradients: the same float64 arithmetic as the host path, on the device; the
    scale min(max_norm / (total + 1e-6), 1) (NaN when the norm is) multiplies every gradient, 1 leaving it as
    it is. Returns the total norm as a 0-d float64 device array."""
    if norm_type == math.inf:
        maxima = [np.max(np.abs(g)).astype(np.float64) for g in grads if g.size]
        total = np.max(np.stack(maxima)) if maxima else np.zeros((), np.float64, like=grads[0])
    else:
        norms = np.stack([_device_vector_norm(g, norm_type) for g in grads])
        total = _device_vector_norm(norms, norm_type)
    if error_if_nonfinite and not math.isfinite(float(total.item())):  # the one host read, asked for
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                           "so it cannot be clipped. To disable this error and scale the gradients by the "
                           "non-finite norm anyway, set `error_if_nonfinite=False`")
    scale = np.minimum(max_norm / (total + 1e-6), 1.0)  # (minimum keeps a NaN)
    for g in grads:
        g *= scale.astype(g.dtype)
    return total


def _device_vector_norm(array, norm_type):
    values = np.abs(array.reshape(-1)).astype(np.float64)
    if norm_type == 2.0:
        return np.sqrt(np.dot(values, values))
    if norm_type == 1.0:
        return values.sum()
    return np.sum(values**norm_type) ** (1.0 / norm_type)


def _vector_norm(array, norm_type):
    """The p-norm of an array's values, computed in float64 (a device array's is read back: one number)."""
    values = np.abs(array.reshape(-1))
    if values.dtype != np.float64:
        values = values.astype(np.float64)
    if norm_type == 2.0:
        return math.sqrt(float(np.dot(values, values).item()))
    if norm_type == 1.0:
        return float(values.sum().item())
    return float((np.sum(values**norm_type) ** (1.0 / norm_type)).item())


def clip_grad_value_(parameters: Parameters, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_value must be non-negative, got {clip_value}")
    for g in _gradients(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
