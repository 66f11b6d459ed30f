"""linear family: fused_linear (activation(input @ weight.T + bias) in one native pass, forward and backward) and
linear; arguments are validated here with messages naming the argument, the kernels check the rest."""
from __future__ import annotations

from typing import Any

from .. import native
from ..autograd import Function
from ..tensor import Tensor
from ._checks import check_float, check_number, check_tensor
from ._common import Array

_LINEAR_ACTIVATIONS = ("none", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh")


class LinearFunction(Function):
    """act(x @ weight.T + bias) in one native pass; x is (*, in), flattened to 2-D for the kernel."""

    @staticmethod
    def forward(ctx: Any, x: Array, weight: Array, bias: Array | None, activation: str, negative_slope: float) -> Array:
        kernels = native.for_array(x)
        rows = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        out, saved = kernels.linear_forward(rows, weight, bias, activation, negative_slope)
        if ctx.needs_input_grad:
            ctx.rows, ctx.weight, ctx.saved, ctx.x_shape = rows, weight, saved, x.shape
            ctx.activation, ctx.negative_slope = activation, negative_slope
        return out if x.ndim == 2 else out.reshape(x.shape[:-1] + (weight.shape[0],))

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        need_x, need_weight, need_bias = ctx.needs_input_grad[:3]
        grad_rows = grad.reshape(-1, grad.shape[-1]) if grad.ndim != 2 else grad
        grad_x, grad_weight, grad_bias = native.for_array(grad).linear_backward(
            grad_rows, ctx.rows, ctx.weight, ctx.saved, ctx.activation, ctx.negative_slope,
            need_x, need_weight, need_bias)
        if need_x and grad_x.shape != ctx.x_shape:
            grad_x = grad_x.reshape(ctx.x_shape)
        return grad_x, grad_weight, grad_bias, None, None


def fused_linear(input: Tensor, weight: Tensor, bias: Tensor | None = None, activation: str = "none",
                 negative_slope: float = 0.01) -> Tensor:
    """nnx extension: activation(linear(input, weight, bias)) as one native call forward and backward.
    activation is one of 'none', 'relu', 'leaky_relu', 'sigmoid', 'tanh', 'gelu', 'gelu_tanh'."""
    if not (isinstance(input, Tensor) and isinstance(weight, Tensor) and (bias is None or isinstance(bias, Tensor))):
        check_tensor(input, "input", "linear")
        check_tensor(weight, "weight", "linear")
        check_tensor(bias, "bias", "linear")
    x, w = input._data, weight._data
    if x.dtype.kind != "f":
        check_float(input, "input", "linear")
    if x.dtype != w.dtype:
        raise TypeError(f"linear(): weight must have the dtype of input ({x.dtype}), got {w.dtype}")
    if w.ndim != 2:
        raise ValueError(f"linear(): weight must be 2-D (out_features, in_features), got shape {tuple(w.shape)}")
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear(): input shape {tuple(x.shape)} and weight shape {tuple(w.shape)} cannot be "
                         f"multiplied: input's last dimension must be in_features={w.shape[1]}")
    if bias is not None and (bias._data.shape != (w.shape[0],) or bias._data.dtype != x.dtype):
        raise ValueError(f"linear(): bias must have shape ({w.shape[0]},) and dtype {x.dtype}, got shape "
                         f"{tuple(bias.shape)} and dtype {bias.dtype}")
    if activation not in _LINEAR_ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(_LINEAR_ACTIVATIONS)}; got {activation!r}")
    if negative_slope != 0.01:  # the default needs no check (the fast path of every Linear)
        negative_slope = check_number(negative_slope, "negative_slope", "linear")
    return LinearFunction.apply(input, weight, bias, activation, negative_slope)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias, weight of shape (out_features, in_features)."""
    return fused_linear(input, weight, bias)
