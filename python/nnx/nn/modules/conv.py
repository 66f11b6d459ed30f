"""Convolution layers: Conv2d, Conv1d and ConvTranspose2d (nnx.ops.conv2d's functionals with PyTorch's arguments,
attributes, initialisation and repr)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter
from .linear import _float_dtype

if TYPE_CHECKING:
    from ...tensor import Tensor

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(value: Any, count: int, argument: str) -> tuple[int, ...]:
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(items) not in (1, count) or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                                           for v in items):
        raise TypeError(f"{argument} must be an int or a tuple of {count} ints, got {value!r}")
    return tuple(int(items[0]) for _ in range(count)) if len(items) == 1 else tuple(int(v) for v in items)


class _ConvNd(Module):
    """The parameters, checks, initialisation and repr Conv1d, Conv2d and ConvTranspose2d share (PyTorch's
    _ConvNd)."""

    _transposed = False  # ConvTranspose2d: weight (in_channels, out_channels / groups, *kernel)

    def __init__(self, rank: int, in_channels: int, out_channels: int, kernel_size: Any, stride: Any, padding: Any,
                 dilation: Any, groups: int, bias: bool, padding_mode: str, device: Any, dtype: Any) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups <= 0:
            raise ValueError(f"groups must be a positive integer, got {groups!r}")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        kernel, steps = _tuple(kernel_size, rank, "kernel_size"), _tuple(stride, rank, "stride")
        dilations = _tuple(dilation, rank, "dilation")
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of ('valid', 'same')")
            if padding == "same" and any(s != 1 for s in steps):
                raise ValueError("padding='same' is not supported for strided convolutions")
            pads: Any = padding
        else:
            pads = _tuple(padding, rank, "padding")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got padding_mode={padding_mode!r}")
        dtype = _float_dtype(dtype)
        self.in_channels, self.out_channels, self.kernel_size = int(in_channels), int(out_channels), kernel
        self.stride, self.padding, self.dilation = steps, pads, dilations
        self.transposed, self.output_padding = False, (0,) * rank
        self.groups, self.padding_mode = int(groups), padding_mode
        # A transposed convolution's weight is (in_channels, out_channels / groups, *kernel) (PyTorch's layout).
        channels = ((self.in_channels, self.out_channels // self.groups) if self._transposed else
                    (self.out_channels, self.in_channels // self.groups))
        self.weight = Parameter(np.empty(channels + kernel, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty((self.out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:  # initialised on the host (same values as on the CPU), then moved
            self.to(device)

    def reset_parameters(self) -> None:
        """Draw weight and bias again from PyTorch's default initialisation: weight kaiming_uniform_(a=sqrt(5)),
        bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = weight.shape[1] * prod(kernel_size) (in_channels /
        groups; out_channels / groups for a transposed convolution, as PyTorch's)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * len(self.padding):
            text += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text

    def _padded_input(self, input: Tensor) -> tuple[Tensor, Any]:
        """(input, padding) for the convolution: padding_mode 'reflect', 'replicate' or 'circular' pads with F.pad
        first (PyTorch's _reversed_padding_repeated_twice; 'same' puts the odd one at the end) and convolves
        unpadded, as PyTorch does."""
        if self.padding_mode == "zeros":
            return input, self.padding
        pads: list[int] = []
        for axis in reversed(range(len(self.kernel_size))):
            if self.padding == "valid":
                pads += [0, 0]
            elif self.padding == "same":
                total = self.dilation[axis] * (self.kernel_size[axis] - 1)
                pads += [total // 2, total - total // 2]
            else:
                pads += [self.padding[axis]] * 2
        return F.pad(input, pads, mode=self.padding_mode), (0,) * len(self.kernel_size)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) or (C_in, H, W) input, as torch.nn.Conv2d: weight (out_channels,
    in_channels / groups, kH, kW) and bias (out_channels,), initialised as PyTorch's. kernel_size, stride, padding
    and dilation are ints or pairs; padding may also be 'valid' or 'same' (stride 1). padding_mode 'reflect',
    'replicate' or 'circular' pads with F.pad and convolves unpadded, as PyTorch does."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
                 dilation: int | Sequence[int] = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(2, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        input, padding = self._padded_input(input)
        return F.conv2d(input, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) or (C_in, L) input, as torch.nn.Conv1d (weight (out_channels,
    in_channels / groups, kW)); runs as Conv2d's kernels with H = 1. padding_mode 'reflect', 'replicate' or
    'circular' pads with F.pad and convolves unpadded, as PyTorch does."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
                 dilation: int | Sequence[int] = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(1, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        input, padding = self._padded_input(input)
        return F.conv1d(input, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution over (N, C_in, H, W) or (C_in, H, W) input, as torch.nn.ConvTranspose2d: weight
    (in_channels, out_channels / groups, kH, kW) and bias (out_channels,), initialised as PyTorch's (fan_in =
    out_channels / groups * kH * kW). The output is (H - 1) * stride - 2 * padding + dilation * (kH - 1) +
    output_padding + 1 high (likewise wide); forward's output_size picks the output_padding that gives it."""

    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
                 output_padding: int | Sequence[int] = 0, groups: int = 1, bias: bool = True,
                 dilation: int | Sequence[int] = 1, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        if isinstance(padding, str):
            raise TypeError(f"padding must be an int or a tuple of 2 ints, got {padding!r}")
        extra = _tuple(output_padding, 2, "output_padding")
        super().__init__(2, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)
        self.transposed, self.output_padding = True, extra

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple[int, ...]:
        """PyTorch's _ConvTransposeNd._output_padding: the output_padding that gives output_size (its last two
        entries; (N, C, H, W) and (C, H, W) forms accepted), within [minimum, minimum + stride - 1]."""
        if output_size is None:
            return self.output_padding
        sizes = [int(v) for v in output_size]
        leading = 2 if input.ndim == 4 else 1
        if len(sizes) == leading + 2:
            sizes = sizes[leading:]
        if len(sizes) != 2:
            raise ValueError(f"ConvTranspose2D: for {input.ndim}D input, output_size must have 2 or {leading + 2} "
                             f"elements (got {len(sizes)})")
        spatial = tuple(input.shape[-2:])
        minimum = [(spatial[d] - 1) * self.stride[d] - 2 * self.padding[d] +
                   self.dilation[d] * (self.kernel_size[d] - 1) + 1 for d in range(2)]
        maximum = [minimum[d] + self.stride[d] - 1 for d in range(2)]
        for d in range(2):
            if not minimum[d] <= sizes[d] <= maximum[d]:
                raise ValueError(f"requested an output size of {sizes}, but valid sizes range from {minimum} to "
                                 f"{maximum} (for an input of {list(spatial)})")
        return tuple(sizes[d] - minimum[d] for d in range(2))

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        output_padding = self._output_padding(input, output_size)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                  self.groups, self.dilation)
