"""nnx.nn.functional: PyTorch's functional API on Tensors (import as F).

Each function lives with its op family in nnx.ops.<family> (its argument checks, its autograd Function over the
native kernels, its backward beside its forward); this module only gathers them under PyTorch's names.
"""
from ..ops.activations import gelu, leaky_relu, relu, sigmoid, silu, softplus, tanh
from ..ops.adaptive_pool2d import adaptive_avg_pool2d, adaptive_max_pool2d
from ..ops.avg_pool2d import avg_pool2d
from ..ops.conv2d import conv1d, conv2d, conv_transpose2d, fused_conv2d
from ..ops.dropout import dropout
from ..ops.embedding import embedding, one_hot
from ..ops.grid_sample import affine_grid, grid_sample
from ..ops.interpolate import interpolate
from ..ops.linear import fused_linear, linear
from ..ops.losses import (
                          binary_cross_entropy,
                          binary_cross_entropy_with_logits,
                          cross_entropy,
                          l1_loss,
                          mse_loss,
                          nll_loss,
)
from ..ops.max_pool2d import max_pool2d
from ..ops.normalization import batch_norm, layer_norm
from ..ops.pad import pad
from ..ops.pixel_shuffle import pixel_shuffle, pixel_unshuffle
from ..ops.softmax import log_softmax, softmax

__all__ = [
    "linear", "fused_linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "softplus", "softmax",
    "log_softmax", "dropout", "embedding", "one_hot", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
    "binary_cross_entropy_with_logits", "binary_cross_entropy", "layer_norm", "batch_norm", "max_pool2d",
    "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "pixel_shuffle", "pixel_unshuffle",
    "pad",
    "conv2d", "conv1d", "conv_transpose2d", "fused_conv2d",
    "interpolate",
    "grid_sample", "affine_grid",
]
