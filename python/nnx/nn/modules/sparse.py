"""Embedding: a lookup table of num_embeddings vectors of size embedding_dim, initialised N(0, 1)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter
from .linear import _check_size, _float_dtype


class Embedding(Module):
    """weight[indices]; the row at padding_idx starts at zero and receives no gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Any = None, _freeze: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        _check_size(num_embeddings, "num_embeddings")
        _check_size(embedding_dim, "embedding_dim")
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError("nnx Embedding supports neither max_norm, scale_grad_by_freq nor sparse")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _normalise_padding_idx(padding_idx, num_embeddings)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=_float_dtype(dtype)),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            weight = _weight._data if isinstance(_weight, Tensor) else _host_array(_weight)
            if weight.shape != (num_embeddings, embedding_dim):
                raise ValueError(f"_weight has shape {weight.shape}, expected ({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(weight, requires_grad=not _freeze)
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        """weight ~ N(0, 1) again (nnx's seeded generator), the padding_idx row zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding whose weight is a copy of the 2-D `embeddings`, frozen unless freeze=False."""
        if isinstance(embeddings, Tensor):
            array = embeddings._data.copy()  # on the embeddings' device
        else:
            array = np.array(_host_array(embeddings), order="C")
        if array.ndim != 2:
            raise ValueError(f"embeddings must be 2-dimensional, got shape {array.shape}")
        return cls(array.shape[0], array.shape[1], padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=Tensor._wrap(array),
                   _freeze=freeze)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text


def _host_array(values):
    """A NumPy array of values given as an array-like or a torch tensor (read through .numpy())."""
    return np.asarray(values.numpy() if hasattr(values, "numpy") else values)


def _normalise_padding_idx(padding_idx, num_embeddings):
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"padding_idx must be within num_embeddings ({num_embeddings}), got {padding_idx}")
    return padding_idx + num_embeddings if padding_idx < 0 else padding_idx
