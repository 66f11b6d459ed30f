"""Tensor indexing: t[index], t[index] = value, gather, masked_fill, narrow, index_select, select, nonzero.
"""
from __future__ import annotations

import operator
from typing import TYPE_CHECKING

import numpy as np

from ._grad_mode import _grad_state
from ._tensor_args import _as_array, _index_arg, _index_array, _normalize_dim
from ._tensor_base import TensorBase, wrap
from ._tensor_factories import where
from .native.devices import raise_if_mixed_devices

if TYPE_CHECKING:
    from typing import Any

    from numpy.typing import ArrayLike

    from ._tensor_base import Number
    from .tensor import Tensor

# nnx.ops sits above the Tensor class (its Functions build Tensors): nnx._tensor_wiring hands it to this module when it
# is imported, before any Tensor method can run.
_ops = None


class IndexingMixin:
    """Indexing of nnx.Tensor (basic indexing gives a view, advanced indexing a copy, as NumPy)."""

    __slots__ = ()

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.Index.apply(self, _index_arg(index))

    def __setitem__(self, index: Any, value: Tensor | Number | ArrayLike) -> None:
        self._check_inplace("__setitem__")
        if isinstance(value, TensorBase) and value._requires_grad and _grad_state.enabled:
            raise RuntimeError("__setitem__: writing a tensor that requires grad into another tensor is not "
                               "supported by nnx's autograd (the gradient would be lost); use nnx.where or nnx.cat")
        value = value._data if isinstance(value, TensorBase) else value
        try:
            self._data[_index_arg(index)] = value
        except Exception as error:
            raise_if_mixed_devices((self._data, value), error)
            raise

    def gather(self, dim: int, index: Tensor | ArrayLike) -> Tensor:
        """Values picked along dim at index (out[i][j] = self[index[i][j]][j] for dim 0), as torch.Tensor.gather."""
        axis = _normalize_dim(dim, self._data.ndim)
        return _ops.Gather.apply(self, _index_array(index, "index"), axis)

    def masked_fill(self, mask: Tensor | ArrayLike, value: Number | Tensor) -> Tensor:
        """value where mask is true, else self's elements, as torch.Tensor.masked_fill."""
        return where(mask, value, self)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        """The slice start:start+length along dim (a view), as torch.Tensor.narrow."""
        axis = _normalize_dim(dim, self._data.ndim)
        return self[(slice(None),) * axis + (slice(start, start + length),)]

    def index_select(self, dim: int, index: Tensor | ArrayLike) -> Tensor:
        """The entries at index along dim, as torch.Tensor.index_select."""
        axis = _normalize_dim(dim, self._data.ndim)
        return self[(slice(None),) * axis + (_index_array(index, "index").reshape(-1),)]

    def repeat_interleave(self, repeats: int | Tensor | ArrayLike, dim: int | None = None) -> Tensor:
        """Each element repeated (along dim, or of the flattened tensor), as torch.Tensor.repeat_interleave."""
        source = self.flatten() if dim is None else self
        axis = 0 if dim is None else _normalize_dim(dim, self._data.ndim)
        counts = repeats._data if isinstance(repeats, TensorBase) else repeats
        positions = np.repeat(np.arange(source.shape[axis]), counts)
        return source[(slice(None),) * axis + (positions,)]

    def nonzero(self, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
        """Indices of the nonzero elements (one row each, or one tensor per dim), as torch.Tensor.nonzero."""
        found = np.nonzero(self._data)
        if as_tuple:
            return tuple(wrap(_as_array(part, np.int64)) for part in found)
        return wrap(np.stack(found, axis=1).astype(np.int64, copy=False))

    def argwhere(self) -> Tensor:
        """Indices of the nonzero elements, one row each, as torch.Tensor.argwhere."""
        return self.nonzero()

    def select(self, dim: int, index: int) -> Tensor:
        """The slice at `index` along dim, that dim removed (as torch.select)."""
        axis = _normalize_dim(dim, self._data.ndim)
        return self[(slice(None),) * axis + (operator.index(index),)]
