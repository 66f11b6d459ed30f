"""PyTorch's dtype names (nnx.int32, nnx.bool, nnx.long ...) as NumPy scalar types, the kind nnx.float32 is.

Kept in their own module because `bool`, `int`, `float` here shadow the builtins.
"""
from typing import Union

import numpy as np

from .device import device as _device

float32, float64, float16 = np.float32, np.float64, np.float16
int8, int16, int32, int64, uint8 = np.int8, np.int16, np.int32, np.int64, np.uint8
bool = np.bool_  # noqa: A001  (torch.bool)
half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001


def _bfloat16():
    """ml_dtypes' bfloat16 when installed (NumPy then knows the name); else a stand-in whose use as a dtype
    raises a TypeError saying nnx tensors do not hold bfloat16 (nnx.tensor._check_dtype)."""
    try:
        import ml_dtypes
    except ImportError:
        return type("bfloat16", (), {"__doc__": "torch.bfloat16's name; nnx tensors do not hold bfloat16 values.",
                                     "__module__": "nnx"})
    return ml_dtypes.bfloat16


bfloat16 = _bfloat16()

DTYPE_NAMES = ("float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "bool",
               "half", "float", "double", "short", "int", "long")

# What a dtype= argument accepts: nnx.float32 (a NumPy scalar type), a NumPy dtype, or a name ("float32").
DTypeLike = Union[type, np.dtype, str]
# What a device= argument accepts: an nnx.device, its string ("cuda:1") or a CUDA index.
DeviceLike = Union[_device, str, int]
