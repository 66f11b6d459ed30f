"""CPU kernel table: native kernels from nnx._C for the heavy ops, NumPy for cheap elementwise work.

Every function takes and returns NumPy arrays and allocates its outputs. Kernels need C-contiguous
inputs, so inputs are made contiguous at the boundary, and only when they are not already. The op families'
wrappers are the ones both devices share (native/kernels.py); this module holds what only the CPU does:
creation and transfer, its allocators, BLAS matmul with its Fortran-order shortcut.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import host_memory
from .kernels import kernel_table
from .loader import _C

if TYPE_CHECKING:
    from .._dtypes import DTypeLike

# --- elementwise math: NumPy is as fast as a kernel call for these ----------------------------------
# (Backward rules and the other cheap ops use the arrays' own NumPy operators, not this table.)
exp = np.exp
log = np.log
sqrt = np.sqrt
abs = np.abs  # noqa: A001 (the op's name)

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

device_type = "cpu"
array_type = np.ndarray


# --- creation and transfer (the same names as native/cuda.py; `index` is the device index, always 0 here) ----------
def from_numpy(array: np.ndarray, index: int = 0) -> np.ndarray:
    """The array itself: NumPy arrays already live on the CPU."""
    return array


def to_numpy(array: np.ndarray) -> np.ndarray:
    """The array itself: it is already a NumPy array."""
    return array


def empty(shape: tuple[int, ...], dtype: DTypeLike, index: int = 0) -> np.ndarray:
    """An uninitialised array; a large one in reused memory (host_memory: no page faults)."""
    return host_memory.empty(shape, dtype)


def zeros(shape: tuple[int, ...], dtype: DTypeLike, index: int = 0) -> np.ndarray:
    """An array of zeros; a large one in reused memory (host_memory: no page faults)."""
    return host_memory.zeros(shape, dtype)


def ones(shape: tuple[int, ...], dtype: DTypeLike, index: int = 0) -> np.ndarray:
    """An array of ones."""
    return np.ones(shape, dtype=dtype)


def full(shape: tuple[int, ...], value: float, dtype: DTypeLike, index: int = 0) -> np.ndarray:
    """An array filled with value."""
    return np.full(shape, value, dtype=dtype)


def arange(start: float, stop: float, step: float, dtype: DTypeLike, index: int = 0) -> np.ndarray:
    """Values from start to stop (excluded) by step."""
    return np.arange(start, stop, step, dtype=dtype)


def device_index(array: np.ndarray) -> int:
    """0: the CPU is one device."""
    return 0


def synchronize(index: int = -1) -> None:
    """Nothing to wait for: CPU kernels return when done."""


def contiguous(array: np.ndarray) -> np.ndarray:
    """array itself when C-contiguous, else a C-contiguous copy."""
    return array if array.flags.c_contiguous else np.ascontiguousarray(array)


def empty_c(array: np.ndarray) -> np.ndarray:
    """A fresh C-ordered output of array's shape and dtype (np.empty_like would copy a Fortran or strided
    input's layout, which the kernels refuse for outputs); large ones in reused memory (host_memory)."""
    return host_memory.empty_like(array)



def is_native_float(array: np.ndarray) -> bool:
    """True when the native kernels take this array's dtype (float32/float64)."""
    return array.dtype in _FLOAT_DTYPES


# --- matmul (gemm.cpp) -------------------------------------------------------------------------------
def _gemm_operand(array, transposed):
    """(C-contiguous array, transpose flag) for gemm: a Fortran-ordered matrix is its C-ordered transpose."""
    if array.flags.c_contiguous:
        return array, transposed
    if array.flags.f_contiguous:
        return array.T, not transposed
    return np.ascontiguousarray(array), transposed


def matmul2d(a: np.ndarray, b: np.ndarray, trans_a: bool = False, trans_b: bool = False) -> np.ndarray:
    """op(a) @ op(b) for 2-D float arrays of one dtype through BLAS."""
    a, trans_a = _gemm_operand(a, trans_a)
    b, trans_b = _gemm_operand(b, trans_b)
    rows = a.shape[1] if trans_a else a.shape[0]
    cols = b.shape[0] if trans_b else b.shape[1]
    out = host_memory.empty((rows, cols), a.dtype)
    _C.gemm(a, b, out, trans_a, trans_b)
    return out


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b with NumPy's semantics; 2-D float operands of one dtype go to BLAS through _C.gemm."""
    if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype and a.dtype in _FLOAT_DTYPES:
        return matmul2d(a, b)
    return np.matmul(a, b)


# --- the op families (kernels.py: linear, activations, softmax, losses, dropout, embedding, normalization, optim) ---
globals().update(kernel_table(_C, contiguous, empty_c, host_memory.empty, host_memory.empty_like, host_memory.zeros))
