"""torch functions that are short compositions of nnx's differentiable ops (so their gradients are those
ops' gradients), plus a few value-only ones (bincount, isin ...). Names in METHODS are also Tensor methods
(attached in nnx.tensor); every name here is a function nnx.<name> (nnx._functions).
"""
import builtins
import math

import numpy as np

from .autograd import Function, no_grad
from .ops import unbroadcast
from .tensor import MinMaxResult, Tensor, _as_array, _index_array, _normalize_dim, cat, stack, tensor, where, zeros


def _operand(value, like):
    """value as a Tensor on like's dtype family (numbers become tensors of like's dtype)."""
    if isinstance(value, Tensor):
        return value
    return tensor(value, dtype=like.dtype if not isinstance(value, np.ndarray) else None)


# --- elementwise --------------------------------------------------------------------------------------------------------
def atan2(input, other):
    """The angle of (other, input), differentiable: d/dy = x / (x² + y²), d/dx = -y / (x² + y²)."""
    return _Atan2.apply(input, _operand(other, input))


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


# --- reductions and scans -------------------------------------------------------------------------------------------------
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


# --- shape ------------------------------------------------------------------------------------------------------------------
def ravel(input):
    return input.flatten()


def tile(input, dims):
    dims = tuple(dims)
    return input.repeat(*((1,) * (input.ndim - len(dims)) + dims))


def unbind(input, dim=0):
    axis = _normalize_dim(dim, input.ndim)
    return tuple(input.select(axis, i) for i in range(input.shape[axis]))


def take(input, index):
    return input.flatten()[_index_array(index, "index")]


def take_along_dim(input, indices, dim=None):
    if dim is None:
        return take(input, indices)
    return input.gather(dim, indices)


def masked_select(input, mask):
    mask = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    return input[np.broadcast_to(mask, input.shape)]


def tensor_split(input, indices_or_sections, dim=0):
    """Pieces along dim: n near-equal sections (the first ones one longer), or cut at the given indices."""
    axis = _normalize_dim(dim, input.ndim)
    length = input.shape[axis]
    if isinstance(indices_or_sections, int):
        sections = indices_or_sections
        if sections <= 0:
            raise RuntimeError(f"tensor_split(): number of sections must be larger than 0, got {sections}")
        size, extra = divmod(length, sections)
        bounds = np.cumsum([0] + [size + 1] * extra + [size] * (sections - extra))
    else:
        cuts = [builtins.min(builtins.max(int(i), 0), length) for i in indices_or_sections]
        bounds = [0] + cuts + [length]
    return tuple(input.narrow(axis, int(start), builtins.max(int(end) - int(start), 0))
                 for start, end in zip(bounds[:-1], bounds[1:]))


def hsplit(input, sections):
    return tensor_split(input, sections, 1 if input.ndim > 1 else 0)


def vsplit(input, sections):
    return tensor_split(input, sections, 0)


def dsplit(input, sections):
    return tensor_split(input, sections, 2)


def fliplr(input):
    return input.flip(1)


def flipud(input):
    return input.flip(0)


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90° k times in the plane dims, from the first axis towards the second (as torch.rot90)."""
    first, second = dims
    k %= 4
    if k == 1:
        return input.flip(second).transpose(first, second)
    if k == 2:
        return input.flip(first, second)
    if k == 3:
        return input.transpose(first, second).flip(second)
    return input


def atleast_1d(*tensors):
    return _atleast(tensors, 1)


def atleast_2d(*tensors):
    return _atleast(tensors, 2)


def atleast_3d(*tensors):
    return _atleast(tensors, 3)


def _atleast(tensors, ndim):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shaped = tuple(_at_least(t, ndim) for t in tensors)
    return shaped[0] if single else shaped


def _at_least(t, ndim):
    """t with NumPy's atleast_Nd shape: 0-d -> all ones, 1-d (n,) -> (1, n) or (1, n, 1), 2-d -> (m, n, 1)."""
    if t.ndim >= ndim:
        return t
    if ndim == 1 or t.ndim == 0:
        return t.reshape((1,) * ndim)
    if ndim == 2:
        return t.reshape(1, -1)
    return t.reshape(1, -1, 1) if t.ndim == 1 else t.unsqueeze(-1)


def hstack(tensors):
    tensors = [_at_least(t, 1) for t in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([_at_least(t, 2) for t in tensors], 0)


row_stack = vstack


def dstack(tensors):
    return cat([_at_least(t, 3) for t in tensors], 2)


def column_stack(tensors):
    columns = [t.reshape(t.numel(), 1) if t.ndim < 2 else t for t in tensors]
    return cat(columns, 1)


def broadcast_shapes(*shapes):
    return np.broadcast_shapes(*[(s,) if isinstance(s, int) else tuple(s) for s in shapes])


def broadcast_tensors(*tensors):
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t.expand(shape) for t in tensors)


