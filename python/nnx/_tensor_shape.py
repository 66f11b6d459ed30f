"""Tensor shape ops: reshape, view, flatten, squeeze, transpose, permute, expand, repeat, split, chunk, movedim,
flip, roll.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._tensor_args import _normalize_dim, _normalize_dims, _shape_arg

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._tensor_base import Dims, Size
    from .tensor import Tensor

# nnx.ops sits above the Tensor class (its Functions build Tensors): nnx._tensor_wiring hands it to this module when it
# is imported, before any Tensor method can run.
_ops = None


class ShapeMixin:
    """Shape ops of nnx.Tensor (views where NumPy gives one)."""

    __slots__ = ()

    @property
    def T(self) -> Tensor:
        """The dimensions reversed (the transpose of a matrix), as torch.Tensor.T."""
        return self.permute(*range(self._data.ndim - 1, -1, -1))

    def reshape(self, *shape: Size) -> Tensor:
        """The same values in the given shape (a view when possible), as torch.Tensor.reshape."""
        shape = _shape_arg(shape)
        return self if shape == self._data.shape else _ops.Reshape.apply(self, shape, False)

    def view(self, *shape: Size) -> Tensor:
        """A view with the given shape over the same storage, as torch.Tensor.view."""
        shape = _shape_arg(shape)
        return _ops.Reshape.apply(self, shape, True)

    def view_as(self, other: Tensor) -> Tensor:
        """A view with other's shape, as torch.Tensor.view_as."""
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        """Reshaped to other's shape, as torch.Tensor.reshape_as."""
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Dims start_dim..end_dim merged into one, as torch.Tensor.flatten."""
        shape = self._data.shape
        if not shape:
            return self.reshape(1)
        start, end = _normalize_dim(start_dim, len(shape)), _normalize_dim(end_dim, len(shape))
        if start > end:
            raise ValueError(f"flatten() has invalid args: start_dim ({start_dim}) cannot come after end_dim "
                             f"({end_dim})")
        return self.reshape(shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:])

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        """Dim dim split into the given sizes, as torch.Tensor.unflatten."""
        shape = self._data.shape
        axis = _normalize_dim(dim, len(shape))
        return self.reshape(shape[:axis] + tuple(sizes) + shape[axis + 1:])

    def squeeze(self, dim: Dims = None) -> Tensor:
        """The size-1 dims (all, or those among dim) removed, as torch.Tensor.squeeze."""
        shape = self._data.shape
        if dim is None:
            return self.reshape(tuple(n for n in shape if n != 1))
        axes = {_normalize_dim(d, len(shape)) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        return self.reshape(tuple(n for i, n in enumerate(shape) if not (i in axes and n == 1)))

    def unsqueeze(self, dim: int) -> Tensor:
        """A size-1 dim inserted at dim, as torch.Tensor.unsqueeze."""
        shape = self._data.shape
        axis = _normalize_dim(dim, len(shape) + 1)
        return self.reshape(shape[:axis] + (1,) + shape[axis:])

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Dims dim0 and dim1 swapped (a view), as torch.Tensor.transpose."""
        ndim = self._data.ndim
        order = list(range(ndim))
        a, b = _normalize_dim(dim0, ndim), _normalize_dim(dim1, ndim)
        order[a], order[b] = order[b], order[a]
        return _ops.Permute.apply(self, tuple(order))

    def t(self) -> Tensor:
        """The transpose of a tensor of at most 2 dims, as torch.Tensor.t."""
        if self._data.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self._data.ndim}D")
        return self.T

    def permute(self, *dims: Size) -> Tensor:
        """The dims reordered (a view), as torch.Tensor.permute."""
        dims = _shape_arg(dims)
        ndim = self._data.ndim
        order = tuple(_normalize_dim(d, ndim) for d in dims)
        if sorted(order) != list(range(ndim)):
            raise ValueError(f"permute(): dims must be a permutation of the {ndim} dimensions, got {dims}")
        return _ops.Permute.apply(self, order)

    def expand(self, *sizes: Size) -> Tensor:
        """A broadcast view with the given sizes (-1 keeps a size), as torch.Tensor.expand."""
        sizes = _shape_arg(sizes)
        shape = self._data.shape
        if len(sizes) < len(shape):
            raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
                               f"the number of dimensions in the tensor ({len(shape)})")
        lead = len(sizes) - len(shape)
        target = tuple(shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
        return _ops.Expand.apply(self, target)

    def expand_as(self, other: Tensor) -> Tensor:
        """Expanded to other's shape, as torch.Tensor.expand_as."""
        return self.expand(other.shape)

    def repeat(self, *sizes: Size) -> Tensor:
        """The tensor tiled sizes[i] times along each dim, as torch.Tensor.repeat."""
        sizes = _shape_arg(sizes)
        return _ops.Tile.apply(self, sizes)

    def split(self, split_size: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces of split_size (or the given sizes) along dim, as torch.Tensor.split."""
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

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """At most `chunks` equal pieces along dim (the last may be smaller), as torch.Tensor.chunk."""
        if not isinstance(chunks, (int, np.integer)) or isinstance(chunks, bool) or chunks <= 0:
            raise RuntimeError(f"chunk(): chunks must be a positive int, got {chunks!r}")
        length = self._data.shape[_normalize_dim(dim, self._data.ndim)]
        if length == 0:  # PyTorch: `chunks` empty pieces
            return self.split([0] * int(chunks), dim)
        return self.split(-(-length // chunks), dim)

    def movedim(self, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
        """Dims source moved to positions destination, as torch.Tensor.movedim."""
        sources = source if isinstance(source, (tuple, list)) else (source,)
        destinations = destination if isinstance(destination, (tuple, list)) else (destination,)
        return self.permute(*_moved_order(self._data.ndim, sources, destinations))

    moveaxis = movedim

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        """Dims axis0 and axis1 swapped, as torch.Tensor.swapaxes."""
        return self.transpose(axis0, axis1)

    swapdims = swapaxes

    def flip(self, *dims: Size) -> Tensor:
        """The order of the elements reversed along dims, as torch.Tensor.flip."""
        dims = _normalize_dims(_shape_arg(dims), self._data.ndim) or ()
        index = tuple(slice(None, None, -1) if axis in dims else slice(None) for axis in range(self._data.ndim))
        return self[index]

    def roll(self, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
        """Elements shifted cyclically along dims (the flattened tensor when None), as torch.Tensor.roll."""
        if dims is None:
            return self.flatten().roll(shifts, 0).reshape(self.shape)
        shifts = shifts if isinstance(shifts, (tuple, list)) else (shifts,)
        dims = dims if isinstance(dims, (tuple, list)) else (dims,)
        positions = [np.arange(n) for n in self._data.shape]
        for shift, dim in zip(shifts, dims):
            axis = _normalize_dim(dim, self._data.ndim)
            positions[axis] = np.roll(positions[axis], shift)
        return self[np.ix_(*positions)]


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
