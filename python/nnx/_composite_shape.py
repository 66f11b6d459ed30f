"""torch functions that are short compositions of nnx's shape, indexing and matmul ops: tile, unbind, take,
tensor_split, rot90, hstack, block_diag, tensordot, kron, cross, cdist, kthvalue, sum_to_size ... Their gradients
are those ops' gradients. Collected by nnx._composite.
"""
from __future__ import annotations

import builtins
from collections.abc import Sequence

import numpy as np

from ._dtypes import DeviceLike, DTypeLike
from .tensor import MinMaxResult, Tensor, _index_array, _normalize_dim, cat, rand, stack, tensor, zeros


# --- shape ----------------------------------------------------------------------------------------------------------
def ravel(input: Tensor) -> Tensor:
    """input flattened to 1-D."""
    return input.flatten()


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """input repeated dims times along each dimension."""
    dims = tuple(dims)
    return input.repeat(*((1,) * (input.ndim - len(dims)) + dims))


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices of input along dim, dim removed."""
    axis = _normalize_dim(dim, input.ndim)
    return tuple(input.select(axis, i) for i in range(input.shape[axis]))


def take(input: Tensor, index: Tensor) -> Tensor:
    """The elements of flattened input at index."""
    return input.flatten()[_index_array(index, "index")]


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """The elements of input at indices along dim (of flattened input when dim is None)."""
    if dim is None:
        return take(input, indices)
    return input.gather(dim, indices)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of input where mask is True, as 1-D."""
    mask = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    return input[np.broadcast_to(mask, input.shape)]


def tensor_split(input: Tensor, indices_or_sections: int | Sequence[int] | Tensor, dim: int = 0) -> tuple[Tensor, ...]:
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


def hsplit(input: Tensor, sections: int | Sequence[int]) -> tuple[Tensor, ...]:
    """tensor_split along the second dimension (the first of a 1-D tensor)."""
    return tensor_split(input, sections, 1 if input.ndim > 1 else 0)


def vsplit(input: Tensor, sections: int | Sequence[int]) -> tuple[Tensor, ...]:
    """tensor_split along the first dimension."""
    return tensor_split(input, sections, 0)


def dsplit(input: Tensor, sections: int | Sequence[int]) -> tuple[Tensor, ...]:
    """tensor_split along the third dimension."""
    return tensor_split(input, sections, 2)


def fliplr(input: Tensor) -> Tensor:
    """input reversed left to right (its second dimension)."""
    return input.flip(1)


def flipud(input: Tensor) -> Tensor:
    """input reversed up to down (its first dimension)."""
    return input.flip(0)


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
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


def atleast_1d(*tensors: Tensor | Sequence[Tensor]) -> Tensor | tuple[Tensor, ...]:
    """Each tensor with at least 1 dimension."""
    return _atleast(tensors, 1)


def atleast_2d(*tensors: Tensor | Sequence[Tensor]) -> Tensor | tuple[Tensor, ...]:
    """Each tensor with at least 2 dimensions."""
    return _atleast(tensors, 2)


