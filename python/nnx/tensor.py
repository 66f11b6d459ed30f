"""Tensor: an array plus autograd bookkeeping, with PyTorch's methods; and the factory functions.

The array lives in `_data` (no copy when internal code wraps one): a numpy.ndarray on the CPU, a backend's
device array (nnx.native.cuda_array.CudaArray) elsewhere; both speak the NumPy protocol the ops use.
`_ctx` is the Function node that made the tensor (None for leaves). The differentiable ops live in nnx.ops.
"""
import functools
import operator

import numpy as np

from . import native as _native
from .device import device as _Device

_cpu_backend = _native.cpu
_ndarray = np.ndarray
_CPU = _Device("cpu")
_DEVICES = {}  # (device type, index) -> nnx.device, so .device builds no object per call

float32 = np.float32
float64 = np.float64
int64 = np.int64

_new_object = object.__new__
_DEFAULT_FLOAT = np.dtype(np.float32)


_NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats: nnx has no complex, string or object tensors


def _check_dtype(dtype, argument="dtype"):
    if getattr(dtype, "__name__", dtype) == "bfloat16":  # nnx.bfloat16 (ml_dtypes' type or nnx's stand-in)
        raise TypeError(f"{argument}: nnx tensors do not hold bfloat16 values yet; use nnx.float32")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{argument} must be a NumPy dtype such as nnx.float32, got {dtype!r}") from None
    if dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{argument} must be a bool, integer or floating point dtype, got {dtype}")
    return dtype


def _check_numeric(array, argument="data"):
    """The array itself, or TypeError when its dtype is not one a Tensor can hold."""
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{argument} must hold numbers (bool, int or float), got dtype {array.dtype}")
    return array


def _is_float(dtype):
    return dtype.kind == "f"


def _canonical_dtype(array):
    """The array viewed with NumPy's canonical dtype object: unpickling recreates dtype objects that are
    equal but not identical, and the native bindings compare dtypes by identity."""
    dtype = array.dtype
    if dtype.kind in "biuf" and dtype.isnative and not dtype.isbuiltin and isinstance(array, _ndarray):
        return array.view(np.dtype(dtype.char))
    return array


