"""CPU kernel table: native kernels from nnx._C for the heavy ops, NumPy for cheap elementwise work.

Every function takes and returns NumPy arrays and allocates its outputs. Kernels need C-contiguous
inputs, so inputs are made contiguous at the boundary, and only when they are not already. The op families'
wrappers are the ones both devices share (native/kernels.py); this module holds what only the CPU does:
creation and transfer, its allocators, BLAS matmul with its Fortran-order shortcut.
"""
import numpy as np

from . import host_memory
from .kernels import kernel_table
from .loader import _C

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
def from_numpy(array, index=0):
    """The array itself: NumPy arrays already live on the CPU."""
    return array


def to_numpy(array):
    return array


def empty(shape, dtype, index=0):
    return np.empty(shape, dtype=dtype)


def zeros(shape, dtype, index=0):
    return np.zeros(shape, dtype=dtype)


def ones(shape, dtype, index=0):
    return np.ones(shape, dtype=dtype)


def full(shape, value, dtype, index=0):
    return np.full(shape, value, dtype=dtype)


def arange(start, stop, step, dtype, index=0):
    return np.arange(start, stop, step, dtype=dtype)


def device_index(array):
    return 0


def synchronize(index=-1):
    """Nothing to wait for: CPU kernels return when done."""


def contiguous(array):
    return array if array.flags.c_contiguous else np.ascontiguousarray(array)


def empty_c(array):
    """A fresh C-ordered output of array's shape and dtype (np.empty_like would copy a Fortran or strided
    input's layout, which the kernels refuse for outputs); large ones in reused memory (host_memory)."""
    return host_memory.empty_like(array)



def is_native_float(array):
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


def matmul2d(a, b, trans_a=False, trans_b=False):
    """op(a) @ op(b) for 2-D float arrays of one dtype through BLAS."""
    a, trans_a = _gemm_operand(a, trans_a)
    b, trans_b = _gemm_operand(b, trans_b)
    rows = a.shape[1] if trans_a else a.shape[0]
    cols = b.shape[0] if trans_b else b.shape[1]
    out = host_memory.empty((rows, cols), a.dtype)
    _C.gemm(a, b, out, trans_a, trans_b)
    return out


def matmul(a, b):
    """a @ b with NumPy's semantics; 2-D float operands of one dtype go to BLAS through _C.gemm."""
    if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype and a.dtype in _FLOAT_DTYPES:
        return matmul2d(a, b)
    return np.matmul(a, b)


# --- the op families (kernels.py: linear, activations, softmax, losses, dropout, embedding, normalization, optim) ---
globals().update(kernel_table(_C, contiguous, empty_c, host_memory.empty, host_memory.empty_like, np.zeros))
