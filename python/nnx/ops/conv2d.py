"""conv2d family: 2-D convolution (PyTorch's conv2d: cross-correlation over NCHW or CHW input, stride, zero padding
as ints, pairs or 'valid'/'same', dilation, groups incl. depthwise, bias added in the kernel's output pass),
fused_conv2d (an activation applied in the output pass, as fused_linear), conv1d as a thin wrapper over conv2d
(H = 1), and conv_transpose2d (conv2d's input gradient as a forward, the bias added
in its gather pass; its gradients are conv2d's forward and grad_weight). The kernels (im2col + GEMM) compute the
three gradients deterministically; here are PyTorch's argument checks, the autograd Function and the functionals."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import native
from ..autograd import Function
from ..tensor import Tensor
from ._checks import check_float, check_number, check_tensor
from ._common import Array

if TYPE_CHECKING:
    from collections.abc import Sequence

    IntPair = int | Sequence[int]

_PADDING_STRINGS = ("valid", "same")


def _ints(value: Any, argument: str, function: str, count: int) -> tuple[int, ...]:
    """An int or a sequence of 1 or `count` ints as a `count`-tuple; TypeError naming the argument otherwise."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(items) not in (1, count) or any(isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer))
                                           for v in items):
        kind = "a single int, or a tuple of two ints" if count == 2 else "a single int, or a tuple of one int"
        raise TypeError(f"{function}(): argument '{argument}' must be {kind}, got {value!r}")
    return tuple(int(items[0]) for _ in range(count)) if len(items) == 1 else tuple(int(v) for v in items)


def _check_groups(groups: Any, function: str) -> int:
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"{function}(): argument 'groups' must be an int, got {type(groups).__name__}")
    if groups <= 0:
        raise ValueError(f"{function}(): argument 'groups' must be > 0 (non-positive groups is not supported), "
                         f"got {groups}")
    return int(groups)


