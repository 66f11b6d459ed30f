"""A NumPy stand-in for nnx._cuda (the whole _cuda.pyi contract) so the CUDA Python path runs without a GPU.

Device memory is a host byte buffer: a DeviceArray is (storage, element offset, shape, element strides,
dtype) exactly like the real one, and kernels work on NumPy views of that buffer, writing only into
their outputs. The op families (gemm, linear, losses, optimizers ...) run the CPU kernels of nnx._C on
those views, so their validation messages are _C's. The generic kernels check their arguments as the
contract states (DeviceArray only, contiguous outputs, dtypes, shapes, aliasing). Bad device-side
indices are recorded and raised at the next synchronising call, as on a GPU. Differences, all forced by
being on the host: gemm is exact FP32/FP64, op-family index errors raise at once, DLPack capsules
describe host (kDLCPU) memory (the arrays still say they are on (kDLCUDA, 0), and from_dlpack imports
such capsules, so nnx's CUDA import path runs here).

Install it with nnx.native.cuda.use_native_module(fake_cuda) (the `device` fixture does that).
"""
import ast
import ctypes
import itertools
import math
import operator
import os
import weakref

import numpy as np

import nnx
from nnx.native import _C

_DTYPES = tuple(np.dtype(t) for t in (np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64))
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_INT64 = np.dtype(np.int64)
_BOOL = np.dtype(np.bool_)
_DEVICE_COUNT = 1
_BLOCK_BYTES = 512  # the caching allocator rounds every request up to a multiple of this


# --- runtime ------------------------------------------------------------------------------------------------
_pending_error = None  # (exception type, message) recorded by a kernel, raised at the next synchronisation


def _record_error(error_type, message):
    global _pending_error
    if _pending_error is None:
        _pending_error = (error_type, message)


# How many times the host has waited for the device (every call that synchronises: to_host, synchronize,
# nonzero_count, from_dlpack, empty_cache): tests count them to show a training loop does not wait per batch.
synchronizations = 0


def _raise_pending():
    """Every synchronising call passes here: counts the wait, then raises what the queued kernels recorded."""
    global _pending_error, synchronizations
    synchronizations += 1
    if _pending_error is not None:
        error_type, message = _pending_error
        _pending_error = None
        raise error_type(message)


def device_count():
    return _DEVICE_COUNT


def synchronize(device=-1):
    _require_device(device, "device", allow_all=True)
    _raise_pending()


def get_device_name(device=0):
    _require_device(device, "device")
    return "Fake CUDA device (NumPy)"


def get_device_capability(device=0):
    _require_device(device, "device")
    return (9, 0)


def _require_device(device, name, allow_all=False):
    if isinstance(device, bool) or not isinstance(device, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(device).__name__}")
    if allow_all and device == -1:
        return
    if not 0 <= device < _DEVICE_COUNT:
        raise ValueError(f"{name} must be in [0, {_DEVICE_COUNT}), got {device} ({_DEVICE_COUNT} device(s) visible)")


