"""DLPack: zero-copy exchange with NumPy, PyTorch, CuPy, JAX ... (Tensor.__dlpack__ and nnx.from_dlpack).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import native
from ._tensor_args import _NUMERIC_KINDS, _canonical_dtype
from ._tensor_base import TensorBase, wrap
from .native.devices import device_of_array

if TYPE_CHECKING:
    from typing import Any

    from .tensor import Tensor

_ndarray = np.ndarray



class DLPackMixin:
    """The DLPack protocol of nnx.Tensor."""

    __slots__ = ()

    def __dlpack__(self, stream: int | Any | None = None, max_version: tuple[int, int] | None = None,
                   dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> Any:
        """A DLPack capsule sharing this tensor's memory (CPU: NumPy's; CUDA: the device array's, ordered
        after nnx's queued work on the consumer's `stream`)."""
        if self._requires_grad:
            raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
        data = self._data
        exporter = data if type(data) is _ndarray or hasattr(data, "__dlpack__") else data._handle
        if type(data) is _ndarray:
            if stream is not None:
                raise BufferError("stream must be None for a CPU tensor's __dlpack__")
            return _dlpack_call(exporter, max_version=max_version, dl_device=dl_device, copy=copy)
        return _dlpack_call(exporter, stream=stream, max_version=max_version, dl_device=dl_device, copy=copy)

    def __dlpack_device__(self) -> tuple[int, int]:
        """(device type, index) in DLPack's numbering: (1, 0) for the CPU, (2, index) for CUDA."""
        found = device_of_array(self._data)
        return (1, 0) if found.type == "cpu" else (2, found.index)


def from_dlpack(ext_tensor: Any) -> Tensor:
    """A Tensor sharing the memory of any object with __dlpack__ (a NumPy array, a torch tensor, a CuPy or
    JAX array, an nnx Tensor): zero-copy. CPU memory comes back as a CPU tensor, CUDA memory as a CUDA
    tensor (this needs nnx's CUDA backend). Other devices, and dtypes other than bool, integers and
    floats NumPy knows (not bfloat16 or complex), raise an error naming them."""
    if isinstance(ext_tensor, TensorBase):
        return wrap(ext_tensor._data)
    if not hasattr(ext_tensor, "__dlpack__") or not hasattr(ext_tensor, "__dlpack_device__"):
        raise TypeError(f"from_dlpack() expects an object with __dlpack__ and __dlpack_device__ (a tensor or "
                        f"array), got {type(ext_tensor).__name__}")
    device_type, index = ext_tensor.__dlpack_device__()
    if device_type == _DLPACK_CPU:
        try:
            array = np.from_dlpack(ext_tensor)
        except (BufferError, TypeError, ValueError, RuntimeError) as error:
            raise TypeError(f"from_dlpack(): NumPy cannot import this CPU tensor ({error}); nnx tensors hold "
                            "bool, integer, float32 or float64 values") from None
        return wrap(_canonical_dtype(_check_dtype_for_dlpack(array)))
    if device_type == _DLPACK_CUDA:
        cuda = native.get(f"cuda:{index}", "from_dlpack()")  # RuntimeError naming why when CUDA is missing
        importer = getattr(cuda, "from_dlpack", None)
        if importer is None:
            raise RuntimeError("from_dlpack(): this nnx's CUDA backend cannot import DLPack tensors yet")
        return wrap(_check_dtype_for_dlpack(importer(ext_tensor)))
    name = _DLPACK_DEVICE_NAMES.get(device_type, f"device type {device_type}")
    raise RuntimeError(f"from_dlpack(): nnx tensors live on the CPU or on CUDA devices, got a tensor on {name} "
                       f"(DLPack device ({device_type}, {index}))")


_DLPACK_CPU, _DLPACK_CUDA = 1, 2
_DLPACK_DEVICE_NAMES = {3: "pinned CUDA host memory (kDLCUDAHost)", 4: "OpenCL", 7: "Vulkan", 8: "Metal",
                        9: "VPI", 10: "ROCm", 11: "ROCm host memory", 13: "CUDA managed memory", 14: "oneAPI"}


def _check_dtype_for_dlpack(array):
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"from_dlpack(): nnx tensors hold bool, integer, float32 or float64 values, got dtype "
                        f"{array.dtype}")
    return array


def _dlpack_call(exporter, **options):
    """exporter.__dlpack__ with the keywords the exporter knows (None-valued ones left out for old ones)."""
    return exporter.__dlpack__(**{name: value for name, value in options.items() if value is not None})