def conv_padding(padding: Any, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
                 function: str) -> tuple[int, ...]:
    """padding as (begin, end) per axis, flattened: an int or a sequence, or 'valid' (none) or 'same' (the output
    keeps the input's size: dilation * (kernel - 1) in all, the odd one extra at the end, as PyTorch; stride 1)."""
    if isinstance(padding, str):
        if padding not in _PADDING_STRINGS:
            raise ValueError(f"{function}(): argument 'padding': invalid padding string {padding!r}, should be one of "
                             f"{_PADDING_STRINGS}")
        if padding == "valid":
            return (0,) * (2 * len(kernel))
        if any(s != 1 for s in stride):
            raise ValueError(f"{function}(): padding='same' is not supported for strided convolutions (stride="
                             f"{stride})")
        pads: list[int] = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads += [total // 2, total - total // 2]
        return tuple(pads)
    values = _ints(padding, "padding", function, len(kernel))
    if min(values) < 0:
        raise ValueError(f"{function}(): argument 'padding' must be non-negative (negative padding is not supported), "
                         f"got {values}")
    return tuple(v for v in values for _ in range(2))


# The activations conv2d fuses into its output pass (those whose derivative reads the output).
CONV_ACTIVATIONS = ("none", "relu", "leaky_relu", "sigmoid", "tanh")


class Conv2dFunction(Function):
    """act(conv2d) over (N, C, H, W) arrays; padding is (top, bottom, left, right)."""

    saved_inputs, saves_output = (0, 1), False

    @staticmethod
    def forward(ctx: Any, x: Array, weight: Array, bias: Array | None, stride: tuple[int, int],
                padding: tuple[int, int, int, int], dilation: tuple[int, int], groups: int,
                output_hw: tuple[int, int], activation: str = "none", negative_slope: float = 0.01) -> Array:
        kernels = native.for_array(x)
        if not kernels.is_native_float(x):
            raise TypeError(f"conv2d(): input must have dtype float32 or float64, got {x.dtype}")
        out = kernels.conv2d_forward(x, weight, bias, output_hw, stride, padding, dilation, groups, activation,
                                     negative_slope)
        if ctx.needs_input_grad:
            ctx.x, ctx.weight, ctx.params = x, weight, (stride, padding, dilation, groups)
            ctx.activation = (None if activation == "none" else out, activation, negative_slope)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        need_x, need_weight, need_bias = (tuple(ctx.needs_input_grad) + (False,) * 3)[:3]
        grads = native.for_array(grad).conv2d_backward(grad, ctx.x, ctx.weight, *ctx.params, need_x, need_weight,
                                                       need_bias, *ctx.activation)
        return (*grads, None, None, None, None, None, None, None)


class FusedConv2dFunction(Conv2dFunction):
    """Conv2dFunction with an activation: its backward reads the output (an in-place write to it is refused)."""

    saves_output = True


def _check_arrays(input: Any, weight: Any, bias: Any, function: str, rank: int) -> None:
    """Types, dtypes and ranks of conv's tensors (rank: 2 for conv2d, 1 for conv1d)."""
    check_float(input, "input", function)
    check_float(weight, "weight", function)
    if bias is not None:
        check_float(bias, "bias", function)
    x, w = input._data, weight._data
    if w.dtype != x.dtype:
        raise TypeError(f"{function}(): argument 'weight' must have the dtype of input ({x.dtype}), got {w.dtype}")
    if x.ndim not in (rank + 1, rank + 2) or 0 in x.shape[1 - (x.ndim == rank + 1):]:
        names = "(C, H, W) or 4-D (N, C, H, W)" if rank == 2 else "(C, L) or 3-D (N, C, L)"
        raise ValueError(f"{function}(): argument 'input' must be {rank + 1}-D {names} with non-zero sizes (N may "
                         f"be 0), got shape {tuple(x.shape)}")
    if w.ndim != rank + 2 or 0 in w.shape:
        names = "(out_channels, in_channels/groups, kH, kW)" if rank == 2 else "(out_channels, in_channels/groups, kW)"
        raise ValueError(f"{function}(): argument 'weight' must be {rank + 2}-D {names} with non-zero sizes, got "
                         f"shape {tuple(w.shape)}")
    if bias is not None and (bias._data.shape != (w.shape[0],) or bias._data.dtype != x.dtype):
        raise ValueError(f"{function}(): argument 'bias' must have shape ({w.shape[0]},) and dtype {x.dtype}, got "
                         f"shape {tuple(bias.shape)} and dtype {bias.dtype}")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntPair = 1,
           padding: IntPair | str = 0, dilation: IntPair = 1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation) of input (N, C_in, H, W) or (C_in, H, W) with weight (C_out,
    C_in/groups, kH, kW), plus bias (C_out,) when given, as torch.nn.functional.conv2d. stride and dilation: an int
    or an (h, w) pair; padding: an int, an (h, w) pair of zero padding on both sides, 'valid' (none) or 'same' (the
    output keeps the input's size, stride 1 only; an odd total adds the extra row/column at the bottom/right).
    groups splits the channels into independent convolutions (groups == C_in: depthwise)."""
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, "conv2d")


def fused_conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntPair = 1,
                 padding: IntPair | str = 0, dilation: IntPair = 1, groups: int = 1, activation: str = "none",
                 negative_slope: float = 0.01) -> Tensor:
    """nnx extension: activation(conv2d(input, weight, bias, ...)) as one native call forward and backward (the
    activation applied in the convolution's output pass, its derivative read from the output), as fused_linear is
    for linear; nn.Sequential runs a Conv2d followed by ReLU/LeakyReLU/Sigmoid/Tanh through it. activation is one
    of 'none', 'relu', 'leaky_relu', 'sigmoid', 'tanh'."""
    if activation not in CONV_ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(CONV_ACTIVATIONS)}; got {activation!r}")
    if negative_slope != 0.01:
        negative_slope = check_number(negative_slope, "negative_slope", "conv2d")
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, "conv2d", activation, negative_slope)


def _conv2d(input: Any, weight: Any, bias: Any, stride: Any, padding: Any, dilation: Any, groups: Any,
            function: str, activation: str = "none", negative_slope: float = 0.01) -> Tensor:
    """act(conv2d), its errors naming `function` (conv1d calls it with H = 1)."""
    if not (isinstance(input, Tensor) and isinstance(weight, Tensor)):
        check_tensor(input, "input", function)
        check_tensor(weight, "weight", function)
    if bias is not None:
        check_tensor(bias, "bias", function)
    _check_arrays(input, weight, bias, function, 2)
    strides = _ints(stride, "stride", function, 2)
    dilations = _ints(dilation, "dilation", function, 2)
    if min(strides) <= 0:
        raise ValueError(f"{function}(): argument 'stride' must be > 0 (non-positive stride is not supported), got "
                         f"{strides}")
    if min(dilations) <= 0:
        raise ValueError(f"{function}(): argument 'dilation' must be > 0, got {dilations}")
    groups = _check_groups(groups, function)
    shape, w_shape = tuple(input.shape), tuple(weight.shape)
    kernel = w_shape[2:]
    pads = conv_padding(padding, kernel, strides, dilations, function)
    channels = shape[-3]
    if w_shape[0] % groups != 0:
        raise ValueError(f"{function}(): Given groups={groups}, expected weight to be divisible by {groups} at "
                         f"dimension 0, but got weight of size {list(w_shape)} instead")
    if channels != w_shape[1] * groups:
        raise ValueError(f"{function}(): Given groups={groups}, weight of size {list(w_shape)}, expected input"
                         f"{list(shape)} to have {w_shape[1] * groups} channels, but got {channels} channels instead")
    padded = tuple(size + pads[2 * a] + pads[2 * a + 1] for a, size in enumerate(shape[-2:]))
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilations))
    if any(p < s for p, s in zip(padded, spans)):
        raise ValueError(f"{function}(): Calculated padded input size per channel: ({padded[0]} x {padded[1]}). "
                         f"Kernel size: ({spans[0]} x {spans[1]}). Kernel size can't be greater than actual input "
                         "size")
    output_hw = tuple((p - s) // st + 1 for p, s, st in zip(padded, spans, strides))
    batched = input if len(shape) == 4 else input.reshape((1,) + shape)
    if activation == "none":
        out = Conv2dFunction.apply(batched, weight, bias, strides, pads, dilations, groups, output_hw)
    else:
        out = FusedConv2dFunction.apply(batched, weight, bias, strides, pads, dilations, groups, output_hw,
                                        activation, negative_slope)
    return out if len(shape) == 4 else out.reshape(out.shape[1:])


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """1-D convolution of input (N, C_in, L) or (C_in, L) with weight (C_out, C_in/groups, kW), plus bias, as
    torch.nn.functional.conv1d (padding an int, 'valid' or 'same'); runs as conv2d with H = 1."""
    function = "conv1d"
    if not (isinstance(input, Tensor) and isinstance(weight, Tensor)):
        check_tensor(input, "input", function)
        check_tensor(weight, "weight", function)
    if bias is not None:
        check_tensor(bias, "bias", function)
    _check_arrays(input, weight, bias, function, 1)
    (step,), (spread,) = _ints(stride, "stride", function, 1), _ints(dilation, "dilation", function, 1)
    pad: Any = padding if isinstance(padding, str) else _ints(padding, "padding", function, 1)[0]
    shape = tuple(input.shape)
    x = input.reshape(shape[:-1] + (1, shape[-1]))
    w = weight.reshape(tuple(weight.shape[:2]) + (1, weight.shape[2]))
    out = _conv2d(x, w, bias, (1, step), pad if isinstance(pad, str) else (0, pad), (1, spread), groups, function)
    out_shape = tuple(out.shape)
    return out.reshape(out_shape[:-2] + (out_shape[-1],))


class ConvTranspose2dFunction(Function):
    """conv_transpose2d over (N, C_in, H, W) arrays; stride, padding, output_padding and dilation are (h, w)."""

    saved_inputs, saves_output = (0, 1), False

    @staticmethod
    def forward(ctx: Any, x: Array, weight: Array, bias: Array | None, stride: tuple[int, int],
                padding: tuple[int, int], output_padding: tuple[int, int], dilation: tuple[int, int], groups: int,
                output_hw: tuple[int, int]) -> Array:
        kernels = native.for_array(x)
        if not kernels.is_native_float(x):
            raise TypeError(f"conv_transpose2d(): input must have dtype float32 or float64, got {x.dtype}")
        out = kernels.conv_transpose2d_forward(x, weight, bias, output_hw, stride, padding, output_padding,
                                               dilation, groups)
        if ctx.needs_input_grad:
            ctx.x, ctx.weight, ctx.params = x, weight, (stride, padding, output_padding, dilation, groups)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        need_x, need_weight, need_bias = (tuple(ctx.needs_input_grad) + (False,) * 3)[:3]
        grads = native.for_array(grad).conv_transpose2d_backward(grad, ctx.x, ctx.weight, *ctx.params, need_x,
                                                                 need_weight, need_bias)
        return (*grads, None, None, None, None, None, None)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntPair = 1,
                     padding: IntPair = 0, output_padding: IntPair = 0, groups: int = 1,
                     dilation: IntPair = 1) -> Tensor:
    """2-D transposed convolution (the gradient of conv2d with respect to its input) of input (N, C_in, H, W) or
    (C_in, H, W) with weight (C_in, C_out/groups, kH, kW), plus bias (C_out,), as
    torch.nn.functional.conv_transpose2d: the output is (H - 1) * stride - 2 * padding + dilation * (kH - 1) +
    output_padding + 1 high (likewise wide); output_padding must be smaller than stride or dilation."""
    function = "conv_transpose2d"
    if not (isinstance(input, Tensor) and isinstance(weight, Tensor)):
        check_tensor(input, "input", function)
        check_tensor(weight, "weight", function)
    if bias is not None:
        check_tensor(bias, "bias", function)
    check_float(input, "input", function)
    check_float(weight, "weight", function)
    x, w = input._data, weight._data
    if w.dtype != x.dtype:
        raise TypeError(f"{function}(): argument 'weight' must have the dtype of input ({x.dtype}), got {w.dtype}")
    if x.ndim not in (3, 4) or 0 in x.shape[1 - (x.ndim == 3):]:
        raise ValueError(f"{function}(): argument 'input' must be 3-D (C, H, W) or 4-D (N, C, H, W) with non-zero "
                         f"sizes (N may be 0), got shape {tuple(x.shape)}")
    if w.ndim != 4 or 0 in w.shape:
        raise ValueError(f"{function}(): argument 'weight' must be 4-D (in_channels, out_channels/groups, kH, kW) "
                         f"with non-zero sizes, got shape {tuple(w.shape)}")
    groups = _check_groups(groups, function)
    out_channels = w.shape[1] * groups
    if bias is not None and (bias._data.shape != (out_channels,) or bias._data.dtype != x.dtype):
        raise ValueError(f"{function}(): argument 'bias' must have shape ({out_channels},) and dtype {x.dtype}, got "
                         f"shape {tuple(bias.shape)} and dtype {bias.dtype}")
    if isinstance(padding, str):
        raise TypeError(f"{function}(): argument 'padding' must be a single int, or a tuple of two ints, got "
                        f"{padding!r} (padding strings are conv2d's only)")
    strides = _ints(stride, "stride", function, 2)
    pads = _ints(padding, "padding", function, 2)
    extra = _ints(output_padding, "output_padding", function, 2)
    dilations = _ints(dilation, "dilation", function, 2)
    if min(strides) <= 0:
        raise ValueError(f"{function}(): argument 'stride' must be > 0 (non-positive stride is not supported), got "
                         f"{strides}")
    if min(dilations) <= 0:
        raise ValueError(f"{function}(): argument 'dilation' must be > 0, got {dilations}")
    if min(pads) < 0:
        raise ValueError(f"{function}(): argument 'padding' must be non-negative (negative padding is not supported), "
                         f"got {pads}")
    if min(extra) < 0 or any(e >= max(s, d) for e, s, d in zip(extra, strides, dilations)):
        raise ValueError(f"{function}(): argument 'output_padding' must be non-negative and smaller than either "
                         f"stride or dilation, got output_padding={extra}, stride={strides}, dilation={dilations}")
    shape, w_shape = tuple(x.shape), tuple(w.shape)
    if w_shape[0] % groups != 0:
        raise ValueError(f"{function}(): Given groups={groups}, expected weight to be divisible by {groups} at "
                         f"dimension 0, but got weight of size {list(w_shape)} instead")
    if shape[-3] != w_shape[0]:
        raise ValueError(f"{function}(): Given transposed=1, weight of size {list(w_shape)}, expected input"
                         f"{list(shape)} to have {w_shape[0]} channels, but got {shape[-3]} channels instead")
    output_hw = tuple((size - 1) * s - 2 * p + d * (k - 1) + e + 1 for size, s, p, d, k, e in
                      zip(shape[-2:], strides, pads, dilations, w_shape[2:], extra))
    if min(output_hw) < 1:
        raise ValueError(f"{function}(): Given input size per channel: ({shape[-2]} x {shape[-1]}). Calculated "
                         f"output size per channel: ({output_hw[0]} x {output_hw[1]}). Output size is too small")
    batched = input if len(shape) == 4 else input.reshape((1,) + shape)
    out = ConvTranspose2dFunction.apply(batched, weight, bias, strides, pads, extra, dilations, groups, output_hw)
    return out if len(shape) == 4 else out.reshape(out.shape[1:])
