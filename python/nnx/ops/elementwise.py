"""Elementwise ops: dtype casts and copies, arithmetic with NumPy broadcasting, unary math, clamp, maximum/minimum
and where.

One operand of a binary op may be a Python scalar or a plain array: it gets no gradient. Binary ops broadcast
like NumPy, and `unbroadcast` sums each gradient back to its input's shape. exp, log, sqrt and abs go through the
array's kernel table (nnx.native); the rest use the arrays' own NumPy operators.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import native
from ..autograd import Function
from ..native.devices import device_of_array as _device_of_array
from ..native.devices import move_array
from ._common import Array, _shape, unbroadcast


# --- dtype and copies ------------------------------------------------------------------------------------
class Cast(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, x: Array, dtype: Any) -> Array:
        ctx.source_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return grad.astype(ctx.source_dtype), None


class ToDevice(Function):
    """x copied to another device; the gradient is copied back to x's device."""

    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, x: Array, target: Any) -> Array:
        ctx.source = _device_of_array(x)
        return move_array(x, target)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return move_array(grad, ctx.source), None


class Clone(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, x: Array) -> Array:
        return x.copy()  # C order, on x's device

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return grad


# --- arithmetic (one operand may be a Python scalar or a plain array: it gets no gradient) ---------------
_FLOAT64 = np.dtype(np.float64)


def _float_result(out, a, b):
    """PyTorch's promotion where NumPy's differs: integers meeting a Python float or a float32 array give
    float32 (the default float), not float64; float64 only comes from a float64 operand."""
    if out.dtype == _FLOAT64 and not (_is_float64_array(a) or _is_float64_array(b)):
        return out.astype(np.float32)
    return out


def _is_float64_array(value):
    dtype = getattr(value, "dtype", None)  # Python scalars have none (and np.dtype(None) == float64)
    return dtype is not None and dtype == _FLOAT64


class Add(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, a: Array, b: Array) -> Array:
        ctx.shapes = (_shape(a), _shape(b))
        return _float_result(np.add(a, b), a, b)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return unbroadcast(grad, ctx.shapes[0]), unbroadcast(grad, ctx.shapes[1])


class Sub(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, a: Array, b: Array) -> Array:
        ctx.shapes = (_shape(a), _shape(b))
        return _float_result(np.subtract(a, b), a, b)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        need_a, need_b = ctx.needs_input_grad
        return (unbroadcast(grad, ctx.shapes[0]) if need_a else None,
                unbroadcast(-grad, ctx.shapes[1]) if need_b else None)


class Mul(Function):
    saved_inputs, saves_output = (0, 1), False

    @staticmethod
    def forward(ctx: Any, a: Array, b: Array) -> Array:
        ctx.a, ctx.b = a, b
        return _float_result(np.multiply(a, b), a, b)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        need_a, need_b = ctx.needs_input_grad
        return (unbroadcast(grad * ctx.b, _shape(ctx.a)) if need_a else None,
                unbroadcast(grad * ctx.a, _shape(ctx.b)) if need_b else None)


class Div(Function):
    saved_inputs, saves_output = (0, 1), False

    @staticmethod
    def forward(ctx: Any, a: Array, b: Array) -> Array:
        ctx.a, ctx.b = a, b
        with np.errstate(divide="ignore", invalid="ignore"):  # x/0 gives inf or nan silently, as in PyTorch
            return _float_result(np.true_divide(a, b), a, b)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        need_a, need_b = ctx.needs_input_grad
        a, b = ctx.a, ctx.b
        with np.errstate(divide="ignore", invalid="ignore"):
            return (unbroadcast(grad / b, _shape(a)) if need_a else None,
                    unbroadcast(-grad * a / (b * b), _shape(b)) if need_b else None)


