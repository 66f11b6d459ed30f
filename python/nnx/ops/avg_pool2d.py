"""avg_pool2d family: 2-D average pooling over NCHW (or CHW) input with PyTorch's semantics: its output size and
ceil_mode rule (max_pool2d's, shared), padding <= kernel_size // 2, and its divisor (count_include_pad counts the
padding a window covers but not ceil_mode's cells beyond it; divisor_override replaces the count). The gradient is
gathered per input element by the kernels: deterministic."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import native
from ..autograd import Function
from ..tensor import Tensor
from ._checks import check_float
from ._common import Array
from .max_pool2d import output_size, pool_parameters

if TYPE_CHECKING:
    from .max_pool2d import IntPair

_NAME = "avg_pool2d"


class AvgPool2dFunction(Function):
    """avg_pool2d over (N, C, H, W); `params` is (kernel_size, stride, padding, ceil_mode, count_include_pad,
    divisor_override) as the kernels take them (divisor_override 0: none)."""

    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, x: Array, params: tuple, output_hw: tuple[int, int]) -> Array:
        kernels = native.for_array(x)
        if not kernels.is_native_float(x):
            raise TypeError(f"avg_pool2d(): input must have dtype float32 or float64, got {x.dtype}")
        ctx.input_shape, ctx.params = x.shape, params
        return kernels.avg_pool2d_forward(x, output_hw, *params)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return native.for_array(grad).avg_pool2d_backward(grad, ctx.input_shape, *ctx.params), None, None


def avg_pool2d(input: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """The average of each kernel_size window of input (N, C, H, W) or (C, H, W), stepping by stride (default
    kernel_size) over input zero-padded by `padding` (at most half the kernel). The divisor is the window's size
    within the padded input (count_include_pad) or its count of input elements, or divisor_override (non-zero)."""
    check_float(input, "input", _NAME)
    params = pool_parameters(kernel_size, stride, padding, 1, ceil_mode, _NAME)
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise TypeError(f"avg_pool2d(): count_include_pad must be a bool, got {type(count_include_pad).__name__}")
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer)):
            raise TypeError(f"avg_pool2d(): divisor_override must be an int or None, got {divisor_override!r}")
        if divisor_override == 0:
            raise ValueError("avg_pool2d(): divisor_override must not be zero")
    shape = tuple(input.shape)
    if len(shape) not in (3, 4) or 0 in shape[-3:]:
        raise ValueError("avg_pool2d(): argument 'input' must be 3-D (C, H, W) or 4-D (N, C, H, W) with non-zero C, "
                         f"H and W (N may be 0), got shape {shape}")
    output_hw = tuple(output_size(size, kernel, step, pad, 1, params.ceil_mode)
                      for size, kernel, step, pad in zip(shape[-2:], params.kernel_size, params.stride,
                                                         params.padding))
    if min(output_hw) < 1:
        raise ValueError(f"avg_pool2d(): input of shape {shape} gives an output size of {output_hw}, which is too "
                         "small")
    kernel_params = (params.kernel_size, params.stride, params.padding, params.ceil_mode, bool(count_include_pad),
                     int(divisor_override or 0))
    batched = input if len(shape) == 4 else input.reshape((1,) + shape)
    out = AvgPool2dFunction.apply(batched, kernel_params, output_hw)
    return out if len(shape) == 4 else out.reshape(out.shape[1:])
