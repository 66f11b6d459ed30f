"""torch functions that are short compositions of nnx's differentiable ops, elementwise and reducing (atan2, hypot,
logaddexp, xlogy, aminmax, cummax, diff ...), plus the value-only searches and counts (isin, bincount, histc,
searchsorted ...). Their gradients are those ops' gradients. Collected by nnx._composite.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .autograd import Function
from .ops import unbroadcast
from .tensor import MinMaxResult, Tensor, _as_array, _index_array, _normalize_dim, cat, tensor, where


def _operand(value, like):
    """value as a Tensor on like's dtype family (numbers become tensors of like's dtype)."""
    if isinstance(value, Tensor):
        return value
    return tensor(value, dtype=like.dtype if not isinstance(value, np.ndarray) else None)


# --- elementwise ----------------------------------------------------------------------------------------------------
def atan2(input: Tensor, other: Tensor | float) -> Tensor:
    """The angle of (other, input), differentiable: d/dy = x / (x² + y²), d/dx = -y / (x² + y²)."""
    return _Atan2.apply(input, _operand(other, input))


arctan2 = atan2


def hypot(input: Tensor, other: Tensor | float) -> Tensor:
    """sqrt(input² + other²), elementwise."""
    return (input.square() + _operand(other, input).square()).sqrt()


def logaddexp(input: Tensor, other: Tensor | float) -> Tensor:
    """log(exp(a) + exp(b)) without overflow."""
    other = _operand(other, input)
    return input.maximum(other) + (-(input - other).abs()).exp().log1p()


def logaddexp2(input: Tensor, other: Tensor | float) -> Tensor:
    """log2(2**input + 2**other) without overflow."""
    ln2 = math.log(2.0)
    return logaddexp(input * ln2, _operand(other, input) * ln2) / ln2


def xlogy(input: Tensor | float, other: Tensor | float) -> Tensor:
    """input * log(other), 0 where input is 0 (also when other is 0)."""
    other = _operand(other, input)
    safe = where(input == 0, 1.0, other)
    return where(input == 0, 0.0, input * safe.log())


def fmax(input: Tensor, other: Tensor | float) -> Tensor:
    """maximum that ignores NaN: the other value where one side is NaN."""
    other = _operand(other, input)
    return where(input.isnan(), other, where(other.isnan(), input, input.maximum(other)))


def fmin(input: Tensor, other: Tensor | float) -> Tensor:
    """minimum that ignores NaN: the other value where one side is NaN."""
    other = _operand(other, input)
    return where(input.isnan(), other, where(other.isnan(), input, input.minimum(other)))


def copysign(input: Tensor, other: Tensor | float) -> Tensor:
    """input's magnitude with other's sign, elementwise."""
    other = other._data if isinstance(other, Tensor) else other
    return where(Tensor._wrap(_as_array(np.signbit(np.broadcast_to(other, input.shape)))), -input.abs(), input.abs())


def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians."""
    return input * (math.pi / 180.0)


