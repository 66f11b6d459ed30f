"""CUDA kernel table: the names of native/cpu.py over CudaArray, each calling the kernels of nnx._cuda.

Every function takes and returns CudaArrays and allocates its outputs on the inputs' device. Kernels need
C-contiguous inputs, made contiguous at the boundary. The op families' wrappers are the ones both devices share
(native/kernels.py), calling nnx._cuda through HandleArguments; this module holds what only CUDA does: the
module's availability, creation and transfer (DLPack included), its allocators, cuBLAS matmul. The native module
is held in `_native` so that tests can run this whole path on a NumPy stand-in (use_native_module(tests/fake_cuda)).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from . import cuda_array as _arrays
from .cuda_array import CudaArray, ascontiguous
from .cuda_array import empty as _empty_array
from .cuda_array import full as _full_array
from .cuda_numpy import gemm2d
from .cuda_numpy import matmul as _matmul
from .kernels import kernel_table

if TYPE_CHECKING:
    from .._dtypes import DTypeLike

device_type = "cuda"
array_type = CudaArray

_native = _arrays._native  # nnx._cuda (None when nnx was built without it)


def use_native_module(module: Any) -> Any:
    """Swaps the native module the CUDA backend calls (tests install tests/fake_cuda); returns the previous one."""
    global _native
    previous = _native
    _native = module
    _arrays._native = module
    _install_kernel_table(module)
    return previous


def unavailable_reason() -> str | None:
    """Why CUDA cannot be used, or None when it can."""
    if _native is None:
        return "nnx was built without the CUDA module"
    if _native.device_count() == 0:
        return "no CUDA device is visible"
    return None


def is_available() -> bool:
    """True when CUDA arrays can be made (the module is built and sees a device)."""
    return unavailable_reason() is None


def device_count() -> int:
    """The number of CUDA devices visible (0 without the CUDA module)."""
    return 0 if _native is None else _native.device_count()


def synchronize(index: int = -1) -> None:
    """Wait for the work queued on device index (-1: every device)."""
    _arrays.native().synchronize(index)


# --- creation and transfer ------------------------------------------------------------------------------------------
def from_numpy(array: np.ndarray, index: int = 0) -> CudaArray:
    """A device copy of any NumPy array (made C-contiguous, dtype kept)."""
    return _arrays.from_host(np.asarray(array), index)


def to_numpy(array: CudaArray) -> np.ndarray:
    """A new host copy (synchronises)."""
    return _arrays.to_host(array)


def from_dlpack(obj: Any) -> CudaArray:
    """A CudaArray sharing the CUDA memory of any DLPack producer (a torch/CuPy/JAX array, an nnx tensor).

    The capsule is asked for with stream=None: DLPack's "the consumer uses the legacy default stream", so the
    producer orders its pending writes before that stream. nnx exposes no stream of its own to name instead,
    and the native import waits for the whole device anyway, which covers the producer's other streams too.
    max_version is not passed: the native module reads the unversioned ('dltensor') capsule."""
    capsule = obj.__dlpack__(stream=None)
    return CudaArray(_arrays.native().from_dlpack(capsule), base=obj)  # (its memory is obj's, as NumPy's base says)


def empty(shape: tuple[int, ...], dtype: DTypeLike, index: int = 0) -> CudaArray:
    """An uninitialised array on device index."""
    return _empty_array(shape, dtype, index)


def zeros(shape: tuple[int, ...], dtype: DTypeLike, index: int = 0) -> CudaArray:
    """An array of zeros on device index."""
    return _full_array(shape, 0, dtype, index)


def ones(shape: tuple[int, ...], dtype: DTypeLike, index: int = 0) -> CudaArray:
    """An array of ones on device index."""
    return _full_array(shape, 1, dtype, index)


def full(shape: tuple[int, ...], value: float, dtype: DTypeLike, index: int = 0) -> CudaArray:
    """An array filled with value on device index."""
    return _full_array(shape, value, dtype, index)


def arange(start: float, stop: float, step: float, dtype: DTypeLike, index: int = 0) -> CudaArray:
    """Values from start to stop (excluded) by step, on device index."""
    like = _empty_array((0,), np.int64, index)
    return np.arange(start, stop, step, dtype=dtype, like=like)


def device_index(array: CudaArray) -> int:
    """The index of the device array lives on."""
    return array.device_index


# --- elementwise math (CudaArray's ufuncs run on the device) --------------------------------------------------------
exp = np.exp
log = np.log
sqrt = np.sqrt
abs = np.abs  # noqa: A001 (the op's name)

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def contiguous(array: CudaArray) -> CudaArray:
    """array itself when C-contiguous, else a C-contiguous copy on its device."""
    return ascontiguous(array)


def empty_c(array: CudaArray) -> CudaArray:
    """A fresh C-ordered output of array's shape and dtype on its device."""
    return _empty_array(array.shape, array.dtype, array.device_index)


def is_native_float(array: CudaArray) -> bool:
    """True when the native kernels take this array's dtype (float32/float64)."""
    return array.dtype in _FLOAT_DTYPES


def _empty_on(shape, dtype, like):
    """A fresh array on like's device (the kernel table's allocator)."""
    return _empty_array(shape, dtype, like.device_index)


def _zeros_on(shape, dtype, like):
    return _full_array(shape, 0, dtype, like.device_index)


# --- matmul (gemm.cu) ------------------------------------------------------------------------------------------------
def matmul2d(a: CudaArray, b: CudaArray, trans_a: bool = False, trans_b: bool = False) -> CudaArray:
    """op(a) @ op(b) for 2-D float arrays of one dtype through cuBLAS."""
    return gemm2d(a, b, trans_a, trans_b)


def matmul(a: CudaArray, b: CudaArray) -> CudaArray:
    """a @ b with NumPy's semantics on the device (cuBLAS for 2-D floats)."""
    return _matmul(a, b)


# --- the op families (kernels.py: linear, activations, softmax, losses, dropout, embedding, normalization, optim) ---
def _handle_of(value: Any) -> Any:
    """A kernel argument as nnx._cuda takes it: a CudaArray as its DeviceArray, a list of them as a list of those."""
    kind = type(value)
    if kind is CudaArray:
        return value._handle
    if kind is list or kind is tuple:
        return [item._handle if type(item) is CudaArray else item for item in value]
    return value


class HandleArguments:
    """A native module (nnx._cuda, or a test stand-in) whose functions are called with CudaArrays: each CudaArray
    argument, alone or in a list, goes in as its DeviceArray handle. The shared wrappers of native/kernels.py call
    this the way the CPU's call nnx._C with NumPy arrays."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Callable:
        module = self._module

        def call(*args: Any, **kwargs: Any) -> Any:
            """The native function `name`, each CudaArray argument (alone or in a list) passed as its handle."""
            function = getattr(module, name)  # (at call time: a module without CUDA fails here, as before)
            if kwargs:
                kwargs = {key: _handle_of(value) for key, value in kwargs.items()}
            return function(*[_handle_of(argument) for argument in args], **kwargs)

        call.__name__ = call.__qualname__ = name
        setattr(self, name, call)  # made once per name
        return call


def _install_kernel_table(module: Any) -> None:
    """The op families' wrappers over `module`, as this module's functions (again after use_native_module)."""
    globals().update(kernel_table(HandleArguments(module), contiguous, empty_c, _empty_on, empty_c, _zeros_on))


_install_kernel_table(_native)