def _as_operand(value):
    """A non-Tensor operand of arithmetic: NumPy scalars become Python scalars so that, as in PyTorch,
    `float32 tensor * np.float64(2)` stays float32."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (int, float, bool)):
        return value
    if isinstance(value, np.ndarray):
        return _check_numeric(value, "the other operand")
    if isinstance(value, (list, tuple)):
        return _check_numeric(np.asarray(value), "the other operand")
    if _is_device_array(value):
        return _check_numeric(value, "the other operand")
    return NotImplemented


def _is_device_array(value):
    """True for an array of a non-CPU backend (a CudaArray)."""
    return _native.for_array(value) is not _cpu_backend and not isinstance(value, _ndarray)


def _device_of_array(array):
    """The nnx.device an array lives on."""
    if type(array) is _ndarray:
        return _CPU
    device_table = _native.for_array(array)
    if device_table is _cpu_backend:
        return _CPU
    return _device_object(device_table.device_type, device_table.device_index(array))


def _host_copy(array):
    """A NumPy copy of a device array (an explicit read: it waits for the queued work)."""
    return _native.for_array(array).to_numpy(array)


def _accepting_numpy_names(method):
    """method with NumPy's `axis=`/`keepdims=` accepted for `dim=`/`keepdim=`, as PyTorch accepts them;
    giving both spellings raises TypeError, like torch."""
    name = method.__name__

    @functools.wraps(method)
    def with_aliases(*args, **kwargs):
        if "axis" in kwargs or "keepdims" in kwargs:
            _rename_keyword(kwargs, "axis", "dim", name)
            _rename_keyword(kwargs, "keepdims", "keepdim", name)
        return method(*args, **kwargs)
    return with_aliases


def _rename_keyword(kwargs, alias, name, function):
    if alias in kwargs:
        if name in kwargs:
            raise TypeError(f"{function}() received both '{name}' and its alias '{alias}'")
        kwargs[name] = kwargs.pop(alias)


def _unary_method(name):
    """A Tensor method applying the elementwise function `name` of nnx._math_ops.UNARY_MATH."""
    def method(self):
        return _math_ops.UnaryMath.apply(self, name)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Elementwise {name} (differentiable), as torch.Tensor.{name}."
    return method


# A version counter counts the in-place writes of a storage, shared by every tensor aliasing it (views,
# detach()), as PyTorch's. It is a list [version, graph_views, last_write, previous_write] (a list costs a
# quarter of an object, and views make one on the hot path): graph_views says a view of the storage is part of
# a recorded graph; the writes are _write_clock values (0: none). A node of the graph records only the clock
# when it is made (one read, instead of a version per kept tensor), and its backward refuses a kept tensor
# written after that. A tensor gets a counter on its first in-place write or alias; until then its version is 0.
_write_clock = [0]  # counts in-place writes process-wide


class Tensor:
    """A multi-dimensional array that can record the ops applied to it and differentiate through them."""

    __slots__ = ("_data", "_requires_grad", "_grad", "_ctx", "_version_counter", "__weakref__")
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad=False):
        self._version_counter = None
        if isinstance(data, Tensor):
            self._version_counter = data._shared_version_counter()  # an alias of data's storage
            data = data._data
        elif not isinstance(data, np.ndarray) and not _is_device_array(data):
            data = _array_from_python(data, None)
        self._data = _canonical_dtype(_check_numeric(data))
        self._grad = None
        self._ctx = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    @staticmethod
    def _wrap(array):
        """A Tensor around `array` itself (internal constructor: no checks, no copy)."""
        tensor = _new_object(Tensor)
        tensor._data = array
        tensor._requires_grad = False
        tensor._grad = None
        tensor._ctx = None
        tensor._version_counter = None
        return tensor

    def __setstate__(self, state):
        self._version_counter = None
        dict_state, slots = state if isinstance(state, tuple) else (state, None)
        for name, value in {**(dict_state or {}), **(slots or {})}.items():
            object.__setattr__(self, name, value)
        self._data = _canonical_dtype(self._data)

    # --- autograd attributes ---------------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        value = bool(value)
        if value and not _is_float(self._data.dtype):
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients, got dtype {self.dtype}")
        if not value and self._ctx is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables; use .detach() to get "
                               "a tensor that does not require grad")
        self._requires_grad = value

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad must be a Tensor or None, got {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has data of a different size: {list(value.shape)} vs the "
                                   f"tensor's {list(self.shape)}")
            if value.dtype != self.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: {value.dtype} vs the tensor's "
                                   f"{self.dtype}")
        self._grad = value

    @property
    def grad_fn(self):
        return self._ctx

    @property
    def is_leaf(self):
        return self._ctx is None

    def backward(self, gradient=None, retain_graph=None):
        """Accumulate the gradient of this tensor into the .grad of every leaf it depends on."""
        if not self._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        own = self._data
        if gradient is None:
            if own.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs; pass gradient=")
            gradient = np.ones(own.shape, dtype=own.dtype, like=own)
            if type(own) is not _ndarray:
                _autograd.run_backward_from_ones(self, gradient, retain_graph=bool(retain_graph))
                return
        else:
            data = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
            if data.shape != own.shape:
                raise RuntimeError(f"gradient has shape {list(data.shape)} but the tensor has shape "
                                   f"{list(own.shape)}")
            if type(own) is _ndarray and type(data) is _ndarray:
                gradient = np.array(data, dtype=own.dtype, order="C", copy=True)
            else:
                if _device_of_array(data) != _device_of_array(own):
                    raise RuntimeError(f"gradient is on {_device_of_array(data)} but the tensor is on "
                                       f"{_device_of_array(own)}: move it with .to(tensor.device)")
                gradient = _native.for_array(own).contiguous(data.astype(own.dtype))
        _autograd.run_backward(self, gradient, retain_graph=bool(retain_graph))

    def detach(self):
        return self._alias()

    def detach_(self):
        self._ctx = None
        self._requires_grad = False
        return self

    @property
    def data(self):
        return self._alias()

    def _alias(self):
        """A tensor outside the graph over the same storage, sharing its version counter (detach, .data)."""
        alias = Tensor._wrap(self._data)
        alias._version_counter = self._shared_version_counter()
        return alias

    def _shared_version_counter(self):
        """This tensor's version counter, made now if it has none (to be shared with a new alias)."""
        counter = self._version_counter
        if counter is None:
            counter = self._version_counter = [0, False, 0, 0]
        return counter

    @property
    def _version(self):
        """How many in-place writes this tensor's storage has had (torch.Tensor._version)."""
        counter = self._version_counter
        return 0 if counter is None else counter[0]

    def _bump_version(self):
        """Record one in-place write of this tensor's storage (every in-place op calls it)."""
        counter = self._version_counter
        if counter is None:
            counter = self._version_counter = [0, False, 0, 0]
        counter[0] += 1
        clock = _write_clock[0] = _write_clock[0] + 1
        counter[3], counter[2] = counter[2], clock

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data

    # --- array attributes --------------------------------------------------------------------------------
    @property
    def shape(self):
        return self._data.shape

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def device(self):
        """The nnx.device holding the data: device(type='cpu') or device(type='cuda', index=0)."""
        data = self._data
        return _CPU if type(data) is _ndarray else _device_of_array(data)

    @property
    def is_cuda(self):
        return _device_of_array(self._data).type == "cuda"

    @property
    def is_cpu(self):
        return _device_of_array(self._data).type == "cpu"

    def get_device(self):
        """The CUDA device index, or -1 for a CPU tensor (torch.Tensor.get_device)."""
        found = _device_of_array(self._data)
        return -1 if found.type == "cpu" else found.index

    @property
    def T(self):
        return self.permute(*range(self._data.ndim - 1, -1, -1))

    def size(self, dim=None):
        if dim is None:
            return self._data.shape
        return self._data.shape[_normalize_dim(dim, self._data.ndim)]

    def dim(self):
        return self._data.ndim

    def numel(self):
        return self._data.size

    def element_size(self):
        return self._data.itemsize

    def numpy(self):
        """The tensor's values as a NumPy array.

        CPU: the underlying array itself (zero-copy): writes to it show in the tensor. CUDA: a new host copy
        (it waits for the GPU's queued work): writes to the copy do not reach the tensor."""
        data = self._data
        if type(data) is _ndarray or not _is_device_array(data):
            return data
        return _host_copy(data)

    def item(self):
        """The single value as a Python number (on a GPU: reads it back, waiting for the queued work)."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __array__(self, dtype=None, copy=None):
        data = self._data
        if type(data) is not _ndarray and _is_device_array(data):  # NumPy may only see host memory, never silently
            raise TypeError(f"can't convert {_device_of_array(data)} device type tensor to numpy. Use Tensor.cpu() "
                            "to copy the tensor to host memory first.")
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements is ambiguous")
        return bool(self._data.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.item())

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return format(repr(self), spec)

    __hash__ = object.__hash__

    def __repr__(self):
        extras, data = [], self._data
        if type(data) is not _ndarray:  # printed from a host copy, like PyTorch
            extras.append(f"device='{_device_of_array(data)}'")
            data = _host_copy(data)
        if data.dtype not in (_DEFAULT_FLOAT, np.dtype(np.int64), np.dtype(np.bool_)):
            extras.append(f"dtype=nnx.{data.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{type(self._ctx).__name__.removesuffix('Function')}Backward>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        body = np.array2string(data, separator=", ", prefix="tensor(", **_repr_format(data))
        return "tensor(" + body + "".join(", " + extra for extra in extras) + ")"

    # --- conversions -------------------------------------------------------------------------------------
    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
        """to(dtype), to(device), to(device, dtype) or to(other_tensor) (its dtype and device), as
        torch.Tensor.to. Returns self when nothing changes (copy=True forces a new tensor); a move between
        devices is differentiable: the gradient flows back to this tensor's device."""
        for arg in args:
            if isinstance(arg, Tensor):
                dtype, device = arg.dtype, arg.device
            elif _is_device_argument(arg):
                device = arg
            else:
                dtype = arg
        result = self if dtype is None else self._cast(_check_dtype(dtype))
        if device is not None:
            result = result._to_device(*_native.parse_device(device, "device"))
        return result.clone() if copy and result is self else result

    def _to_device(self, device_type, index):
        data = self._data
        device_table = _native.for_array(data)
        if device_table.device_type == device_type and (device_type == "cpu" or
                                                        device_table.device_index(data) == (index or 0)):
            return self
        return _ops.ToDevice.apply(self, _device_object(device_type, index))

    def cuda(self, device=None, non_blocking=False):
        """This tensor on a CUDA device (the current one, cuda:0, by default); itself when already there."""
        if device is None:
            device = "cuda"
        elif isinstance(device, int) and not isinstance(device, bool):
            device = _Device("cuda", device)
        found = _Device(device) if not isinstance(device, _Device) else device
        if found.type != "cuda":
            raise RuntimeError(f"cuda(): device must be a CUDA device, got {device!r}")
        return self.to(found)

    def cpu(self):
        """This tensor in host memory: itself on the CPU, else a copy (an explicit read that waits)."""
        return self if type(self._data) is _ndarray else self._to_device("cpu", 0)

    def _cast(self, dtype):
        if dtype == self._data.dtype:
            return self
        if not _is_float(dtype):
            return Tensor._wrap(self._data.astype(dtype))
        return _ops.Cast.apply(self, dtype)

    def float(self):
        return self._cast(np.dtype(np.float32))

    def double(self):
        return self._cast(np.dtype(np.float64))

    def long(self):
        return self._cast(np.dtype(np.int64))

    def int(self):
        return self._cast(np.dtype(np.int32))

    def bool(self):
        return self._cast(np.dtype(np.bool_))

    def type(self, dtype=None):
        return str(self._data.dtype) if dtype is None else self._cast(_check_dtype(dtype))

    def clone(self):
        return _ops.Clone.apply(self)

    def contiguous(self):
        return self if self._data.flags.c_contiguous else _ops.Clone.apply(self)

    def is_contiguous(self):
        return self._data.flags.c_contiguous

    # --- arithmetic (broadcasting like NumPy; gradients reduced back to each input's shape) -------------
    def _binary(self, function, other, reflected=False):
        if not isinstance(other, Tensor):
            other = _as_operand(other)
            if other is NotImplemented:
                return NotImplemented
        return function.apply(other, self) if reflected else function.apply(self, other)

    def __add__(self, other):
        return self._binary(_ops.Add, other)

    def __radd__(self, other):
        return self._binary(_ops.Add, other, reflected=True)

    def __sub__(self, other):
        return self._binary(_ops.Sub, other)

    def __rsub__(self, other):
        return self._binary(_ops.Sub, other, reflected=True)

    def __mul__(self, other):
        return self._binary(_ops.Mul, other)

    def __rmul__(self, other):
        return self._binary(_ops.Mul, other, reflected=True)

    def __truediv__(self, other):
        return self._binary(_ops.Div, other)

    def __rtruediv__(self, other):
        return self._binary(_ops.Div, other, reflected=True)

    def __pow__(self, other):
        return self._binary(_ops.Pow, other)

    def __rpow__(self, other):
        return self._binary(_ops.Pow, other, reflected=True)

    def __matmul__(self, other):
        return self._binary(_ops.MatMul, other)

    def __rmatmul__(self, other):
        return self._binary(_ops.MatMul, other, reflected=True)

    def __neg__(self):
        return _ops.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.Abs.apply(self)

    add = __add__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    pow = __pow__
    matmul = __matmul__
    neg = __neg__

    # --- comparisons: no gradient, bool results -----------------------------------------------------------
    def _compare(self, ufunc, other):
        other = other._data if isinstance(other, Tensor) else _as_operand(other)
        if other is NotImplemented:
            return NotImplemented
        try:
            result = ufunc(self._data, other)
        except Exception as error:
            _autograd.raise_if_mixed_devices((self._data, other), error)
            raise
        return Tensor._wrap(_as_array(result))

    def __eq__(self, other):
        return self._compare(np.equal, other)

    def __ne__(self, other):
        return self._compare(np.not_equal, other)

    def __lt__(self, other):
        return self._compare(np.less, other)

    def __le__(self, other):
        return self._compare(np.less_equal, other)

    def __gt__(self, other):
        return self._compare(np.greater, other)

    def __ge__(self, other):
        return self._compare(np.greater_equal, other)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def __invert__(self):
        if self._data.dtype.kind not in "iub":
            raise TypeError(f"~ (bitwise not) needs a bool or integer tensor, got dtype {self.dtype}")
        return Tensor._wrap(np.invert(self._data))

    def __and__(self, other):
        return self._compare(np.bitwise_and, other)

    def __or__(self, other):
        return self._compare(np.bitwise_or, other)

    def __xor__(self, other):
        return self._compare(np.bitwise_xor, other)

    def logical_not(self):
        return Tensor._wrap(np.logical_not(self._data))

    def equal(self, other):
        if not isinstance(other, Tensor) or self.shape != other.shape:
            return False
        _autograd.check_same_device((self._data, other._data))
        return bool(np.array_equal(self._data, other._data))

    def allclose(self, other, rtol=1e-5, atol=1e-8):
        other = other._data if isinstance(other, Tensor) else np.asarray(other)
        _autograd.check_same_device((self._data, other))
        return bool(np.allclose(self._data, other, rtol=rtol, atol=atol))

    def isnan(self):
        return Tensor._wrap(np.isnan(self._data))

    def isfinite(self):
        return Tensor._wrap(np.isfinite(self._data))

    def all(self, dim=None, keepdim=False):
        return Tensor._wrap(_as_array(np.all(self._data, axis=_normalize_dims(dim, self._data.ndim), keepdims=keepdim)))

    def any(self, dim=None, keepdim=False):
        return Tensor._wrap(_as_array(np.any(self._data, axis=_normalize_dims(dim, self._data.ndim), keepdims=keepdim)))

    # --- reductions ---------------------------------------------------------------------------------------
    def sum(self, dim=None, keepdim=False, dtype=None):
        source = self if dtype is None else self.to(dtype)
        return _ops.Sum.apply(source, _normalize_dims(dim, self._data.ndim), keepdim)

    def mean(self, dim=None, keepdim=False, dtype=None):
        source = self if dtype is None else self.to(dtype)
        if not _is_float(source._data.dtype):
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be floating point, got "
                               f"{source.dtype}")
        return _ops.Mean.apply(source, _normalize_dims(dim, self._data.ndim), keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        correction = _variance_correction(unbiased, correction)
        return _ops.Var.apply(self, _normalize_dims(dim, self._data.ndim), correction, keepdim)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        correction = _variance_correction(unbiased, correction)
        return _ops.Std.apply(self, _normalize_dims(dim, self._data.ndim), correction, keepdim)

    def max(self, dim=None, keepdim=False):
        """max() -> the largest value; max(dim) -> (values, indices) like torch.max."""
        if isinstance(dim, Tensor):
            return _ops.Maximum.apply(self, dim)
        return self._extreme(dim, keepdim, np.argmax, _ops.Amax)

    def min(self, dim=None, keepdim=False):
        if isinstance(dim, Tensor):
            return _ops.Minimum.apply(self, dim)
        return self._extreme(dim, keepdim, np.argmin, _ops.Amin)

    def _extreme(self, dim, keepdim, arg_function, full_reduction):
        if dim is None:
            if self._data.size == 0:
                raise RuntimeError("max()/min() of an empty tensor: specify a dim with a non-zero size")
            return full_reduction.apply(self)
        axis = _normalize_dim(dim, self._data.ndim)
        if self._data.size == 0 and (self._data.ndim == 0 or self._data.shape[axis] == 0):
            name = "max" if arg_function is np.argmax else "min"
            raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")
        indices = np.expand_dims(arg_function(self._data, axis=axis), axis)
        values = _ops.TakeAlongDim.apply(self, indices, axis)
        if not keepdim:
            values = values.squeeze(axis)
            indices = np.squeeze(indices, axis)
        return MinMaxResult(values, Tensor._wrap(indices))

    def amax(self, dim=None, keepdim=False):
        return _ops.Amax.apply(self, _normalize_dims(dim, self._data.ndim), keepdim)

    def amin(self, dim=None, keepdim=False):
        return _ops.Amin.apply(self, _normalize_dims(dim, self._data.ndim), keepdim)

    def argmax(self, dim=None, keepdim=False):
        return self._arg_extreme(np.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self._arg_extreme(np.argmin, dim, keepdim)

    def _arg_extreme(self, arg_function, dim, keepdim):
        if dim is None:
            return Tensor._wrap(_as_array(arg_function(self._data), np.int64))
        axis = _normalize_dim(dim, self._data.ndim)
        return Tensor._wrap(_as_array(arg_function(self._data, axis=axis, keepdims=keepdim), np.int64))

    # --- shape ---------------------------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        return self if shape == self._data.shape else _ops.Reshape.apply(self, shape, False)

    def view(self, *shape):
        shape = _shape_arg(shape)
        return _ops.Reshape.apply(self, shape, True)

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        shape = self._data.shape
        if not shape:
            return self.reshape(1)
        start, end = _normalize_dim(start_dim, len(shape)), _normalize_dim(end_dim, len(shape))
        if start > end:
            raise ValueError(f"flatten() has invalid args: start_dim ({start_dim}) cannot come after end_dim ({end_dim})")
        return self.reshape(shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:])

    def unflatten(self, dim, sizes):
        shape = self._data.shape
        axis = _normalize_dim(dim, len(shape))
        return self.reshape(shape[:axis] + tuple(sizes) + shape[axis + 1:])

    def squeeze(self, dim=None):
        shape = self._data.shape
        if dim is None:
            return self.reshape(tuple(n for n in shape if n != 1))
        axes = {_normalize_dim(d, len(shape)) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        return self.reshape(tuple(n for i, n in enumerate(shape) if not (i in axes and n == 1)))

    def unsqueeze(self, dim):
        shape = self._data.shape
        axis = _normalize_dim(dim, len(shape) + 1)
        return self.reshape(shape[:axis] + (1,) + shape[axis:])

    def transpose(self, dim0, dim1):
        ndim = self._data.ndim
        order = list(range(ndim))
        a, b = _normalize_dim(dim0, ndim), _normalize_dim(dim1, ndim)
        order[a], order[b] = order[b], order[a]
        return _ops.Permute.apply(self, tuple(order))

    def t(self):
        if self._data.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self._data.ndim}D")
        return self.T

    def permute(self, *dims):
        dims = _shape_arg(dims)
        ndim = self._data.ndim
        order = tuple(_normalize_dim(d, ndim) for d in dims)
        if sorted(order) != list(range(ndim)):
            raise ValueError(f"permute(): dims must be a permutation of the {ndim} dimensions, got {dims}")
        return _ops.Permute.apply(self, order)

    def expand(self, *sizes):
        sizes = _shape_arg(sizes)
        shape = self._data.shape
        if len(sizes) < len(shape):
            raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
                               f"the number of dimensions in the tensor ({len(shape)})")
        lead = len(sizes) - len(shape)
        target = tuple(shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
        return _ops.Expand.apply(self, target)

    def expand_as(self, other):
        return self.expand(other.shape)

    def repeat(self, *sizes):
        sizes = _shape_arg(sizes)
        return _ops.Tile.apply(self, sizes)

    def split(self, split_size, dim=0):
        axis = _normalize_dim(dim, self._data.ndim)
        length = self._data.shape[axis]
        if isinstance(split_size, int):
            if split_size < 0 or (split_size == 0 and length):
                raise RuntimeError(f"split(): split_size must be positive (0 only for a dimension of size 0), got "
                                   f"split_size={split_size} for a dimension of size {length}")
            count = max(1, -(-length // split_size)) if split_size else 1  # an empty dim: one empty piece
            sizes = [split_size] * (count - 1) + [length - split_size * (count - 1)]
        else:
            sizes = list(split_size)
        pieces, start = [], 0
        for size in sizes:
            index = (slice(None),) * axis + (slice(start, start + size),)
            pieces.append(self[index])
            start += size
        return tuple(pieces)

    def chunk(self, chunks, dim=0):
        if not isinstance(chunks, (int, np.integer)) or isinstance(chunks, bool) or chunks <= 0:
            raise RuntimeError(f"chunk(): chunks must be a positive int, got {chunks!r}")
        length = self._data.shape[_normalize_dim(dim, self._data.ndim)]
        if length == 0:  # PyTorch: `chunks` empty pieces
            return self.split([0] * int(chunks), dim)
        return self.split(-(-length // chunks), dim)

    # --- indexing --------------------------------------------------------------------------------------------
    def __getitem__(self, index):
        return _ops.Index.apply(self, _index_arg(index))

    def __setitem__(self, index, value):
        self._check_inplace("__setitem__")
        if isinstance(value, Tensor) and value._requires_grad and _autograd._grad_state.enabled:
            raise RuntimeError("__setitem__: writing a tensor that requires grad into another tensor is not "
                               "supported by nnx's autograd (the gradient would be lost); use nnx.where or nnx.cat")
        value = value._data if isinstance(value, Tensor) else value
        try:
            self._data[_index_arg(index)] = value
        except Exception as error:
            _autograd.raise_if_mixed_devices((self._data, value), error)
            raise

    def gather(self, dim, index):
        axis = _normalize_dim(dim, self._data.ndim)
        return _ops.Gather.apply(self, _index_array(index, "index"), axis)

    def masked_fill(self, mask, value):
        return where(mask, value, self)

    # --- elementwise math -----------------------------------------------------------------------------------
    def exp(self):
        return _ops.Exp.apply(self)

    def log(self):
        return _ops.Log.apply(self)

    def sqrt(self):
        return _ops.Sqrt.apply(self)

    def rsqrt(self):
        return _ops.Sqrt.apply(self) ** -1

    def abs(self):
        return _ops.Abs.apply(self)

    def square(self):
        return _ops.Mul.apply(self, self)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("clamp(): at least one of 'min' or 'max' must not be None")
        for name, bound in (("min", min), ("max", max)):
            if not (bound is None or isinstance(bound, (int, float, np.number, Tensor))):
                raise TypeError(f"clamp(): {name} must be a number or a Tensor, got {type(bound).__name__}")
        return _ops.Clamp.apply(self, min, max)

    clip = clamp

    def tanh(self):
        return _ops.Activation.apply(self, "tanh")

    def sigmoid(self):
        return _ops.Activation.apply(self, "sigmoid")

    def relu(self):
        return _ops.Activation.apply(self, "relu")

    def softmax(self, dim):
        return _ops.Softmax.apply(self, _normalize_dim(dim, self._data.ndim), False)

    def log_softmax(self, dim):
        return _ops.Softmax.apply(self, _normalize_dim(dim, self._data.ndim), True)

    # --- in-place ops: write into this tensor's storage (views and aliases see it) and bump its version ------
    def _check_inplace(self, name):
        """Before an in-place write that autograd cannot record: PyTorch's error on a tensor that requires
        grad while grad mode is on; then the write counts as a new version of the storage."""
        if self._requires_grad and _autograd._grad_state.enabled:
            if self._ctx is None:
                raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an in-place "
                                   "operation; wrap it in nnx.no_grad() or use .data")
            raise RuntimeError(f"{name}: in-place operations on tensors that are part of the autograd graph are "
                               "not supported by nnx for this op; use the out-of-place form")
        self._bump_version()

    def _in_place(self, name, ufunc, function, other):
        """self (op)= other, as PyTorch's in-place arithmetic: the result is written into this tensor's storage
        in this tensor's dtype (RuntimeError when the result's dtype cannot be cast to it: int /= 2, or its
        shape differs). Under grad mode with a tensor that requires grad, the op is recorded: this tensor
        object becomes the op's output; a leaf that requires grad is refused. NotImplemented for operands
        that are not numbers or arrays."""
        if isinstance(other, Tensor):
            if other._requires_grad and _autograd._grad_state.enabled:
                return self._in_place_recorded(name, ufunc, function, other)
            operand = other._data
        else:
            operand = _as_operand(other)
            if operand is NotImplemented:
                return NotImplemented
        if self._requires_grad and _autograd._grad_state.enabled:
            return self._in_place_recorded(name, ufunc, function, other)
        data = self._data
        try:
            ufunc(data, operand, out=data)
        except Exception as error:
            _raise_in_place_error(name, ufunc, data, operand, error)
        if self._ctx is not None:  # a graph tensor written under no_grad: its producer may keep it
            _autograd.mark_output_written(self)
        counter = self._version_counter  # self._bump_version(), inline: optimizer loops write in place per step
        if counter is None:
            counter = self._version_counter = [0, False, 0, 0]
        counter[0] += 1
        clock = _write_clock[0] = _write_clock[0] + 1
        counter[3], counter[2] = counter[2], clock
        return self

    def _in_place_recorded(self, name, ufunc, function, other):
        """The in-place op under autograd: the op runs on a stand-in holding this tensor's old value and
        history, its result is written into this storage, and this tensor becomes the op's output."""
        if self._requires_grad and self._ctx is None:
            raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an in-place operation; "
                               "wrap it in nnx.no_grad() or use .data")
        if function is None:
            raise TypeError(f"{name}: this in-place op is not differentiable")
        counter = self._version_counter
        if counter is not None and counter[1]:  # their history would not see the write
            raise RuntimeError(f"{name}: in-place operation on a tensor that is, or has, a view in the autograd "
                               "graph is not supported by nnx; use the out-of-place form")
        data = self._data
        positions = function.saved_inputs
        kept = positions is None or 0 in positions  # backward reads the old value: give it a copy
        stand_in = Tensor._wrap(data.copy() if kept else data)
        if not kept:
            stand_in._version_counter = self._shared_version_counter()
        stand_in._requires_grad, stand_in._ctx = self._requires_grad, self._ctx
        if not isinstance(other, Tensor):
            other = _as_operand(other)
            if other is NotImplemented:
                return NotImplemented
        output = function.apply(stand_in, other)
        _check_in_place_result(name, data, output.shape, output.dtype)
        _autograd.mark_output_written(self)
        np.copyto(data, output._data, casting="unsafe")
        self._bump_version()
        self._ctx, self._requires_grad = output._ctx, True
        return self

    def add_(self, other, alpha=1):
        if alpha != 1:
            other = other * alpha
        result = self._in_place("add_", np.add, _ops.Add, other)
        return result if result is not NotImplemented else _refuse_operand("add_", other)

    def sub_(self, other, alpha=1):
        if alpha != 1:
            other = other * alpha
        result = self._in_place("sub_", np.subtract, _ops.Sub, other)
        return result if result is not NotImplemented else _refuse_operand("sub_", other)

    def mul_(self, other):
        result = self._in_place("mul_", np.multiply, _ops.Mul, other)
        return result if result is not NotImplemented else _refuse_operand("mul_", other)

    def div_(self, other):
        result = self._in_place("div_", np.true_divide, _ops.Div, other)
        return result if result is not NotImplemented else _refuse_operand("div_", other)

    def pow_(self, exponent):
        result = self._in_place("pow_", np.power, _ops.Pow, exponent)
        return result if result is not NotImplemented else _refuse_operand("pow_", exponent)

    def __iadd__(self, other):
        return self._in_place("+=", np.add, _ops.Add, other)

    def __isub__(self, other):
        return self._in_place("-=", np.subtract, _ops.Sub, other)

    def __imul__(self, other):
        return self._in_place("*=", np.multiply, _ops.Mul, other)

    def __itruediv__(self, other):
        return self._in_place("/=", np.true_divide, _ops.Div, other)

    def __ifloordiv__(self, other):
        return self._in_place("//=", np.floor_divide, None, other)

    def __ipow__(self, other):
        return self._in_place("**=", np.power, _ops.Pow, other)

    # No __imatmul__, as in PyTorch: `a @= b` rebinds a to the new tensor a @ b (any shape).

    def _in_place_bitwise(self, name, ufunc, other):
        if self._data.dtype.kind not in "iub":
            raise TypeError(f"{name} (bitwise) needs a bool or integer tensor, got dtype {self.dtype}")
        return self._in_place(name, ufunc, None, other)

    def __iand__(self, other):
        return self._in_place_bitwise("&=", np.bitwise_and, other)

    def __ior__(self, other):
        return self._in_place_bitwise("|=", np.bitwise_or, other)

    def __ixor__(self, other):
        return self._in_place_bitwise("^=", np.bitwise_xor, other)

    def clamp_(self, min=None, max=None):
        self._check_inplace("clamp_")
        np.clip(self._data, min, max, out=self._data)
        return self

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        self._check_inplace("fill_")
        fill_array(self._data, value.item() if isinstance(value, Tensor) else value)
        return self

    def copy_(self, src):
        """Copy src's values into this tensor (broadcast, cast); src may live on another device (as in
        PyTorch, copy_ is the one op that moves data between devices)."""
        self._check_inplace("copy_")
        src = src._data if isinstance(src, Tensor) else np.asarray(src)
        if type(src) is not type(self._data):
            src = move_array(src, self.device)
        np.copyto(self._data, np.broadcast_to(src, self._data.shape), casting="unsafe")
        return self

    def uniform_(self, a=0.0, b=1.0):
        """Fill with U(a, b) from nnx's seeded generator (drawn on the host, so every device gets the
        values a CPU tensor would)."""
        self._check_inplace("uniform_")
        write_host_values(self._data, _random.numpy_generator().uniform(a, b, size=self._data.shape))
        return self

    def normal_(self, mean=0.0, std=1.0):
        self._check_inplace("normal_")
        write_host_values(self._data, _random.numpy_generator().normal(mean, std, size=self._data.shape))
        return self

    # --- DLPack: zero-copy exchange with NumPy, PyTorch, CuPy, JAX ... --------------------------------------
    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
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

    def __dlpack_device__(self):
        """(device type, index) in DLPack's numbering: (1, 0) for the CPU, (2, index) for CUDA."""
        found = _device_of_array(self._data)
        return (1, 0) if found.type == "cpu" else (2, found.index)

    # --- the rest of torch.Tensor's math: every one is also a function nnx.<name> (nnx._functions) ------------
    sin, cos, tan, asin, acos, atan = (_unary_method(n) for n in ("sin", "cos", "tan", "asin", "acos", "atan"))
    sinh, cosh, asinh, acosh, atanh = (_unary_method(n) for n in ("sinh", "cosh", "asinh", "acosh", "atanh"))
    log1p, expm1, log2, log10, exp2 = (_unary_method(n) for n in ("log1p", "expm1", "log2", "log10", "exp2"))
    reciprocal, frac, sign = _unary_method("reciprocal"), _unary_method("frac"), _unary_method("sign")
    floor, ceil, trunc = _unary_method("floor"), _unary_method("ceil"), _unary_method("trunc")
    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
    sgn, fix, absolute, negative = sign, trunc, abs, neg
    multiply, subtract, divide, true_divide = mul, sub, div, div
    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def round(self, decimals=0):
        if decimals:
            scale = 10.0 ** decimals
            return (self * scale).round() / scale
        return _math_ops.UnaryMath.apply(self, "round")

    def __round__(self, ndigits=None):
        return self.round(ndigits or 0)

    def maximum(self, other):
        return _ops.Maximum.apply(self, _tensor_operand(other))

    def minimum(self, other):
        return _ops.Minimum.apply(self, _tensor_operand(other))

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)

    def floor_divide(self, other):
        """Rounds the quotient toward -inf (no gradient: the result is piecewise constant)."""
        return Tensor._wrap(_as_array(np.floor_divide(self._data, _plain_operand(other))))

    def remainder(self, other):
        """Python's modulus: the result has the sign of the divisor (as torch.remainder)."""
        return self - self.floor_divide(other).detach() * other

    def fmod(self, other):
        """C's modulus: the result has the sign of the dividend (as torch.fmod)."""
        quotient = Tensor._wrap(_as_array(np.trunc(np.true_divide(self._data, _plain_operand(other)))))
        return self - quotient * other

    def where(self, condition, other):
        return where(condition, self, other)

    # --- reductions and scans (dim/keepdim also spelled axis/keepdims, see the end of the class) ------------
    def prod(self, dim=None, keepdim=False, dtype=None):
        source = self if dtype is None else self.to(dtype)
        axis = None if dim is None else _normalize_dim(dim, self._data.ndim)
        return _math_ops.Prod.apply(source, axis, keepdim)

    def cumsum(self, dim, dtype=None):
        source = self if dtype is None else self.to(dtype)
        return _math_ops.Cumsum.apply(source, _normalize_dim(dim, self._data.ndim))

    def cumprod(self, dim, dtype=None):
        source = self if dtype is None else self.to(dtype)
        return _math_ops.Cumprod.apply(source, _normalize_dim(dim, self._data.ndim))

    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(x))) over dim, shifted by the (constant) max so that large inputs do not overflow."""
        dims = _normalize_dims(dim, self._data.ndim)
        shift = Tensor._wrap(np.max(self._data, axis=dims, keepdims=True))
        shift = shift.where(shift.isfinite(), 0)  # all -inf (or an inf) rows: no shift, exp gives 0 or inf
        total = (self - shift).exp().sum(dims, keepdim=True).log() + shift
        return total if keepdim else total.squeeze(dims if dims is not None else None)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The vector p-norm over dim (all elements by default); 'fro' is the 2-norm of the flattened values."""
        source = self if dtype is None else self.to(dtype)
        if p == "fro" or p == 2:
            return source.square().sum(dim, keepdim=keepdim).sqrt()
        if p in (float("inf"), "inf"):
            return source.abs().amax(dim, keepdim=keepdim)
        if p in (-float("inf"), "-inf"):
            return source.abs().amin(dim, keepdim=keepdim)
        if p == 0:
            return (source != 0).to(source.dtype).sum(dim, keepdim=keepdim)
        if not isinstance(p, (int, float)):
            raise ValueError(f"norm(): p must be a number, 'fro', inf or -inf, got {p!r}")
        if p == 1:
            return source.abs().sum(dim, keepdim=keepdim)
        return (source.abs() ** p).sum(dim, keepdim=keepdim) ** (1.0 / p)

    def count_nonzero(self, dim=None):
        dims = _normalize_dims(dim, self._data.ndim)
        return Tensor._wrap(_as_array(np.count_nonzero(self._data, axis=dims), np.int64))

    def median(self, dim=None, keepdim=False):
        """The lower of the two middle values (as torch.median); median(dim) -> (values, indices)."""
        if dim is None:
            flat = self.flatten()
            return flat.sort().values[(flat.numel() - 1) // 2]
        axis = _normalize_dim(dim, self._data.ndim)
        order = np.argsort(self._data, axis=axis, kind="stable")
        middle = np.take(order, [(self._data.shape[axis] - 1) // 2], axis=axis)
        return self._values_at(middle, axis, keepdim)

    def _values_at(self, indices, axis, keepdim):
        """(values, indices) of the elements at `indices` (one per slot along axis), differentiable."""
        values = _ops.TakeAlongDim.apply(self, indices, axis)
        if not keepdim:
            values, indices = values.squeeze(axis), np.squeeze(indices, axis)
        return MinMaxResult(values, Tensor._wrap(indices.astype(np.int64, copy=False)))

    # --- sorting ------------------------------------------------------------------------------------------------
    def sort(self, dim=-1, descending=False, stable=False):
        """(values, indices) sorted along dim; ties keep their order (a stable sort, whatever `stable`)."""
        axis = _normalize_dim(dim, self._data.ndim)
        indices = _sorted_indices(self._data, axis, descending)
        return self._values_at(indices, axis, keepdim=True)

    def argsort(self, dim=-1, descending=False, stable=False):
        axis = _normalize_dim(dim, self._data.ndim)
        return Tensor._wrap(_sorted_indices(self._data, axis, descending).astype(np.int64, copy=False))

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """(values, indices) of the k largest (smallest) elements along dim, largest first."""
        axis = _normalize_dim(dim, self._data.ndim)
        length = self._data.shape[axis] if self._data.ndim else 1
        if not 0 <= k <= length:
            raise RuntimeError(f"topk(): k ({k}) is out of range for dimension {dim} of size {length}")
        indices = np.take(_sorted_indices(self._data, axis, largest), np.arange(k), axis=axis)
        return self._values_at(indices, axis, keepdim=True)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        """The distinct values, sorted (no gradient); optionally the inverse indices and the counts."""
        values, inverse, counts = np.unique(self._data, return_inverse=True, return_counts=True, axis=dim)
        result = [Tensor._wrap(values)]
        if return_inverse:
            result.append(Tensor._wrap(inverse.reshape(self._data.shape if dim is None else -1).astype(np.int64)))
        if return_counts:
            result.append(Tensor._wrap(counts.astype(np.int64)))
        return result[0] if len(result) == 1 else tuple(result)

    # --- linear algebra -------------------------------------------------------------------------------------------
    def mm(self, mat2):
        _require_ndim("mm", ("self", self, 2), ("mat2", mat2, 2))
        return self @ mat2

    def bmm(self, mat2):
        _require_ndim("bmm", ("self", self, 3), ("mat2", mat2, 3))
        return self @ mat2

    def mv(self, vec):
        _require_ndim("mv", ("self", self, 2), ("vec", vec, 1))
        return self @ vec

    def dot(self, other):
        _require_ndim("dot", ("self", self, 1), ("tensor", other, 1))
        return self @ other

    def outer(self, vec2):
        _require_ndim("outer", ("self", self, 1), ("vec2", vec2, 1))
        return self.unsqueeze(1) * vec2.unsqueeze(0)

    ger = outer

    def trace(self):
        _require_ndim("trace", ("self", self, 2))
        return self.diagonal().sum()

    def diagonal(self, offset=0, dim1=0, dim2=1):
        if (dim1, dim2) != (0, 1) or self._data.ndim != 2:
            moved = self.movedim((dim1, dim2), (-2, -1))
            rows, cols = _diagonal_positions(moved.shape[-2], moved.shape[-1], offset)
            return moved[(Ellipsis, rows, cols)]
        rows, cols = _diagonal_positions(*self._data.shape, offset)
        return self[rows, cols]

    def diag(self, diagonal=0):
        """A 1-D tensor -> the square matrix with it on a diagonal; a 2-D one -> that diagonal's values."""
        if self._data.ndim == 2:
            return self.diagonal(diagonal)
        _require_ndim("diag", ("self", self, 1))
        n = self._data.shape[0] + abs(diagonal)
        rows, cols = _diagonal_positions(n, n, diagonal)
        gather = np.full((n, n), self._data.shape[0], dtype=np.int64)  # points at an appended zero
        gather[rows, cols] = np.arange(self._data.shape[0])
        return cat([self, zeros(1, dtype=self.dtype, device=self.device)])[gather]

    def tril(self, diagonal=0):
        return self._triangle(np.tril, diagonal)

    def triu(self, diagonal=0):
        return self._triangle(np.triu, diagonal)

    def _triangle(self, keep, diagonal):
        if self._data.ndim < 2:
            raise RuntimeError("tril/triu: input tensor must have at least 2 dimensions")
        mask = keep(np.ones(self._data.shape[-2:], dtype=bool), diagonal)
        return where(Tensor._wrap(move_array(mask, self.device)), self, 0)

    # --- shape and indexing ---------------------------------------------------------------------------------------
    def movedim(self, source, destination):
        sources = source if isinstance(source, (tuple, list)) else (source,)
        destinations = destination if isinstance(destination, (tuple, list)) else (destination,)
        return self.permute(*_moved_order(self._data.ndim, sources, destinations))

    moveaxis = movedim

    def swapaxes(self, axis0, axis1):
        return self.transpose(axis0, axis1)

    swapdims = swapaxes

    def flip(self, *dims):
        dims = _normalize_dims(_shape_arg(dims), self._data.ndim) or ()
        index = tuple(slice(None, None, -1) if axis in dims else slice(None) for axis in range(self._data.ndim))
        return self[index]

    def roll(self, shifts, dims=None):
        if dims is None:
            return self.flatten().roll(shifts, 0).reshape(self.shape)
        shifts = shifts if isinstance(shifts, (tuple, list)) else (shifts,)
        dims = dims if isinstance(dims, (tuple, list)) else (dims,)
        positions = [np.arange(n) for n in self._data.shape]
        for shift, dim in zip(shifts, dims):
            axis = _normalize_dim(dim, self._data.ndim)
            positions[axis] = np.roll(positions[axis], shift)
        return self[np.ix_(*positions)]

    def narrow(self, dim, start, length):
        axis = _normalize_dim(dim, self._data.ndim)
        return self[(slice(None),) * axis + (slice(start, start + length),)]

    def index_select(self, dim, index):
        axis = _normalize_dim(dim, self._data.ndim)
        return self[(slice(None),) * axis + (_index_array(index, "index").reshape(-1),)]

    def repeat_interleave(self, repeats, dim=None):
        source = self.flatten() if dim is None else self
        axis = 0 if dim is None else _normalize_dim(dim, self._data.ndim)
        counts = repeats._data if isinstance(repeats, Tensor) else repeats
        positions = np.repeat(np.arange(source.shape[axis]), counts)
        return source[(slice(None),) * axis + (positions,)]

    def nonzero(self, as_tuple=False):
        found = np.nonzero(self._data)
        if as_tuple:
            return tuple(Tensor._wrap(_as_array(part, np.int64)) for part in found)
        return Tensor._wrap(np.stack(found, axis=1).astype(np.int64, copy=False))

    def argwhere(self):
        return self.nonzero()

    # --- logic ------------------------------------------------------------------------------------------------------
    def isclose(self, other, rtol=1e-5, atol=1e-8, equal_nan=False):
        other = other._data if isinstance(other, Tensor) else other
        return Tensor._wrap(_as_array(np.isclose(self._data, other, rtol=rtol, atol=atol, equal_nan=equal_nan)))

    def isinf(self):
        return Tensor._wrap(np.isinf(self._data))

    def isposinf(self):
        return Tensor._wrap(np.isposinf(self._data))

    def isneginf(self):
        return Tensor._wrap(np.isneginf(self._data))

    def signbit(self):
        return Tensor._wrap(np.signbit(self._data))

    def logical_and(self, other):
        return self._compare(np.logical_and, other)

    def logical_or(self, other):
        return self._compare(np.logical_or, other)

    def logical_xor(self, other):
        return self._compare(np.logical_xor, other)

    bitwise_and, bitwise_or, bitwise_xor, bitwise_not = __and__, __or__, __xor__, __invert__

    # --- new tensors and dtype queries -------------------------------------------------------------------------------
    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return zeros(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return ones(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return empty(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def type_as(self, other):
        return self.to(other.dtype)

    def half(self):
        return self._cast(np.dtype(np.float16))

    def short(self):
        return self._cast(np.dtype(np.int16))

    def byte(self):
        return self._cast(np.dtype(np.uint8))

    def char(self):
        return self._cast(np.dtype(np.int8))

    def is_floating_point(self):
        return _is_float(self._data.dtype)

    def nelement(self):
        return self._data.size

    ndimension = dim
    is_sparse = is_quantized = False

    def stride(self, dim=None):
        """Steps in elements (not bytes, as NumPy's strides) between neighbours along each dimension."""
        steps = tuple(step // self._data.itemsize for step in self._data.strides)
        return steps if dim is None else steps[_normalize_dim(dim, self._data.ndim)]

    @property
    def itemsize(self):
        return self._data.itemsize

    @property
    def nbytes(self):
        return self._data.nbytes

    def multinomial(self, num_samples, replacement=False):
        """Indices drawn from each row of non-negative weights (1-D input: one row), as torch.multinomial."""
        weights = np.asarray(self.detach().cpu().numpy(), dtype=np.float64)
        rows = np.atleast_2d(weights)
        if rows.ndim != 2 or np.any(rows < 0) or not np.all(np.isfinite(rows)) or np.any(rows.sum(axis=1) <= 0):
            raise RuntimeError("multinomial(): input must be a 1-D or 2-D tensor of non-negative, finite weights with a "
                               "non-zero sum per row")
        if not replacement and num_samples > rows.shape[1]:
            raise RuntimeError(f"multinomial(): cannot sample num_samples={num_samples} > {rows.shape[1]} categories "
                               "without replacement")
        generator = _random.numpy_generator()
        samples = np.stack([generator.choice(rows.shape[1], num_samples, replace=replacement, p=row / row.sum())
                            for row in rows])
        return tensor(samples if weights.ndim == 2 else samples[0], dtype=np.int64, device=self.device)

    def select(self, dim, index):
        """The slice at `index` along dim, that dim removed (as torch.select)."""
        axis = _normalize_dim(dim, self._data.ndim)
        return self[(slice(None),) * axis + (operator.index(index),)]

    def scatter_(self, dim, index, src=None, value=None):
        """self[index[i][j]][j] = src[i][j] (or value) along dim, in place (torch.Tensor.scatter_, no reduce)."""
        self._check_inplace("scatter_")
        axis = _normalize_dim(dim, self._data.ndim)
        index = _index_array(index, "index")
        if (src is None) == (value is None):
            raise TypeError("scatter_(): give exactly one of src (a Tensor) or value (a number)")
        positions = list(np.indices(index.shape, sparse=True))
        positions[axis] = index
        if src is not None:
            src = src._data if isinstance(src, Tensor) else np.asarray(src)
            value = src[tuple(slice(0, n) for n in index.shape)]
        self._data[tuple(positions)] = value
        return self

    def random_(self, from_=0, to=None):
        """Fill with integers drawn uniformly from [from_, to) (to=None: [0, from_) when from_ is given alone)."""
        self._check_inplace("random_")
        low, high = (0, from_) if to is None and from_ else (from_, to)
        if high is None:
            raise TypeError("random_(): give the upper bound `to`")
        write_host_values(self._data, _random.numpy_generator().integers(low, high, size=self._data.shape))
        return self

    # NumPy's spellings of dim/keepdim (axis/keepdims), accepted like PyTorch by every reduction and scan.
    (sum, mean, var, std, max, min, amax, amin, argmax, argmin, all, any, prod, cumsum, cumprod, logsumexp, norm,
     count_nonzero, median, sort, argsort, topk, softmax, log_softmax) = map(_accepting_numpy_names, (
        sum, mean, var, std, max, min, amax, amin, argmax, argmin, all, any, prod, cumsum, cumprod, logsumexp, norm,
        count_nonzero, median, sort, argsort, topk, softmax, log_softmax))


# --- helpers of the torch-namespace methods ---------------------------------------------------------------------
def _tensor_operand(other):
    """other as an operand of a two-tensor op: a Tensor itself, anything else as an array or scalar."""
    if isinstance(other, Tensor):
        return other
    operand = _as_operand(other)
    if operand is NotImplemented:
        raise TypeError(f"other must be a Tensor or a number, got {type(other).__name__}")
    return operand


def _plain_operand(other):
    """other's array when it is a Tensor, else other itself (a number or an array)."""
    return other._data if isinstance(other, Tensor) else other


def _require_ndim(function, *arguments):
    """RuntimeError naming the argument when one of (name, tensor, ndim) has another number of dimensions."""
    for name, value, ndim in arguments:
        if not isinstance(value, Tensor):
            raise TypeError(f"{function}(): argument '{name}' must be a Tensor, got {type(value).__name__}")
        if value.ndim != ndim:
            raise RuntimeError(f"{function}(): argument '{name}' must be a {ndim}-D tensor, got {value.ndim}-D")


def _diagonal_positions(rows, cols, offset):
    """(row indices, column indices) of the diagonal `offset` (above the main one when positive)."""
    start_row, start_col = max(-offset, 0), max(offset, 0)
    length = max(0, min(rows - start_row, cols - start_col))
    return np.arange(start_row, start_row + length), np.arange(start_col, start_col + length)


def _moved_order(ndim, sources, destinations):
    """The permutation that moves dims `sources` to positions `destinations` (torch.movedim)."""
    if len(sources) != len(destinations):
        raise RuntimeError("movedim: Invalid source or destination dims: source and destination must have the same "
                           "number of dims")
    sources = [_normalize_dim(d, ndim, "source") for d in sources]
    destinations = [_normalize_dim(d, ndim, "destination") for d in destinations]
    rest = iter(d for d in range(ndim) if d not in sources)
    placed = dict(zip(destinations, sources))
    return tuple(placed[i] if i in placed else next(rest) for i in range(ndim))


def _sorted_indices(array, axis, descending):
    """Stable sort order along axis; descending keeps equal elements in their original order too."""
    if not descending:
        return np.argsort(array, axis=axis, kind="stable")
    if array.dtype == np.bool_:
        array = array.astype(np.int8)
    flipped = np.flip(array, axis)
    order = np.argsort(flipped, axis=axis, kind="stable")  # ascending over the reversed array ...
    return np.flip(array.shape[axis] - 1 - order, axis)  # ... reversed back: descending, ties in order


def _dlpack_call(exporter, **options):
    """exporter.__dlpack__ with the keywords the exporter knows (None-valued ones left out for old ones)."""
    return exporter.__dlpack__(**{name: value for name, value in options.items() if value is not None})


_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2}  # PyTorch casts in place within or down a rank, never up
_TORCH_DTYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
                      "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _can_cast_in_place(result, target):
    return _KIND_RANK.get(result.kind, 3) <= _KIND_RANK.get(target.kind, -1)


def _torch_dtype_name(dtype):
    return _TORCH_DTYPE_NAMES.get(str(dtype), str(dtype))


def _refuse_operand(name, other):
    raise TypeError(f"{name}(): other must be a Tensor, a number or an array, got {type(other).__name__}")


def _check_in_place_result(name, data, shape, dtype):
    """PyTorch's RuntimeError when an in-place op's result (shape, dtype) does not fit the tensor's storage."""
    if shape is not None and tuple(shape) != data.shape:
        raise RuntimeError(f"{name}: output with shape {list(data.shape)} doesn't match the broadcast shape "
                           f"{list(shape)}")
    if dtype is not None and not _can_cast_in_place(dtype, data.dtype):
        raise RuntimeError(f"{name}: result type {_torch_dtype_name(dtype)} can't be cast to the desired output "
                           f"type {_torch_dtype_name(data.dtype)}")


def _raise_in_place_error(name, ufunc, data, operand, error):
    """After `error` in `ufunc(data, operand, out=data)`: PyTorch's message when the result does not fit the
    tensor (shape or dtype) or the operands live on two devices, else the error itself."""
    _autograd.raise_if_mixed_devices((data, operand), error)
    try:
        shape = np.broadcast_shapes(data.shape, getattr(operand, "shape", ()))
    except ValueError:
        shape = None
    try:  # the result dtype, from one element of each operand (ufuncs promote by dtype, not by values)
        sample = operand.reshape(-1)[:1] if getattr(operand, "ndim", 0) else operand
        dtype = ufunc(data.reshape(-1)[:1], sample).dtype
        if dtype == np.float64 and np.float64 not in (data.dtype, getattr(operand, "dtype", None)):
            dtype = _DEFAULT_FLOAT  # PyTorch's promotion: integers and Python floats give float32
    except Exception:
        dtype = None
    try:
        _check_in_place_result(name, data, shape, dtype)
    except RuntimeError as mismatch:
        raise mismatch from error
    raise error


def _is_device_argument(arg):
    """True for what Tensor.to takes as a device: a string, an nnx.device (or torch.device) or an int index."""
    if isinstance(arg, (str, _Device)):
        return True
    if isinstance(arg, int) and not isinstance(arg, bool):
        return True
    return isinstance(getattr(arg, "type", None), str) and not isinstance(arg, np.dtype)


def _as_array(value, dtype=None):
    """An op's result as an array: NumPy reductions of whole arrays give scalars (np.generic), which
    become 0-d arrays; backend arrays pass through (cast to dtype when given)."""
    if isinstance(value, np.generic):
        return np.asarray(value, dtype=dtype)
    if dtype is not None and value.dtype != dtype:
        return value.astype(dtype)
    return value


def fill_array(array, value):
    """array[...] = value for a NumPy or device array."""
    if type(array) is _ndarray:
        array.fill(value)
    else:
        array[...] = value


def move_array(array, device):
    """array on `device` (an nnx.device): itself when already there, else a copy on that device.
    NumPy arrays are copied to a device array; device arrays come back as a new NumPy array."""
    source = _native.for_array(array)
    index = device.index or 0
    if source.device_type == device.type and (device.type == "cpu" or source.device_index(array) == index):
        return array
    host = source.to_numpy(array)
    if device.type == "cpu":
        return host
    return _native.get(device.type).from_numpy(host, index)


def write_host_values(array, values):
    """array[...] = values, where values is a NumPy array drawn on the host (init, rand): copied to
    array's device first (an explicit upload)."""
    if type(array) is not _ndarray:
        values = move_array(np.ascontiguousarray(values, dtype=array.dtype), _device_of_array(array))
    array[...] = values


def _repr_format(data):
    """PyTorch's look: whole-valued floats print as `2.`, others with 4 decimals."""
    if not _is_float(data.dtype):
        return {}
    finite = data[np.isfinite(data)]
    if finite.size and np.all(finite == np.round(finite)) and np.abs(finite).max() < 1e8:
        return {"formatter": {"float_kind": lambda value: f"{value:.0f}." if np.isfinite(value) else str(value)}}
    return {"precision": 4, "floatmode": "fixed"}


class MinMaxResult(tuple):
    """(values, indices) of max(dim)/min(dim), like torch.return_types.max."""

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


# --- argument helpers -------------------------------------------------------------------------------------
def _normalize_dim(dim, ndim, argument="dim"):
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{argument} must be an int, got {type(dim).__name__}")
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], but got {dim})")
    return int(dim) % bound


def _normalize_dims(dim, ndim):
    """None (all axes) or a tuple of non-negative axes."""
    if dim is None:
        return None
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    return tuple(sorted({_normalize_dim(d, ndim) for d in dims})) if ndim else None


def _shape_arg(shape):
    """Sizes given as varargs or as one tuple/list, as PyTorch accepts them."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(operator.index(n) for n in shape)
    except TypeError:
        raise TypeError(f"size must be ints or a tuple of ints, got {shape!r}") from None


def _variance_correction(unbiased, correction):
    if unbiased is not None and correction is not None:
        raise ValueError("var()/std(): give either unbiased or correction, not both")
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def _index_array(index, argument):
    data = index._data if isinstance(index, Tensor) else np.asarray(index)
    if data.dtype.kind not in "iu":
        raise TypeError(f"{argument} must be an integer tensor, got dtype {data.dtype}")
    return data


def _index_arg(index):
    """Tensors and lists inside an index become arrays (advanced indexing)."""
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, list):
        return np.asarray(index)
    if isinstance(index, tuple):
        return tuple(_index_arg(part) for part in index)
    return index


def _array_from_python(data, dtype):
    """A fresh array from Python data with PyTorch's dtype inference (Python floats -> float32)."""
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        return _check_numeric(data).copy()
    if isinstance(data, (list, tuple)) and any(isinstance(item, Tensor) for item in data):
        data = [item._data if isinstance(item, Tensor) else item for item in data]
    array = np.array(data)
    if array.dtype == np.float64 and not isinstance(data, np.generic):
        array = array.astype(_DEFAULT_FLOAT)  # float32 unless nnx.set_default_dtype changed it
    elif array.dtype.kind not in "fiub":
        raise TypeError(f"data must hold numbers (bool, int or float), got dtype {array.dtype}")
    return array


# --- factory functions ----------------------------------------------------------------------------------
def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new Tensor holding a copy of `data` (lists, scalars, arrays, Tensors) on `device` (default: the
    CPU, or data's device for a Tensor); Python floats give float32, integers int64, and arrays keep
    their dtype, as torch.tensor does."""
    target = _target_device(device)
    if isinstance(data, Tensor) and type(data._data) is not _ndarray:
        array = data._data.astype(data.dtype if dtype is None else _check_dtype(dtype))  # a device copy
        if target is None:
            target = _device_of_array(array)
    else:
        array = _array_from_python(data, None if dtype is None else _check_dtype(dtype))
    if target is not None and target is not _CPU:
        array = move_array(array, target)
    result = Tensor._wrap(array)
    if requires_grad:
        result.requires_grad = True
    return result


def _target_device(device, argument="device"):
    """None for device=None, else the nnx.device named (RuntimeError when its backend is unavailable)."""
    if device is None:
        return None
    device_type, index = _native.parse_device(device, argument)
    return _device_object(device_type, index)


def _device_object(device_type, index):
    """The shared nnx.device for a parsed (type, index): the CPU, or a device with its index (0 when none)."""
    if device_type == "cpu":
        return _CPU
    key = (device_type, index or 0)
    found = _DEVICES.get(key)
    if found is None:
        found = _DEVICES[key] = _Device(*key)
    return found


def from_numpy(array):
    """A Tensor sharing memory with `array` (no copy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"array must be a numpy.ndarray, got {type(array).__name__}")
    return Tensor._wrap(_check_numeric(array, "array"))


def _factory(kind, make, size, dtype, device, requires_grad, *args):
    """A new tensor: make(shape, dtype) on the CPU, or the device backend's `kind`(shape, *args, dtype, index)."""
    dtype = _DEFAULT_FLOAT if dtype is None else _check_dtype(dtype)
    shape = _shape_arg(size)
    target = None if device is None else _target_device(device)
    if target is None or target is _CPU:
        array = make(shape, dtype)
    else:
        array = getattr(_native.get(target.type), kind)(shape, *args, dtype, target.index)
    result = Tensor._wrap(array)
    if requires_grad:
        result.requires_grad = True
    return result


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _factory("zeros", np.zeros, size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _factory("ones", np.ones, size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return _factory("empty", np.empty, size, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = _array_from_python(fill_value, None).dtype
    return _factory("full", lambda shape, d: np.full(shape, fill_value, dtype=d), (size,), dtype, device,
                    requires_grad, fill_value)


def _like_device(input, device):
    return input.device if device is None and isinstance(input, Tensor) else device


def zeros_like(input, dtype=None, device=None, requires_grad=False):
    """Zeros of input's shape, dtype and device (each overridable), as torch.zeros_like."""
    return zeros(input.shape, dtype=input.dtype if dtype is None else dtype, device=_like_device(input, device),
                 requires_grad=requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False):
    return ones(input.shape, dtype=input.dtype if dtype is None else dtype, device=_like_device(input, device),
                requires_grad=requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad=False):
    return empty(input.shape, dtype=input.dtype if dtype is None else dtype, device=_like_device(input, device),
                 requires_grad=requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    return full(input.shape, fill_value, dtype=input.dtype if dtype is None else dtype,
                device=_like_device(input, device), requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("step must be nonzero")
    if dtype is None:
        all_ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if all_ints else _DEFAULT_FLOAT
    target = None if device is None else _target_device(device)
    if target is not None and target is not _CPU:
        # The host computes the values (a few numbers), so they equal the CPU's exactly; one upload.
        return tensor(np.arange(start, end, step, dtype=_check_dtype(dtype)), device=target,
                      requires_grad=requires_grad)
    return _factory("arange", lambda shape, d: np.arange(start, end, step, dtype=d), (), dtype, None, requires_grad)


def _random_factory(draw, size, dtype, device, requires_grad):
    """Random values drawn on the host from nnx's seeded generator, then put on `device`: the same seed
    gives the same values on every device."""
    dtype = _DEFAULT_FLOAT if dtype is None else _check_dtype(dtype)
    if not _is_float(dtype):
        raise TypeError(f"dtype must be a floating point dtype for random values, got {dtype}")
    target = None if device is None else _target_device(device)
    values = draw(_random.numpy_generator(), _shape_arg(size)).astype(dtype, copy=False)
    if target is not None and target is not _CPU:
        values = move_array(values, target)
    result = Tensor._wrap(values)
    if requires_grad:
        result.requires_grad = True
    return result


def randn(*size, dtype=None, device=None, requires_grad=False):
    """Standard normal values from nnx's seeded generator."""
    return _random_factory(lambda gen, shape: gen.standard_normal(shape), size, dtype, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False):
    """Uniform values in [0, 1) from nnx's seeded generator."""
    return _random_factory(lambda gen, shape: gen.random(shape), size, dtype, device, requires_grad)


def _tensor_list(tensors, name):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}() argument 'tensors' must be a tuple or list of Tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{name}() expects a non-empty list of Tensors")
    return [t if isinstance(t, Tensor) else tensor(t) for t in tensors]


def cat(tensors, dim=0):
    """Concatenate along an existing dimension."""
    tensors = _tensor_list(tensors, "cat")
    return _ops.Cat.apply(*tensors, axis=_normalize_dim(dim, tensors[0].ndim))


def stack(tensors, dim=0):
    """Stack along a new dimension."""
    tensors = _tensor_list(tensors, "stack")
    return _ops.Stack.apply(*tensors, axis=_normalize_dim(dim, tensors[0].ndim + 1))


def where(condition, input=None, other=None):
    """Elements of `input` where condition holds, else of `other`; where(condition) gives its indices."""
    condition = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        return tuple(Tensor._wrap(_as_array(indices, np.int64)) for indices in np.nonzero(condition))
    if condition.dtype != np.bool_:
        raise TypeError(f"where expected condition to be a boolean tensor, got dtype {condition.dtype}")
    input = input if isinstance(input, Tensor) else _as_operand(input)
    other = other if isinstance(other, Tensor) else _as_operand(other)
    return _ops.Where.apply(condition, input, other)


def from_dlpack(ext_tensor):
    """A Tensor sharing the memory of any object with __dlpack__ (a NumPy array, a torch tensor, a CuPy or
    JAX array, an nnx Tensor): zero-copy. CPU memory comes back as a CPU tensor, CUDA memory as a CUDA
    tensor (this needs nnx's CUDA backend). Other devices, and dtypes other than bool, integers and
    floats NumPy knows (not bfloat16 or complex), raise an error naming them."""
    if isinstance(ext_tensor, Tensor):
        return Tensor._wrap(ext_tensor._data)
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
        return Tensor._wrap(_canonical_dtype(_check_dtype_for_dlpack(array)))
    if device_type == _DLPACK_CUDA:
        cuda = _native.get(f"cuda:{index}", "from_dlpack()")  # RuntimeError naming why when CUDA is missing
        importer = getattr(cuda, "from_dlpack", None)
        if importer is None:
            raise RuntimeError("from_dlpack(): this nnx's CUDA backend cannot import DLPack tensors yet")
        return Tensor._wrap(_check_dtype_for_dlpack(importer(ext_tensor)))
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


from . import autograd as _autograd  # noqa: E402  (autograd and ops need Tensor defined first)
from . import ops as _ops  # noqa: E402
from . import _math_ops  # noqa: E402
from . import _not_provided  # noqa: E402

# torch.Tensor methods nnx deliberately lacks: stubs raising NotProvidedError with the alternative (a real
# method, wherever it is defined above, wins).
for _name, _alternative in _not_provided.NOT_PROVIDED_METHODS.items():
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, _not_provided.method_stub(_name, _alternative))
del _name, _alternative

from . import _composite  # noqa: E402

# torch.Tensor methods written as compositions of the ops above (nnx._composite): atan2, kron, tile ...
for _name in _composite.METHODS:
    setattr(Tensor, _name, getattr(_composite, _name))
for _name, _property in _composite.PROPERTIES.items():  # mT, mH, H
    setattr(Tensor, _name, _property)
# ... and the in-place forms nnx has no own implementation of (exp_, sqrt_, masked_fill_ ...).
for _name in _composite.IN_PLACE:
    if not hasattr(Tensor, _name + "_"):
        setattr(Tensor, _name + "_", _composite.in_place_variant(_name))
Tensor.multiply_, Tensor.divide_, Tensor.true_divide_, Tensor.subtract_ = (  # torch's other names of
    Tensor.mul_, Tensor.div_, Tensor.div_, Tensor.sub_)                        # nnx's own in-place arithmetic
del _name, _property
from . import random as _random  # noqa: E402
