"""embedding family: rows of a weight table picked by integer indices (the gradient adds up repeated indices),
and one_hot."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import native
from ..autograd import Function
from ..tensor import Tensor
from ._checks import as_int64_indices, check_float
from ._common import Array


class EmbeddingFunction(Function):
    @staticmethod
    def forward(ctx: Any, weight: Array, indices: Array, padding_idx: int) -> Array:
        ctx.indices, ctx.num_embeddings, ctx.padding_idx = indices, weight.shape[0], padding_idx
        return native.for_array(weight).embedding_forward(weight, indices)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        grad_weight = native.for_array(grad).embedding_backward(grad, ctx.indices, ctx.num_embeddings,
                                                                 ctx.padding_idx)
        return grad_weight, None, None


def _index_data(value, argument, function):
    data = value._data if isinstance(value, Tensor) else np.asarray(value)
    if data.dtype.kind not in "iu":
        raise TypeError(f"{function}(): argument '{argument}' must be an integer tensor (int64), got dtype "
                        f"{data.dtype}")
    return as_int64_indices(data, argument, function)


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of weight (num_embeddings, embedding_dim) picked by the integer indices in input."""
    indices = _index_data(input, "input", "embedding")
    check_float(weight, "weight", "embedding")
    if weight.ndim != 2:
        raise ValueError(f"embedding(): weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding(): max_norm, scale_grad_by_freq and sparse are not supported by nnx")
    num_embeddings = weight.shape[0]
    if padding_idx is None:
        padding_idx = -1
    elif not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"padding_idx must be within num_embeddings ({num_embeddings}), got {padding_idx}")
    elif padding_idx < 0:
        padding_idx += num_embeddings
    return EmbeddingFunction.apply(weight, indices, padding_idx)


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape (*tensor.shape, num_classes) with a 1 at each index."""
    indices = _index_data(tensor, "tensor", "one_hot")
    if indices.size and indices.min().item() < 0:
        raise RuntimeError("one_hot(): class values must be non-negative")
    if num_classes == -1:
        num_classes = int(indices.max().item()) + 1 if indices.size else 0
    elif indices.size and indices.max().item() >= num_classes:
        raise RuntimeError(f"one_hot(): class values must be smaller than num_classes ({num_classes})")
    out = np.zeros(indices.shape + (num_classes,), dtype=np.int64, like=indices)
    np.put_along_axis(out, indices[..., None], 1, axis=-1)
    return Tensor._wrap(out)
