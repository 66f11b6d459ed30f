"""BatchNorm1d and BatchNorm2d (batch statistics in training, running statistics in eval) and LayerNorm."""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...tensor import Tensor, fill_array
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter
from .linear import _check_size, _float_dtype


class _BatchNorm(Module):
    """BatchNorm1d and BatchNorm2d: each channel (dimension 1) normalised over the batch and any trailing dimensions.

    Training updates running_mean and running_var (unbiased) with `momentum`, or with a cumulative
    average when momentum is None; eval uses them. weight/bias (gamma/beta) exist when affine.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _check_size(num_features, "num_features")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be None or in [0, 1], got {momentum}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps}")
        dtype = _float_dtype(dtype)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor._wrap(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor._wrap(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor._wrap(np.zeros((), dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        if device is not None:
            self.to(device)

    def reset_running_stats(self) -> None:
        """running_mean = 0, running_var = 1, num_batches_tracked = 0 (when tracked)."""
        if self.track_running_stats:
            fill_array(self.running_mean._data, 0)
            fill_array(self.running_var._data, 1)
            fill_array(self.num_batches_tracked._data, 0)

    def reset_parameters(self) -> None:
        """Reset the running statistics, weight = 1 and bias = 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        raise NotImplementedError

    def forward(self, input: Tensor) -> Tensor:
        return self._normalize(input)

    def _normalize(self, input: Tensor, activation: str = "none") -> Tensor:
        """forward, with F.batch_norm's fused activation ("relu": this layer followed by ReLU in one pass)."""
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise ValueError(f"input has {input.shape[1]} features (dimension 1), "
                             f"{type(self).__name__} expects num_features={self.num_features}")
        use_batch_stats = self.training or self.running_mean is None
        if use_batch_stats and math.prod(input.shape) // input.shape[1] <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape}")
        counting = self.training and self.track_running_stats
        factor = 0.0 if self.momentum is None else self.momentum
        if counting and self.momentum is None:  # cumulative moving average over the batches so far, this one included
            factor = 1.0 / (float(self.num_batches_tracked._data.item()) + 1.0)
        output = F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                              use_batch_stats, factor, self.eps, activation=activation)
        if counting:  # only once F.batch_norm has accepted the input (it refuses bad dtypes before any update)
            self.num_batches_tracked._data += 1
        return output

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Normalises each feature over the batch (input (N, C) or (N, C, L)).

    Training updates running_mean and running_var (unbiased) with `momentum`, or with a cumulative
    average when momentum is None; eval uses them. weight/bias (gamma/beta) exist when affine.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")


class BatchNorm2d(_BatchNorm):
    """Normalises each channel of NCHW input over the batch and the spatial positions.

    Training updates running_mean and running_var (unbiased) with `momentum`, or with a cumulative
    average when momentum is None; eval uses them. weight/bias (gamma/beta) exist when affine.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim != 4:
            raise ValueError(f"expected 4D input (got {input.ndim}D input)")


class LayerNorm(Module):
    """Normalises over the last len(normalized_shape) dimensions of each sample, then weight * x + bias."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(size) for size in normalized_shape)
        if not self.normalized_shape or any(size < 1 for size in self.normalized_shape):
            raise ValueError(f"normalized_shape must be positive sizes, got {normalized_shape!r}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps}")
        dtype = _float_dtype(dtype)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        """weight = 1 and bias = 0 (when elementwise_affine)."""
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
