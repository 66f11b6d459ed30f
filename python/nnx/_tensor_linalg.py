"""Tensor linear algebra: mm, bmm, mv, dot, outer, trace, diagonal, diag, tril, triu (all over matmul, indexing and
where, so their gradients come from those).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._tensor_args import _require_ndim
from ._tensor_base import wrap
from ._tensor_factories import cat, where, zeros
from .native.devices import move_array

if TYPE_CHECKING:
    from collections.abc import Callable

    from .tensor import Tensor


class LinalgMixin:
    """Linear algebra of nnx.Tensor."""

    __slots__ = ()

    def mm(self, mat2: Tensor) -> Tensor:
        """Matrix product of two 2-D tensors, as torch.Tensor.mm."""
        _require_ndim("mm", ("self", self, 2), ("mat2", mat2, 2))
        return self @ mat2

    def bmm(self, mat2: Tensor) -> Tensor:
        """Batched matrix product of two 3-D tensors, as torch.Tensor.bmm."""
        _require_ndim("bmm", ("self", self, 3), ("mat2", mat2, 3))
        return self @ mat2

    def mv(self, vec: Tensor) -> Tensor:
        """Matrix-vector product, as torch.Tensor.mv."""
        _require_ndim("mv", ("self", self, 2), ("vec", vec, 1))
        return self @ vec

    def dot(self, other: Tensor) -> Tensor:
        """Inner product of two 1-D tensors, as torch.Tensor.dot."""
        _require_ndim("dot", ("self", self, 1), ("tensor", other, 1))
        return self @ other

    def outer(self, vec2: Tensor) -> Tensor:
        """Outer product of two 1-D tensors, as torch.Tensor.outer."""
        _require_ndim("outer", ("self", self, 1), ("vec2", vec2, 1))
        return self.unsqueeze(1) * vec2.unsqueeze(0)

    ger = outer

    def trace(self) -> Tensor:
        """Sum of the main diagonal of a 2-D tensor, as torch.Tensor.trace."""
        _require_ndim("trace", ("self", self, 2))
        return self.diagonal().sum()

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The diagonal `offset` of the matrices over dim1 and dim2 (as the last dim), as torch.Tensor.diagonal."""
        if (dim1, dim2) != (0, 1) or self._data.ndim != 2:
            moved = self.movedim((dim1, dim2), (-2, -1))
            rows, cols = _diagonal_positions(moved.shape[-2], moved.shape[-1], offset)
            return moved[(Ellipsis, rows, cols)]
        rows, cols = _diagonal_positions(*self._data.shape, offset)
        return self[rows, cols]

    def diag(self, diagonal: int = 0) -> Tensor:
        """A 1-D tensor -> the square matrix with it on a diagonal; a 2-D one -> that diagonal's values."""
        if self._data.ndim == 2:
            return self.diagonal(diagonal)
        _require_ndim("diag", ("self", self, 1))
        n = self._data.shape[0] + abs(diagonal)
        rows, cols = _diagonal_positions(n, n, diagonal)
        gather = np.full((n, n), self._data.shape[0], dtype=np.int64)  # points at an appended zero
        gather[rows, cols] = np.arange(self._data.shape[0])
        return cat([self, zeros(1, dtype=self.dtype, device=self.device)])[gather]

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle (elements above `diagonal` zeroed), as torch.Tensor.tril."""
        return self._triangle(np.tril, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle (elements below `diagonal` zeroed), as torch.Tensor.triu."""
        return self._triangle(np.triu, diagonal)

    def _triangle(self, keep: Callable[..., np.ndarray], diagonal: int) -> Tensor:
        if self._data.ndim < 2:
            raise RuntimeError("tril/triu: input tensor must have at least 2 dimensions")
        mask = keep(np.ones(self._data.shape[-2:], dtype=bool), diagonal)
        return where(wrap(move_array(mask, self.device)), self, 0)


def _diagonal_positions(rows, cols, offset):
    """(row indices, column indices) of the diagonal `offset` (above the main one when positive)."""
    start_row, start_col = max(-offset, 0), max(offset, 0)
    length = max(0, min(rows - start_row, cols - start_col))
    return np.arange(start_row, start_row + length), np.arange(start_col, start_col + length)