def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees."""
    return input * (180.0 / math.pi)


def positive(input: Tensor) -> Tensor:
    """input itself (as torch.positive)."""
    return input


def float_power(input: Tensor | float, exponent: Tensor | float) -> Tensor:
    """input ** exponent in float64 (as torch.float_power)."""
    exponent = exponent.double() if isinstance(exponent, Tensor) else exponent
    return input.double() ** exponent


def ldexp(input: Tensor, other: Tensor | int) -> Tensor:
    """input * 2**other."""
    return input * 2.0 ** _operand(other, input).double().to(input.dtype)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """NaN -> nan, +inf -> posinf (default: the dtype's largest), -inf -> neginf (its lowest)."""
    info = np.finfo(input.dtype) if input.is_floating_point() else None
    if info is None:
        return input
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    return where(input.isnan(), nan, where(input.isposinf(), posinf, where(input.isneginf(), neginf, input)))


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """log(p / (1 - p)), p clamped to [eps, 1 - eps] when eps is given."""
    p = input if eps is None else input.clamp(eps, 1 - eps)
    return (p / (1 - p)).log()


def heaviside(input: Tensor, values: Tensor | float) -> Tensor:
    """0 below zero, 1 above, `values` at zero (no gradient)."""
    values = values._data if isinstance(values, Tensor) else values
    return Tensor._wrap(_as_array(np.heaviside(input._data, values)))


def gcd(input: Tensor, other: Tensor | int) -> Tensor:
    """The greatest common divisor, elementwise (integer tensors)."""
    return Tensor._wrap(_as_array(np.gcd(input._data, other._data if isinstance(other, Tensor) else other)))


def lcm(input: Tensor, other: Tensor | int) -> Tensor:
    """The least common multiple, elementwise (integer tensors)."""
    return Tensor._wrap(_as_array(np.lcm(input._data, other._data if isinstance(other, Tensor) else other)))


# --- reductions and scans -------------------------------------------------------------------------------------------
def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False) -> tuple[Tensor, Tensor]:
    """(min, max) in one call, as torch.aminmax."""
    return _MinMax(input.amin(dim, keepdim=keepdim), input.amax(dim, keepdim=keepdim))


class _MinMax(tuple):
    def __new__(cls, min, max):
        return super().__new__(cls, (min, max))

    min = property(lambda self: self[0])
    max = property(lambda self: self[1])


def std_mean(input: Tensor, dim: int | Sequence[int] | None = None, unbiased: bool | None = None,
             keepdim: bool = False, *, correction: float | None = None) -> tuple[Tensor, Tensor]:
    """(standard deviation, mean) over dim, as torch.std_mean."""
    return (input.std(dim, unbiased, keepdim, correction=correction), input.mean(dim, keepdim=keepdim))


def var_mean(input: Tensor, dim: int | Sequence[int] | None = None, unbiased: bool | None = None,
             keepdim: bool = False, *, correction: float | None = None) -> tuple[Tensor, Tensor]:
    """(variance, mean) over dim, as torch.var_mean."""
    return (input.var(dim, unbiased, keepdim, correction=correction), input.mean(dim, keepdim=keepdim))


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """log(cumsum(exp(x))) along dim, shifted by the (constant) max along dim."""
    axis = _normalize_dim(dim, input.ndim)
    shift = Tensor._wrap(np.max(input._data, axis=axis, keepdims=True))
    shift = where(shift.isfinite(), shift, 0.0)
    return (input - shift).exp().cumsum(axis).log() + shift


