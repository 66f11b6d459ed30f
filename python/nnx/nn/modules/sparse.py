"""Embedding: a lookup table of num_embeddings vectors of size embedding_dim, initialised N(0, 1)."""
import numpy as np

from .. import functional as F
from .. import init
from ..module import Module
from ...tensor import Tensor
from ..parameter import Parameter
from .linear import _check_size, _float_dtype


class Embedding(Module):
    """weight[indices]; the row at padding_idx starts at zero and receives no gradient."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None):
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

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
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

    def extra_repr(self):
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
