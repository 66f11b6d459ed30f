"""Embedding family (embedding_forward: a row gather; embedding_backward: a scatter-add that skips padding_idx):
the float64 references and the call specs."""
import numpy as np

import nnx
import nnx.nn.functional as F
from ops.gradcheck import Functional
from ops.spec import Call, Draw, poison, upstream_special, values


def reference_backward(grad_weight, indices, grad_out, padding_idx):
    """grad_weight + the rows of grad_out added at their indices, padding_idx skipped (float64)."""
    D = grad_weight.shape[1]
    expected = grad_weight.astype(np.float64)
    keep = indices.reshape(-1) != padding_idx
    np.add.at(expected, indices.reshape(-1)[keep], grad_out.reshape(indices.size, D)[keep].astype(np.float64))
    return expected


def embedding_forward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    V, D = max(dims[0], 1), dims[1]
    weight = values(rng, (V, D), dtype, special)
    indices = rng.integers(0, V, size=tuple(dims[2:draw("rank", [2, 3, 4])]))  # 0-d to 2-d indices
    return Call("embedding_forward", ["weight", "indices", "out"],
                [weight, indices, poison(indices.shape + (D,), dtype)],
                {"weight": "in", "indices": "in", "out": "out"}, {"out": weight.astype(np.float64)[indices]})


def embedding_backward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    V, D = max(dims[0], 1), dims[1]
    indices = rng.integers(0, V, size=tuple(dims[2:draw("rank", [2, 3, 4])]))  # 0-d to 2-d indices
    grad_out = values(rng, indices.shape + (D,), dtype, upstream_special(special))
    padding_idx = draw("padding_idx", [-1, 0])
    grad_weight = values(rng, (V, D), dtype)
    return Call("embedding_backward", ["grad_out", "indices", "grad_weight", "padding_idx"],
                [grad_out, indices, grad_weight, padding_idx],
                {"grad_out": "in", "indices": "in", "grad_weight": "out"},
                {"grad_weight": reference_backward(grad_weight, indices, grad_out, padding_idx)},
                scale=max(indices.size, 1))


SPECS = {"embedding_forward": embedding_forward, "embedding_backward": embedding_backward}
AXES = {"embedding_backward": {"padding_idx": (-1, 0)}}
# (V, D, index shape...): single row/column, odd sizes, 0-d indices, and n * D above the OpenMP threshold.
SIZES = [(1, 1, 1), (5, 3, 7), (17, 33, 4, 9), (10, 16), (250, 1, 40_003), (7, 300, 3, 50)]

# ---- functional wrappers (nnx.nn.functional), gradient-checked by test_functional_gradients.py -----------------
_INDICES = np.array([[0, 3, 3], [1, 0, 4]])
# (padding_idx is not a derivative, finite differences cannot see it: tests/kernels/test_embedding.py checks it)
FUNCTIONAL = [Functional("embedding", lambda weight: F.embedding(nnx.tensor(_INDICES), weight),
                         lambda weight: weight[_INDICES], ((5, 3),))]
