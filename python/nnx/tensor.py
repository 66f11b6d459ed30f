"""Tensor: an array plus autograd bookkeeping, with PyTorch's methods; and the factory functions.

The array lives in `_data` (no copy when internal code wraps one): a numpy.ndarray on the CPU, a backend's
device array (nnx.native.cuda_array.CudaArray) elsewhere; both speak the NumPy protocol the ops use.
`_ctx` is the Function node that made the tensor (None for leaves). The differentiable ops live in nnx.ops.

This module holds the class's state (slots, construction, autograd attributes, array attributes); its methods
come from one mixin per concern (nnx._tensor_arithmetic, _tensor_reductions, _tensor_shape ...), the factories
from nnx._tensor_factories. nnx.autograd and nnx.ops sit above this layer: nnx._tensor_wiring hands them to the
method modules and adds the composite methods (atan2, kron ...) once they are imported.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import _tensor_args
from . import native as _native
from ._tensor_args import (  # noqa: F401
    MinMaxResult,
    _array_from_python,
    _as_array,
    _as_operand,
    _canonical_dtype,
    _check_dtype,
    _check_numeric,
    _index_arg,
    _index_array,
    _is_float,
    _normalize_dim,
    _normalize_dims,
    _shape_arg,
)
from ._tensor_arithmetic import ArithmeticMixin
from ._tensor_base import TensorBase, _write_clock, register_tensor_class, wrap
from ._tensor_comparisons import ComparisonMixin
from ._tensor_conversions import ConversionMixin
from ._tensor_dlpack import DLPackMixin, from_dlpack  # noqa: F401
from ._tensor_factories import (  # noqa: F401
    arange,
    cat,
    empty,
    empty_like,
    from_numpy,
    full,
    full_like,
    ones,
    ones_like,
    rand,
    randn,
    stack,
    tensor,
    where,
    zeros,
    zeros_like,
)
from ._tensor_indexing import IndexingMixin
from ._tensor_inplace import InPlaceMixin
from ._tensor_linalg import LinalgMixin
from ._tensor_reductions import ReductionMixin
from ._tensor_shape import ShapeMixin

# The device helpers live in the native layer; re-exported under the names the layers above import from here.
from .native.devices import CPU as _CPU
from .native.devices import device_object as _device_object  # noqa: F401
from .native.devices import device_of_array as _device_of_array
from .native.devices import fill_array, move_array, write_host_values  # noqa: F401
from .native.devices import host_copy as _host_copy
from .native.devices import is_device_array as _is_device_array
from .native.devices import target_device as _target_device  # noqa: F401

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from numpy.typing import ArrayLike

    from .device import device as Device  # (the name `device` is a Tensor property)

_ndarray = np.ndarray

float32 = np.float32
float64 = np.float64
int64 = np.int64

# nnx.autograd sits above the Tensor class (its Functions build Tensors): nnx._tensor_wiring hands it to this module
# when it is imported, before any Tensor method can run.
_autograd = None


class Tensor(TensorBase, ConversionMixin, ArithmeticMixin, ComparisonMixin, ReductionMixin, ShapeMixin, IndexingMixin,
             LinalgMixin, InPlaceMixin, DLPackMixin):
    """A multi-dimensional array that can record the ops applied to it and differentiate through them."""

    __slots__ = ("_data", "_requires_grad", "_grad", "_ctx", "_version_counter", "__weakref__")
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operators
    __hash__ = object.__hash__  # (ComparisonMixin's __eq__ would leave it None: tensors hash by identity)

    def __init__(self, data: Tensor | ArrayLike, requires_grad: bool = False):
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

    _wrap = staticmethod(wrap)  # a Tensor around an array itself (internal constructor: no checks, no copy)

    def __setstate__(self, state: Any) -> None:
        self._version_counter = None
        dict_state, slots = state if isinstance(state, tuple) else (state, None)
        for name, value in {**(dict_state or {}), **(slots or {})}.items():
            object.__setattr__(self, name, value)
        self._data = _canonical_dtype(self._data)

    # --- autograd attributes ---------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        """Whether autograd records the ops on this tensor and fills its .grad, as torch.Tensor.requires_grad."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if value and not _is_float(self._data.dtype):
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients, got dtype {self.dtype}")
        if not value and self._ctx is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables; use .detach() to get "
                               "a tensor that does not require grad")
        self._requires_grad = value

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set requires_grad in place and return self, as torch.Tensor.requires_grad_."""
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by backward() (None until then), as torch.Tensor.grad."""
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
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
    def grad_fn(self) -> Any:
        """The autograd node that made this tensor (None for a leaf), as torch.Tensor.grad_fn."""
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        """True for a tensor no recorded op made (its .grad is filled by backward), as torch.Tensor.is_leaf."""
        return self._ctx is None

    def backward(self, gradient: Tensor | ArrayLike | None = None, retain_graph: bool | None = None) -> None:
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

    def detach(self) -> Tensor:
        """A tensor outside the graph sharing this one's storage, as torch.Tensor.detach."""
        return self._alias()

    def detach_(self) -> Tensor:
        """Make this tensor a leaf outside the graph, in place, as torch.Tensor.detach_."""
        self._ctx = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> Tensor:
        """This tensor's values as a tensor outside the graph (same storage), as torch.Tensor.data."""
        return self._alias()

    def _alias(self) -> Tensor:
        """A tensor outside the graph over the same storage, sharing its version counter (detach, .data)."""
        alias = Tensor._wrap(self._data)
        alias._version_counter = self._shared_version_counter()
        return alias

    def _shared_version_counter(self) -> list[int]:
        """This tensor's version counter, made now if it has none (to be shared with a new alias)."""
        counter = self._version_counter
        if counter is None:
            counter = self._version_counter = [0, False, 0, 0]
        return counter

    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's storage has had (torch.Tensor._version)."""
        counter = self._version_counter
        return 0 if counter is None else counter[0]

    def _bump_version(self) -> None:
        """Record one in-place write of this tensor's storage (every in-place op calls it)."""
        counter = self._version_counter
        if counter is None:
            counter = self._version_counter = [0, False, 0, 0]
        counter[0] += 1
        clock = _write_clock[0] = _write_clock[0] + 1
        counter[3], counter[2] = counter[2], clock

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data

    # --- array attributes --------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each dimension, as torch.Tensor.shape."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """The number of dimensions, as torch.Tensor.ndim."""
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The element type (a NumPy dtype), as torch.Tensor.dtype."""
        return self._data.dtype

    @property
    def device(self) -> Device:
        """The nnx.device holding the data: device(type='cpu') or device(type='cuda', index=0)."""
        data = self._data
        return _CPU if type(data) is _ndarray else _device_of_array(data)

    @property
    def is_cuda(self) -> bool:
        """True for a tensor on a CUDA device, as torch.Tensor.is_cuda."""
        return _device_of_array(self._data).type == "cuda"

    @property
    def is_cpu(self) -> bool:
        """True for a tensor in host memory, as torch.Tensor.is_cpu."""
        return _device_of_array(self._data).type == "cpu"

    def get_device(self) -> int:
        """The CUDA device index, or -1 for a CPU tensor (torch.Tensor.get_device)."""
        found = _device_of_array(self._data)
        return -1 if found.type == "cpu" else found.index

    @property
    def T(self) -> Tensor:
        """The dimensions reversed (the transpose of a matrix), as torch.Tensor.T."""
        return self.permute(*range(self._data.ndim - 1, -1, -1))

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape, or (given dim) the size of that dimension, as torch.Tensor.size."""
        if dim is None:
            return self._data.shape
        return self._data.shape[_normalize_dim(dim, self._data.ndim)]

    def dim(self) -> int:
        """The number of dimensions, as torch.Tensor.dim."""
        return self._data.ndim

    def numel(self) -> int:
        """The number of elements, as torch.Tensor.numel."""
        return self._data.size

    def element_size(self) -> int:
        """The size of one element in bytes, as torch.Tensor.element_size."""
        return self._data.itemsize

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __repr__(self) -> str:
        extras, data = [], self._data
        if type(data) is not _ndarray:  # printed from a host copy, like PyTorch
            extras.append(f"device='{_device_of_array(data)}'")
            data = _host_copy(data)
        if data.dtype not in (_tensor_args.default_float(), np.dtype(np.int64), np.dtype(np.bool_)):
            extras.append(f"dtype=nnx.{data.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{type(self._ctx).__name__.removesuffix('Function')}Backward>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        body = np.array2string(data, separator=", ", prefix="tensor(", **_repr_format(data))
        return "tensor(" + body + "".join(", " + extra for extra in extras) + ")"

    # --- dtype and layout queries ------------------------------------------------------------------------
    def is_floating_point(self) -> bool:
        """True for a floating-point dtype, as torch.Tensor.is_floating_point."""
        return _is_float(self._data.dtype)

    def nelement(self) -> int:
        """The number of elements, as torch.Tensor.nelement."""
        return self._data.size

    ndimension = dim
    is_sparse = is_quantized = False

    def stride(self, dim: int | None = None) -> tuple[int, ...] | int:
        """Steps in elements (not bytes, as NumPy's strides) between neighbours along each dimension."""
        steps = tuple(step // self._data.itemsize for step in self._data.strides)
        return steps if dim is None else steps[_normalize_dim(dim, self._data.ndim)]

    @property
    def itemsize(self) -> int:
        """The size of one element in bytes, as torch.Tensor.itemsize."""
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        """The size of the data in bytes, as torch.Tensor.nbytes."""
        return self._data.nbytes


register_tensor_class(Tensor)


def _repr_format(data: np.ndarray) -> dict[str, Any]:
    """PyTorch's look: whole-valued floats print as `2.`, others with 4 decimals."""
    if not _is_float(data.dtype):
        return {}
    finite = data[np.isfinite(data)]
    if finite.size and np.all(finite == np.round(finite)) and np.abs(finite).max() < 1e8:
        return {"formatter": {"float_kind": lambda value: f"{value:.0f}." if np.isfinite(value) else str(value)}}
    return {"precision": 4, "floatmode": "fixed"}

