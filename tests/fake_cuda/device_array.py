"""device_array: the array type. Device memory is a host byte buffer: a DeviceArray is (storage, element offset,
shape, element strides, dtype) exactly like the real one, and kernels work on NumPy views of that buffer. DLPack
capsules describe host (kDLCPU) memory, while the arrays still say they are on (kDLCUDA, 0); from_dlpack imports
such capsules, so nnx's CUDA import path runs here."""
import ctypes
import math
import weakref

import numpy as np

from fake_cuda import runtime

DTYPES = tuple(np.dtype(t) for t in (np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64))


class Storage:
    """Refcounted device memory: back to the allocator's cache when the last view dies."""

    __slots__ = ("bytes", "nbytes", "device", "address", "owner", "__weakref__")

    def __init__(self, nbytes, device, external=None, owner=None):
        self.nbytes = nbytes
        self.device = device
        if external is None:
            self.bytes = runtime.allocator.allocate(nbytes)
            weakref.finalize(self, runtime.allocator.release, self.bytes)
        else:
            self.bytes = external  # a DLPack producer's memory, kept alive by `owner`
        self.owner = owner
        self.address = self.bytes.ctypes.data


def dtype_arg(dtype, name="dtype"):
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a NumPy dtype, got {dtype!r}") from None
    if dtype not in DTYPES:
        raise TypeError(f"{name} must be one of bool, uint8, int32, int64, float32, float64, got {dtype}")
    return dtype


def shape_arg(shape, name="shape"):
    try:
        shape = tuple(int(n) for n in shape)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of ints, got {shape!r}") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"{name} must not have negative dimensions, got {shape}")
    return shape


def contiguous_strides(shape):
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


class DeviceArray:
    """A strided view of (fake) device memory; strides and offset in elements."""

    __slots__ = ("_storage", "_offset", "_shape", "_strides", "_dtype")

    def __init__(self, *args, **kwargs):
        raise TypeError("DeviceArray has no public constructor; use DeviceArray.empty or DeviceArray.from_host")

    @classmethod
    def _make(cls, storage, offset, shape, strides, dtype):
        array = object.__new__(cls)
        array._storage, array._offset, array._shape = storage, offset, shape
        array._strides, array._dtype = strides, dtype
        return array

    @staticmethod
    def empty(shape, dtype, device=0):
        shape, dtype = shape_arg(shape), dtype_arg(dtype)
        runtime.require_device(device, "device")
        size = math.prod(shape)
        if size * dtype.itemsize >= 2 ** 63:
            raise ValueError(f"shape {shape} of {dtype} is too large: its byte count overflows int64")
        if size * dtype.itemsize > 2 ** 34:
            raise MemoryError(f"CUDA out of memory (fake device): tried to allocate {size * dtype.itemsize} bytes")
        storage = Storage(size * dtype.itemsize, device)
        return DeviceArray._make(storage, 0, shape, contiguous_strides(shape), dtype)

    @staticmethod
    def from_host(array, device=0):
        if not isinstance(array, np.ndarray):
            raise TypeError(f"array must be a numpy.ndarray, got {type(array).__name__}")
        if not array.flags.c_contiguous:
            raise ValueError("array must be C-contiguous (use numpy.ascontiguousarray)")
        out = DeviceArray.empty(array.shape, dtype_arg(array.dtype, "array"), device)
        out._numpy()[...] = array
        return out

    def to_host(self, out):
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
        if not out.flags.c_contiguous:
            raise ValueError("out must be C-contiguous (use numpy.ascontiguousarray)")
        if not out.flags.writeable:
            raise ValueError("out must be writeable")
        if out.dtype != self._dtype:
            raise TypeError(f"out must have dtype {self._dtype}, got {out.dtype}")
        if out.shape != self._shape:
            raise ValueError(f"out must have shape {self._shape}, got {out.shape}")
        if not self.is_contiguous:
            raise ValueError(f"to_host needs a contiguous DeviceArray, got strides {self._strides} (copy it into a "
                             "contiguous array first)")
        runtime.raise_pending()
        out[...] = self._numpy()

    def view(self, shape, strides, offset):
        shape = shape_arg(shape)
        strides = tuple(int(s) for s in strides)
        offset = int(offset)
        if len(strides) != len(shape):
            raise ValueError(f"strides must have one entry per dimension of shape {shape}, got {strides}")
        capacity = self._storage.nbytes // self._dtype.itemsize
        if not 0 <= offset <= capacity:
            raise ValueError(f"offset must be in [0, {capacity}], got {offset}")
        if math.prod(shape):
            low = offset + sum(s * (n - 1) for n, s in zip(shape, strides) if s < 0)
            high = offset + sum(s * (n - 1) for n, s in zip(shape, strides) if s > 0)
            if low < 0 or high >= capacity:
                raise ValueError(f"view with shape {shape}, strides {strides} and offset {offset} falls outside the "
                                 f"storage of {capacity} elements")
        return DeviceArray._make(self._storage, offset, shape, strides, self._dtype)

    def _numpy(self):
        """The NumPy view of this array's memory (fake-internal: a kernel's access to device memory)."""
        itemsize = self._dtype.itemsize
        return np.ndarray(self._shape, self._dtype, buffer=self._storage.bytes, offset=self._offset * itemsize,
                          strides=tuple(s * itemsize for s in self._strides))

    shape = property(lambda self: self._shape)
    strides = property(lambda self: self._strides)
    offset = property(lambda self: self._offset)
    dtype = property(lambda self: self._dtype)
    device = property(lambda self: self._storage.device)
    ndim = property(lambda self: len(self._shape))
    size = property(lambda self: math.prod(self._shape))
    itemsize = property(lambda self: self._dtype.itemsize)
    nbytes = property(lambda self: self.size * self._dtype.itemsize)
    storage_ptr = property(lambda self: self._storage.address)
    storage_nbytes = property(lambda self: self._storage.nbytes)

    @property
    def data_ptr(self):
        return self.storage_ptr + self._offset * self._dtype.itemsize

    @property
    def is_contiguous(self):
        expected = 1
        for n, s in zip(reversed(self._shape), reversed(self._strides)):
            if n == 0:
                return True
            if n != 1 and s != expected:
                return False
            expected *= n
        return True

    def __repr__(self):
        return (f"DeviceArray(shape={self._shape}, strides={self._strides}, offset={self._offset}, "
                f"dtype={self._dtype}, device={self.device}, fake=True)")

    # DLPack: the device is (2, device) like the real one's, but the fake's memory is host memory, so the capsules
    # say kDLCPU: only the fake's own from_dlpack (nnx's CUDA import path) should read them.
    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        if dl_device is not None and tuple(dl_device) != (2, self.device):
            raise BufferError(f"dl_device {tuple(dl_device)} is not this array's device (2, {self.device}): nnx "
                              "exports in place only")
        if copy:
            raise BufferError("copy=True is not supported: nnx exports in place only")
        _consumer_stream(stream)
        return np.asarray(_Exported(self)).__dlpack__()

    def __dlpack_device__(self):
        return (2, self.device)


