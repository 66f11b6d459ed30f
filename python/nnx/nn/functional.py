"""nnx.nn.functional: PyTorch's functional API on Tensors (import as F).

Each heavy op is one Function over the native kernels (nnx.native's kernel table), its backward beside its
forward. Arguments are validated here with messages naming the argument; the kernels check the rest.
"""
import warnings

import numpy as np

from .. import native
from ..autograd import Function, is_grad_enabled
from ..ops import Activation, Softmax
from ..random import dropout_seed_offset
from ..tensor import Tensor
from ._functional_common import apply_in_place, as_int64_indices, check_float, check_number, check_tensor

_NATIVE_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_LINEAR_ACTIVATIONS = ("none", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh")


# --- linear layers ------------------------------------------------------------------------------------------
class LinearFunction(Function):
    """act(x @ weight.T + bias) in one native pass; x is (*, in), flattened to 2-D for the kernel."""

    @staticmethod
    def forward(ctx, x, weight, bias, activation, negative_slope):
        kernels = native.for_array(x)
        rows = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        out, saved = kernels.linear_forward(rows, weight, bias, activation, negative_slope)
        if ctx.needs_input_grad:
            ctx.rows, ctx.weight, ctx.saved, ctx.x_shape = rows, weight, saved, x.shape
            ctx.activation, ctx.negative_slope = activation, negative_slope
        return out if x.ndim == 2 else out.reshape(x.shape[:-1] + (weight.shape[0],))

    @staticmethod
    def backward(ctx, grad):
        need_x, need_weight, need_bias = ctx.needs_input_grad[:3]
        grad_rows = grad.reshape(-1, grad.shape[-1]) if grad.ndim != 2 else grad
        grad_x, grad_weight, grad_bias = native.for_array(grad).linear_backward(
            grad_rows, ctx.rows, ctx.weight, ctx.saved, ctx.activation, ctx.negative_slope,
            need_x, need_weight, need_bias)
        if need_x and grad_x.shape != ctx.x_shape:
            grad_x = grad_x.reshape(ctx.x_shape)
        return grad_x, grad_weight, grad_bias, None, None


def fused_linear(input, weight, bias=None, activation="none", negative_slope=0.01):
    """nnx extension: activation(linear(input, weight, bias)) as one native call forward and backward.
    activation is one of 'none', 'relu', 'leaky_relu', 'sigmoid', 'tanh', 'gelu', 'gelu_tanh'."""
    if not (isinstance(input, Tensor) and isinstance(weight, Tensor) and (bias is None or isinstance(bias, Tensor))):
        check_tensor(input, "input", "linear")
        check_tensor(weight, "weight", "linear")
        check_tensor(bias, "bias", "linear")
    x, w = input._data, weight._data
    if x.dtype.kind != "f":
        check_float(input, "input", "linear")
    if x.dtype != w.dtype:
        raise TypeError(f"linear(): weight must have the dtype of input ({x.dtype}), got {w.dtype}")
    if w.ndim != 2:
        raise ValueError(f"linear(): weight must be 2-D (out_features, in_features), got shape {tuple(w.shape)}")
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear(): input shape {tuple(x.shape)} and weight shape {tuple(w.shape)} cannot be "
                         f"multiplied: input's last dimension must be in_features={w.shape[1]}")
    if bias is not None and (bias._data.shape != (w.shape[0],) or bias._data.dtype != x.dtype):
        raise ValueError(f"linear(): bias must have shape ({w.shape[0]},) and dtype {x.dtype}, got shape "
                         f"{tuple(bias.shape)} and dtype {bias.dtype}")
    if activation not in _LINEAR_ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(_LINEAR_ACTIVATIONS)}; got {activation!r}")
    if negative_slope != 0.01:  # the default needs no check (the fast path of every Linear)
        negative_slope = check_number(negative_slope, "negative_slope", "linear")
    return LinearFunction.apply(input, weight, bias, activation, negative_slope)


def linear(input, weight, bias=None):
    """input @ weight.T + bias, weight of shape (out_features, in_features)."""
    return fused_linear(input, weight, bias)


