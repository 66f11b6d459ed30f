"""Weight initialisers with torch.nn.init's names, formulas and in-place semantics.

Random values come from nnx's seeded generator (nnx.manual_seed makes them reproducible) or from a
`generator` argument; they are drawn in float64 on the host and written into the tensor's array in its
own dtype (copied to its device: a CUDA model starts from the very values a CPU one would).
Initialisers do not record gradients.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .. import random as nnx_random
from ..tensor import Tensor, write_host_values


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain PyTorch recommends for a nonlinearity (scales the std of kaiming/xavier init)."""
    linear_like = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                   "conv_transpose3d", "sigmoid")
    if nonlinearity in linear_like:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif isinstance(param, numbers.Number) and not isinstance(param, bool):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (PyTorch's convention)."""
    shape = _check_tensor(tensor).shape
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower() if isinstance(mode, str) else mode
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with U(a, b)."""
    if not a <= b:
        raise ValueError(f"uniform_ expects a <= b, got a={a}, b={b}")
    return _fill(tensor, lambda rng, shape: rng.uniform(a, b, size=shape), generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with N(mean, std^2)."""
    if not std >= 0:
        raise ValueError(f"normal_ expects std >= 0, got std={std}")
    return _fill(tensor, lambda rng, shape: rng.normal(mean, std, size=shape), generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with the value val."""
    _check_tensor(tensor)._data[...] = val
    return tensor


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return constant_(tensor, 0.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: Any = None) -> Tensor:
    """U(-bound, bound) with bound = gain * sqrt(3 / fan) (He et al.); a is leaky_relu's slope."""
    if 0 in _check_tensor(tensor).shape:
        return tensor  # nothing to fill (PyTorch warns and returns)
    std = calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: Any = None) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan)."""
    if 0 in _check_tensor(tensor).shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def _check_tensor(tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor must be an nnx Tensor (e.g. a Parameter), got {type(tensor).__name__}")
    return tensor


def _fill(tensor, draw, generator):
    """Write draw(numpy_generator, shape) into the tensor's array in place."""
    array = _check_tensor(tensor)._data
    if array.dtype.kind != "f":
        raise TypeError(f"tensor must have a floating-point dtype to be initialised randomly, got {array.dtype}")
    write_host_values(array, draw(_numpy_generator(generator), array.shape))
    return tensor


def _numpy_generator(generator):
    """The np.random.Generator behind nnx's default generator, an nnx generator, or a NumPy one."""
    if generator is None:
        return nnx_random.numpy_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    if hasattr(generator, "numpy_generator"):
        return generator.numpy_generator()
    raise TypeError(f"generator must be None, an nnx generator or a numpy.random.Generator, "
                    f"got {type(generator).__name__}")
