"""Shape ops: reshape/view, permute, expand, tile (torch's repeat), cat and stack. reshape, permute and expand
are views (ViewFunction): their output may share the input's storage."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ._common import Array, ViewFunction, _shape, unbroadcast


def _reshape_view(x, shape):
    """x reshaped without a copy, or RuntimeError as torch.Tensor.view gives."""
    view = x.reshape(shape)
    if view.size and not np.may_share_memory(view, x):  # a copy is a fresh allocation
        raise RuntimeError(f"view size is not compatible with input tensor's size and stride (shape {list(x.shape)} "
                           f"to {list(shape)}); use .reshape(...) instead")
    return view


class Reshape(ViewFunction):
    @staticmethod
    def forward(ctx: Any, x: Array, shape: tuple[int, ...], view_only: bool) -> Array:
        ctx.shape = x.shape
        for size in shape:
            if size < -1:  # NumPy would read any negative size as -1
                raise RuntimeError(f"invalid shape dimension {size} in {list(shape)}")
        try:
            return _reshape_view(x, shape) if view_only else x.reshape(shape)
        except ValueError:
            raise RuntimeError(f"shape {list(shape)} is invalid for input of size {x.size}") from None

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return grad.reshape(ctx.shape), None, None


class Permute(ViewFunction):
    @staticmethod
    def forward(ctx: Any, x: Array, order: tuple[int, ...]) -> Array:
        ctx.inverse = tuple(int(axis) for axis in np.argsort(order))
        return x.transpose(order)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return grad.transpose(ctx.inverse), None


class Expand(ViewFunction):
    @staticmethod
    def forward(ctx: Any, x: Array, shape: tuple[int, ...]) -> Array:
        ctx.shape = x.shape
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise RuntimeError(f"The expanded size of the tensor {list(shape)} must match the existing size "
                               f"{list(x.shape)} at each non-singleton dimension") from None

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return unbroadcast(grad, ctx.shape), None


class Tile(Function):
    """torch.Tensor.repeat: tile the tensor `reps` times along each dimension."""

    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, x: Array, reps: tuple[int, ...]) -> Array:
        if len(reps) < x.ndim:
            raise RuntimeError("repeat(): number of dimensions of repeat dims can not be smaller than number of "
                               "dimensions of tensor")
        ctx.x_shape = x.shape
        ctx.padded_shape, ctx.reps = (1,) * (len(reps) - x.ndim) + x.shape, reps
        return np.tile(x, reps)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        # np.tile lays repeat r of element s at r * size + s: split each axis into (repeat, size) and sum repeats.
        interleaved = []
        for rep, size in zip(ctx.reps, ctx.padded_shape):
            interleaved += [rep, size]
        summed = grad.reshape(interleaved).sum(axis=tuple(range(0, len(interleaved), 2)))
        return summed.reshape(ctx.x_shape), None


class Cat(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, *arrays: Array, axis: int) -> Array:
        ctx.axis = axis
        ctx.boundaries = [int(end) for end in np.cumsum([_shape(a)[axis] for a in arrays])[:-1]]
        try:
            return np.concatenate(arrays, axis=axis)
        except ValueError as error:
            raise RuntimeError(f"cat(): tensors must have the same shape except in dimension {axis}: {error}") from None

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return tuple(np.split(grad, ctx.boundaries, axis=ctx.axis))


class Stack(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, *arrays: Array, axis: int) -> Array:
        ctx.axis = axis
        try:
            return np.stack(arrays, axis=axis)
        except ValueError as error:
            raise RuntimeError(f"stack(): expects each tensor to be equal size: {error}") from None

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        moved = np.moveaxis(grad, ctx.axis, 0)
        return tuple(moved[i] for i in range(moved.shape[0]))
