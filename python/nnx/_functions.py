"""The torch namespace as functions: nnx.exp(x), nnx.max(x, dim=1), nnx.linspace(...), nnx.einsum(...).

Most are the Tensor method of the same name called on the first argument (one table, METHOD_FUNCTIONS), so
a function and its method can never disagree; the rest (creation, random, grad modes, einsum) are written
out below. Names PyTorch code commonly calls that nnx deliberately lacks raise NotProvidedError naming the
alternative (the module `__getattr__`, re-exported by nnx).
"""
from __future__ import annotations

import builtins  # this module defines all, any, max, min, sum, abs, round, pow: the builtins are builtins.<name>
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _composite, _math_ops, _tensor_args
from . import autograd as _autograd
from . import random as _random
from ._dtypes import DeviceLike, DTypeLike
from ._not_provided import NOT_PROVIDED_FUNCTIONS, NotProvidedError
from .tensor import Tensor, _check_dtype, _shape_arg, tensor

_tensor = sys.modules[__package__ + ".tensor"]  # the module (nnx.tensor the attribute is the function)

# nnx.<name>(input, *args, **kwargs) == input.<name>(*args, **kwargs): NumPy's axis=/keepdims= included.
METHOD_FUNCTIONS = (
    # elementwise math
    "abs", "absolute", "neg", "negative", "exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt",
    "square", "sin", "cos", "tan", "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh", "asinh",
    "acosh", "atanh", "arcsinh", "arccosh", "arctanh", "sigmoid", "tanh", "relu", "reciprocal", "sign", "sgn",
    "floor", "ceil", "trunc", "fix", "frac", "round", "clamp", "clip", "clamp_min", "clamp_max", "maximum", "minimum",
    "mul", "multiply", "true_divide", "floor_divide", "remainder", "fmod", "matmul", "mm", "bmm", "mv", "dot",
    "outer", "ger",
    # reductions, scans, sorting
    "sum", "mean", "std", "var", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "all", "any", "logsumexp",
    "norm", "cumsum", "cumprod", "count_nonzero", "median", "sort", "argsort", "topk", "unique", "softmax",
    "log_softmax",
    # comparisons and logic
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal", "equal",
    "allclose", "isclose", "isnan", "isfinite", "isinf", "isposinf", "isneginf", "signbit", "logical_not",
    "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    # shape, indexing, copies
    "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "transpose", "swapaxes", "swapdims", "t", "permute",
    "movedim", "moveaxis", "chunk", "split", "gather", "index_select", "masked_fill", "narrow", "flip", "roll",
    "repeat_interleave", "nonzero", "argwhere", "diag", "diagonal", "trace", "tril", "triu", "clone", "numel",
    "is_floating_point", "detach", "select",
    # random
    "multinomial",
)


