"""reduce family: sum, mean, var, std, amax and amin over axes (NumPy's reductions on the array's device)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ._common import Array, _expand_reduced, _reduced_count, _restore_reduced_axes


class Sum(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, x: Array, axes: tuple[int, ...] | None, keepdim: bool) -> Array:
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return x.sum(axis=axes, keepdims=keepdim)  # a NumPy scalar becomes a 0-d array in Function.apply

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return _expand_reduced(grad, ctx.shape, ctx.axes, ctx.keepdim), None, None


class Mean(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, x: Array, axes: tuple[int, ...] | None, keepdim: bool) -> Array:
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        with np.errstate(invalid="ignore", divide="ignore"):
            return x.mean(axis=axes, keepdims=keepdim) if x.size else \
                np.full(np.sum(x, axis=axes, keepdims=keepdim).shape, np.nan, dtype=x.dtype, like=x)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        count = _reduced_count(ctx.shape, ctx.axes)
        with np.errstate(divide="ignore", invalid="ignore"):  # an empty mean: its (empty) gradient, no warning
            return _expand_reduced(grad / count, ctx.shape, ctx.axes, ctx.keepdim), None, None


def _centered(x, axes, correction):
    """(x - mean over axes, the divisor N - correction clamped at 0 as PyTorch does): an empty reduction or
    too few values give 0/0 = NaN downstream, never an error or a negative divisor."""
    count = _reduced_count(x.shape, axes)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # (NumPy's mean warns on empty slices)
        mean = np.divide(x.sum(axis=axes, keepdims=True), count, dtype=x.dtype)
        return x - mean, max(count - correction, 0)


def _keepdim_result(value, x, axes, keepdim):
    """A reduction computed with keepdims=True, shaped as the caller asked, in x's dtype."""
    if not keepdim:
        value = value.reshape(()) if axes is None else np.squeeze(value, axes)
    return value if value.dtype == x.dtype else value.astype(x.dtype)


class Var(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, x: Array, axes: tuple[int, ...] | None, correction: float, keepdim: bool) -> Array:
        centered, divisor = _centered(x, axes, correction)
        ctx.centered, ctx.axes, ctx.keepdim, ctx.divisor = centered, axes, keepdim, divisor
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            variance = np.sum(centered * centered, axis=axes, keepdims=True) / divisor
        return _keepdim_result(variance, x, axes, keepdim)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        grad = _restore_reduced_axes(grad, ctx.axes, ctx.keepdim)
        with np.errstate(invalid="ignore", divide="ignore"):  # divisor 0: NaN gradients, as PyTorch
            return grad * ctx.centered * np.divide(2.0, ctx.divisor), None, None, None


class Std(Function):
    """Standard deviation. The deviations are divided by the largest one before squaring, so float32 values
    near 1e30 do not overflow (std([1e30, -1e30]) = 1.41e30, as PyTorch); d std/dx = centered / (N' std)."""

    saved_inputs, saves_output = (), True

    @staticmethod
    def forward(ctx: Any, x: Array, axes: tuple[int, ...] | None, correction: float, keepdim: bool) -> Array:
        centered, divisor = _centered(x, axes, correction)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if x.size:
                scale = np.max(np.abs(centered), axis=axes, keepdims=True)
                scale = np.where((scale > 0) & np.isfinite(scale), scale, np.ones((), dtype=x.dtype, like=x))
            else:
                scale = np.ones((), dtype=x.dtype, like=x)
            scaled = centered / scale
            std = np.sqrt(np.sum(scaled * scaled, axis=axes, keepdims=True) / divisor) * scale
        ctx.centered, ctx.axes, ctx.keepdim, ctx.divisor = centered, axes, keepdim, divisor
        ctx.std = std = std if std.dtype == x.dtype else std.astype(x.dtype)
        return _keepdim_result(std, x, axes, keepdim)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        grad = _restore_reduced_axes(grad, ctx.axes, ctx.keepdim)
        with np.errstate(invalid="ignore", divide="ignore"):  # std 0: gradient 0; divisor 0: NaN, as PyTorch
            grad_over_std = np.where(ctx.std == 0, np.zeros((), dtype=grad.dtype, like=grad), grad / ctx.std)
            return grad_over_std * ctx.centered / ctx.divisor, None, None, None


class Amax(Function):
    """max over axes (all by default); ties share the gradient evenly (PyTorch's amax rule)."""

    saved_inputs, saves_output = (0,), True

    reduce = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx: Any, x: Array, axes: tuple[int, ...] | None = None, keepdim: bool = False) -> Array:
        out = cls.reduce(x, axis=axes, keepdims=True)
        ctx.x, ctx.out, ctx.axes, ctx.keepdim = x, out, axes, keepdim
        return out if keepdim else (out.reshape(()) if axes is None else np.squeeze(out, axes))

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        grad = _restore_reduced_axes(grad, ctx.axes, ctx.keepdim)
        is_extreme = ctx.x == ctx.out
        ties = is_extreme.sum(axis=ctx.axes, keepdims=True)
        return grad * is_extreme / ties, None, None


class Amin(Amax):
    reduce = staticmethod(np.min)
