"""Tensor in-place ops (add_, +=, fill_, copy_, clamp_ ...) and random values (uniform_, normal_, random_,
multinomial): they write into the tensor's storage (views and aliases see it) and bump its version.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import random as _random
from ._grad_mode import _grad_state
from ._tensor_args import _as_operand, _index_array, _normalize_dim, default_float
from ._tensor_base import TensorBase, _write_clock, wrap
from ._tensor_factories import tensor
from .native.devices import fill_array, move_array, raise_if_mixed_devices, write_host_values

if TYPE_CHECKING:
    from typing import Any

    from numpy.typing import ArrayLike

    from ._tensor_base import Number, Operand
    from .tensor import Tensor

# nnx.autograd and nnx.ops sit above the Tensor class (their Functions build Tensors): nnx._tensor_wiring hands them to
# this module when it is imported, before any Tensor method can run.
_autograd = _ops = None


class InPlaceMixin:
    """In-place ops and random fills of nnx.Tensor."""

    __slots__ = ()

    def _check_inplace(self, name: str) -> None:
        """Before an in-place write that autograd cannot record: PyTorch's error on a tensor that requires
        grad while grad mode is on; then the write counts as a new version of the storage."""
        if self._requires_grad and _grad_state.enabled:
            if self._ctx is None:
                raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an in-place "
                                   "operation; wrap it in nnx.no_grad() or use .data")
            raise RuntimeError(f"{name}: in-place operations on tensors that are part of the autograd graph are "
                               "not supported by nnx for this op; use the out-of-place form")
        self._bump_version()

    def _in_place(self, name: str, ufunc: np.ufunc, function: Any, other: Operand) -> Tensor:
        """self (op)= other, as PyTorch's in-place arithmetic: the result is written into this tensor's storage
        in this tensor's dtype (RuntimeError when the result's dtype cannot be cast to it: int /= 2, or its
        shape differs). Under grad mode with a tensor that requires grad, the op is recorded: this tensor
        object becomes the op's output; a leaf that requires grad is refused. NotImplemented for operands
        that are not numbers or arrays."""
        if isinstance(other, TensorBase):
            if other._requires_grad and _grad_state.enabled:
                return self._in_place_recorded(name, ufunc, function, other)
            operand = other._data
        else:
            operand = _as_operand(other)
            if operand is NotImplemented:
                return NotImplemented
        if self._requires_grad and _grad_state.enabled:
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

    def _in_place_recorded(self, name: str, ufunc: np.ufunc, function: Any, other: Operand) -> Tensor:
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
        stand_in = wrap(data.copy() if kept else data)
        if not kept:
            stand_in._version_counter = self._shared_version_counter()
        stand_in._requires_grad, stand_in._ctx = self._requires_grad, self._ctx
        if not isinstance(other, TensorBase):
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

    def add_(self, other: Operand, alpha: Number = 1) -> Tensor:
        """In-place self += alpha * other, as torch.Tensor.add_."""
        if alpha != 1:
            other = other * alpha
        result = self._in_place("add_", np.add, _ops.Add, other)
        return result if result is not NotImplemented else _refuse_operand("add_", other)

    def sub_(self, other: Operand, alpha: Number = 1) -> Tensor:
        """In-place self -= alpha * other, as torch.Tensor.sub_."""
        if alpha != 1:
            other = other * alpha
        result = self._in_place("sub_", np.subtract, _ops.Sub, other)
        return result if result is not NotImplemented else _refuse_operand("sub_", other)

    def mul_(self, other: Operand) -> Tensor:
        """In-place self *= other, as torch.Tensor.mul_."""
        result = self._in_place("mul_", np.multiply, _ops.Mul, other)
        return result if result is not NotImplemented else _refuse_operand("mul_", other)

    def div_(self, other: Operand) -> Tensor:
        """In-place self /= other, as torch.Tensor.div_."""
        result = self._in_place("div_", np.true_divide, _ops.Div, other)
        return result if result is not NotImplemented else _refuse_operand("div_", other)

    def pow_(self, exponent: Operand) -> Tensor:
        """In-place self **= exponent, as torch.Tensor.pow_."""
        result = self._in_place("pow_", np.power, _ops.Pow, exponent)
        return result if result is not NotImplemented else _refuse_operand("pow_", exponent)

    def __iadd__(self, other: Operand) -> Tensor:
        return self._in_place("+=", np.add, _ops.Add, other)

    def __isub__(self, other: Operand) -> Tensor:
        return self._in_place("-=", np.subtract, _ops.Sub, other)

    def __imul__(self, other: Operand) -> Tensor:
        return self._in_place("*=", np.multiply, _ops.Mul, other)

    def __itruediv__(self, other: Operand) -> Tensor:
        return self._in_place("/=", np.true_divide, _ops.Div, other)

    def __ifloordiv__(self, other: Operand) -> Tensor:
        return self._in_place("//=", np.floor_divide, None, other)

    def __ipow__(self, other: Operand) -> Tensor:
        return self._in_place("**=", np.power, _ops.Pow, other)

    # No __imatmul__, as in PyTorch: `a @= b` rebinds a to the new tensor a @ b (any shape).

    def _in_place_bitwise(self, name: str, ufunc: np.ufunc, other: Operand) -> Tensor:
        if self._data.dtype.kind not in "iub":
            raise TypeError(f"{name} (bitwise) needs a bool or integer tensor, got dtype {self.dtype}")
        return self._in_place(name, ufunc, None, other)

    def __iand__(self, other: Operand) -> Tensor:
        return self._in_place_bitwise("&=", np.bitwise_and, other)

    def __ior__(self, other: Operand) -> Tensor:
        return self._in_place_bitwise("|=", np.bitwise_or, other)

    def __ixor__(self, other: Operand) -> Tensor:
        return self._in_place_bitwise("^=", np.bitwise_xor, other)

    def clamp_(self, min: Number | None = None, max: Number | None = None) -> Tensor:
        """In-place clamp to [min, max], as torch.Tensor.clamp_."""
        self._check_inplace("clamp_")
        np.clip(self._data, min, max, out=self._data)
        return self

    def zero_(self) -> Tensor:
        """Fill with zeros in place, as torch.Tensor.zero_."""
        return self.fill_(0)

    def fill_(self, value: Number | Tensor) -> Tensor:
        """Fill with value in place, as torch.Tensor.fill_."""
        self._check_inplace("fill_")
        fill_array(self._data, value.item() if isinstance(value, TensorBase) else value)
        return self

    def copy_(self, src: Tensor | ArrayLike) -> Tensor:
        """Copy src's values into this tensor (broadcast, cast); src may live on another device (as in
        PyTorch, copy_ is the one op that moves data between devices)."""
        self._check_inplace("copy_")
        src = src._data if isinstance(src, TensorBase) else np.asarray(src)
        if type(src) is not type(self._data):
            src = move_array(src, self.device)
        np.copyto(self._data, np.broadcast_to(src, self._data.shape), casting="unsafe")
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        """Fill with U(a, b) from nnx's seeded generator (drawn on the host, so every device gets the
        values a CPU tensor would)."""
        self._check_inplace("uniform_")
        write_host_values(self._data, _random.numpy_generator().uniform(a, b, size=self._data.shape))
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        """Fill with N(mean, std**2) from nnx's seeded generator, as torch.Tensor.normal_."""
        self._check_inplace("normal_")
        write_host_values(self._data, _random.numpy_generator().normal(mean, std, size=self._data.shape))
        return self

    def scatter_(self, dim: int, index: Tensor | ArrayLike, src: Tensor | ArrayLike | None = None,
                 value: Number | None = None) -> Tensor:
        """self[index[i][j]][j] = src[i][j] (or value) along dim, in place (torch.Tensor.scatter_, no reduce)."""
        self._check_inplace("scatter_")
        axis = _normalize_dim(dim, self._data.ndim)
        index = _index_array(index, "index")
        if (src is None) == (value is None):
            raise TypeError("scatter_(): give exactly one of src (a Tensor) or value (a number)")
        positions = list(np.indices(index.shape, sparse=True))
        positions[axis] = index
        if src is not None:
            src = src._data if isinstance(src, TensorBase) else np.asarray(src)
            value = src[tuple(slice(0, n) for n in index.shape)]
        self._data[tuple(positions)] = value
        return self

    def random_(self, from_: int = 0, to: int | None = None) -> Tensor:
        """Fill with integers drawn uniformly from [from_, to) (to=None: [0, from_) when from_ is given alone)."""
        self._check_inplace("random_")
        low, high = (0, from_) if to is None and from_ else (from_, to)
        if high is None:
            raise TypeError("random_(): give the upper bound `to`")
        write_host_values(self._data, _random.numpy_generator().integers(low, high, size=self._data.shape))
        return self

    def multinomial(self, num_samples: int, replacement: bool = False) -> Tensor:
        """Indices drawn from each row of non-negative weights (1-D input: one row), as torch.multinomial."""
        weights = np.asarray(self.detach().cpu().numpy(), dtype=np.float64)
        rows = np.atleast_2d(weights)
        if rows.ndim != 2 or np.any(rows < 0) or not np.all(np.isfinite(rows)) or np.any(rows.sum(axis=1) <= 0):
            raise RuntimeError("multinomial(): input must be a 1-D or 2-D tensor of non-negative, finite weights "
                               "with a non-zero sum per row")
        if not replacement and num_samples > rows.shape[1]:
            raise RuntimeError(f"multinomial(): cannot sample num_samples={num_samples} > {rows.shape[1]} categories "
                               "without replacement")
        generator = _random.numpy_generator()
        samples = np.stack([generator.choice(rows.shape[1], num_samples, replace=replacement, p=row / row.sum())
                            for row in rows])
        return tensor(samples if weights.ndim == 2 else samples[0], dtype=np.int64, device=self.device)

    multiply_, divide_, true_divide_, subtract_ = mul_, div_, div_, sub_  # torch's other names


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
    raise_if_mixed_devices((data, operand), error)
    try:
        shape = np.broadcast_shapes(data.shape, getattr(operand, "shape", ()))
    except ValueError:
        shape = None
    try:  # the result dtype, from one element of each operand (ufuncs promote by dtype, not by values)
        sample = operand.reshape(-1)[:1] if getattr(operand, "ndim", 0) else operand
        dtype = ufunc(data.reshape(-1)[:1], sample).dtype
        if dtype == np.float64 and np.float64 not in (data.dtype, getattr(operand, "dtype", None)):
            dtype = default_float()  # PyTorch's promotion: integers and Python floats give float32
    except Exception:
        dtype = None
    try:
        _check_in_place_result(name, data, shape, dtype)
    except RuntimeError as mismatch:
        raise mismatch from error
    raise error