def _method_function(name: str) -> Callable[..., Any]:
    method = getattr(Tensor, name)

    def function(input: Tensor, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' must be a Tensor, got {type(input).__name__}")
        return method(input, *args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"nnx.{name}(input, ...) is input.{name}(...), as torch.{name}."
    return function


METHOD_FUNCTIONS += _composite.METHODS
globals().update({name: _method_function(name) for name in METHOD_FUNCTIONS})
globals().update({name: getattr(_composite, name) for name in _composite.FUNCTIONS if name not in METHOD_FUNCTIONS})


# --- arithmetic whose torch function takes more than the method, or a number first ---------------------------------
def add(input: Tensor | float, other: Tensor | float, *, alpha: float = 1) -> Tensor:
    """input + alpha * other."""
    return input + (other if alpha == 1 else other * alpha)


def sub(input: Tensor | float, other: Tensor | float, *, alpha: float = 1) -> Tensor:
    """input - alpha * other."""
    return input - (other if alpha == 1 else other * alpha)


subtract = sub


def div(input: Tensor | float, other: Tensor | float, *, rounding_mode: str | None = None) -> Tensor:
    """input / other; rounding_mode 'trunc' or 'floor' rounds the quotient (then without gradient)."""
    if rounding_mode is None:
        return input / other
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div(): rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    quotient = (input / other).detach()
    return quotient.trunc() if rounding_mode == "trunc" else quotient.floor()


divide = div


def pow(input: Tensor | float, exponent: Tensor | float) -> Tensor:  # noqa: A001  (torch.pow; input may be a number)
    """input raised to the power exponent, elementwise."""
    return input ** exponent


def einsum(equation: str, *operands: Tensor | Sequence[Tensor]) -> Tensor:
    """Einstein summation over tensors, differentiable in every operand (operands may also come as one list)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for position, operand in enumerate(operands):
        if not isinstance(operand, Tensor):
            raise TypeError(f"einsum(): operand {position} must be a Tensor, got {type(operand).__name__}")
    equation = _math_ops.einsum_equation(equation, [operand.ndim for operand in operands])
    return _math_ops.Einsum.apply(equation, *operands)


def meshgrid(*tensors: Tensor | Sequence[Tensor], indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors (indexing 'ij' as torch's default, or 'xy'); differentiable."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid(): indexing must be 'ij' or 'xy', got {indexing!r}")
    sizes = [t.numel() for t in tensors]
    if indexing == "xy" and len(tensors) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for position, t in enumerate(tensors):
        axis = position if indexing == "ij" or len(tensors) < 2 else (1, 0, *range(2, len(tensors)))[position]
        shape = [1] * len(tensors)
        shape[axis] = t.numel()
        grids.append(t.reshape(shape).expand(sizes))
    return tuple(grids)


# --- creation ---------------------------------------------------------------------------------------------------------
def is_tensor(obj: object) -> bool:
    """True if obj is an nnx Tensor."""
    return isinstance(obj, Tensor)


def as_tensor(data: Any, dtype: DTypeLike | None = None, device: DeviceLike | None = None) -> Tensor:
    """data as a Tensor without a copy where possible: a Tensor of the right dtype and device is returned
    itself, a NumPy array of a dtype nnx holds is shared (as torch.as_tensor); anything else is copied."""
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device)
    if (isinstance(data, np.ndarray) and (dtype is None or _check_dtype(dtype) == data.dtype)
            and device in (None, "cpu")):
        return Tensor(data)
    return tensor(data, dtype=dtype, device=device)


def linspace(start: float, end: float, steps: int, dtype: DTypeLike | None = None, device: DeviceLike | None = None,
             requires_grad: bool = False) -> Tensor:
    """steps values evenly spaced from start to end, inclusive."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise RuntimeError(f"linspace(): number of steps must be a non-negative int, got {steps!r}")
    values = np.linspace(start, end, int(steps), dtype=np.float64)
    return tensor(values, dtype=_default_float() if dtype is None else dtype, device=device,
                  requires_grad=requires_grad)


def logspace(start: float, end: float, steps: int, base: float = 10.0, dtype: DTypeLike | None = None,
             device: DeviceLike | None = None, requires_grad: bool = False) -> Tensor:
    """steps values evenly spaced on a log scale from base**start to base**end, inclusive."""
    values = np.logspace(start, end, int(steps), base=base, dtype=np.float64)
    return tensor(values, dtype=_default_float() if dtype is None else dtype, device=device,
                  requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: DTypeLike | None = None, device: DeviceLike | None = None,
        requires_grad: bool = False) -> Tensor:
    """A 2-D tensor with ones on the diagonal and zeros elsewhere (n rows, m columns, m defaulting to n)."""
    values = np.eye(n, n if m is None else m)
    return tensor(values, dtype=_default_float() if dtype is None else dtype, device=device,
                  requires_grad=requires_grad)


# --- random (nnx's seeded generator: nnx.manual_seed fixes every value) -----------------------------------------------
def randint(low: int = 0, high: int | None = None, size: int | Sequence[int] | None = None, *,
            dtype: DTypeLike | None = None, device: DeviceLike | None = None, requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high): randint(high, size) or randint(low, high, size)."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if high is None or size is None:
        raise TypeError("randint() needs high and size: randint(high, size) or randint(low, high, size)")
    if high <= low:
        raise RuntimeError(f"randint(): expected low < high, got low={low}, high={high}")
    values = _random.numpy_generator().integers(low, high, size=_shape_arg((size,)))
    return tensor(values, dtype=np.int64 if dtype is None else dtype, device=device, requires_grad=requires_grad)


def randperm(n: int, *, dtype: DTypeLike | None = None, device: DeviceLike | None = None,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of 0 .. n-1."""
    values = _random.numpy_generator().permutation(int(n))
    return tensor(values, dtype=np.int64 if dtype is None else dtype, device=device, requires_grad=requires_grad)


def rand_like(input: Tensor, *, dtype: DTypeLike | None = None, device: DeviceLike | None = None,
              requires_grad: bool = False) -> Tensor:
    """Uniform values in [0, 1) of input's shape (and, unless given, its dtype and device)."""
    return _tensor.rand(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                        requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype: DTypeLike | None = None, device: DeviceLike | None = None,
               requires_grad: bool = False) -> Tensor:
    """Standard normal values of input's shape (and, unless given, its dtype and device)."""
    return _tensor.randn(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                         requires_grad=requires_grad)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *, dtype: DTypeLike | None = None,
                 device: DeviceLike | None = None, requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high) of input's shape: randint_like(input, high) or (input, low, high)."""
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype, device=device or input.device,
                   requires_grad=requires_grad)


def normal(mean: Tensor | float, std: Tensor | float, size: int | Sequence[int] | None = None, *,
           dtype: DTypeLike | None = None, device: DeviceLike | None = None, requires_grad: bool = False) -> Tensor:
    """Normal values: normal(mean_tensor, std_tensor) elementwise, or normal(mean, std, size) of floats."""
    if size is not None:
        return _tensor.randn(_shape_arg((size,)), dtype=dtype, device=device) * std + mean
    shape = np.broadcast_shapes(getattr(mean, "shape", ()), getattr(std, "shape", ()))
    like = mean if isinstance(mean, Tensor) else std
    return _tensor.randn(shape, dtype=like.dtype, device=like.device) * std + mean


# --- grad modes and the default dtype ---------------------------------------------------------------------------------
class inference_mode(_autograd._GradMode):
    """torch.inference_mode: nnx has no separate inference tensors, so this is no_grad (mode=False: grad on)."""

    def __new__(cls, mode: bool | Callable[..., Any] = True) -> Any:
        if callable(mode):  # used as a bare decorator: @nnx.inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode


def is_inference_mode_enabled() -> bool:
    """True inside inference_mode (in nnx: whenever gradients are off)."""
    return not _autograd.is_grad_enabled()


def get_default_dtype() -> type:
    """The dtype of floating point tensors made without one (nnx.float32 unless set_default_dtype changed it)."""
    return _default_float().type


def set_default_dtype(d: DTypeLike) -> None:
    """Make float32 or float64 the dtype of new floating point tensors (zeros, randn, tensor([1.0]) ...)."""
    dtype = _check_dtype(d, "d")
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"set_default_dtype(): only float32 and float64 are supported, got {dtype}")
    _tensor_args.set_default_float(dtype)


