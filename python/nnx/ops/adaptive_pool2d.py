"""adaptive_pool2d family: 2-D adaptive average and max pooling over NCHW (or CHW) input with PyTorch's semantics:
output (i, j) pools rows [floor(i * H / OH), ceil((i + 1) * H / OH)) and columns alike; output_size is an int, or a
pair whose None entries keep the input's size. The max keeps PyTorch's int64 indices h * W + w per plane (the first
maximum; a NaN wins). Gradients are gathered per input element by the kernels: deterministic. A 1x1 output (the
global average pooling of a ResNet head) sums each plane as one contiguous run."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import native
from ..autograd import Function
from ..tensor import Tensor
from ._checks import check_float
from ._common import Array

if TYPE_CHECKING:
    from collections.abc import Sequence

    OutputSize = int | None | Sequence[int | None]


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def adaptive_output_size(output_size: Any, input_hw: tuple[int, int], function: str) -> tuple[int, int]:
    """output_size as an (OH, OW) pair: an int for both, or two entries of which None keeps the input's size;
    TypeError/ValueError naming the function and the argument otherwise (negative sizes included)."""
    if _is_int(output_size):
        items = (output_size, output_size)
    elif isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(f"{function}(): output_size must have 2 elements, got {output_size!r}")
        items = tuple(size if entry is None else entry for entry, size in zip(output_size, input_hw))
        if not all(_is_int(entry) for entry in items):
            raise TypeError(f"{function}(): output_size entries must be ints or None, got {output_size!r}")
    else:
        raise TypeError(f"{function}(): output_size must be an int or a pair of ints or None, got {output_size!r}")
    if min(items) < 0:
        raise ValueError(f"{function}(): output_size must be >= 0, got {output_size!r}")
    return (int(items[0]), int(items[1]))


def _batched(input: Tensor, output_size: Any, function: str) -> tuple[Tensor, tuple[int, int]]:
    """input as (N, C, H, W) (a CHW input viewed with N = 1) and the output size, both checked."""
    check_float(input, "input", function)
    shape = tuple(input.shape)
    if len(shape) not in (3, 4) or 0 in shape[-3:]:
        raise ValueError(f"{function}(): argument 'input' must be 3-D (C, H, W) or 4-D (N, C, H, W) with non-zero C, "
                         f"H and W (N may be 0), got shape {shape}")
    output_hw = adaptive_output_size(output_size, shape[-2:], function)
    return (input if len(shape) == 4 else input.reshape((1,) + shape)), output_hw


def _check_native_float(kernels: Any, x: Array, function: str) -> None:
    if not kernels.is_native_float(x):
        raise TypeError(f"{function}(): input must have dtype float32 or float64, got {x.dtype}")


class AdaptiveAvgPool2dFunction(Function):
    """adaptive_avg_pool2d over (N, C, H, W) into (N, C) + output_hw."""

    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, x: Array, output_hw: tuple[int, int]) -> Array:
        kernels = native.for_array(x)
        _check_native_float(kernels, x, "adaptive_avg_pool2d")
        ctx.input_shape = x.shape
        return kernels.adaptive_avg_pool2d_forward(x, output_hw)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return native.for_array(grad).adaptive_avg_pool2d_backward(grad, ctx.input_shape), None


class AdaptiveMaxPool2dFunction(Function):
    """adaptive_max_pool2d over (N, C, H, W); the argmax is kept for backward and, when `indices` is a list,
    appended to it (return_indices)."""

    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, x: Array, output_hw: tuple[int, int], indices: list | None) -> Array:
        kernels = native.for_array(x)
        _check_native_float(kernels, x, "adaptive_max_pool2d")
        out, argmax = kernels.adaptive_max_pool2d_forward(x, output_hw)
        ctx.argmax, ctx.input_shape = argmax, x.shape
        if indices is not None:
            indices.append(argmax)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return native.for_array(grad).adaptive_max_pool2d_backward(grad, ctx.argmax, ctx.input_shape), None, None


def _unbatched(out: Tensor, batched: bool) -> Tensor:
    return out if batched else out.reshape(out.shape[1:])


def adaptive_avg_pool2d(input: Tensor, output_size: OutputSize) -> Tensor:
    """The average of each adaptive window of input (N, C, H, W) or (C, H, W): output (i, j) averages rows
    [floor(i * H / OH), ceil((i + 1) * H / OH)) and columns alike. output_size: an int, or (OH, OW) where None keeps
    the input's size. adaptive_avg_pool2d(x, 1) is the global average pooling of a ResNet head."""
    x, output_hw = _batched(input, output_size, "adaptive_avg_pool2d")
    return _unbatched(AdaptiveAvgPool2dFunction.apply(x, output_hw), input.ndim == 4)


def adaptive_max_pool2d(input: Tensor, output_size: OutputSize, return_indices: bool = False) -> Any:
    """The max of each adaptive window of input (N, C, H, W) or (C, H, W) (windows as adaptive_avg_pool2d's; the
    first maximum, a NaN wins). With return_indices, (output, indices): int64 flat indices h * W + w of each max
    within its (n, c) plane."""
    x, output_hw = _batched(input, output_size, "adaptive_max_pool2d")
    sink: list | None = [] if return_indices else None
    out = _unbatched(AdaptiveMaxPool2dFunction.apply(x, output_hw, sink), input.ndim == 4)
    if not return_indices:
        return out
    argmax = sink[0]
    return out, Tensor._wrap(argmax if input.ndim == 4 else argmax.reshape(argmax.shape[1:]))