# --- allocator: a caching pool of host byte blocks with the real one's statistics -----------------------
class _Allocator:
    def __init__(self):
        self.allocated = 0  # bytes in live blocks
        self.reserved = 0  # bytes obtained from "cudaMalloc" (live + cached)
        self.mallocs = 0
        self.cache = {}  # rounded size -> list of free byte buffers

    def allocate(self, nbytes):
        rounded = max(_BLOCK_BYTES, -(-nbytes // _BLOCK_BYTES) * _BLOCK_BYTES)
        free = self.cache.get(rounded)
        if free:
            buffer = free.pop()
        else:
            buffer = np.empty(rounded, dtype=np.uint8)
            self.mallocs += 1
            self.reserved += rounded
        buffer.fill(0xFF)  # uninitialised memory: NaN for floats, so unwritten outputs show up
        self.allocated += rounded
        return buffer

    def release(self, buffer):
        self.allocated -= buffer.nbytes
        self.cache.setdefault(buffer.nbytes, []).append(buffer)

    def empty_cache(self):
        for free in self.cache.values():
            self.reserved -= sum(buffer.nbytes for buffer in free)
        self.cache.clear()


_allocator = _Allocator()


class _Storage:
    """Refcounted device memory: back to the allocator's cache when the last view dies."""

    __slots__ = ("bytes", "nbytes", "device", "address", "owner", "__weakref__")

    def __init__(self, nbytes, device, external=None, owner=None):
        self.nbytes = nbytes
        self.device = device
        if external is None:
            self.bytes = _allocator.allocate(nbytes)
            weakref.finalize(self, _allocator.release, self.bytes)
        else:
            self.bytes = external  # a DLPack producer's memory, kept alive by `owner`
        self.owner = owner
        self.address = self.bytes.ctypes.data


def memory_allocated(device=0):
    _require_device(device, "device")
    return _allocator.allocated


def memory_reserved(device=0):
    _require_device(device, "device")
    return _allocator.reserved


def malloc_count(device=0):
    _require_device(device, "device")
    return _allocator.mallocs


def empty_cache():
    _raise_pending()
    _allocator.empty_cache()


# --- the array type -----------------------------------------------------------------------------------------
def _dtype_arg(dtype, name="dtype"):
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a NumPy dtype, got {dtype!r}") from None
    if dtype not in _DTYPES:
        raise TypeError(f"{name} must be one of bool, uint8, int32, int64, float32, float64, got {dtype}")
    return dtype


def _shape_arg(shape, name="shape"):
    try:
        shape = tuple(int(n) for n in shape)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of ints, got {shape!r}") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"{name} must not have negative dimensions, got {shape}")
    return shape


def _contiguous_strides(shape):
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
        array._storage, array._offset, array._shape, array._strides, array._dtype = storage, offset, shape, strides, dtype
        return array

    @staticmethod
    def empty(shape, dtype, device=0):
        shape, dtype = _shape_arg(shape), _dtype_arg(dtype)
        _require_device(device, "device")
        size = math.prod(shape)
        if size * dtype.itemsize >= 2 ** 63:
            raise ValueError(f"shape {shape} of {dtype} is too large: its byte count overflows int64")
        if size * dtype.itemsize > 2 ** 34:
            raise MemoryError(f"CUDA out of memory (fake device): tried to allocate {size * dtype.itemsize} bytes")
        storage = _Storage(size * dtype.itemsize, device)
        return DeviceArray._make(storage, 0, shape, _contiguous_strides(shape), dtype)

    @staticmethod
    def from_host(array, device=0):
        if not isinstance(array, np.ndarray):
            raise TypeError(f"array must be a numpy.ndarray, got {type(array).__name__}")
        if not array.flags.c_contiguous:
            raise ValueError("array must be C-contiguous")
        out = DeviceArray.empty(array.shape, _dtype_arg(array.dtype, "array"), device)
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
        _raise_pending()
        out[...] = self._numpy()

    def view(self, shape, strides, offset):
        shape = _shape_arg(shape)
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
    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
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

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
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
    if host.dtype not in _DTYPES:
        raise TypeError(f"capsule has an unsupported dtype {host.dtype}; supported: bool, uint8, int32, int64, "
                        "float32, float64")
    _raise_pending()
    item = host.itemsize
    if host.size == 0:
        storage = _Storage(0, 0, external=np.empty(0, np.uint8))
        return DeviceArray._make(storage, 0, host.shape, _contiguous_strides(host.shape), host.dtype)
    strides = tuple(s // item for s in host.strides)
    lowest = sum(s * (n - 1) for n, s in zip(host.shape, strides) if s < 0)
    highest = sum(s * (n - 1) for n, s in zip(host.shape, strides) if s > 0)
    # The bytes from the lowest element on, writeable (an unversioned capsule carries no read-only flag, so NumPy
    # marks its import read-only; the real module writes through it), kept alive by `host`.
    first = host.ctypes.data + lowest * item
    memory = np.ctypeslib.as_array(ctypes.cast(first, ctypes.POINTER(ctypes.c_uint8)), ((highest - lowest + 1) * item,))
    storage = _Storage(memory.nbytes, 0, external=memory, owner=host)
    return DeviceArray._make(storage, -lowest, host.shape, strides, host.dtype)


# --- argument checks (the messages of csrc/bind/cuda_checks.h) ---------------------------------------------
def _array(value, name):
    if not isinstance(value, DeviceArray):
        raise TypeError(f"{name} must be an nnx._cuda.DeviceArray, got {type(value).__name__} (move it to the GPU first)")
    return value


def _contiguous(array, name):
    if not array.is_contiguous:
        raise ValueError(f"{name} must be C-contiguous")


def _same_shape(array, name, ref, ref_name):
    if array.shape != ref.shape:
        raise ValueError(f"{name} must have the shape of {ref_name} {ref.shape}, got {array.shape}")


def _dtype_is(array, name, dtype):
    if array.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype}, got {array.dtype}")


def _float(array, name):
    if array.dtype not in _FLOATS:
        raise TypeError(f"{name} must have dtype float32 or float64, got {array.dtype}")


def _span(array):
    """[first, last] byte addresses the view can touch (None when empty)."""
    if array.size == 0:
        return None
    item = array.itemsize
    low = sum(s * (n - 1) for n, s in zip(array.shape, array.strides) if s < 0)
    high = sum(s * (n - 1) for n, s in zip(array.shape, array.strides) if s > 0)
    return array.data_ptr + low * item, array.data_ptr + high * item + item - 1


def _may_overlap(a, b):
    span_a, span_b = _span(a), _span(b)
    return span_a is not None and span_b is not None and span_a[0] <= span_b[1] and span_b[0] <= span_a[1]


def _same_view(a, b):
    return (a._storage is b._storage and a.offset == b.offset and a.shape == b.shape and a.strides == b.strides
            and a.dtype == b.dtype)


def _no_overlap(out, out_name, array, name, allow_same=False):
    if _may_overlap(out, array) and not (allow_same and _same_view(out, array)):
        raise ValueError(f"{out_name} must not share memory with {name}")


def _output(out, name, shape=None):
    _array(out, name)
    _contiguous(out, name)
    if shape is not None and out.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {out.shape}")
    return out


# --- elementwise.cu: the checks of csrc/bind/cuda_elementwise.cpp ---------------------------------------------
_FLOAT_ONLY, _NUMERIC, _ANY, _INTEGRAL = "float32 or float64", "a numeric dtype (not bool)", "any dtype", \
    "bool or an integer dtype"
_UNARY_DOMAINS = {"negative": _NUMERIC, "abs": _ANY, "exp": _FLOAT_ONLY, "expm1": _FLOAT_ONLY, "log": _FLOAT_ONLY,
                  "log1p": _FLOAT_ONLY, "log2": _FLOAT_ONLY, "log10": _FLOAT_ONLY, "sqrt": _FLOAT_ONLY,
                  "square": _NUMERIC, "reciprocal": _FLOAT_ONLY, "sign": _NUMERIC, "sin": _FLOAT_ONLY,
                  "cos": _FLOAT_ONLY, "tan": _FLOAT_ONLY, "tanh": _FLOAT_ONLY, "arctan": _FLOAT_ONLY,
                  "floor": _NUMERIC, "ceil": _NUMERIC, "rint": _NUMERIC, "trunc": _NUMERIC, "isnan": _ANY,
                  "isinf": _ANY, "isfinite": _ANY, "logical_not": _ANY, "invert": _INTEGRAL,
                  "sigmoid": _FLOAT_ONLY, "erf": _FLOAT_ONLY}
_BINARY_DOMAINS = {"add": _ANY, "subtract": _NUMERIC, "multiply": _ANY, "true_divide": _FLOAT_ONLY,
                   "floor_divide": _NUMERIC, "remainder": _NUMERIC, "power": _NUMERIC, "maximum": _ANY,
                   "minimum": _ANY, "fmax": _ANY, "fmin": _ANY, "arctan2": _FLOAT_ONLY, "copysign": _FLOAT_ONLY,
                   "equal": _ANY, "not_equal": _ANY, "less": _ANY, "less_equal": _ANY, "greater": _ANY,
                   "greater_equal": _ANY, "logical_and": _ANY, "logical_or": _ANY, "logical_xor": _ANY,
                   "bitwise_and": _INTEGRAL, "bitwise_or": _INTEGRAL, "bitwise_xor": _INTEGRAL}
_GIVES_BOOL = {"isnan", "isinf", "isfinite", "logical_not", "equal", "not_equal", "less", "less_equal", "greater",
               "greater_equal", "logical_and", "logical_or", "logical_xor"}
_UNARY = {"negative": np.negative, "abs": np.abs, "exp": np.exp, "expm1": np.expm1, "log": np.log,
          "log1p": np.log1p, "log2": np.log2, "log10": np.log10, "sqrt": np.sqrt, "square": np.square,
          "reciprocal": np.reciprocal, "sign": np.sign, "sin": np.sin, "cos": np.cos, "tan": np.tan,
          "tanh": np.tanh, "arctan": np.arctan, "floor": np.floor, "ceil": np.ceil, "rint": np.rint,
          "trunc": np.trunc, "isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite,
          "logical_not": np.logical_not, "invert": np.invert,
          "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
          "erf": np.vectorize(math.erf, otypes=[np.float64])}
_BINARY = {name: getattr(np, name) for name in _BINARY_DOMAINS}


def _domain_accepts(domain, dtype):
    is_float = dtype in _FLOATS
    return {_FLOAT_ONLY: is_float, _NUMERIC: dtype != _BOOL, _ANY: True, _INTEGRAL: not is_float}[domain]


def _parse_op(op, table):
    if not isinstance(op, str):
        raise TypeError(f"op must be a str, got {type(op).__name__}")
    if op not in table:
        raise ValueError(f"op must be one of {', '.join(repr(name) for name in table)}, got {op!r}")
    return op


def _op_accepts(op, domains, array, name):
    if not _domain_accepts(domains[op], array.dtype):
        raise TypeError(f"{name} must have {domains[op]} for '{op}', got {array.dtype}")


def _writable_layout(out, name):
    """Every element of out is a distinct location (no broadcast or overlapping strides)."""
    reach = 0
    for stride, extent in sorted((abs(s), n) for n, s in zip(out.shape, out.strides) if n > 1):
        if stride <= reach:
            raise ValueError(f"{name} must not have overlapping elements (zero or overlapping strides {out.shape}): "
                             "a broadcast view cannot be written")
        reach += (extent - 1) * stride


def _input_like_out(array, name, out):
    _array(array, name)
    _same_shape(array, name, out, "out")


def _no_partial_overlap(out, array, name):
    if _may_overlap(out, array) and not (out.data_ptr == array.data_ptr and out.shape == array.shape
                                         and out.strides == array.strides and out.itemsize == array.itemsize):
        raise ValueError(f"out must not share memory with {name} unless it is exactly {name}")


def _parse_scalar(value, name):
    """A Python number: exact for ints and bools, a double otherwise."""
    if isinstance(value, (bool, np.bool_)) or hasattr(value, "__index__"):
        integer = operator.index(value)
        if not -2 ** 63 <= integer < 2 ** 63:
            raise ValueError(f"{name} {value!r} does not fit in int64")
        return integer
    try:
        return float(value)
    except TypeError:
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}") from None


_INTEGER_BOUNDS = {np.dtype(np.uint8): (0, 256), np.dtype(np.int32): (-2 ** 31, 2 ** 31),
                   np.dtype(np.int64): (-2 ** 63, 2 ** 63)}


def _scalar_fits(value, dtype, name):
    if dtype not in _INTEGER_BOUNDS:
        return
    low, high = _INTEGER_BOUNDS[dtype]
    fits = low <= value < high if isinstance(value, int) else math.isfinite(value) and low <= math.trunc(value) < high
    if not fits:
        raise ValueError(f"{name} {value!r} does not fit in {dtype}")


def _scalar_array(value, dtype):
    return np.array(value).astype(dtype) if not isinstance(value, float) or dtype in _FLOATS \
        else np.array(math.trunc(value)).astype(dtype)


def copy(src, dst):
    _array(src, "src")
    _array(dst, "dst")
    _same_shape(src, "src", dst, "dst")
    _writable_layout(dst, "dst")
    if _may_overlap(dst, src) and not _same_view(dst, src):
        raise ValueError("dst must not share memory with src unless it is exactly src")
    with np.errstate(invalid="ignore", over="ignore"):
        dst._numpy()[...] = src._numpy().astype(dst.dtype)


def fill(out, value):
    _array(out, "out")
    value = _parse_scalar(value, "value")
    _scalar_fits(value, out.dtype, "value")
    _writable_layout(out, "out")
    out._numpy()[...] = _scalar_array(value, out.dtype)


def arange(out, start, step):
    _array(out, "out")
    if out.ndim != 1:
        raise ValueError(f"out must be 1-D, got shape {out.shape}")
    _contiguous(out, "out")
    if out.dtype == _BOOL:
        raise TypeError("out must have a numeric dtype (not bool), got bool")
    values = float(start) + np.arange(out.size, dtype=np.float64) * float(step)
    out._numpy()[...] = values.astype(out.dtype)


def unary(op, x, out):
    _parse_op(op, _UNARY_DOMAINS)
    _array(x, "x")
    _array(out, "out")
    _op_accepts(op, _UNARY_DOMAINS, x, "x")
    _dtype_is(out, "out", _BOOL if op in _GIVES_BOOL else x.dtype)
    _input_like_out(x, "x", out)
    _writable_layout(out, "out")
    _no_partial_overlap(out, x, "x")
    with np.errstate(all="ignore"):
        out._numpy()[...] = np.asarray(_UNARY[op](x._numpy())).astype(out.dtype)


def _binary_values(op, a_values, b_values, dtype):
    with np.errstate(all="ignore"):
        if op == "power" and dtype.kind in "iu":
            b_values = np.maximum(b_values, 0)  # a device array exponent below 0 gives garbage, not an error
        return np.asarray(_BINARY[op](a_values, b_values))


def binary(op, a, b, out):
    _parse_op(op, _BINARY_DOMAINS)
    _array(a, "a")
    _array(b, "b")
    _array(out, "out")
    _op_accepts(op, _BINARY_DOMAINS, a, "a")
    if b.dtype != a.dtype:
        raise TypeError(f"b must have the dtype of a ({a.dtype}), got {b.dtype}")
    _dtype_is(out, "out", _BOOL if op in _GIVES_BOOL else a.dtype)
    _input_like_out(a, "a", out)
    _input_like_out(b, "b", out)
    _writable_layout(out, "out")
    _no_partial_overlap(out, a, "a")
    _no_partial_overlap(out, b, "b")
    out._numpy()[...] = _binary_values(op, a._numpy(), b._numpy(), a.dtype).astype(out.dtype)


def binary_scalar(op, a, scalar, out, scalar_first=False):
    _parse_op(op, _BINARY_DOMAINS)
    _array(a, "a")
    value = _parse_scalar(scalar, "scalar")
    _array(out, "out")
    _op_accepts(op, _BINARY_DOMAINS, a, "a")
    _scalar_fits(value, a.dtype, "scalar")
    if op == "power" and a.dtype.kind in "iu" and not scalar_first and value < 0:
        raise ValueError("scalar: integers to negative integer powers are not allowed")
    _dtype_is(out, "out", _BOOL if op in _GIVES_BOOL else a.dtype)
    _input_like_out(a, "a", out)
    _writable_layout(out, "out")
    _no_partial_overlap(out, a, "a")
    operands = (_scalar_array(value, a.dtype), a._numpy())
    out._numpy()[...] = _binary_values(op, *(operands if scalar_first else operands[::-1]), a.dtype).astype(out.dtype)


def where(condition, a, b, out):
    for value, name in ((condition, "condition"), (a, "a"), (b, "b"), (out, "out")):
        _array(value, name)
    _dtype_is(condition, "condition", _BOOL)
    if a.dtype != out.dtype:
        raise TypeError(f"a must have the dtype of out ({out.dtype}), got {a.dtype}")
    if b.dtype != out.dtype:
        raise TypeError(f"b must have the dtype of out ({out.dtype}), got {b.dtype}")
    for value, name in ((condition, "condition"), (a, "a"), (b, "b")):
        _input_like_out(value, name, out)
    _writable_layout(out, "out")
    for value, name in ((condition, "condition"), (a, "a"), (b, "b")):
        _no_partial_overlap(out, value, name)
    out._numpy()[...] = np.where(condition._numpy(), a._numpy(), b._numpy())


# --- reduce.cu ---------------------------------------------------------------------------------------------------
_REDUCE_OPS = ("sum", "prod", "max", "min", "argmax", "argmin", "any", "all", "mean")


def _three_axes(x, out, outer, length, inner, out_middle, names=("x", "out")):
    """Checks the (outer, length, inner) views of x and out; returns their 3-D NumPy views."""
    _array(x, names[0])
    _contiguous(x, names[0])
    _output(out, names[1])
    for value, name in ((outer, "outer"), (length, "length"), (inner, "inner")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    if x.size != outer * length * inner:
        raise ValueError(f"{names[0]} must have outer * length * inner = {outer * length * inner} elements, "
                         f"got shape {x.shape}")
    expected = outer * out_middle * inner
    if out.size != expected:
        raise ValueError(f"{names[1]} must have {expected} elements, got shape {out.shape}")
    return (x._numpy().reshape(outer, length, inner),
            out._numpy().reshape(outer, out_middle, inner))


def reduce(op, x, out, outer, length, inner):
    if op not in _REDUCE_OPS:
        raise ValueError(f"op must be one of {', '.join(_REDUCE_OPS)}, got {op!r}")
    x_values, out_values = _three_axes(x, out, outer, length, inner, 1)
    if op in ("sum", "prod", "mean"):
        _dtype_is(out, "out", x.dtype if x.dtype in _FLOATS else _INT64)
    elif op in ("argmax", "argmin"):
        _dtype_is(out, "out", _INT64)
    elif op in ("any", "all"):
        _dtype_is(out, "out", _BOOL)
    else:
        _dtype_is(out, "out", x.dtype)
    if length == 0 and op in ("max", "min", "argmax", "argmin"):
        raise ValueError(f"zero-size array to reduction operation {op} which has no identity (length is 0)")
    _no_overlap(out, "out", x, "x")
    if length == 0 and op == "mean":  # (NumPy would warn "Mean of empty slice")
        out_values[...] = np.nan if x.dtype in _FLOATS else 0
        return
    with np.errstate(all="ignore"):
        if op in ("sum", "prod", "mean"):
            accumulate = np.float64 if x.dtype in _FLOATS else np.int64
            result = getattr(np, op)(x_values, axis=1, keepdims=True, dtype=accumulate)
            if op == "mean" and x.dtype not in _FLOATS:
                result = np.trunc(result)
        else:
            result = getattr(np, op)(x_values, axis=1, keepdims=True)
    out_values[...] = result.astype(out.dtype)


def cumsum(x, out, outer, length, inner):
    x_values, out_values = _three_axes(x, out, outer, length, inner, length)
    if x.dtype == _BOOL:
        raise TypeError("x must not be bool: cast it to int64 first (numpy.cumsum of bool is int64)")
    if out.dtype != x.dtype:
        raise TypeError(f"out must have the dtype of x ({x.dtype}), got {out.dtype}")
    _no_overlap(out, "out", x, "x")
    out_values[...] = np.cumsum(x_values, axis=1, dtype=x.dtype)


# --- index.cu -----------------------------------------------------------------------------------------------------
def _indices_checked(indices, length, name="indices"):
    """The int64 index values with negatives wrapped; a bad one is recorded (raised at synchronisation)."""
    values = indices._numpy()
    if length == 0 and values.size:  # every index is out of range: the binding says so at once
        raise IndexError("indices: index out of range for an axis of size 0 (length is 0)")
    bad = (values < -length) | (values >= length)
    if bad.any():
        _record_error(IndexError, f"{name}: index {int(values[bad].flat[0])} is out of bounds for an axis of size "
                                  f"{length} (reported by a CUDA kernel)")
        return None
    return np.where(values < 0, values + length, values)


def _index_vector(indices):
    _array(indices, "indices")
    _contiguous(indices, "indices")
    _dtype_is(indices, "indices", _INT64)
    if indices.ndim != 1:
        raise ValueError(f"indices must be 1-D, got shape {indices.shape}")
    return indices


def index_select(src, indices, out, outer, length, inner):
    _index_vector(indices)
    src_values, out_values = _three_axes(src, out, outer, length, inner, indices.size, ("src", "out"))
    _dtype_is(out, "out", src.dtype)
    _no_overlap(out, "out", src, "src")
    picked = _indices_checked(indices, length)
    if picked is not None:
        out_values[...] = src_values[:, picked, :]


def index_add(grad, indices, out, outer, length, inner):
    _index_vector(indices)
    out_values, grad_values = _three_axes(out, grad, outer, length, inner, indices.size, ("out", "grad"))
    _dtype_is(grad, "grad", out.dtype)
    _no_overlap(out, "out", grad, "grad")
    picked = _indices_checked(indices, length)
    if picked is not None:
        np.add.at(out_values, (slice(None), picked, slice(None)), grad_values)


def _along_indices(indices, outer, inner, m_source):
    _array(indices, "indices")
    _contiguous(indices, "indices")
    _dtype_is(indices, "indices", _INT64)
    if indices.size != outer * m_source * inner:
        raise ValueError(f"indices must have {outer * m_source * inner} elements, got shape {indices.shape}")


def take_along(src, indices, out, outer, length, inner):
    _array(out, "out")
    middle = out.size // (outer * inner) if outer * inner else 0
    src_values, out_values = _three_axes(src, out, outer, length, inner, middle, ("src", "out"))
    _along_indices(indices, outer, inner, middle)
    _dtype_is(out, "out", src.dtype)
    _no_overlap(out, "out", src, "src")
    picked = _indices_checked(indices, length)
    if picked is not None:
        out_values[...] = np.take_along_axis(src_values, picked.reshape(out_values.shape), axis=1)


def put_along(values, indices, out, outer, length, inner, accumulate=False):
    _array(values, "values")
    middle = values.size // (outer * inner) if outer * inner else 0
    out_values, source = _three_axes(out, values, outer, length, inner, middle, ("out", "values"))
    _along_indices(indices, outer, inner, middle)
    _dtype_is(values, "values", out.dtype)
    _no_overlap(out, "out", values, "values")
    picked = _indices_checked(indices, length)
    if picked is None:
        return
    picked = picked.reshape(source.shape)
    rows = np.arange(outer)[:, None, None]
    columns = np.arange(inner)[None, None, :]
    if accumulate:
        np.add.at(out_values, (rows, picked, columns), source)
    else:
        out_values[rows, picked, columns] = source


def nonzero_count(mask):
    _array(mask, "mask")
    _contiguous(mask, "mask")
    _dtype_is(mask, "mask", _BOOL)
    _raise_pending()
    return int(np.count_nonzero(mask._numpy()))


def nonzero(mask, out):
    _array(mask, "mask")
    _contiguous(mask, "mask")
    _dtype_is(mask, "mask", _BOOL)
    coordinates = np.argwhere(mask._numpy())
    _output(out, "out", coordinates.shape)
    _dtype_is(out, "out", _INT64)
    out._numpy()[...] = coordinates


# --- the op families: nnx._C's kernels on the arrays' memory ------------------------------------------------------
def _parameter_names():
    """{function name: [argument names]} read from _C.pyi, the contract both modules follow."""
    path = os.path.join(os.path.dirname(nnx.__file__), "_C.pyi")
    with open(path, encoding="utf-8") as file:
        tree = ast.parse(file.read())
    return {node.name: [arg.arg for arg in node.args.args] for node in tree.body if isinstance(node, ast.FunctionDef)}


def _kernel_argument(value, name):
    if isinstance(value, DeviceArray):
        _contiguous(value, name)
        return value._numpy()
    if isinstance(value, np.ndarray):
        _array(value, name)  # raises: host arrays are never copied implicitly
    if isinstance(value, (list, tuple)) and any(isinstance(item, (DeviceArray, np.ndarray)) for item in value):
        return [_kernel_argument(item, f"{name}[{i}]") for i, item in enumerate(value)]
    return value


def _op_family(name, parameters):
    kernel = getattr(_C, name)

    def function(*args, **kwargs):
        if len(args) > len(parameters):
            raise TypeError(f"{name}() takes at most {len(parameters)} arguments, got {len(args)}")
        bound = dict(zip(parameters, args))
        for key, value in kwargs.items():
            if key not in parameters or key in bound:
                raise TypeError(f"{name}() got an unexpected or repeated argument {key!r}")
            bound[key] = value
        converted = {key: _kernel_argument(value, key) for key, value in bound.items()}
        kernel(**converted)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{name} of _C.pyi on fake device memory."
    return function


_OP_FAMILIES = ("gemm", "column_sum", "row_argmax", "linear_forward", "linear_backward", "activation_forward",
                "activation_backward", "softmax_forward", "softmax_backward", "cross_entropy_forward",
                "mse_loss_forward", "mse_loss_backward", "l1_loss_forward",
                "l1_loss_backward", "bce_with_logits_forward", "bce_with_logits_backward", "dropout_forward",
                "dropout_backward", "philox_uniform", "embedding_forward", "embedding_backward", "sgd_step",
                "adam_step", "rmsprop_step", "adagrad_step", "adadelta_step", "adamax_step", "nadam_step",
                "radam_step", "batch_norm_forward", "batch_norm_backward", "layer_norm_forward",
                "layer_norm_backward")
_PARAMETERS = _parameter_names()
for _name in _OP_FAMILIES:
    globals()[_name] = _op_family(_name, _PARAMETERS[_name])
del _name

_allow_tf32 = False


def set_allow_tf32(allow):
    global _allow_tf32
    _allow_tf32 = bool(allow)


def get_allow_tf32():
    return _allow_tf32


def cublas_path():
    return "<fake_cuda: NumPy/BLAS on the host>"


def reset():
    """Test helper: forget recorded errors and cached blocks (a fresh 'device')."""
    global _pending_error
    _pending_error = None
    _allocator.empty_cache()


__all__ = [name for name in itertools.chain(
    ("device_count", "synchronize", "get_device_name", "get_device_capability", "memory_allocated",
     "memory_reserved", "malloc_count", "empty_cache", "DeviceArray", "from_dlpack", "copy", "fill", "arange",
     "unary", "binary", "binary_scalar", "where", "reduce", "cumsum", "index_select", "index_add", "take_along",
     "put_along", "nonzero_count", "nonzero", "set_allow_tf32", "get_allow_tf32", "cublas_path"), _OP_FAMILIES)]
