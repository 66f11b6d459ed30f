"""nnx.backends: switches of the native backends, with PyTorch's names (torch.backends).

nnx.backends.cuda.matmul.allow_tf32 (default False, as in PyTorch): float32 matrix products on CUDA may use
TF32 tensor cores, which keep 10 mantissa bits of the inputs (about 1e-3 relative error) for several times
the speed. Setting it takes effect for the next product; it does nothing on the CPU.
"""
from . import native as _native

__all__ = ["cuda"]


class _CudaMatmul:
    """torch.backends.cuda.matmul: allow_tf32."""

    __slots__ = ("_allow_tf32",)

    def __init__(self):
        self._allow_tf32 = False

    @property
    def allow_tf32(self):
        return self._allow_tf32

    @allow_tf32.setter
    def allow_tf32(self, value):
        if not isinstance(value, bool):
            raise TypeError(f"allow_tf32 must be True or False, got {type(value).__name__}")
        self._allow_tf32 = value
        self.apply()

    def apply(self):
        """Hand the setting to the CUDA module when there is one (the backend also reads it when it starts)."""
        if _native.cuda_available():
            from .native import cuda as cuda_backend
            cuda_backend._native.set_allow_tf32(self._allow_tf32)

    def __repr__(self):
        return f"<nnx.backends.cuda.matmul allow_tf32={self._allow_tf32}>"


class _Cuda:
    """torch.backends.cuda: the matmul switches and is_built()."""

    __slots__ = ("matmul",)

    def __init__(self):
        self.matmul = _CudaMatmul()

    @staticmethod
    def is_built():
        """True when nnx was built with its CUDA module (whether or not a GPU is visible)."""
        from .native import _cuda
        return _cuda is not None


cuda = _Cuda()
