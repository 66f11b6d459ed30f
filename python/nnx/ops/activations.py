"""activations family: relu, leaky_relu, sigmoid, tanh, gelu, gelu_tanh, silu and softplus through the native
kernels (float32/float64)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import native
from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor
from ._checks import apply_in_place, check_float, check_number
from ._common import Array

_NATIVE_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class Activation(Function):
    """relu, leaky_relu, sigmoid, tanh, gelu, gelu_tanh, silu, softplus (options: negative_slope, beta,
    threshold)."""

    saved_inputs, saves_output = (0,), True

    @staticmethod
    def forward(ctx: Any, x: Array, kind: str, negative_slope: float = 0.01, beta: float = 1.0,
                threshold: float = 20.0) -> Array:
        kernels = native.for_array(x)
        if not kernels.is_native_float(x):
            raise TypeError(f"{kind}: input must have dtype float32 or float64, got {x.dtype}")
        out = kernels.activation_forward(kind, x, negative_slope, beta, threshold)
        ctx.x, ctx.out, ctx.kind, ctx.options = x, out, kind, (negative_slope, beta, threshold)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        kernels = native.for_array(grad)
        return kernels.activation_backward(ctx.kind, grad, kernels.contiguous(ctx.x), ctx.out, *ctx.options)


def _activation(input, kind, inplace=False, **options):
    # The common call (a CPU float tensor, default options, no graph to record) goes straight to the kernel:
    # the Function machinery costs more than the kernel itself on small tensors (issue 12: relu(16) ≤ 2 µs).
    if type(input) is Tensor and not inplace and not options:
        data = input._data
        if (type(data) is np.ndarray and data.dtype in _NATIVE_FLOATS
                and not (input._requires_grad and is_grad_enabled())):
            return Tensor._wrap(native.cpu.activation_forward(kind, data))
    check_float(input, "input", kind)
    if not inplace:
        return Activation.apply(input, kind, **options)
    return apply_in_place(input, lambda source: Activation.apply(source, kind, **options), kind)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0) elementwise; inplace=True writes the result into input."""
    return _activation(input, "relu", inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """input where positive, negative_slope * input elsewhere."""
    return _activation(input, "leaky_relu", inplace,
                       negative_slope=check_number(negative_slope, "negative_slope", "leaky_relu"))


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-input)) elementwise."""
    return _activation(input, "sigmoid")


def tanh(input: Tensor) -> Tensor:
    """The hyperbolic tangent elementwise."""
    return _activation(input, "tanh")


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """input * Phi(input) (the Gaussian CDF); approximate='tanh' uses the tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return _activation(input, "gelu" if approximate == "none" else "gelu_tanh")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """input * sigmoid(input) (swish)."""
    return _activation(input, "silu", inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * input)) / beta, and input itself where beta * input > threshold."""
    beta, threshold = check_number(beta, "beta", "softplus"), check_number(threshold, "threshold", "softplus")
    if beta == 0:
        raise ValueError("softplus(): beta must be nonzero")
    return _activation(input, "softplus", beta=beta, threshold=threshold)