# --- activations ---------------------------------------------------------------------------------------
def _activation(input, kind, inplace=False, **options):
    # The common call (a CPU float tensor, default options, no graph to record) goes straight to the kernel:
    # the Function machinery costs more than the kernel itself on small tensors (issue 12: relu(16) ≤ 2 µs).
    if type(input) is Tensor and not inplace and not options:
        data = input._data
        if (type(data) is np.ndarray and data.dtype in _NATIVE_FLOATS
                and not (input._requires_grad and is_grad_enabled())):
            return Tensor._wrap(native.cpu.activation_forward(kind, data))
    check_float(input, "input", kind)
    if not inplace:
        return Activation.apply(input, kind, **options)
    return apply_in_place(input, lambda source: Activation.apply(source, kind, **options), kind)


def relu(input, inplace=False):
    return _activation(input, "relu", inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _activation(input, "leaky_relu", inplace,
                       negative_slope=check_number(negative_slope, "negative_slope", "leaky_relu"))


def sigmoid(input):
    return _activation(input, "sigmoid")


def tanh(input):
    return _activation(input, "tanh")


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return _activation(input, "gelu" if approximate == "none" else "gelu_tanh")


def silu(input, inplace=False):
    return _activation(input, "silu", inplace)


def softplus(input, beta=1.0, threshold=20.0):
    beta, threshold = check_number(beta, "beta", "softplus"), check_number(threshold, "threshold", "softplus")
    if beta == 0:
        raise ValueError("softplus(): beta must be nonzero")
    return _activation(input, "softplus", beta=beta, threshold=threshold)


def _softmax_dim(dim, ndim, name):
    if dim is None:  # PyTorch's legacy implicit choice
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                      "dim=X as an argument.", UserWarning, stacklevel=3)
        dim = 0 if ndim in (0, 1, 3) else 1
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{name}(): dim must be an int, got {type(dim).__name__}")
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(f"{name}(): dim out of range (expected to be in range of [{-bound}, {bound - 1}], "
                         f"but got {dim})")
    return int(dim) % bound


def _softmax(input, dim, dtype, log):
    name = "log_softmax" if log else "softmax"
    if dtype is None:
        check_float(input, "input", name)
    else:
        input = check_tensor(input, "input", name).to(dtype)
    if input.ndim == 0:
        return Softmax.apply(input.reshape(1), 0, log).reshape(())
    return Softmax.apply(input, _softmax_dim(dim, input.ndim, name), log)


def softmax(input, dim=None, dtype=None):
    return _softmax(input, dim, dtype, log=False)


def log_softmax(input, dim=None, dtype=None):
    return _softmax(input, dim, dtype, log=True)


# --- dropout and embedding ---------------------------------------------------------------------------------
class DropoutFunction(Function):
    @staticmethod
    def forward(ctx, x, p):
        seed, offset = dropout_seed_offset(x.size)
        out, mask = native.for_array(x).dropout_forward(x, p, seed, offset)
        ctx.mask, ctx.p = mask, p
        return out

    @staticmethod
    def backward(ctx, grad):
        return native.for_array(grad).dropout_backward(grad, ctx.mask, ctx.p), None


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity when not training)."""
    check_float(input, "input", "dropout")
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
    if not training or p == 0.0:
        return input
    if inplace:
        return apply_in_place(input, lambda source: DropoutFunction.apply(source, float(p)), "dropout")
    return DropoutFunction.apply(input, float(p))


class EmbeddingFunction(Function):
    @staticmethod
    def forward(ctx, weight, indices, padding_idx):
        ctx.indices, ctx.num_embeddings, ctx.padding_idx = indices, weight.shape[0], padding_idx
        return native.for_array(weight).embedding_forward(weight, indices)

    @staticmethod
    def backward(ctx, grad):
        grad_weight = native.for_array(grad).embedding_backward(grad, ctx.indices, ctx.num_embeddings,
                                                                 ctx.padding_idx)
        return grad_weight, None, None


def _index_data(value, argument, function):
    data = value._data if isinstance(value, Tensor) else np.asarray(value)
    if data.dtype.kind not in "iu":
        raise TypeError(f"{function}(): argument '{argument}' must be an integer tensor (int64), got dtype {data.dtype}")
    return as_int64_indices(data, argument, function)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
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


def one_hot(tensor, num_classes=-1):
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


from ._functional_losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,  # noqa: E402
                             l1_loss, mse_loss, nll_loss)
from ._functional_norms import batch_norm, layer_norm  # noqa: E402

__all__ = [
    "linear", "fused_linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "softplus", "softmax",
    "log_softmax", "dropout", "embedding", "one_hot", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
    "binary_cross_entropy_with_logits", "binary_cross_entropy", "layer_norm", "batch_norm",
]
