"""Argument checks of the optimizers: hyperparameters (lr, betas, eps, flags ...) when a group is added or changed,
and refusal(), the pre-flight of the arrays a native *_step call takes.

Why refusal() copies checks that the native binding (csrc/bind/optim.cpp) also makes: a step with several
parameter groups (or one that makes several native calls) must refuse before ANY group moves, and only Python sees
all the groups; the native call of a later group would refuse after the earlier ones had stepped. The binding keeps
its checks (it is the safety net for every caller, and also refuses what refusal() does not look at: aliasing,
sizes). Where refusal() runs it is the one that produces the error the user sees; its messages are the binding's,
word for word, in the binding's order (tests/optim/test_optimizer_guards.py compares the two for every optimizer),
so a user sees the same error whichever layer caught it.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..tensor import _device_of_array

__all__ = ["non_negative", "fraction", "checked_real", "as_real", "flag", "check_betas", "frozen_betas",
           "check_not_differentiable", "refusal"]

_INF = math.inf
_REAL_TYPES = (float, int, np.floating, np.integer)


def non_negative(value: Any, name: str) -> float:
    """value as a finite float >= 0, or TypeError/ValueError naming it (lr, eps, weight_decay ...)."""
    kind = type(value)
    if (kind is float or kind is int) and 0.0 <= value < _INF:  # the usual case, in a few tens of ns
        return float(value)
    return checked_real(value, name, 0.0, _INF)


def fraction(value: Any, name: str, one_allowed: bool = True) -> float:
    """value as a float in [0, 1] (or [0, 1) without one_allowed), or TypeError/ValueError naming it."""
    kind = type(value)
    if (kind is float or kind is int) and 0.0 <= value < 1.0:
        return float(value)
    return checked_real(value, name, 0.0, 1.0, one_allowed)


def checked_real(value: Any, name: str, minimum: float, maximum: float, maximum_allowed: bool = False) -> float:
    """value as a float in [minimum, maximum) ([minimum, maximum] with maximum_allowed), finite; a
    TypeError (not a real number) or ValueError (NaN, inf, out of range) naming it otherwise."""
    value = as_real(value, name)
    below_top = value <= maximum if maximum_allowed else value < maximum
    if not (minimum <= value and below_top and value < _INF):  # NaN fails every comparison
        if maximum == _INF:
            bound = f">= {minimum:g}"
        else:
            bound = f"in [{minimum:g}, {maximum:g}{']' if maximum_allowed else ')'}"
        raise ValueError(f"Invalid {name} value: {value} ({name} must be a finite number {bound})")
    return value


def as_real(value: Any, name: str) -> float:
    """value as a float, or TypeError naming it: Python and NumPy reals only (no bool, str, None, array)."""
    if isinstance(value, _REAL_TYPES) and not isinstance(value, bool):
        return float(value)
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    raise TypeError(f"{name} must be a number (a finite float), got {type(value).__name__} {shown}")


def flag(value: Any, name: str) -> bool:
    """value as a bool: True, False, or the integers 0 and 1; TypeError naming it otherwise."""
    if value is True or value is False:
        return value
    if isinstance(value, np.bool_) or (isinstance(value, (int, np.integer)) and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")



def check_not_differentiable(differentiable: bool) -> None:
    """Refuse differentiable=True: nnx optimizer steps are not recorded by autograd."""
    if differentiable:
        raise ValueError("differentiable=True is not supported: nnx optimizer steps are not recorded by autograd")

def check_betas(betas: Any) -> tuple[float, float]:
    """(beta1, beta2) as floats in [0, 1), or an error naming betas."""
    if type(betas) is tuple and len(betas) == 2:
        beta1, beta2 = betas
        if type(beta1) is float and type(beta2) is float and 0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0:
            return beta1, beta2
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ValueError(f"Invalid betas: {betas!r} (expected a pair (beta1, beta2))")
    checked = []
    for i, beta in enumerate(betas):
        try:
            checked.append(checked_real(beta, f"betas[{i}]", 0.0, 1.0))
        except ValueError:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta} (betas[{i}] must be in [0, 1))") from None
    return tuple(checked)

def frozen_betas(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """values with betas (the second entry) kept as a tuple: an in-place edit of a betas list is seen."""
    if type(values[1]) is list:
        return values[:1] + (tuple(values[1]),) + values[2:]
    return values


def refusal(param_arrays: list[Any], lists: list[tuple[str, list[Any]]]) -> Exception | None:
    """The error the native *_step call raises for these arrays, by its checks and with its messages, or
    None when these checks find nothing (the native call still has the last word). lists: (name, arrays)
    pairs, one array per parameter each; the state buffers' names are the native argument's, plural."""
    first = param_arrays[0]
    for i, array in enumerate(param_arrays):
        error = _array_refusal(array, f"params[{i}]", first, "params[0]", written=True, shaped=False)
        if error is not None:
            return error
    for name, arrays in lists:
        native_name = "grads" if name == "grads" else _NATIVE_LIST_NAMES.get(name, name + "s")
        for i, (array, param) in enumerate(zip(arrays, param_arrays)):
            error = _array_refusal(array, f"{native_name}[{i}]", param, f"params[{i}]", written=name != "grads")
            if error is not None:
                return error
    return None


_NATIVE_LIST_NAMES = {"momentum_buffer": "momentum_buffers", "sum": "state_sums"}

# Per-parameter state entries that are numbers, not buffers like the parameter (NAdam's product of momentum


def _array_refusal(array, name, ref, ref_name, written, shaped=True):
    """The first native check (array_checks.h's order) that `array` fails against `ref`, as an exception."""
    if type(array) is not type(ref) and not (isinstance(ref, np.ndarray) and isinstance(array, np.ndarray)):
        expected = "numpy.ndarray" if isinstance(ref, np.ndarray) else type(ref).__name__
        return TypeError(f"{name} must be a {expected}, got {type(array).__name__}")
    if not array.flags.c_contiguous:
        return ValueError(f"{name} must be C-contiguous (use numpy.ascontiguousarray)")
    if written and isinstance(array, np.ndarray) and not array.flags.writeable:
        return ValueError(f"{name} must be writeable")
    if array is ref and array.dtype not in _FLOAT_DTYPES:  # params[0]: the others must match its dtype
        return TypeError(f"{name} must have dtype float32 or float64, got {array.dtype}")
    if array.dtype != ref.dtype:
        return TypeError(f"{name} must have the dtype of {ref_name} ({ref.dtype}), got {array.dtype}")
    if shaped and array.shape != ref.shape:
        return ValueError(f"{name} must have the shape of {ref_name} {_shape(ref.shape)}, got {_shape(array.shape)}")
    if _device_of_array(array) != _device_of_array(ref):
        return ValueError(f"{name} is on {_device_of_array(array)} but {ref_name} is on {_device_of_array(ref)}")
    return None


_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _shape(shape):
    """A shape as the native messages write it: (3,) (2, 3) ()."""
    return str(tuple(shape))
