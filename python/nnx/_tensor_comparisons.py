"""Tensor comparisons and logic: ==, <, &, ~, isnan, isclose, equal ... (no gradient, bool results).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._tensor_args import _as_array, _as_operand
from ._tensor_base import TensorBase, wrap
from .native.devices import check_same_device, raise_if_mixed_devices

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from ._tensor_base import Operand
    from .tensor import Tensor


class ComparisonMixin:
    """Comparisons, bitwise and logical ops of nnx.Tensor."""

    __slots__ = ()

    def _compare(self, ufunc: np.ufunc, other: Operand) -> Tensor:
        other = other._data if isinstance(other, TensorBase) else _as_operand(other)
        if other is NotImplemented:
            return NotImplemented
        try:
            result = ufunc(self._data, other)
        except Exception as error:
            raise_if_mixed_devices((self._data, other), error)
            raise
        return wrap(_as_array(result))

    def __eq__(self, other: Operand) -> Tensor:
        """Elementwise self == other (a bool tensor), as torch.Tensor.eq."""
        return self._compare(np.equal, other)

    def __ne__(self, other: Operand) -> Tensor:
        """Elementwise self != other (a bool tensor), as torch.Tensor.ne."""
        return self._compare(np.not_equal, other)

    def __lt__(self, other: Operand) -> Tensor:
        """Elementwise self < other (a bool tensor), as torch.Tensor.lt."""
        return self._compare(np.less, other)

    def __le__(self, other: Operand) -> Tensor:
        """Elementwise self <= other (a bool tensor), as torch.Tensor.le."""
        return self._compare(np.less_equal, other)

    def __gt__(self, other: Operand) -> Tensor:
        """Elementwise self > other (a bool tensor), as torch.Tensor.gt."""
        return self._compare(np.greater, other)

    def __ge__(self, other: Operand) -> Tensor:
        """Elementwise self >= other (a bool tensor), as torch.Tensor.ge."""
        return self._compare(np.greater_equal, other)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def __invert__(self) -> Tensor:
        """Elementwise bitwise (logical, for bool) not ~self, as torch.Tensor.bitwise_not."""
        if self._data.dtype.kind not in "iub":
            raise TypeError(f"~ (bitwise not) needs a bool or integer tensor, got dtype {self.dtype}")
        return wrap(np.invert(self._data))

    def __and__(self, other: Operand) -> Tensor:
        """Elementwise bitwise (logical, for bool) and, as torch.Tensor.bitwise_and."""
        return self._compare(np.bitwise_and, other)

    def __or__(self, other: Operand) -> Tensor:
        """Elementwise bitwise (logical, for bool) or, as torch.Tensor.bitwise_or."""
        return self._compare(np.bitwise_or, other)

    def __xor__(self, other: Operand) -> Tensor:
        """Elementwise bitwise (logical, for bool) xor, as torch.Tensor.bitwise_xor."""
        return self._compare(np.bitwise_xor, other)

    def logical_not(self) -> Tensor:
        """Elementwise logical not (a bool tensor), as torch.Tensor.logical_not."""
        return wrap(np.logical_not(self._data))

    def equal(self, other: Tensor) -> bool:
        """True when other is a tensor of the same shape and values, as torch.Tensor.equal."""
        if not isinstance(other, TensorBase) or self.shape != other.shape:
            return False
        check_same_device((self._data, other._data))
        return bool(np.array_equal(self._data, other._data))

    def allclose(self, other: Tensor | ArrayLike, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
        """True when every element is within atol + rtol * abs(other) of other's, as torch.Tensor.allclose."""
        other = other._data if isinstance(other, TensorBase) else np.asarray(other)
        check_same_device((self._data, other))
        return bool(np.allclose(self._data, other, rtol=rtol, atol=atol))

    def isnan(self) -> Tensor:
        """Elementwise test for NaN, as torch.Tensor.isnan."""
        return wrap(np.isnan(self._data))

    def isfinite(self) -> Tensor:
        """Elementwise test for finite values (not inf or NaN), as torch.Tensor.isfinite."""
        return wrap(np.isfinite(self._data))

    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def isclose(self, other: Tensor | ArrayLike, rtol: float = 1e-5, atol: float = 1e-8,
                equal_nan: bool = False) -> Tensor:
        """Elementwise abs(self - other) <= atol + rtol * abs(other), as torch.Tensor.isclose."""
        other = other._data if isinstance(other, TensorBase) else other
        return wrap(_as_array(np.isclose(self._data, other, rtol=rtol, atol=atol, equal_nan=equal_nan)))

    def isinf(self) -> Tensor:
        """Elementwise test for +inf or -inf, as torch.Tensor.isinf."""
        return wrap(np.isinf(self._data))

    def isposinf(self) -> Tensor:
        """Elementwise test for +inf, as torch.Tensor.isposinf."""
        return wrap(np.isposinf(self._data))

    def isneginf(self) -> Tensor:
        """Elementwise test for -inf, as torch.Tensor.isneginf."""
        return wrap(np.isneginf(self._data))

    def signbit(self) -> Tensor:
        """Elementwise test of the sign bit (true for negatives and -0.0), as torch.Tensor.signbit."""
        return wrap(np.signbit(self._data))

    def logical_and(self, other: Operand) -> Tensor:
        """Elementwise logical and (a bool tensor), as torch.Tensor.logical_and."""
        return self._compare(np.logical_and, other)

    def logical_or(self, other: Operand) -> Tensor:
        """Elementwise logical or (a bool tensor), as torch.Tensor.logical_or."""
        return self._compare(np.logical_or, other)

    def logical_xor(self, other: Operand) -> Tensor:
        """Elementwise logical xor (a bool tensor), as torch.Tensor.logical_xor."""
        return self._compare(np.logical_xor, other)

    bitwise_and, bitwise_or, bitwise_xor, bitwise_not = __and__, __or__, __xor__, __invert__
