"""index family: gathers by index (take_along_dim, gather) and x[index] with NumPy semantics; the gradients
scatter back, adding up repeated indices."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import native
from ..autograd import Function
from ._common import Array, ViewFunction


class TakeAlongDim(Function):
    """x's values at `indices` along `axis` (indices hold one entry per output slot, no duplicates)."""

    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, x: Array, indices: Array, axis: int) -> Array:
        ctx.shape, ctx.indices, ctx.axis = x.shape, indices, axis
        return np.take_along_axis(x, indices, axis)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        grad_x = np.zeros(ctx.shape, dtype=grad.dtype, like=grad)
        np.put_along_axis(grad_x, ctx.indices, grad, ctx.axis)
        return grad_x, None, None


class Gather(Function):
    """torch.gather: out[i][j] = x[index[i][j]][j] along `axis`; repeated indices accumulate in backward."""

    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, x: Array, index: Array, axis: int) -> Array:
        if index.ndim != x.ndim:
            raise RuntimeError(f"gather(): index must have as many dimensions as input ({x.ndim}), got {index.ndim}")
        ctx.shape, ctx.index, ctx.axis = x.shape, index, axis
        if index.size and index.dtype.kind == "i" and index.min() < 0:  # NumPy would wrap it, PyTorch refuses
            raise IndexError(f"gather(): index {int(index.min())} is out of range: out of bounds for dimension "
                             f"{axis} with size {x.shape[axis]}")
        try:
            return np.take_along_axis(x, index, axis)
        except IndexError as error:
            raise IndexError(f"gather(): index out of range: {error}") from None

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        grad_x = np.zeros(ctx.shape, dtype=grad.dtype, like=grad)
        positions = list(np.indices(ctx.index.shape, sparse=True))  # (small host ranges; a device takes them)
        positions[ctx.axis] = ctx.index
        np.add.at(grad_x, tuple(positions), grad)
        return grad_x, None, None


def _is_advanced(index):
    """True when the index holds an integer or boolean array (NumPy's advanced indexing) of any device."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(getattr(part, "ndim", 0) > 0 for part in parts)


class Index(ViewFunction):
    """x[index] with NumPy semantics; the gradient scatters back, adding up repeated indices."""

    @staticmethod
    def forward(ctx: Any, x: Array, index: Any) -> Array:
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        return x[index]

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        k = native.for_array(grad)
        grad_x = k.zeros(ctx.shape, ctx.dtype, k.device_index(grad))  # large: reused host memory on the CPU
        if _is_advanced(ctx.index):
            np.add.at(grad_x, ctx.index, grad)  # repeated indices accumulate (a device array's ufunc.at)
        else:
            grad_x[ctx.index] = grad
        return grad_x, None
