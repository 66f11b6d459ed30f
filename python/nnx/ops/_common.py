"""Pieces every op family shares: ViewFunction (ops whose output may alias the input) and the shape helpers of
backward rules (unbroadcast, the reduced-axes helpers).

Forward and backward see arrays: numpy.ndarray on the CPU, a device array (CudaArray) on a GPU; both speak the
NumPy protocol, so one rule serves every device.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function

# What forward and backward rules receive and return: numpy.ndarray on the CPU, CudaArray on a GPU.
Array = Any


class ViewFunction(Function):
    """An op whose output may alias its input's storage (reshape, permute, expand, basic indexing): when it
    does, Function.apply gives the output the input's version counter."""

    saved_inputs, saves_output, is_view = (), False, True


def _shape(value):
    """The shape of an operand: an array's, () for a Python scalar."""
    return getattr(value, "shape", ())


def unbroadcast(grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum `grad` over the axes that broadcasting added or stretched, giving an array of `shape`."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    summed = grad.sum(axis=axes, keepdims=True) if axes else grad
    return summed.reshape(shape)


def _restore_reduced_axes(grad, axes, keepdim):
    """A reduction's gradient with the reduced axes put back as size 1 (a no-op for keepdim or a full reduction)."""
    if axes is not None and not keepdim:
        grad = np.expand_dims(grad, axes)
    return grad


def _expand_reduced(grad, shape, axes, keepdim):
    """A gradient of a reduction over `axes`, broadcast back (read-only view) to the input's shape."""
    return np.broadcast_to(_restore_reduced_axes(grad, axes, keepdim), shape)


def _reduced_count(shape, axes):
    if axes is None:
        return int(np.prod(shape))
    return int(np.prod([shape[axis] for axis in axes]))
