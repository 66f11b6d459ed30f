"""torch functions that are short compositions of nnx's differentiable ops, elementwise and reducing (atan2, hypot,
logaddexp, xlogy, aminmax, cummax, diff ...), plus the value-only searches and counts (isin, bincount, histc,
searchsorted ...). Their gradients are those ops' gradients. Collected by nnx._composite.
"""
import math

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
def atan2(input, other):
    """The angle of (other, input), differentiable: d/dy = x / (x² + y²), d/dx = -y / (x² + y²)."""
    return _Atan2.apply(input, _operand(other, input))


arctan2 = atan2


def hypot(input, other):
    return (input.square() + _operand(other, input).square()).sqrt()


def logaddexp(input, other):
    """log(exp(a) + exp(b)) without overflow."""
    other = _operand(other, input)
    return input.maximum(other) + (-(input - other).abs()).exp().log1p()


def logaddexp2(input, other):
    ln2 = math.log(2.0)
    return logaddexp(input * ln2, _operand(other, input) * ln2) / ln2


def xlogy(input, other):
    """input * log(other), 0 where input is 0 (also when other is 0)."""
    other = _operand(other, input)
    safe = where(input == 0, 1.0, other)
    return where(input == 0, 0.0, input * safe.log())


def fmax(input, other):
    """maximum that ignores NaN: the other value where one side is NaN."""
    other = _operand(other, input)
    return where(input.isnan(), other, where(other.isnan(), input, input.maximum(other)))


def fmin(input, other):
    other = _operand(other, input)
    return where(input.isnan(), other, where(other.isnan(), input, input.minimum(other)))


def copysign(input, other):
    other = other._data if isinstance(other, Tensor) else other
    return where(Tensor._wrap(_as_array(np.signbit(np.broadcast_to(other, input.shape)))), -input.abs(), input.abs())


def deg2rad(input):
    return input * (math.pi / 180.0)


def rad2deg(input):
    return input * (180.0 / math.pi)


def positive(input):
    return input


def float_power(input, exponent):
    """input ** exponent in float64 (as torch.float_power)."""
    exponent = exponent.double() if isinstance(exponent, Tensor) else exponent
    return input.double() ** exponent


def ldexp(input, other):
    return input * 2.0 ** _operand(other, input).double().to(input.dtype)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN -> nan, +inf -> posinf (default: the dtype's largest), -inf -> neginf (its lowest)."""
    info = np.finfo(input.dtype) if input.is_floating_point() else None
    if info is None:
        return input
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    return where(input.isnan(), nan, where(input.isposinf(), posinf, where(input.isneginf(), neginf, input)))


def logit(input, eps=None):
    """log(p / (1 - p)), p clamped to [eps, 1 - eps] when eps is given."""
    p = input if eps is None else input.clamp(eps, 1 - eps)
    return (p / (1 - p)).log()


def heaviside(input, values):
    """0 below zero, 1 above, `values` at zero (no gradient)."""
    values = values._data if isinstance(values, Tensor) else values
    return Tensor._wrap(_as_array(np.heaviside(input._data, values)))


def gcd(input, other):
    return Tensor._wrap(_as_array(np.gcd(input._data, other._data if isinstance(other, Tensor) else other)))


def lcm(input, other):
    return Tensor._wrap(_as_array(np.lcm(input._data, other._data if isinstance(other, Tensor) else other)))


# --- reductions and scans -------------------------------------------------------------------------------------------
def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) in one call, as torch.aminmax."""
    return _MinMax(input.amin(dim, keepdim=keepdim), input.amax(dim, keepdim=keepdim))


class _MinMax(tuple):
    def __new__(cls, min, max):
        return super().__new__(cls, (min, max))

    min = property(lambda self: self[0])
    max = property(lambda self: self[1])


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (input.std(dim, unbiased, keepdim, correction=correction), input.mean(dim, keepdim=keepdim))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (input.var(dim, unbiased, keepdim, correction=correction), input.mean(dim, keepdim=keepdim))


def logcumsumexp(input, dim):
    """log(cumsum(exp(x))) along dim, shifted by the (constant) max along dim."""
    axis = _normalize_dim(dim, input.ndim)
    shift = Tensor._wrap(np.max(input._data, axis=axis, keepdims=True))
    shift = where(shift.isfinite(), shift, 0.0)
    return (input - shift).exp().cumsum(axis).log() + shift


def cummax(input, dim):
    return _cumulative_extreme(input, dim, np.maximum)


def cummin(input, dim):
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


def msort(input):
    return input.sort(0).values


def diff(input, n=1, dim=-1, prepend=None, append=None):
    axis = _normalize_dim(dim, input.ndim)
    if prepend is not None or append is not None:
        parts = [p for p in (prepend, input, append) if p is not None]
        input = cat([_operand(p, input) for p in parts], axis)
    for _ in range(n):
        length = input.shape[axis]
        input = input.narrow(axis, 1, length - 1) - input.narrow(axis, 0, length - 1)
    return input


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal rule along dim, with sample points x or a spacing dx (default 1)."""
    axis = _normalize_dim(dim, y.ndim)
    length = y.shape[axis]
    average = (y.narrow(axis, 1, length - 1) + y.narrow(axis, 0, length - 1)) / 2
    if x is None:
        return average.sum(axis) * (1.0 if dx is None else dx)
    return (average * diff(_operand(x, y), dim=-1 if x.ndim == 1 else axis)).sum(axis)


trapz = trapezoid


def dist(input, other, p=2):
    return (input - other).norm(p)



# --- values without gradient ----------------------------------------------------------------------------------------
def isin(elements, test_elements, *, invert=False):
    values = test_elements._data if isinstance(test_elements, Tensor) else test_elements
    data = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    return Tensor._wrap(_as_array(np.isin(data, values, invert=invert)))


def bincount(input, weights=None, minlength=0):
    data = _index_array(input, "input")
    if data.ndim != 1 or (data.size and data.min() < 0):
        raise RuntimeError("bincount(): input must be a 1-D tensor of non-negative integers")
    counts = np.bincount(data, None if weights is None else weights._data, minlength)
    return Tensor._wrap(counts if weights is not None else counts.astype(np.int64))


def histc(input, bins=100, min=0, max=0):
    data = input._data
    low, high = (data.min(), data.max()) if min == max else (min, max)
    counts, _ = np.histogram(data, bins=bins, range=(float(low), float(high)))
    return Tensor._wrap(counts.astype(data.dtype))


def searchsorted(sorted_sequence, values, *, right=False, side=None):
    side = side or ("right" if right else "left")
    sequence = sorted_sequence._data
    data = values._data if isinstance(values, Tensor) else np.asarray(values)
    if sequence.ndim == 1:
        found = np.searchsorted(sequence, data, side=side)
    else:
        found = np.stack([np.searchsorted(row, value, side=side) for row, value in zip(sequence, data)])
    return Tensor._wrap(_as_array(found, np.int64))


def bucketize(input, boundaries, *, right=False):
    return searchsorted(boundaries, input, side="left" if not right else "right")


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
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


def is_nonzero(input):
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


def is_complex(input):
    return False


def is_storage(obj):
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