def _default_float() -> np.dtype:
    return _tensor_args.default_float()


# --- names nnx deliberately lacks -------------------------------------------------------------------------------------
def raise_if_not_provided(name: str) -> None:
    """NotProvidedError (an AttributeError, so hasattr() stays False) naming the alternative, for a PyTorch
    name nnx deliberately lacks; nothing for other names. Called by nnx's module __getattr__."""
    alternative = NOT_PROVIDED_FUNCTIONS.get(name)
    if alternative is not None:
        raise NotProvidedError(f"nnx.{name} is not provided: {alternative}")


concat = concatenate = _tensor.cat
pi, e, inf, nan, newaxis = math.pi, math.e, math.inf, math.nan, None
Size = tuple  # nnx shapes are plain tuples: nnx.Size([2, 3]) == x.shape


def _legacy_constructor(dtype: type) -> Callable[..., Tensor]:
    """torch.FloatTensor / LongTensor ...: sizes give an uninitialised tensor, data a copy of the data."""
    def constructor(*args: Any) -> Tensor:
        """A tensor of this type: sizes give an uninitialised one, one sequence of data a copy of the data."""
        if args and builtins.all(isinstance(arg, (int, np.integer)) and not isinstance(arg, bool) for arg in args):
            return _tensor.empty(*args, dtype=dtype)
        if len(args) != 1:
            raise TypeError("expected sizes (ints) or one sequence of data")
        return tensor(args[0], dtype=dtype)
    return constructor


FloatTensor, DoubleTensor, HalfTensor = (_legacy_constructor(t) for t in (np.float32, np.float64, np.float16))
LongTensor, IntTensor, ShortTensor = (_legacy_constructor(t) for t in (np.int64, np.int32, np.int16))
ByteTensor, CharTensor, BoolTensor = (_legacy_constructor(t) for t in (np.uint8, np.int8, np.bool_))


def namespace() -> dict[str, Any]:
    """The public functions and constants defined here, for nnx's namespace."""
    return {name: value for name, value in globals().items()
            if not name.startswith("_") and name not in _NOT_EXPORTED}


_NOT_EXPORTED = {"annotations", "builtins", "math", "sys", "np", "Any", "Callable", "Sequence", "DTypeLike",
                 "DeviceLike", "Tensor", "tensor", "NOT_PROVIDED_FUNCTIONS",
                 "METHOD_FUNCTIONS", "namespace", "raise_if_not_provided"}
