"""The factory functions: nnx.tensor, from_numpy, zeros, ones, empty, full, the *_like forms, arange, randn, rand,
and cat, stack, where (re-exported by nnx.tensor and nnx)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _tensor_args, native
from . import random as _random
from ._tensor_args import (
    _array_from_python,
    _as_array,
    _as_operand,
    _check_dtype,
    _check_numeric,
    _is_float,
    _normalize_dim,
    _shape_arg,
)
from ._tensor_base import TensorBase, wrap
from .native.devices import CPU, device_of_array, move_array, target_device

if TYPE_CHECKING:
    from ._tensor_base import DeviceLike, DTypeLike, Number, Size
    from .tensor import Tensor

_ndarray = np.ndarray

# nnx.ops sits above the Tensor class (its Functions build Tensors): nnx._tensor_wiring hands it to this module when it
# is imported, before any Tensor method can run.
_ops = None


def tensor(data: Any,
        dtype: DTypeLike | None = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    """A new Tensor holding a copy of `data` (lists, scalars, arrays, Tensors) on `device` (default: the
    CPU, or data's device for a Tensor); Python floats give float32, integers int64, and arrays keep
    their dtype, as torch.tensor does."""
    target = target_device(device)
    if isinstance(data, TensorBase) and type(data._data) is not _ndarray:
        array = data._data.astype(data.dtype if dtype is None else _check_dtype(dtype))  # a device copy
        if target is None:
            target = device_of_array(array)
    else:
        array = _array_from_python(data, None if dtype is None else _check_dtype(dtype))
    if target is not None and target is not CPU:
        array = move_array(array, target)
    result = wrap(array)
    if requires_grad:
        result.requires_grad = True
    return result


def from_numpy(array: np.ndarray) -> Tensor:
    """A Tensor sharing memory with `array` (no copy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"array must be a numpy.ndarray, got {type(array).__name__}")
    return wrap(_check_numeric(array, "array"))


def _factory(kind, make, size, dtype, device, requires_grad, *args):
    """A new tensor: make(shape, dtype) on the CPU, or the device backend's `kind`(shape, *args, dtype, index)."""
    dtype = _tensor_args._DEFAULT_FLOAT if dtype is None else _check_dtype(dtype)
    shape = _shape_arg(size)
    target = None if device is None else target_device(device)
    if target is None or target is CPU:
        array = make(shape, dtype)
    else:
        array = getattr(native.get(target.type), kind)(shape, *args, dtype, target.index)
    result = wrap(array)
    if requires_grad:
        result.requires_grad = True
    return result


def zeros(*size: Size,
        dtype: DTypeLike | None = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of zeros of the given size, as torch.zeros."""
    return _factory("zeros", np.zeros, size, dtype, device, requires_grad)


def ones(*size: Size,
        dtype: DTypeLike | None = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of ones of the given size, as torch.ones."""
    return _factory("ones", np.ones, size, dtype, device, requires_grad)


def empty(*size: Size,
        dtype: DTypeLike | None = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    """An uninitialised tensor of the given size, as torch.empty."""
    return _factory("empty", np.empty, size, dtype, device, requires_grad)


def full(size: Size, fill_value: Number | Tensor,
        dtype: DTypeLike | None = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of the given size filled with fill_value (its dtype unless dtype is given), as torch.full."""
    if isinstance(fill_value, TensorBase):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = _array_from_python(fill_value, None).dtype
    return _factory("full", lambda shape, d: np.full(shape, fill_value, dtype=d), (size,), dtype, device,
                    requires_grad, fill_value)


def _like_device(input, device):
    return input.device if device is None and isinstance(input, TensorBase) else device


def zeros_like(input: Tensor,
        dtype: DTypeLike | None = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    """Zeros of input's shape, dtype and device (each overridable), as torch.zeros_like."""
    return zeros(input.shape, dtype=input.dtype if dtype is None else dtype, device=_like_device(input, device),
                 requires_grad=requires_grad)


def ones_like(input: Tensor,
        dtype: DTypeLike | None = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    """Ones of input's shape, dtype and device (each overridable), as torch.ones_like."""
    return ones(input.shape, dtype=input.dtype if dtype is None else dtype, device=_like_device(input, device),
                requires_grad=requires_grad)


def empty_like(input: Tensor,
        dtype: DTypeLike | None = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    """An uninitialised tensor of input's shape, dtype and device (each overridable), as torch.empty_like."""
    return empty(input.shape, dtype=input.dtype if dtype is None else dtype, device=_like_device(input, device),
                 requires_grad=requires_grad)


def full_like(input: Tensor, fill_value: Number | Tensor,
        dtype: DTypeLike | None = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    """fill_value in input's shape, dtype and device (each overridable), as torch.full_like."""
    return full(input.shape, fill_value, dtype=input.dtype if dtype is None else dtype,
                device=_like_device(input, device), requires_grad=requires_grad)


def arange(start: Number, end: Number | None = None, step: Number = 1,
        dtype: DTypeLike | None = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    """Values from start to end (exclusive) by step, as torch.arange: int64 for integer arguments, else the
    default float dtype."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("step must be nonzero")
    if dtype is None:
        all_ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if all_ints else _tensor_args._DEFAULT_FLOAT
    target = None if device is None else target_device(device)
    if target is not None and target is not CPU:
        # The host computes the values (a few numbers), so they equal the CPU's exactly; one upload.
        return tensor(np.arange(start, end, step, dtype=_check_dtype(dtype)), device=target,
                      requires_grad=requires_grad)
    return _factory("arange", lambda shape, d: np.arange(start, end, step, dtype=d), (), dtype, None, requires_grad)


def _random_factory(draw, size, dtype, device, requires_grad):
    """Random values drawn on the host from nnx's seeded generator, then put on `device`: the same seed
    gives the same values on every device."""
    dtype = _tensor_args._DEFAULT_FLOAT if dtype is None else _check_dtype(dtype)
    if not _is_float(dtype):
        raise TypeError(f"dtype must be a floating point dtype for random values, got {dtype}")
    target = None if device is None else target_device(device)
    values = draw(_random.numpy_generator(), _shape_arg(size)).astype(dtype, copy=False)
    if target is not None and target is not CPU:
        values = move_array(values, target)
    result = wrap(values)
    if requires_grad:
        result.requires_grad = True
    return result


def randn(*size: Size,
        dtype: DTypeLike | None = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal values from nnx's seeded generator."""
    return _random_factory(lambda gen, shape: gen.standard_normal(shape), size, dtype, device, requires_grad)


def rand(*size: Size,
        dtype: DTypeLike | None = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    """Uniform values in [0, 1) from nnx's seeded generator."""
    return _random_factory(lambda gen, shape: gen.random(shape), size, dtype, device, requires_grad)


def _tensor_list(tensors, name):
    if isinstance(tensors, TensorBase) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}() argument 'tensors' must be a tuple or list of Tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{name}() expects a non-empty list of Tensors")
    return [t if isinstance(t, TensorBase) else tensor(t) for t in tensors]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dimension."""
    tensors = _tensor_list(tensors, "cat")
    return _ops.Cat.apply(*tensors, axis=_normalize_dim(dim, tensors[0].ndim))


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stack along a new dimension."""
    tensors = _tensor_list(tensors, "stack")
    return _ops.Stack.apply(*tensors, axis=_normalize_dim(dim, tensors[0].ndim + 1))


def where(condition: Tensor | np.ndarray, input: Tensor | Number | None = None,
          other: Tensor | Number | None = None) -> Tensor | tuple[Tensor, ...]:
    """Elements of `input` where condition holds, else of `other`; where(condition) gives its indices."""
    condition = condition._data if isinstance(condition, TensorBase) else np.asarray(condition)
    if input is None and other is None:
        return tuple(wrap(_as_array(indices, np.int64)) for indices in np.nonzero(condition))
    if condition.dtype != np.bool_:
        raise TypeError(f"where expected condition to be a boolean tensor, got dtype {condition.dtype}")
    input = input if isinstance(input, TensorBase) else _as_operand(input)
    other = other if isinstance(other, TensorBase) else _as_operand(other)
    return _ops.Where.apply(condition, input, other)
