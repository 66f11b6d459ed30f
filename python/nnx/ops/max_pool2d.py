"""max_pool2d family: 2-D max pooling over NCHW (or CHW) input with PyTorch's semantics (output size, ceil_mode,
padding and dilation rules; a NaN wins its window), the argmax kept as PyTorch's int64 indices, and the gradient
scattered back to the elements they point at (gathered per input element by the kernels: deterministic)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .. import native
from ..autograd import Function
from ..tensor import Tensor
from ._checks import check_float
from ._common import Array

if TYPE_CHECKING:
    from collections.abc import Sequence

    IntPair = int | Sequence[int]


class Pool2dParameters(NamedTuple):
    """max_pool2d's parameters as (h, w) pairs, checked."""
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    ceil_mode: bool


def _pair(value: Any, argument: str, function: str = "max_pool2d") -> tuple[int, int]:
    """An int or a sequence of one or two ints as an (h, w) pair; TypeError naming the function and the argument
    otherwise (the pooling families share these checks)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(items) not in (1, 2) or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in items):
        raise TypeError(f"{function}(): {argument} must either be a single int, or a tuple of two ints, got {value!r}")
    return (int(items[0]), int(items[-1]))


def pool_parameters(kernel_size: IntPair, stride: IntPair | None, padding: IntPair, dilation: IntPair,
                    ceil_mode: bool, function: str = "max_pool2d") -> Pool2dParameters:
    """The checked parameters (stride None or empty: kernel_size, as in PyTorch); errors name `function`."""
    kernel = _pair(kernel_size, "kernel_size", function)
    steps = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
        _pair(stride, "stride", function)
    pads, dilations = _pair(padding, "padding", function), _pair(dilation, "dilation", function)
    for argument, pair in (("kernel_size", kernel), ("stride", steps), ("dilation", dilations)):
        if min(pair) <= 0:
            raise ValueError(f"{function}(): {argument} must be greater than zero, got {pair}")
    if min(pads) < 0:
        raise ValueError(f"{function}(): padding must be non-negative, got {pads}")
    if pads[0] > kernel[0] // 2 or pads[1] > kernel[1] // 2:
        raise ValueError(f"{function}(): padding should be at most half of kernel_size, got padding={pads} and "
                         f"kernel_size={kernel}")
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"{function}(): ceil_mode must be a bool, got {type(ceil_mode).__name__}")
    return Pool2dParameters(kernel, steps, pads, dilations, bool(ceil_mode))


def output_size(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape (csrc/core/max_pool2d.h's pool_output_size)."""
    out = (size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1  # the last window must start inside the input or the left padding
    return out


class MaxPool2dFunction(Function):
    """max_pool2d over (N, C, H, W); the argmax is kept for backward and, when `indices` is a list, appended
    to it (return_indices)."""

    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, x: Array, params: Pool2dParameters, output_hw: tuple[int, int],
                indices: list | None) -> Array:
        kernels = native.for_array(x)
        if not kernels.is_native_float(x):
            raise TypeError(f"max_pool2d(): input must have dtype float32 or float64, got {x.dtype}")
        out, argmax = kernels.max_pool2d_forward(x, output_hw, *params)
        ctx.argmax, ctx.input_shape, ctx.params = argmax, x.shape, params
        if indices is not None:
            indices.append(argmax)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        grad_in = native.for_array(grad).max_pool2d_backward(grad, ctx.argmax, ctx.input_shape, *ctx.params)
        return grad_in, None, None, None


def max_pool2d(input: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
               dilation: IntPair = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """The max of each kernel_size window of input (N, C, H, W) or (C, H, W), stepping by stride (default
    kernel_size) over input padded by `padding` (which never wins), window elements `dilation` apart. With
    return_indices, (output, indices): int64 flat indices h * W + w of each max within its (n, c) plane."""
    check_float(input, "input", "max_pool2d")
    params = pool_parameters(kernel_size, stride, padding, dilation, ceil_mode)
    shape = tuple(input.shape)
    if len(shape) not in (3, 4) or 0 in shape[-3:]:
        raise ValueError("max_pool2d(): argument 'input' must be 3-D (C, H, W) or 4-D (N, C, H, W) with non-zero C, "
                         f"H and W (N may be 0), got shape {shape}")
    output_hw = tuple(output_size(size, *axis, params.ceil_mode)
                      for size, axis in zip(shape[-2:], zip(*params[:4])))
    if min(output_hw) < 1:
        raise ValueError(f"max_pool2d(): input of shape {shape} gives an output size of {output_hw}, which is too "
                         "small")
    batched = input if len(shape) == 4 else input.reshape((1,) + shape)
    sink: list | None = [] if return_indices else None
    out = MaxPool2dFunction.apply(batched, params, output_hw, sink)
    if len(shape) == 3:
        out = out.reshape(out.shape[1:])
    if not return_indices:
        return out
    argmax = sink[0]
    return out, Tensor._wrap(argmax if len(shape) == 4 else argmax.reshape(argmax.shape[1:]))
