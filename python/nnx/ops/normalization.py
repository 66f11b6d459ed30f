"""normalization family: layer_norm and batch_norm.

float32/float64 input goes to the native kernels (layer_norm as rows of the normalised size, batch_norm of
(N, C, *) as (N, C) or (N, C, S), with an optional fused relu); the NumPy Functions cover other float dtypes. Both
normalise x to xhat = (x - mean) * rstd over some axes and share one backward:
dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) over those axes (batch statistics).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import native
from ..autograd import Function
from ..tensor import Tensor
from ._checks import check_float, check_number
from ._common import Array
from .activations import relu


def _normalized_input_grad(grad_xhat, xhat, rstd, axes):
    mean_grad = grad_xhat.mean(axis=axes, keepdims=True)
    mean_grad_xhat = (grad_xhat * xhat).mean(axis=axes, keepdims=True)
    return rstd * (grad_xhat - mean_grad - xhat * mean_grad_xhat)


def _affine_grads(grad, xhat, reduce_axes, param_shape, need_weight, need_bias):
    grad_weight = (grad * xhat).sum(axis=reduce_axes).reshape(param_shape) if need_weight else None
    grad_bias = grad.sum(axis=reduce_axes).reshape(param_shape) if need_bias else None
    return grad_weight, grad_bias


class LayerNormFunction(Function):
    """Normalise over the trailing `count` axes; weight and bias have those axes' shape."""

    @staticmethod
    def forward(ctx: Any, x: Array, weight: Array | None, bias: Array | None, count: int, eps: float) -> Array:
        axes = tuple(range(x.ndim - count, x.ndim))
        centered = x - x.mean(axis=axes, keepdims=True)
        rstd = 1.0 / np.sqrt((centered * centered).mean(axis=axes, keepdims=True) + eps)
        xhat = centered * rstd
        ctx.xhat, ctx.rstd, ctx.weight, ctx.axes = xhat, rstd, weight, axes
        out = xhat if weight is None else xhat * weight
        return out if bias is None else out + bias

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        need_x, need_weight, need_bias = ctx.needs_input_grad[:3]
        weight, axes = ctx.weight, ctx.axes
        grad_xhat = grad if weight is None else grad * weight
        grad_x = _normalized_input_grad(grad_xhat, ctx.xhat, ctx.rstd, axes) if need_x else None
        leading = tuple(range(grad.ndim - len(axes)))
        param_shape = None if weight is None else weight.shape
        grad_weight, grad_bias = _affine_grads(grad, ctx.xhat, leading, param_shape, need_weight, need_bias)
        return grad_x, grad_weight, grad_bias, None, None