def block_diag(*tensors):
    """The tensors (2-D, or lower: made 2-D) as blocks along the diagonal of one matrix."""
    blocks = [t.reshape(1, -1) if t.ndim == 1 else t.reshape(1, 1) if t.ndim == 0 else t for t in tensors]
    total = builtins.sum(b.shape[1] for b in blocks)
    rows, start = [], 0
    for b in blocks:
        parts = [zeros(b.shape[0], start, dtype=b.dtype), b, zeros(b.shape[0], total - start - b.shape[1], dtype=b.dtype)]
        rows.append(cat(parts, 1))
        start += b.shape[1]
    return cat(rows, 0)


def cartesian_prod(*tensors):
    from ._functions import meshgrid
    if len(tensors) == 1:
        return tensors[0]
    return stack([grid.flatten() for grid in meshgrid(*tensors, indexing="ij")], 1)


def tril_indices(row, col, offset=0, *, dtype=None, device=None):
    return tensor(np.stack(np.tril_indices(row, offset, col)), dtype=dtype or np.int64, device=device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None):
    return tensor(np.stack(np.triu_indices(row, offset, col)), dtype=dtype or np.int64, device=device)


# --- linear algebra --------------------------------------------------------------------------------------------------------
def tensordot(a, b, dims=2):
    """Sum over the last `dims` axes of a and the first of b, or over the listed axes ([a axes], [b axes])."""
    if isinstance(dims, int):
        a_axes, b_axes = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        a_axes, b_axes = ([d] if isinstance(d, int) else list(d) for d in dims)
    a_axes = [_normalize_dim(d, a.ndim) for d in a_axes]
    b_axes = [_normalize_dim(d, b.ndim) for d in b_axes]
    a_free = [d for d in range(a.ndim) if d not in a_axes]
    b_free = [d for d in range(b.ndim) if d not in b_axes]
    inner = int(np.prod([a.shape[d] for d in a_axes]))
    left = a.permute(*a_free, *a_axes).reshape(-1, inner)
    right = b.permute(*b_axes, *b_free).reshape(inner, -1)
    return (left @ right).reshape(*[a.shape[d] for d in a_free], *[b.shape[d] for d in b_free])


def inner(input, other):
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return tensordot(input, other, ([-1], [-1]))


def vdot(input, other):
    return (input * other).sum()


def kron(input, other):
    """The Kronecker product: every element of input times the whole of other, laid out block by block."""
    ndim = builtins.max(input.ndim, other.ndim)
    a = input.reshape((1,) * (ndim - input.ndim) + input.shape)
    b = other.reshape((1,) * (ndim - other.ndim) + other.shape)
    interleaved_a = a.reshape(tuple(x for n in a.shape for x in (n, 1)))
    interleaved_b = b.reshape(tuple(x for n in b.shape for x in (1, n)))
    return (interleaved_a * interleaved_b).reshape(tuple(m * n for m, n in zip(a.shape, b.shape)))


def cross(input, other, dim=None):
    """The cross product of 3-vectors along dim (the first dimension of size 3 when None)."""
    if dim is None:
        dim = next(i for i, n in enumerate(input.shape) if n == 3)
    axis = _normalize_dim(dim, input.ndim)
    if input.shape[axis] != 3:
        raise RuntimeError(f"cross(): dimension {dim} must have size 3, got {input.shape[axis]}")
    first, second = [1, 2, 0], [2, 0, 1]
    return input.index_select(axis, first) * other.index_select(axis, second) - \
        input.index_select(axis, second) * other.index_select(axis, first)


def matrix_power(input, n):
    if not isinstance(n, int) or n < 0:
        raise RuntimeError(f"matrix_power(): n must be a non-negative int (nnx has no matrix inverse), got {n!r}")
    result = None
    for _ in range(n):
        result = input if result is None else result @ input
    if result is None:
        size = input.shape[-1]
        return Tensor._wrap(np.broadcast_to(np.eye(size, dtype=input.dtype), input.shape).copy())
    return result


def chain_matmul(*matrices):
    result = matrices[0]
    for matrix in matrices[1:]:
        result = result @ matrix
    return result


def cdist(x1, x2, p=2.0):
    """Distances between the rows of x1 (..., P, M) and of x2 (..., R, M): (..., P, R). At a zero distance
    the 2-norm's gradient is NaN-free only where the rows differ (PyTorch gives 0 there)."""
    difference = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return difference.norm(p, dim=-1)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """x1·x2 / (max(‖x1‖, eps) · max(‖x2‖, eps)) along dim."""
    norms = x1.norm(dim=dim).clamp(min=eps) * x2.norm(dim=dim).clamp(min=eps)
    return (x1 * x2).sum(dim) / norms


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    return (x1 - x2 + eps).norm(p, dim=-1, keepdim=keepdim)


# --- values without gradient ---------------------------------------------------------------------------------------------------
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


# --- a few more Tensor methods -----------------------------------------------------------------------------------------------
def broadcast_to(input, size):
    return input.expand(size)


def bernoulli(input, p=None):
    """0/1 values, 1 with probability input (or p) per element (from nnx's seeded generator)."""
    from .tensor import rand
    probability = input.detach() if p is None else p
    draws = rand(input.shape, dtype=input.dtype, device=input.device)
    return (draws < probability).to(input.dtype)