def atleast_3d(*tensors: Tensor | Sequence[Tensor]) -> Tensor | tuple[Tensor, ...]:
    """Each tensor with at least 3 dimensions."""
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


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """The tensors joined column-wise (along dim 1; dim 0 for 1-D tensors)."""
    tensors = [_at_least(t, 1) for t in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """The tensors (made at least 2-D) joined row-wise, along dim 0."""
    return cat([_at_least(t, 2) for t in tensors], 0)


row_stack = vstack


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """The tensors (made at least 3-D) joined depth-wise, along dim 2."""
    return cat([_at_least(t, 3) for t in tensors], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """The tensors as columns (1-D ones made columns) joined along dim 1."""
    columns = [t.reshape(t.numel(), 1) if t.ndim < 2 else t for t in tensors]
    return cat(columns, 1)


def broadcast_shapes(*shapes: int | Sequence[int]) -> tuple[int, ...]:
    """The shape the given shapes broadcast to."""
    return np.broadcast_shapes(*[(s,) if isinstance(s, int) else tuple(s) for s in shapes])


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The tensors expanded to their common broadcast shape."""
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t.expand(shape) for t in tensors)


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (2-D, or lower: made 2-D) as blocks along the diagonal of one matrix."""
    blocks = [t.reshape(1, -1) if t.ndim == 1 else t.reshape(1, 1) if t.ndim == 0 else t for t in tensors]
    total = builtins.sum(b.shape[1] for b in blocks)
    rows, start = [], 0
    for b in blocks:
        parts = [zeros(b.shape[0], start, dtype=b.dtype), b,
                 zeros(b.shape[0], total - start - b.shape[1], dtype=b.dtype)]
        rows.append(cat(parts, 1))
        start += b.shape[1]
    return cat(rows, 0)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """The cartesian product of 1-D tensors, one combination a row."""
    from ._functions import meshgrid
    if len(tensors) == 1:
        return tensors[0]
    return stack([grid.flatten() for grid in meshgrid(*tensors, indexing="ij")], 1)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: DTypeLike | None = None,
                 device: DeviceLike | None = None) -> Tensor:
    """The (2, N) row and column indices of the lower triangle of a row x col matrix."""
    return tensor(np.stack(np.tril_indices(row, offset, col)), dtype=dtype or np.int64, device=device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: DTypeLike | None = None,
                 device: DeviceLike | None = None) -> Tensor:
    """The (2, N) row and column indices of the upper triangle of a row x col matrix."""
    return tensor(np.stack(np.triu_indices(row, offset, col)), dtype=dtype or np.int64, device=device)


# --- linear algebra -------------------------------------------------------------------------------------------------
def tensordot(a: Tensor, b: Tensor, dims: int | Sequence[Sequence[int]] = 2) -> Tensor:
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


def inner(input: Tensor, other: Tensor) -> Tensor:
    """The inner product over the last dimension of input and of other."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return tensordot(input, other, ([-1], [-1]))


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """The dot product of two 1-D tensors."""
    return (input * other).sum()


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: every element of input times the whole of other, laid out block by block."""
    ndim = builtins.max(input.ndim, other.ndim)
    a = input.reshape((1,) * (ndim - input.ndim) + input.shape)
    b = other.reshape((1,) * (ndim - other.ndim) + other.shape)
    interleaved_a = a.reshape(tuple(x for n in a.shape for x in (n, 1)))
    interleaved_b = b.reshape(tuple(x for n in b.shape for x in (1, n)))
    return (interleaved_a * interleaved_b).reshape(tuple(m * n for m, n in zip(a.shape, b.shape)))


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along dim (the first dimension of size 3 when None)."""
    if dim is None:
        dim = next(i for i, n in enumerate(input.shape) if n == 3)
    axis = _normalize_dim(dim, input.ndim)
    if input.shape[axis] != 3:
        raise RuntimeError(f"cross(): dimension {dim} must have size 3, got {input.shape[axis]}")
    first, second = [1, 2, 0], [2, 0, 1]
    return input.index_select(axis, first) * other.index_select(axis, second) - \
        input.index_select(axis, second) * other.index_select(axis, first)


def matrix_power(input: Tensor, n: int) -> Tensor:
    """A square matrix (or batch of them) to the n-th power, n >= 0."""
    if not isinstance(n, int) or n < 0:
        raise RuntimeError(f"matrix_power(): n must be a non-negative int (nnx has no matrix inverse), got {n!r}")
    result = None
    for _ in range(n):
        result = input if result is None else result @ input
    if result is None:
        size = input.shape[-1]
        return Tensor._wrap(np.broadcast_to(np.eye(size, dtype=input.dtype), input.shape).copy())
    return result


def chain_matmul(*matrices: Tensor) -> Tensor:
    """The matrix product of the given matrices, left to right."""
    result = matrices[0]
    for matrix in matrices[1:]:
        result = result @ matrix
    return result


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0) -> Tensor:
    """Distances between the rows of x1 (..., P, M) and of x2 (..., R, M): (..., P, R). At a zero distance
    the 2-norm's gradient is NaN-free only where the rows differ (PyTorch gives 0 there)."""
    difference = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return difference.norm(p, dim=-1)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1·x2 / (max(‖x1‖, eps) · max(‖x2‖, eps)) along dim."""
    norms = x1.norm(dim=dim).clamp(min=eps) * x2.norm(dim=dim).clamp(min=eps)
    return (x1 * x2).sum(dim) / norms


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """The p-norm distance between each row of x1 and x2, along the last dimension."""
    return (x1 - x2 + eps).norm(p, dim=-1, keepdim=keepdim)



# --- a few more Tensor methods --------------------------------------------------------------------------------------
def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    """input expanded to size (a view)."""
    return input.expand(size)


def bernoulli(input: Tensor, p: float | None = None) -> Tensor:
    """0/1 values, 1 with probability input (or p) per element (from nnx's seeded generator)."""
    probability = input.detach() if p is None else p
    draws = rand(input.shape, dtype=input.dtype, device=input.device)
    return (draws < probability).to(input.dtype)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> MinMaxResult:
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


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A 2-D tensor with flattened input on its offset-th diagonal."""
    return input.flatten().diag(offset)


def sum_to_size(input: Tensor, *size: int | Sequence[int]) -> Tensor:
    """input summed down to `size` (which input broadcasts from), as the gradient of a broadcast is."""
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    lead = input.ndim - len(size)
    dims = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(size) if n == 1 and input.shape[lead + i] != 1)
    summed = input.sum(dims, keepdim=True) if dims else input
    return summed.reshape(size)


def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """input split along dim into pieces of split_sizes."""
    return input.split(list(split_sizes), dim)


def is_signed(input: Tensor) -> bool:
    """True if input's dtype is signed (a signed integer or floating point)."""
    return input.dtype.kind in "if"


def is_same_size(input: Tensor, other: Tensor) -> bool:
    """True if input and other have the same shape."""
    return input.shape == other.shape