class NativeLayerNormFunction(Function):
    """layer_norm through the backend's kernel: x seen as rows of prod(shape) elements, weight and bias flattened."""

    @staticmethod
    def forward(ctx: Any, x: Array, weight: Array | None, bias: Array | None, shape: tuple[int, ...],
                eps: float) -> Array:
        size = int(np.prod(shape))
        flat = [None if p is None else p.reshape(size) for p in (weight, bias)]
        out, ctx.saved = native.for_array(x).layer_norm_forward(x.reshape(-1, size), *flat, eps)
        ctx.x_shape, ctx.shape, ctx.weight = x.shape, shape, flat[0]
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        grads = native.for_array(grad).layer_norm_backward(grad.reshape(ctx.saved[0].shape), ctx.weight, ctx.saved,
                                                            *ctx.needs_input_grad[:3])
        shapes = (ctx.x_shape, ctx.shape, ctx.shape)
        return (*(None if g is None else g.reshape(shape) for g, shape in zip(grads, shapes)), None, None)


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the trailing dimensions `normalized_shape`."""
    check_float(input, "input", "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    if not shape or input.shape[input.ndim - len(shape):] != shape or len(shape) > input.ndim:
        raise RuntimeError(f"layer_norm(): normalized_shape={list(shape)} must match the trailing dimensions of "
                           f"input, got input of size {list(input.shape)}")
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None:
            check_float(param, name, "layer_norm")
            if param.shape != shape or param.dtype != input.dtype:
                raise ValueError(f"layer_norm(): {name} must have shape {shape} and dtype {input.dtype}, got "
                                 f"{param.shape} and {param.dtype}")
    eps = check_number(eps, "eps", "layer_norm", minimum=0)
    if _has_kernel(input) and 0 not in shape:
        return NativeLayerNormFunction.apply(input, weight, bias, shape, eps)
    return LayerNormFunction.apply(input, weight, bias, len(shape), eps)


class BatchNormFunction(Function):
    """Normalise each channel (axis 1) over the batch and any trailing axes."""

    @staticmethod
    def forward(ctx: Any, x: Array, weight: Array | None, bias: Array | None, running_mean: Array | None,
                running_var: Array | None, training: bool, momentum: float, eps: float) -> Array:
        axes = (0,) + tuple(range(2, x.ndim))
        channel_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        if training:
            mean = x.mean(axis=axes, keepdims=True)
            centered = x - mean
            variance = (centered * centered).mean(axis=axes, keepdims=True)
            if running_mean is not None:
                count = x.size // x.shape[1]
                running_mean *= 1 - momentum
                running_mean += momentum * mean.reshape(-1)
                running_var *= 1 - momentum
                running_var += momentum * variance.reshape(-1) * (count / (count - 1))
        else:
            centered = x - running_mean.reshape(channel_shape)
            variance = running_var.reshape(channel_shape)
        rstd = 1.0 / np.sqrt(variance + eps)
        if rstd.dtype != x.dtype:
            rstd = rstd.astype(x.dtype)
        xhat = centered * rstd
        ctx.xhat, ctx.rstd, ctx.axes, ctx.training = xhat, rstd, axes, training
        ctx.weight = None if weight is None else weight.reshape(channel_shape)
        out = xhat if weight is None else xhat * ctx.weight
        return out if bias is None else out + bias.reshape(channel_shape)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        need_x, need_weight, need_bias = ctx.needs_input_grad[:3]
        grad_xhat = grad if ctx.weight is None else grad * ctx.weight
        grad_x = None
        if need_x:
            grad_x = (_normalized_input_grad(grad_xhat, ctx.xhat, ctx.rstd, ctx.axes) if ctx.training
                      else grad_xhat * ctx.rstd)
        grad_weight, grad_bias = _affine_grads(grad, ctx.xhat, ctx.axes, (grad.shape[1],), need_weight, need_bias)
        return grad_x, grad_weight, grad_bias, None, None, None, None, None


class NativeBatchNormFunction(Function):
    """batch_norm of (N, C, *) input through the backend's kernel (statistics per channel), relu fused when asked."""

    @staticmethod
    def forward(ctx: Any, x: Array, weight: Array | None, bias: Array | None, running_mean: Array | None,
                running_var: Array | None, training: bool, momentum: float, eps: float,
                activation: str = "none") -> Array:
        out, ctx.saved = native.for_array(x).batch_norm_forward(x, weight, bias, running_mean, running_var, training,
                                                                 momentum, eps, activation)
        ctx.weight, ctx.training = weight, training
        return out

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        grads = native.for_array(grad).batch_norm_backward(grad, ctx.weight, ctx.saved, ctx.training,
                                                            *ctx.needs_input_grad[:3])
        return (*grads, None, None, None, None, None, None)


def _has_kernel(input, *params):
    """True when the kernels take input's dtype and every given parameter shares it."""
    data = input._data
    return (native.for_array(data).is_native_float(data)
            and all(param is None or param.dtype == data.dtype for param in params))


def _running_stat(stat, name, channels, dtype):
    if stat is None:
        return None
    if not isinstance(stat, Tensor) or stat.shape != (channels,) or stat.dtype != dtype:
        raise ValueError(f"batch_norm(): {name} must be a Tensor of shape ({channels},) and dtype {dtype}, got "
                         f"{getattr(stat, 'shape', type(stat).__name__)}")
    return stat._data


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1, eps: float = 1e-5, *,
               activation: str = "none") -> Tensor:
    """Batch normalisation of input (N, C, *) per channel. training: batch statistics, and running_mean /
    running_var (when given) updated in place with `momentum` (unbiased variance); else the running ones.

    activation (keyword only, nnx's own): "relu" applies relu to the output in the same pass (and masks the
    gradient by the output in the backward), as batch_norm followed by F.relu would; "none" (default) is PyTorch's
    batch_norm."""
    check_float(input, "input", "batch_norm")
    if activation not in ("none", "relu"):
        raise ValueError(f"batch_norm(): activation must be 'none' or 'relu', got {activation!r}")
    if input.ndim < 2:
        raise ValueError(f"batch_norm(): input must have shape (N, C, *), got {input.shape}")
    channels = input.shape[1]
    mean = _running_stat(running_mean, "running_mean", channels, input.dtype)
    var = _running_stat(running_var, "running_var", channels, input.dtype)
    if (mean is None) != (var is None):
        raise ValueError("batch_norm(): running_mean and running_var must both be given or both be None")
    if not training and mean is None:
        raise ValueError("batch_norm(): running_mean and running_var must be defined in evaluation mode "
                         "(training=False)")
    if training and input._data.size // max(channels, 1) <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape}")
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None:
            check_float(param, name, "batch_norm")
            if param.shape != (channels,):
                raise ValueError(f"batch_norm(): {name} must have shape ({channels},), got {param.shape}")
    momentum = check_number(momentum, "momentum", "batch_norm")
    eps = check_number(eps, "eps", "batch_norm", minimum=0)
    if _has_kernel(input, weight, bias):
        return NativeBatchNormFunction.apply(input, weight, bias, mean, var, bool(training), momentum, eps, activation)
    out = BatchNormFunction.apply(input, weight, bias, mean, var, bool(training), momentum, eps)
    return relu(out) if activation == "relu" else out