def kthvalue(input, k, dim=-1, keepdim=False):
    """(values, indices) of the k-th smallest element along dim (k from 1)."""
    axis = _normalize_dim(dim, input.ndim)
    if not 1 <= k <= input.shape[axis]:
        raise RuntimeError(f"kthvalue(): k ({k}) must be in [1, {input.shape[axis]}] for dimension {dim}")
    order = np.argsort(input._data, axis=axis, kind="stable")
    indices = np.take(order, [k - 1], axis=axis).astype(np.int64)
    values = input.gather(axis, Tensor._wrap(indices))
    if not keepdim:
        values, indices = values.squeeze(axis), np.squeeze(indices, axis)
    return MinMaxResult(values, Tensor._wrap(indices))


def diagflat(input, offset=0):
    return input.flatten().diag(offset)


def sum_to_size(input, *size):
    """input summed down to `size` (which input broadcasts from), as the gradient of a broadcast is."""
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    lead = input.ndim - len(size)
    dims = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(size) if n == 1 and input.shape[lead + i] != 1)
    summed = input.sum(dims, keepdim=True) if dims else input
    return summed.reshape(size)


def split_with_sizes(input, split_sizes, dim=0):
    return input.split(list(split_sizes), dim)


def is_signed(input):
    return input.dtype.kind in "if"


def is_same_size(input, other):
    return input.shape == other.shape


# Properties of torch.Tensor (real tensors: the conjugate transposes are the transposes).
PROPERTIES = {"mT": property(lambda self: self.transpose(-2, -1)), "mH": property(lambda self: self.transpose(-2, -1)),
              "H": property(lambda self: self.t())}


# Tensor has these as methods too (as torch.Tensor does).
METHODS = ("atan2", "arctan2", "hypot", "logaddexp", "logaddexp2", "xlogy", "fmax", "fmin", "copysign", "deg2rad",
           "rad2deg", "positive", "float_power", "ldexp", "nan_to_num", "logit", "heaviside", "gcd", "lcm", "aminmax",
           "logcumsumexp", "cummax", "cummin", "msort", "diff", "dist", "ravel", "tile", "unbind", "take",
           "take_along_dim", "masked_select", "tensor_split", "hsplit", "vsplit", "dsplit", "fliplr", "flipud", "rot90",
           "inner", "vdot", "kron", "cross", "matrix_power", "bincount", "histc", "is_nonzero", "is_complex",
           "unique_consecutive", "broadcast_to", "bernoulli", "kthvalue", "diagflat", "sum_to_size",
           "split_with_sizes", "is_signed", "is_same_size")
arctan2 = atan2
FUNCTIONS = METHODS + (
    "std_mean", "var_mean", "trapezoid", "trapz", "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack",
    "row_stack", "dstack", "column_stack", "broadcast_shapes", "broadcast_tensors", "block_diag", "cartesian_prod",
    "tril_indices", "triu_indices", "tensordot", "chain_matmul", "cdist", "cosine_similarity", "pairwise_distance",
    "isin", "searchsorted", "bucketize", "is_storage")


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


# --- in-place variants: x.exp_() writes x.exp() into x ------------------------------------------------------------------
def in_place_variant(name):
    """Tensor.<name>_: the out-of-place method's result written into this tensor's storage, in its dtype.
    Not recorded by autograd: refused (PyTorch's leaf error, or nnx's graph error) for a tensor that requires
    grad while grad mode is on, as nnx's other unrecorded in-place ops."""
    def method(self, *args, **kwargs):
        self._check_inplace(f"{name}_")  # (also counts the write as a new version)
        with no_grad():
            result = getattr(self, name)(*args, **kwargs)
        if result.shape != self.shape:
            raise RuntimeError(f"{name}_(): the result's shape {list(result.shape)} differs from the tensor's "
                               f"{list(self.shape)}")
        try:
            np.copyto(self._data, result._data, casting="same_kind")
        except TypeError:
            raise RuntimeError(f"{name}_(): result type {result.dtype} can't be cast to the desired output type "
                               f"{self.dtype}") from None
        return self
    method.__name__ = method.__qualname__ = f"{name}_"
    method.__doc__ = f"In-place {name}: x.{name}_(...) writes x.{name}(...) into x."
    return method


# The in-place forms of the elementwise ops above and in nnx.tensor (shape-preserving ones only).
IN_PLACE = (
    "abs", "absolute", "neg", "negative", "exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt",
    "square", "sin", "cos", "tan", "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh", "asinh",
    "acosh", "atanh", "arcsinh", "arccosh", "arctanh", "sigmoid", "tanh", "relu", "reciprocal", "sign", "sgn", "floor",
    "ceil", "trunc", "fix", "frac", "round", "clamp_min", "clamp_max", "clip", "remainder", "fmod", "floor_divide",
    "atan2", "arctan2", "hypot", "copysign", "xlogy", "ldexp", "logit", "nan_to_num", "deg2rad", "rad2deg", "gcd",
    "lcm", "heaviside", "cumsum", "cumprod", "tril", "triu", "masked_fill", "logical_not", "logical_and",
    "logical_or", "logical_xor", "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor", "eq", "ne", "lt", "le",
    "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal",
)
