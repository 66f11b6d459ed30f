"""Argument checks shared by the op families' functional wrappers (each error names the function and the
argument), loss-target conversion, and PyTorch's inplace=True."""
from __future__ import annotations

import numpy as np

from ..autograd import is_grad_enabled
from ..native.devices import device_of_array as _device_of_array
from ..native.devices import move_array
from ..tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def check_tensor(value, argument, function):
    if not isinstance(value, Tensor):
        raise TypeError(f"{function}(): argument '{argument}' must be a Tensor, got {type(value).__name__}")
    return value


def check_float(value, argument, function):
    check_tensor(value, argument, function)
    if value._data.dtype.kind != "f":
        raise TypeError(f"{function}(): argument '{argument}' must have a floating point dtype, got {value.dtype}")
    return value


def check_number(value, argument, function, minimum=None):
    """`value` as a float, or TypeError/ValueError naming the argument (strings, None, NaN, below minimum)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{function}(): argument '{argument}' must be a number, got {type(value).__name__}")
    value = float(value)
    if value != value or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{function}(): argument '{argument}' must be a number{bound}, got {value}")
    return value


def legacy_reduction(size_average, reduce, reduction):
    """PyTorch's deprecated size_average/reduce flags mapped onto `reduction` (returned as is without them)."""
    if size_average is None and reduce is None:
        return reduction
    reduce = True if reduce is None else reduce
    size_average = True if size_average is None else size_average
    return "none" if not reduce else ("mean" if size_average else "sum")


def check_reduction(reduction, size_average=None, reduce=None):
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce, reduction)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def host_data_on_device_of(values, input):
    """Non-Tensor data (lists, NumPy arrays) given with a tensor, as an array on input's device: an
    explicit upload, once, here, when input lives on a GPU."""
    array = np.asarray(values)
    data = input._data
    return array if type(data) is np.ndarray else move_array(array, _device_of_array(data))


def as_dtype(array, dtype):
    """array itself when it has dtype, else a cast copy (on its device)."""
    return array if array.dtype == dtype else array.astype(dtype)


def as_int64_indices(data, argument, function):
    """Integer indices or labels as int64. uint64 values above int64's range are refused: a cast would wrap
    them to negative indices (and a confusing error, or a silent wrong row, further down)."""
    if data.dtype == np.uint64 and data.size and data.max() > np.iinfo(np.int64).max:
        raise IndexError(f"{function}(): {argument} holds {int(data.max())}, above the int64 range of indices "
                         f"(2**63 - 1)")
    return data if data.dtype == np.int64 else data.astype(np.int64)


def as_target(target, input, function):
    """A loss target as an array of the input's dtype (non-Tensor data is converted once, here)."""
    data = target._data if isinstance(target, Tensor) else host_data_on_device_of(target, input)
    if data.shape != input.shape:
        raise ValueError(f"{function}(): target size {tuple(data.shape)} must be the same as input size "
                         f"{tuple(input.shape)}")
    if data.dtype != input._data.dtype:
        if isinstance(target, Tensor) and target._requires_grad:
            raise TypeError(f"{function}(): target must have the dtype of input ({input.dtype}), got {data.dtype}")
        return Tensor._wrap(data.astype(input._data.dtype))
    return target if isinstance(target, Tensor) else Tensor._wrap(data)


def apply_in_place(input, compute, name):
    """PyTorch's inplace=True: `input` itself becomes the result. In a graph, the tensor object is rebased
    onto the new node (its old value stays reachable through a stand-in); a leaf that requires grad is
    refused as in PyTorch."""
    if input._requires_grad and is_grad_enabled():
        if input._ctx is None:
            raise RuntimeError(f"{name}(inplace=True): a leaf Variable that requires grad is being used in an "
                               "in-place operation")
        stand_in = Tensor._wrap(input._data)
        stand_in._requires_grad, stand_in._ctx = True, input._ctx
        result = compute(stand_in)
        input._data, input._ctx = result._data, result._ctx
        return input
    result = compute(input)
    input._data[...] = result._data
    input._bump_version()  # written in place: autograd refuses a backward that kept the old values
    return input
