"""Thread control with PyTorch's names: the number of threads nnx's native kernels use (one OpenMP pool).

nnx's kernels run on libgomp's threads, so `threadpoolctl.threadpool_limits(n)` (or `user_api="openmp"`)
limits them too; `nnx.set_num_threads` is the process-wide setting, as `torch.set_num_threads`.
"""
from numbers import Integral

from .native import _C


def set_num_threads(n: int) -> None:
    """Use at most `n` threads in nnx's CPU kernels, in every Python thread (as torch.set_num_threads)."""
    if isinstance(n, bool) or not isinstance(n, Integral):
        raise TypeError(f"set_num_threads(): argument 'n' must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads(): argument 'n' must be a positive integer, got {n}")
    _C.set_num_threads(int(n))


def get_num_threads() -> int:
    """The number of threads nnx's CPU kernels use in the calling thread (as torch.get_num_threads)."""
    return int(_C.get_num_threads())


__all__ = ["set_num_threads", "get_num_threads"]