class _Exported:
    """An exported view's memory for NumPy's DLPack export: the array NumPy makes keeps this object, and so the
    storage, alive (as the real capsule holds a view), so the allocator cannot reuse memory a consumer still reads."""

    def __init__(self, array):
        self.storage = array._storage
        itemsize = array.itemsize
        self.__array_interface__ = {"version": 3, "shape": array.shape, "typestr": array.dtype.str,
                                    "descr": array.dtype.descr, "data": (array.data_ptr, False),
                                    "strides": tuple(s * itemsize for s in array.strides)}


def _consumer_stream(stream):
    """The checks of the real binding's consumer_stream (DLPack's rules for CUDA streams)."""
    if stream is None:
        return 1
    if isinstance(stream, bool) or not isinstance(stream, (int, np.integer)):
        raise TypeError(f"stream must be None or an int, got {type(stream).__name__}")
    if stream == 0:
        raise ValueError("stream must not be 0 for CUDA (ambiguous in DLPack): use 1 for the legacy default stream")
    if stream < -1:
        raise ValueError(f"stream must be -1, 1, 2 or a cudaStream_t, got {stream}")
    return int(stream)


class _Capsule:
    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        return self.capsule

    def __dlpack_device__(self):
        return (1, 0)


def from_dlpack(capsule):
    """A DeviceArray over the capsule's memory (host memory here; any strides, as the real one takes). Waits for
    the device first, as the real one does, so recorded kernel errors surface here."""
    if type(capsule).__name__ != "PyCapsule":
        raise TypeError(f"capsule must be a DLPack 'dltensor' PyCapsule (from x.__dlpack__()), got "
                        f"{type(capsule).__name__}")
    host = np.from_dlpack(_Capsule(capsule))
    if host.dtype not in DTYPES:
        raise TypeError(f"capsule has an unsupported dtype {host.dtype}; supported: bool, uint8, int32, int64, "
                        "float32, float64")
    runtime.raise_pending()
    item = host.itemsize
    if host.size == 0:
        storage = Storage(0, 0, external=np.empty(0, np.uint8))
        return DeviceArray._make(storage, 0, host.shape, contiguous_strides(host.shape), host.dtype)
    strides = tuple(s // item for s in host.strides)
    lowest = sum(s * (n - 1) for n, s in zip(host.shape, strides) if s < 0)
    highest = sum(s * (n - 1) for n, s in zip(host.shape, strides) if s > 0)
    # The bytes from the lowest element on, writeable (an unversioned capsule carries no read-only flag, so NumPy
    # marks its import read-only; the real module writes through it), kept alive by `host`.
    first = host.ctypes.data + lowest * item
    memory = np.ctypeslib.as_array(ctypes.cast(first, ctypes.POINTER(ctypes.c_uint8)), ((highest - lowest + 1) * item,))
    storage = Storage(memory.nbytes, 0, external=memory, owner=host)
    return DeviceArray._make(storage, -lowest, host.shape, strides, host.dtype)
