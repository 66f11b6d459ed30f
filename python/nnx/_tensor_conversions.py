"""Tensor methods that convert: to Python and NumPy values, between dtypes and devices (to, cuda, cpu, float ...),
clones, and new tensors like this one (new_zeros ...).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import native
from ._tensor_args import _check_dtype, _is_float
from ._tensor_base import TensorBase, wrap
from ._tensor_factories import empty, full, ones, tensor, zeros
from .device import device as _Device
from .native.devices import device_object, device_of_array, host_copy, is_device_argument, is_device_array

if TYPE_CHECKING:
    import builtins
    from collections.abc import Sequence
    from typing import Any

    from numpy.typing import ArrayLike, DTypeLike

    from ._tensor_base import DeviceLike, Number, Size
    from .tensor import Tensor

_ndarray = np.ndarray


# nnx.ops sits above the Tensor class (its Functions build Tensors): nnx._tensor_wiring hands it to this module when it
# is imported, before any Tensor method can run.
_ops = None


class ConversionMixin:
    """Conversions of nnx.Tensor: values out, dtype and device changes, copies."""

    __slots__ = ()

    def numpy(self) -> np.ndarray:
        """The tensor's values as a NumPy array.

        CPU: the underlying array itself (zero-copy): writes to it show in the tensor. CUDA: a new host copy
        (it waits for the GPU's queued work): writes to the copy do not reach the tensor."""
        data = self._data
        if type(data) is _ndarray or not is_device_array(data):
            return data
        return host_copy(data)

    def item(self) -> Number:
        """The single value as a Python number (on a GPU: reads it back, waiting for the queued work)."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.item()

    def tolist(self) -> Any:
        """The values as (nested lists of) Python numbers, as torch.Tensor.tolist."""
        return self._data.tolist()

    def __array__(self, dtype: DTypeLike | None = None, copy: builtins.bool | None = None) -> np.ndarray:
        data = self._data
        if type(data) is not _ndarray and is_device_array(data):  # NumPy may only see host memory, never silently
            raise TypeError(f"can't convert {device_of_array(data)} device type tensor to numpy. Use Tensor.cpu() "
                            "to copy the tensor to host memory first.")
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def __bool__(self) -> builtins.bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements is ambiguous")
        return bool(self._data.item())

    def __float__(self) -> builtins.float:
        return float(self.item())

    def __int__(self) -> builtins.int:
        return int(self.item())

    def __index__(self) -> builtins.int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.item())

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return format(repr(self), spec)

    def to(self, *args: Any, dtype: DTypeLike | None = None, device: DeviceLike | None = None,
           copy: builtins.bool = False, non_blocking: builtins.bool = False) -> Tensor:
        """to(dtype), to(device), to(device, dtype) or to(other_tensor) (its dtype and device), as
        torch.Tensor.to. Returns self when nothing changes (copy=True forces a new tensor); a move between
        devices is differentiable: the gradient flows back to this tensor's device."""
        for arg in args:
            if isinstance(arg, TensorBase):
                dtype, device = arg.dtype, arg.device
            elif is_device_argument(arg):
                device = arg
            else:
                dtype = arg
        result = self if dtype is None else self._cast(_check_dtype(dtype))
        if device is not None:
            result = result._to_device(*native.parse_device(device, "device"))
        return result.clone() if copy and result is self else result

    def _to_device(self, device_type: str, index: builtins.int | None) -> Tensor:
        data = self._data
        device_table = native.for_array(data)
        if device_table.device_type == device_type and (device_type == "cpu" or
                                                        device_table.device_index(data) == (index or 0)):
            return self
        return _ops.ToDevice.apply(self, device_object(device_type, index))

    def cuda(self, device: DeviceLike | None = None, non_blocking: builtins.bool = False) -> Tensor:
        """This tensor on a CUDA device (the current one, cuda:0, by default); itself when already there."""
        if device is None:
            device = "cuda"
        elif isinstance(device, int) and not isinstance(device, bool):
            device = _Device("cuda", device)
        found = _Device(device) if not isinstance(device, _Device) else device
        if found.type != "cuda":
            raise RuntimeError(f"cuda(): device must be a CUDA device, got {device!r}")
        return self.to(found)

    def cpu(self) -> Tensor:
        """This tensor in host memory: itself on the CPU, else a copy (an explicit read that waits)."""
        return self if type(self._data) is _ndarray else self._to_device("cpu", 0)

    def _cast(self, dtype: np.dtype) -> Tensor:
        if dtype == self._data.dtype:
            return self
        if not _is_float(dtype):
            return wrap(self._data.astype(dtype))
        return _ops.Cast.apply(self, dtype)

    def float(self) -> Tensor:
        """Cast to float32 (self when it is already), as torch.Tensor.float."""
        return self._cast(np.dtype(np.float32))

    def double(self) -> Tensor:
        """Cast to float64 (self when it is already), as torch.Tensor.double."""
        return self._cast(np.dtype(np.float64))

    def long(self) -> Tensor:
        """Cast to int64 (self when it is already), as torch.Tensor.long."""
        return self._cast(np.dtype(np.int64))

    def int(self) -> Tensor:
        """Cast to int32 (self when it is already), as torch.Tensor.int."""
        return self._cast(np.dtype(np.int32))

    def bool(self) -> Tensor:
        """Cast to bool (self when it is already), as torch.Tensor.bool."""
        return self._cast(np.dtype(np.bool_))

    def type(self, dtype: DTypeLike | None = None) -> str | Tensor:
        """The dtype's name, or (given a dtype) the tensor cast to it, as torch.Tensor.type."""
        return str(self._data.dtype) if dtype is None else self._cast(_check_dtype(dtype))

    def clone(self) -> Tensor:
        """A copy with its own storage (differentiable), as torch.Tensor.clone."""
        return _ops.Clone.apply(self)

    def contiguous(self) -> Tensor:
        """Self when C-contiguous, else a C-contiguous copy, as torch.Tensor.contiguous."""
        return self if self._data.flags.c_contiguous else _ops.Clone.apply(self)

    def is_contiguous(self) -> builtins.bool:
        """True when the elements are laid out C-contiguous in memory, as torch.Tensor.is_contiguous."""
        return self._data.flags.c_contiguous

    def new_zeros(self, *size: Size, dtype: DTypeLike | None = None, device: DeviceLike | None = None,
                  requires_grad: builtins.bool = False) -> Tensor:
        """Zeros of the given size, with this tensor's dtype and device by default, as torch.Tensor.new_zeros."""
        return zeros(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def new_ones(self, *size: Size, dtype: DTypeLike | None = None, device: DeviceLike | None = None,
                 requires_grad: builtins.bool = False) -> Tensor:
        """Ones of the given size, with this tensor's dtype and device by default, as torch.Tensor.new_ones."""
        return ones(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def new_empty(self, *size: Size, dtype: DTypeLike | None = None, device: DeviceLike | None = None,
                  requires_grad: builtins.bool = False) -> Tensor:
        """Uninitialised values of the given size, this tensor's dtype and device by default, as torch's new_empty."""
        return empty(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def new_full(self, size: Sequence[int], fill_value: Number, dtype: DTypeLike | None = None,
                 device: DeviceLike | None = None, requires_grad: builtins.bool = False) -> Tensor:
        """fill_value in the given size, with this tensor's dtype and device by default, as torch.Tensor.new_full."""
        return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad)

    def new_tensor(self, data: ArrayLike, dtype: DTypeLike | None = None, device: DeviceLike | None = None,
                   requires_grad: builtins.bool = False) -> Tensor:
        """A new tensor of data, with this tensor's dtype and device by default, as torch.Tensor.new_tensor."""
        return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def type_as(self, other: Tensor) -> Tensor:
        """Cast to other's dtype, as torch.Tensor.type_as."""
        return self.to(other.dtype)

    def half(self) -> Tensor:
        """Cast to float16, as torch.Tensor.half."""
        return self._cast(np.dtype(np.float16))

    def short(self) -> Tensor:
        """Cast to int16, as torch.Tensor.short."""
        return self._cast(np.dtype(np.int16))

    def byte(self) -> Tensor:
        """Cast to uint8, as torch.Tensor.byte."""
        return self._cast(np.dtype(np.uint8))

    def char(self) -> Tensor:
        """Cast to int8, as torch.Tensor.char."""
        return self._cast(np.dtype(np.int8))
