"""Shared by the CUDA op-family tests (test_cuda_*.py): the CUDA module (or None), skip marks, host <-> device
copies, and two "sides" (HOST: _C on NumPy arrays, DEVICE: _cuda on DeviceArrays) so that one call can be
run on both and must give the same result, or raise the same exception with the same message."""
import numpy as np
import pytest

from helpers import poisoned
from nnx.native import _C
from nnx.native import _cuda as cuda  # None when the build had no nvcc

HAS_GPU = cuda is not None and cuda.device_count() > 0
requires_module = pytest.mark.skipif(cuda is None, reason="nnx._cuda was not built (no nvcc at build time)")
requires_gpu = pytest.mark.skipif(not HAS_GPU, reason="needs an NVIDIA GPU")


def c_contiguous(values):
    """A C-contiguous array of the values (0-d stays 0-d, unlike numpy.ascontiguousarray)."""
    return np.require(values, requirements="C")


def to_device(array):
    return cuda.DeviceArray.from_host(c_contiguous(array))


def to_host(array):
    out = np.empty(array.shape, array.dtype)
    array.to_host(out)
    return out


def poisoned_device(shape, dtype):
    """A NaN-filled device output, so an element the kernel skips shows."""
    return to_device(poisoned(shape, dtype))


def contiguous_strides(shape):
    strides, step = [], 1
    for extent in reversed(shape):
        strides.append(step)
        step *= max(extent, 1)
    return tuple(reversed(strides))


class HostSide:
    """_C on NumPy arrays."""
    name = "cpu"

    @property
    def module(self):
        return _C

    def array(self, values):
        return c_contiguous(values)

    def window(self, base, shape, offset):
        """A C-contiguous view of `shape` starting `offset` elements into the 1-D array `base`."""
        return base[offset:offset + int(np.prod(shape))].reshape(shape)

    def every_other_column(self, base):
        """A non-contiguous view: columns 0, 2, 4 ... of the 2-D array `base`."""
        return base[:, ::2]


class DeviceSide:
    """_cuda on DeviceArrays (the same values copied to the GPU)."""
    name = "cuda"

    @property
    def module(self):
        return cuda

    def array(self, values):
        return to_device(values)

    def window(self, base, shape, offset):
        return base.view(shape, contiguous_strides(shape), offset)

    def every_other_column(self, base):
        rows, cols = base.shape
        return base.view((rows, (cols + 1) // 2), (cols, 2), 0)


HOST, DEVICE = HostSide(), DeviceSide()


def assert_same_error(call):
    """call(side) raises on the host; the device must raise the same exception type with the same message."""
    with pytest.raises(Exception) as on_host:
        call(HOST)
    with pytest.raises(on_host.type) as on_device:
        call(DEVICE)
    assert str(on_device.value) == str(on_host.value)