def cummax(input: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """(values, indices) of the running maximum along dim."""
    return _cumulative_extreme(input, dim, np.maximum)


def cummin(input: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """(values, indices) of the running minimum along dim."""
    return _cumulative_extreme(input, dim, np.minimum)


def _cumulative_extreme(input, dim, ufunc):
    """(values, indices): the running max (min) along dim and where it was (the last such index on ties)."""
    axis = _normalize_dim(dim, input.ndim)
    data = np.moveaxis(input._data, axis, 0)
    running = ufunc.accumulate(data, axis=0)
    positions = np.arange(data.shape[0]).reshape((-1,) + (1,) * (data.ndim - 1))
    is_new = data == running  # each position holding the running extreme updates the index
    indices = np.maximum.accumulate(np.where(is_new, positions, 0), axis=0)
    indices = np.moveaxis(indices, 0, axis).astype(np.int64)
    return MinMaxResult(input.gather(axis, Tensor._wrap(indices)), Tensor._wrap(indices))


def msort(input: Tensor) -> Tensor:
    """input sorted along its first dimension."""
    return input.sort(0).values


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The n-th forward difference along dim (prepend/append joined to input first)."""
    axis = _normalize_dim(dim, input.ndim)
    if prepend is not None or append is not None:
        parts = [p for p in (prepend, input, append) if p is not None]
        input = cat([_operand(p, input) for p in parts], axis)
    for _ in range(n):
        length = input.shape[axis]
        input = input.narrow(axis, 1, length - 1) - input.narrow(axis, 0, length - 1)
    return input


def trapezoid(y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along dim, with sample points x or a spacing dx (default 1)."""
    axis = _normalize_dim(dim, y.ndim)
    length = y.shape[axis]
    average = (y.narrow(axis, 1, length - 1) + y.narrow(axis, 0, length - 1)) / 2
    if x is None:
        return average.sum(axis) * (1.0 if dx is None else dx)
    return (average * diff(_operand(x, y), dim=-1 if x.ndim == 1 else axis)).sum(axis)


trapz = trapezoid


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The p-norm of input - other."""
    return (input - other).norm(p)



# --- values without gradient ----------------------------------------------------------------------------------------
def isin(elements: Tensor, test_elements: Tensor | float | Sequence[float], *, invert: bool = False) -> Tensor:
    """True where an element of elements is in test_elements (no gradient)."""
    values = test_elements._data if isinstance(test_elements, Tensor) else test_elements
    data = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    return Tensor._wrap(_as_array(np.isin(data, values, invert=invert)))


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """The count (or the sum of weights) of each value in a 1-D tensor of non-negative integers."""
    data = _index_array(input, "input")
    if data.ndim != 1 or (data.size and data.min() < 0):
        raise RuntimeError("bincount(): input must be a 1-D tensor of non-negative integers")
    counts = np.bincount(data, None if weights is None else weights._data, minlength)
    return Tensor._wrap(counts if weights is not None else counts.astype(np.int64))


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """A histogram of bins equal bins between min and max (input's min and max when both are 0)."""
    data = input._data
    low, high = (data.min(), data.max()) if min == max else (min, max)
    counts, _ = np.histogram(data, bins=bins, range=(float(low), float(high)))
    return Tensor._wrap(counts.astype(data.dtype))


def searchsorted(sorted_sequence: Tensor, values: Tensor | float, *, right: bool = False,
                 side: str | None = None) -> Tensor:
    """The indices where values would be inserted into sorted_sequence to keep it sorted."""
    side = side or ("right" if right else "left")
    sequence = sorted_sequence._data
    data = values._data if isinstance(values, Tensor) else np.asarray(values)
    if sequence.ndim == 1:
        found = np.searchsorted(sequence, data, side=side)
    else:
        found = np.stack([np.searchsorted(row, value, side=side) for row, value in zip(sequence, data)])
    return Tensor._wrap(_as_array(found, np.int64))


def bucketize(input: Tensor | float, boundaries: Tensor, *, right: bool = False) -> Tensor:
    """The index of the bucket (between boundaries) each element of input falls in."""
    return searchsorted(boundaries, input, side="left" if not right else "right")


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None) -> Tensor | tuple[Tensor, ...]:
    """input with each run of equal consecutive elements reduced to one (and inverse indices and counts)."""
    data = input._data.reshape(-1) if dim is None else input._data
    if data.size == 0:
        starts = np.zeros(0, dtype=np.int64)
    else:
        starts = np.flatnonzero(np.concatenate([[True], data[1:] != data[:-1]]))
    result = [Tensor._wrap(data[starts])]
    if return_inverse:
        result.append(Tensor._wrap((np.cumsum(np.isin(np.arange(data.size), starts)) - 1).reshape(input.shape)))
    if return_counts:
        result.append(Tensor._wrap(np.diff(np.append(starts, data.size)).astype(np.int64)))
    return result[0] if len(result) == 1 else tuple(result)


def is_nonzero(input: Tensor) -> bool:
    """The truth of a one-element tensor."""
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


def is_complex(input: Tensor) -> bool:
    """False: nnx tensors hold no complex values."""
    return False


def is_storage(obj: object) -> bool:
    """False: nnx has no storage objects."""
    return False


class _Atan2(Function):
    @staticmethod
    def forward(ctx, y, x):
        ctx.y, ctx.x = y, x
        return np.arctan2(y, x)

    @staticmethod
    def backward(ctx, grad):
        y, x = ctx.y, ctx.x
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = grad / (x * x + y * y)
        return unbroadcast(scale * x, np.shape(y)), unbroadcast(-scale * y, np.shape(x))