class Pow(Function):
    saved_inputs, saves_output = (0, 1), True

    @staticmethod
    def forward(ctx: Any, base: Array, exponent: Array) -> Array:
        out = _float_result(np.power(base, exponent), base, exponent)
        ctx.base, ctx.exponent, ctx.out = base, exponent, out
        return out

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        need_base, need_exponent = ctx.needs_input_grad
        base, exponent = ctx.base, ctx.exponent
        grad_base = grad_exponent = None
        if need_base:
            grad_base = unbroadcast(grad * exponent * np.power(base, exponent - 1), _shape(base))
        if need_exponent:
            # d(b^e)/de = b^e log b, taken as 0 where b == 0 (PyTorch's convention).
            with np.errstate(divide="ignore", invalid="ignore"):
                log_base = np.where(base == 0, 0, np.log(np.where(base == 0, 1, base)))
            grad_exponent = unbroadcast(grad * ctx.out * log_base, _shape(exponent))
        return grad_base, grad_exponent


# --- unary math ----------------------------------------------------------------------------------------------
class Neg(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, x: Array) -> Array:
        return np.negative(x)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return -grad


class Exp(Function):
    saved_inputs, saves_output = (), True

    @staticmethod
    def forward(ctx: Any, x: Array) -> Array:
        ctx.out = native.for_array(x).exp(x)
        return ctx.out

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return grad * ctx.out


class Log(Function):
    saved_inputs, saves_output = (0,), False

    @staticmethod
    def forward(ctx: Any, x: Array) -> Array:
        ctx.x = x
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0) = -inf, log(<0) = nan, like PyTorch
            return native.for_array(x).log(x)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        with np.errstate(divide="ignore"):
            return grad / ctx.x


class Sqrt(Function):
    saved_inputs, saves_output = (), True

    @staticmethod
    def forward(ctx: Any, x: Array) -> Array:
        with np.errstate(invalid="ignore"):
            ctx.out = native.for_array(x).sqrt(x)
        return ctx.out

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        with np.errstate(divide="ignore"):
            return grad / (2 * ctx.out)


class Abs(Function):
    saved_inputs, saves_output = (0,), False

    @staticmethod
    def forward(ctx: Any, x: Array) -> Array:
        ctx.x = x
        return native.for_array(x).abs(x)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return grad * np.sign(ctx.x)


class Clamp(Function):
    saved_inputs, saves_output = (0, 1, 2), False

    @staticmethod
    def forward(ctx: Any, x: Array, low: Any, high: Any) -> Array:
        ctx.x, ctx.low, ctx.high = x, low, high
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        x, low, high = ctx.x, ctx.low, ctx.high
        if low is None:
            inside = x <= high
        else:
            inside = x >= low
            if high is not None:
                inside &= x <= high
        return grad * inside, None, None


class Maximum(Function):
    """Elementwise max of two tensors; ties send half the gradient to each side (PyTorch)."""

    saved_inputs, saves_output = (0, 1), False

    @staticmethod
    def forward(ctx: Any, a: Array, b: Array) -> Array:
        ctx.a, ctx.b = a, b
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        a, b = ctx.a, ctx.b
        return _split_gradient(grad, a, b, (a > b) + 0.5 * (a == b))


class Minimum(Function):
    """Elementwise min of two tensors; ties send half the gradient to each side (PyTorch)."""

    saved_inputs, saves_output = (0, 1), False

    @staticmethod
    def forward(ctx: Any, a: Array, b: Array) -> Array:
        ctx.a, ctx.b = a, b
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        a, b = ctx.a, ctx.b
        return _split_gradient(grad, a, b, (a < b) + 0.5 * (a == b))


def _split_gradient(grad, a, b, share_a):
    """grad split between a and b: `share_a` of it to a, the rest to b, each reduced to its input's shape."""
    return unbroadcast(grad * share_a, _shape(a)), unbroadcast(grad * (1 - share_a), _shape(b))


# --- selection ---------------------------------------------------------------------------------------------
class Where(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, condition: Array, a: Array, b: Array) -> Array:
        ctx.condition, ctx.shapes = condition, (_shape(a), _shape(b))
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        _, need_a, need_b = ctx.needs_input_grad
        zero = np.zeros((), dtype=grad.dtype, like=grad)
        return (None,
                unbroadcast(np.where(ctx.condition, grad, zero), ctx.shapes[0]) if need_a else None,
                unbroadcast(np.where(ctx.condition, zero, grad), ctx.shapes[1]) if need_b else None)
