"""softmax family: softmax and log_softmax over one axis through the native kernels (float32/float64)."""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import native
from ..autograd import Function
from ._checks import check_float, check_tensor
from ._common import Array

if TYPE_CHECKING:
    from ..tensor import Tensor


class Softmax(Function):
    """softmax / log_softmax over `axis` (the kernel works on the last axis; others are moved there)."""

    saved_inputs, saves_output = (), True

    @staticmethod
    def forward(ctx: Any, x: Array, axis: int, log: bool) -> Array:
        kernels = native.for_array(x)
        if not kernels.is_native_float(x):
            raise TypeError(f"softmax: input must have dtype float32 or float64, got {x.dtype}")
        last = x.ndim - 1
        moved = x if axis >= last else np.moveaxis(x, axis, -1)
        out = kernels.softmax_forward(moved, log)
        ctx.out, ctx.axis, ctx.log = out, axis, log
        return out if axis >= last else np.moveaxis(out, -1, axis)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        kernels = native.for_array(grad)
        moved = ctx.axis < grad.ndim - 1
        grad_in = kernels.softmax_backward(np.moveaxis(grad, ctx.axis, -1) if moved else grad, ctx.out, ctx.log)
        return (np.moveaxis(grad_in, -1, ctx.axis) if moved else grad_in), None, None


def _softmax_dim(dim, ndim, name):
    if dim is None:  # PyTorch's legacy implicit choice
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                      "dim=X as an argument.", UserWarning, stacklevel=3)
        dim = 0 if ndim in (0, 1, 3) else 1
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{name}(): dim must be an int, got {type(dim).__name__}")
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(f"{name}(): dim out of range (expected to be in range of [{-bound}, {bound - 1}], "
                         f"but got {dim})")
    return int(dim) % bound


def _softmax(input, dim, dtype, log):
    name = "log_softmax" if log else "softmax"
    if dtype is None:
        check_float(input, "input", name)
    else:
        input = check_tensor(input, "input", name).to(dtype)
    if input.ndim == 0:
        return Softmax.apply(input.reshape(1), 0, log).reshape(())
    return Softmax.apply(input, _softmax_dim(dim, input.ndim, name), log)


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """exp(input) normalised to sum 1 along dim (input cast to dtype first when given)."""
    return _softmax(input, dim, dtype, log=False)


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """log(softmax(input, dim)), computed stably in one pass."""
    return _softmax(input, dim, dtype, log=True)
