"""pad family: F.pad with PyTorch's semantics. mode 'constant' pads any number of trailing dimensions (negative
padding crops) by copying into a filled array, with slicing; 'reflect', 'replicate' and 'circular' pad the last one
to three dimensions through the native kernels, the backward a gather per input element (deterministic)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import native
from ..autograd import Function
from ..tensor import Tensor
from ._checks import check_number, check_tensor
from ._common import Array

_MODES = ("constant", "reflect", "replicate", "circular")
_AXIS_NAMES = ("W", "H", "D")  # the padded axes, the last one first (PyTorch's order of `pad`)


def _pad_amounts(pad: Any) -> tuple[int, ...]:
    if not isinstance(pad, (tuple, list)) or any(isinstance(p, bool) or not isinstance(p, (int, np.integer))
                                                  for p in pad):
        raise TypeError(f"pad(): argument 'pad' must be a tuple of ints, got {pad!r}")
    return tuple(int(p) for p in pad)


def _constant_slices(shape: tuple[int, ...], pad: tuple[int, ...]):
    """(source slices of x, target slices of out, out's shape) for constant padding; pad pairs from the last axis."""
    source, target, out_shape = [slice(None)] * len(shape), [slice(None)] * len(shape), list(shape)
    for j in range(len(pad) // 2):
        axis, before, after = len(shape) - 1 - j, pad[2 * j], pad[2 * j + 1]
        size = shape[axis]
        out_size = size + before + after
        if out_size < 0:
            raise RuntimeError(f"pad(): the input size {size}, plus negative padding {before} and {after} resulted in "
                               f"a negative output size, which is invalid. Check dimension {axis} of your input.")
        begin, kept = max(-before, 0), size - max(-before, 0) - max(-after, 0)
        if kept < 0:  # PyTorch crops first (narrow), then pads
            raise RuntimeError(f"pad(): the negative padding in ({before}, {after}) crops more than the size {size} of "
                               f"dimension {axis} of the input")
        start = max(before, 0)
        source[axis], target[axis] = slice(begin, begin + kept), slice(start, start + kept)
        out_shape[axis] = out_size
    return tuple(source), tuple(target), tuple(out_shape)


class ConstantPadFunction(Function):
    """out = value everywhere, then input's kept part copied in; the gradient is the copied part of grad."""

    @staticmethod
    def forward(ctx: Any, x: Array, pad: tuple[int, ...], value: float) -> Array:
        source, target, out_shape = _constant_slices(x.shape, pad)
        out = np.full(out_shape, value, dtype=x.dtype, like=x)
        out[target] = x[source]
        ctx.source, ctx.target, ctx.x_shape = source, target, x.shape
        return out

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        grad_x = np.zeros(ctx.x_shape, dtype=grad.dtype, like=grad)
        grad_x[ctx.source] = grad[ctx.target]
        return grad_x, None, None


class NativePadFunction(Function):
    """reflect/replicate/circular padding through the backend's kernels, x viewed as (B, D, H, W)."""

    @staticmethod
    def forward(ctx: Any, x: Array, padding: tuple[int, ...], mode: str, view: tuple[int, ...],
                out_shape: tuple[int, ...]) -> Array:
        out = native.for_array(x).pad_forward(x.reshape(view), padding, mode)
        ctx.x_shape, ctx.view, ctx.padding, ctx.mode = x.shape, view, padding, mode
        return out.reshape(out_shape)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        view = ctx.view
        out_view = (view[0], view[1] + ctx.padding[4] + ctx.padding[5], view[2] + ctx.padding[2] + ctx.padding[3],
                    view[3] + ctx.padding[0] + ctx.padding[1])
        grad_x = native.for_array(grad).pad_backward(grad.reshape(out_view), view, ctx.padding, ctx.mode)
        return grad_x.reshape(ctx.x_shape), None, None, None, None


def _check_non_constant(input: Tensor, pad: tuple[int, ...], mode: str) -> None:
    """PyTorch's rules for reflect/replicate/circular: 1-3 trailing axes of a (batched or not) input, sizes."""
    shape, count = input.shape, len(pad) // 2
    if count not in (1, 2, 3) or input.ndim not in (count + 1, count + 2):
        raise NotImplementedError(
            f"pad(): padding size {len(pad)} is not supported for {input.ndim}D input tensor with mode '{mode}'. "
            "Supported combinations for non-constant padding: 2D or 3D input with padding size 2 (pads the last "
            "dimension), 3D or 4D input with size 4 (the last 2), 4D or 5D input with size 6 (the last 3)")
    if input.dtype not in (np.float32, np.float64):
        raise TypeError(f"pad(): mode '{mode}' takes float32 or float64 input, got {input.dtype}")
    if mode != "circular":
        checked = shape[1:] if input.ndim == count + 2 else shape
        if 0 in checked:
            raise RuntimeError(f"pad(): expected {count + 1}D or {count + 2}D (batch mode) tensor with possibly 0 "
                               f"batch size and other non-zero dimensions for input, but got: {list(shape)}")
    outputs = [shape[input.ndim - 1 - j] + pad[2 * j] + pad[2 * j + 1] for j in range(count)]
    if mode != "circular" and max(outputs) < 1:  # PyTorch's rule: some padded dimension keeps an element
        sizes = ", ".join(f"{_AXIS_NAMES[j]}: {shape[input.ndim - 1 - j]}" for j in reversed(range(count)))
        results = " ".join(f"{_AXIS_NAMES[j]}: {outputs[j]}" for j in reversed(range(count)))
        raise RuntimeError(f"pad(): input ({sizes}) is too small. Calculated output {results}")
    for j in range(count):
        axis, before, after = input.ndim - 1 - j, pad[2 * j], pad[2 * j + 1]
        size, out_size = shape[axis], outputs[j]
        if mode == "reflect" and (before >= size or after >= size):
            raise RuntimeError(f"pad(): Argument #{4 + 2 * j}: Padding size should be less than the corresponding "
                               f"input dimension, but got: padding ({before}, {after}) at dimension {axis} of input "
                               f"{list(shape)}")
        if mode != "circular" and out_size < 0:
            raise RuntimeError(f"pad(): padding ({before}, {after}) gives a negative output size {out_size} at "
                               f"dimension {axis} of input {list(shape)}")
        if mode == "circular":
            cropped = size - max(-before, 0) - max(-after, 0)
            if out_size < 0 or cropped < 0:
                raise RuntimeError("pad(): Negative padding value is resulting in an empty dimension")
            if before > cropped or after > cropped:
                raise RuntimeError("pad(): Padding value causes wrapping around more than once.")


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pads input as torch.nn.functional.pad: `pad` = (last_before, last_after, second_last_before, ...), negative
    amounts crop. mode 'constant' (with `value`, default 0) pads any number of trailing dimensions; 'reflect'
    (mirror without repeating the edge, padding < the size), 'replicate' (the edge repeated) and 'circular'
    (wrap around) pad the last 1, 2 or 3 dimensions of a 2-4D, 3-4D or 4-5D input."""
    check_tensor(input, "input", "pad")
    amounts = _pad_amounts(pad)
    if not isinstance(mode, str) or mode not in _MODES:
        raise NotImplementedError(f"pad(): unrecognised padding mode {mode!r} (one of {', '.join(_MODES)})")
    if len(amounts) % 2:
        raise RuntimeError(f"pad(): Padding length must be divisible by 2, got {len(amounts)}")
    if len(amounts) // 2 > input.ndim:
        raise RuntimeError(f"pad(): Padding length should be less than or equal to two times the input dimension but "
                           f"got padding length {len(amounts)} and input of dimension {input.ndim}")
    if mode == "constant":
        fill = 0.0 if value is None else check_number(value, "value", "pad")
        return ConstantPadFunction.apply(input, amounts, fill)
    if value is not None and check_number(value, "value", "pad") != 0:
        raise RuntimeError(f"pad(): Padding mode \"{mode}\" doesn't take in value argument")
    _check_non_constant(input, amounts, mode)
    count = len(amounts) // 2
    shape = input.shape
    trailing = shape[input.ndim - count:]
    view = (math.prod(shape[:input.ndim - count]),) + (1,) * (3 - count) + trailing
    sizes = [size + amounts[2 * j] + amounts[2 * j + 1] for j, size in enumerate(reversed(trailing))]
    out_shape = shape[:input.ndim - count] + tuple(reversed(sizes))
    return NativePadFunction.apply(input, amounts + (0,) * (6 - len(amounts)), mode, view, out_shape)
