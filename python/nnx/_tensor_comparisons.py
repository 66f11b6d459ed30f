"""Tensor comparisons and logic: ==, <, &, ~, isnan, isclose, equal ... (no gradient, bool results).
"""
import numpy as np

from ._tensor_args import _as_array, _as_operand
from ._tensor_base import TensorBase, wrap
from .native.devices import check_same_device, raise_if_mixed_devices


class ComparisonMixin:
    """Comparisons, bitwise and logical ops of nnx.Tensor."""

    __slots__ = ()

    def _compare(self, ufunc, other):
        other = other._data if isinstance(other, TensorBase) else _as_operand(other)
        if other is NotImplemented:
            return NotImplemented
        try:
            result = ufunc(self._data, other)
        except Exception as error:
            raise_if_mixed_devices((self._data, other), error)
            raise
        return wrap(_as_array(result))

    def __eq__(self, other):
        return self._compare(np.equal, other)

    def __ne__(self, other):
        return self._compare(np.not_equal, other)

    def __lt__(self, other):
        return self._compare(np.less, other)

    def __le__(self, other):
        return self._compare(np.less_equal, other)

    def __gt__(self, other):
        return self._compare(np.greater, other)

    def __ge__(self, other):
        return self._compare(np.greater_equal, other)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def __invert__(self):
        if self._data.dtype.kind not in "iub":
            raise TypeError(f"~ (bitwise not) needs a bool or integer tensor, got dtype {self.dtype}")
        return wrap(np.invert(self._data))

    def __and__(self, other):
        return self._compare(np.bitwise_and, other)

    def __or__(self, other):
        return self._compare(np.bitwise_or, other)

    def __xor__(self, other):
        return self._compare(np.bitwise_xor, other)

    def logical_not(self):
        return wrap(np.logical_not(self._data))

    def equal(self, other):
        if not isinstance(other, TensorBase) or self.shape != other.shape:
            return False
        check_same_device((self._data, other._data))
        return bool(np.array_equal(self._data, other._data))

    def allclose(self, other, rtol=1e-5, atol=1e-8):
        other = other._data if isinstance(other, TensorBase) else np.asarray(other)
        check_same_device((self._data, other))
        return bool(np.allclose(self._data, other, rtol=rtol, atol=atol))

    def isnan(self):
        return wrap(np.isnan(self._data))

    def isfinite(self):
        return wrap(np.isfinite(self._data))

    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def isclose(self, other, rtol=1e-5, atol=1e-8, equal_nan=False):
        other = other._data if isinstance(other, TensorBase) else other
        return wrap(_as_array(np.isclose(self._data, other, rtol=rtol, atol=atol, equal_nan=equal_nan)))

    def isinf(self):
        return wrap(np.isinf(self._data))

    def isposinf(self):
        return wrap(np.isposinf(self._data))

    def isneginf(self):
        return wrap(np.isneginf(self._data))

    def signbit(self):
        return wrap(np.signbit(self._data))

    def logical_and(self, other):
        return self._compare(np.logical_and, other)

    def logical_or(self, other):
        return self._compare(np.logical_or, other)

    def logical_xor(self, other):
        return self._compare(np.logical_xor, other)

    bitwise_and, bitwise_or, bitwise_xor, bitwise_not = __and__, __or__, __xor__, __invert__
