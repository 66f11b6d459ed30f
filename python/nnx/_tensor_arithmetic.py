"""Tensor arithmetic and elementwise math: the operators (+ - * / ** @), exp, log, clamp, activations, softmax, and
the rest of torch.Tensor's elementwise functions (sin, floor ...), each also a function nnx.<name>.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._tensor_args import (
    _accepting_numpy_names,
    _as_array,
    _as_operand,
    _normalize_dim,
    _plain_operand,
    _tensor_operand,
)
from ._tensor_base import TensorBase, wrap
from ._tensor_factories import where

if TYPE_CHECKING:
    from typing import Any

    from numpy.typing import ArrayLike

    from ._tensor_base import Number, Operand
    from .tensor import Tensor

# nnx.ops and nnx._math_ops sit above the Tensor class (their Functions build Tensors): nnx._tensor_wiring hands them
# to this module when it is imported, before any Tensor method can run.
_ops = _math_ops = None


def _unary_method(name):
    """A Tensor method applying the elementwise function `name` of nnx._math_ops.UNARY_MATH."""
    def method(self) -> Tensor:
        return _math_ops.UnaryMath.apply(self, name)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Elementwise {name} (differentiable), as torch.Tensor.{name}."
    return method


class ArithmeticMixin:
    """Arithmetic and elementwise math of nnx.Tensor (broadcasting like NumPy; gradients reduced back to each
    input's shape)."""

    __slots__ = ()

    def _binary(self, function: Any, other: Operand, reflected: bool = False) -> Tensor:
        if not isinstance(other, TensorBase):
            other = _as_operand(other)
            if other is NotImplemented:
                return NotImplemented
        return function.apply(other, self) if reflected else function.apply(self, other)

    def __add__(self, other: Operand) -> Tensor:
        """Elementwise sum self + other (broadcasting), as torch.Tensor.add."""
        return self._binary(_ops.Add, other)

    def __radd__(self, other: Operand) -> Tensor:
        return self._binary(_ops.Add, other, reflected=True)

    def __sub__(self, other: Operand) -> Tensor:
        """Elementwise difference self - other (broadcasting), as torch.Tensor.sub."""
        return self._binary(_ops.Sub, other)

    def __rsub__(self, other: Operand) -> Tensor:
        return self._binary(_ops.Sub, other, reflected=True)

    def __mul__(self, other: Operand) -> Tensor:
        """Elementwise product self * other (broadcasting), as torch.Tensor.mul."""
        return self._binary(_ops.Mul, other)

    def __rmul__(self, other: Operand) -> Tensor:
        return self._binary(_ops.Mul, other, reflected=True)

    def __truediv__(self, other: Operand) -> Tensor:
        """Elementwise true division self / other (broadcasting), as torch.Tensor.div."""
        return self._binary(_ops.Div, other)

    def __rtruediv__(self, other: Operand) -> Tensor:
        return self._binary(_ops.Div, other, reflected=True)

    def __pow__(self, other: Operand) -> Tensor:
        """Elementwise power self ** other (broadcasting), as torch.Tensor.pow."""
        return self._binary(_ops.Pow, other)

    def __rpow__(self, other: Operand) -> Tensor:
        return self._binary(_ops.Pow, other, reflected=True)

    def __matmul__(self, other: Operand) -> Tensor:
        """Matrix product self @ other (NumPy's matmul rules), as torch.Tensor.matmul."""
        return self._binary(_ops.MatMul, other)

    def __rmatmul__(self, other: Operand) -> Tensor:
        return self._binary(_ops.MatMul, other, reflected=True)

    def __neg__(self) -> Tensor:
        """Elementwise negation -self, as torch.Tensor.neg."""
        return _ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        """Elementwise absolute value, as torch.Tensor.abs."""
        return _ops.Abs.apply(self)

    add = __add__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    pow = __pow__
    matmul = __matmul__
    neg = __neg__

    def exp(self) -> Tensor:
        """Elementwise exp, as torch.Tensor.exp."""
        return _ops.Exp.apply(self)

    def log(self) -> Tensor:
        """Elementwise natural logarithm, as torch.Tensor.log."""
        return _ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        """Elementwise square root, as torch.Tensor.sqrt."""
        return _ops.Sqrt.apply(self)

    def rsqrt(self) -> Tensor:
        """Elementwise reciprocal of the square root, as torch.Tensor.rsqrt."""
        return _ops.Sqrt.apply(self) ** -1

    def abs(self) -> Tensor:
        """Elementwise absolute value, as torch.Tensor.abs."""
        return _ops.Abs.apply(self)

    def square(self) -> Tensor:
        """Elementwise square, as torch.Tensor.square."""
        return _ops.Mul.apply(self, self)

    def clamp(self, min: Number | Tensor | None = None, max: Number | Tensor | None = None) -> Tensor:
        """Each element limited to [min, max] (either bound may be None), as torch.Tensor.clamp."""
        if min is None and max is None:
            raise RuntimeError("clamp(): at least one of 'min' or 'max' must not be None")
        for name, bound in (("min", min), ("max", max)):
            if not (bound is None or isinstance(bound, (int, float, np.number, TensorBase))):
                raise TypeError(f"clamp(): {name} must be a number or a Tensor, got {type(bound).__name__}")
        return _ops.Clamp.apply(self, min, max)

    clip = clamp

    def tanh(self) -> Tensor:
        """Elementwise tanh, as torch.Tensor.tanh."""
        return _ops.Activation.apply(self, "tanh")

    def sigmoid(self) -> Tensor:
        """Elementwise logistic sigmoid, as torch.Tensor.sigmoid."""
        return _ops.Activation.apply(self, "sigmoid")

    def relu(self) -> Tensor:
        """Elementwise max(x, 0), as torch.Tensor.relu."""
        return _ops.Activation.apply(self, "relu")

    def softmax(self, dim: int) -> Tensor:
        """Softmax along dim, as torch.Tensor.softmax."""
        return _ops.Softmax.apply(self, _normalize_dim(dim, self._data.ndim), False)

    def log_softmax(self, dim: int) -> Tensor:
        """Logarithm of the softmax along dim (computed stably), as torch.Tensor.log_softmax."""
        return _ops.Softmax.apply(self, _normalize_dim(dim, self._data.ndim), True)

    sin, cos, tan, asin, acos, atan = (_unary_method(n) for n in ("sin", "cos", "tan", "asin", "acos", "atan"))
    sinh, cosh, asinh, acosh, atanh = (_unary_method(n) for n in ("sinh", "cosh", "asinh", "acosh", "atanh"))
    log1p, expm1, log2, log10, exp2 = (_unary_method(n) for n in ("log1p", "expm1", "log2", "log10", "exp2"))
    reciprocal, frac, sign = _unary_method("reciprocal"), _unary_method("frac"), _unary_method("sign")
    floor, ceil, trunc = _unary_method("floor"), _unary_method("ceil"), _unary_method("trunc")
    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
    sgn, fix, absolute, negative = sign, trunc, abs, neg
    multiply, subtract, divide, true_divide = mul, sub, div, div

    def round(self, decimals: int = 0) -> Tensor:
        """Elementwise rounding half to even, to `decimals` decimal places, as torch.Tensor.round."""
        if decimals:
            scale = 10.0 ** decimals
            return (self * scale).round() / scale
        return _math_ops.UnaryMath.apply(self, "round")

    def __round__(self, ndigits: int | None = None) -> Tensor:
        return self.round(ndigits or 0)

    def maximum(self, other: Operand) -> Tensor:
        """Elementwise maximum of self and other (broadcasting), as torch.Tensor.maximum."""
        return _ops.Maximum.apply(self, _tensor_operand(other))

    def minimum(self, other: Operand) -> Tensor:
        """Elementwise minimum of self and other (broadcasting), as torch.Tensor.minimum."""
        return _ops.Minimum.apply(self, _tensor_operand(other))

    def clamp_min(self, min: Number | Tensor) -> Tensor:
        """Each element at least min, as torch.Tensor.clamp_min."""
        return self.clamp(min=min)

    def clamp_max(self, max: Number | Tensor) -> Tensor:
        """Each element at most max, as torch.Tensor.clamp_max."""
        return self.clamp(max=max)

    def floor_divide(self, other: Operand) -> Tensor:
        """Rounds the quotient toward -inf (no gradient: the result is piecewise constant)."""
        return wrap(_as_array(np.floor_divide(self._data, _plain_operand(other))))

    def remainder(self, other: Operand) -> Tensor:
        """Python's modulus: the result has the sign of the divisor (as torch.remainder)."""
        return self - self.floor_divide(other).detach() * other

    def fmod(self, other: Operand) -> Tensor:
        """C's modulus: the result has the sign of the dividend (as torch.fmod)."""
        quotient = wrap(_as_array(np.trunc(np.true_divide(self._data, _plain_operand(other)))))
        return self - quotient * other

    def where(self, condition: Tensor | ArrayLike, other: Operand) -> Tensor:
        """self where condition holds, else other (as torch.Tensor.where)."""
        return where(condition, self, other)

    # NumPy's spellings of dim/keepdim (axis/keepdims), accepted like PyTorch (as by the reductions).
    softmax, log_softmax = _accepting_numpy_names(softmax), _accepting_numpy_names(log_softmax)
