"""The networks of fastai's GANs (fastai/vision/gan.py): basic_generator and basic_critic (the DCGAN layout) and
gan_critic (spectral-normalised convolutions, a dense residual block, self-attention), with the pieces they need that
nnx did not have: AddChannels, Dropout2d, spectral_norm (torch.nn.utils.spectral_norm), DenseResBlock, SelfAttention.
All are built from nnx.vision.layers.ConvLayer, so children and state-dict keys follow fastai's."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from .. import random as nnx_random
from .._tensor_factories import cat, tensor
from ..autograd import no_grad
from ..nn import functional as F
from ..nn import init
from ..tensor import Tensor
from .layers import ConvLayer, NormType

__all__ = ["AddChannels", "Dropout2d", "spectral_norm", "SelfAttention", "DenseResBlock", "basic_generator",
           "basic_critic", "gan_critic", "SPECTRAL"]

# fastai's NormType.Spectral, which nnx.vision.layers.NormType does not have: a ConvLayer whose convolution is
# spectral-normalised, with a bias and no BatchNorm.
SPECTRAL = "spectral"


class AddChannels(nn.Module):
    """fastai's AddChannels: n_dim trailing dimensions of size 1 (noise (N, nz) -> (N, nz, 1, 1) for n_dim=2)."""

    def __init__(self, n_dim: int) -> None:
        super().__init__()
        self.n_dim = int(n_dim)

    def forward(self, x: Tensor) -> Tensor:
        return x.view(*x.shape, *([1] * self.n_dim))


class Dropout2d(nn.Module):
    """torch.nn.Dropout2d: in training, each channel of each sample is zeroed with probability p and the others
    scaled by 1/(1-p); the identity in eval mode."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = float(p), inplace

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        if x.ndim not in (3, 4):
            raise ValueError(f"Dropout2d expects a (N, C, H, W) or (C, H, W) input, got shape {tuple(x.shape)}")
        shape = tuple(x.shape[:-2]) + (1, 1)
        keep = nnx_random.numpy_generator().random(shape) >= self.p
        scale = 0.0 if self.p == 1 else 1.0 / (1.0 - self.p)
        mask = tensor((keep * scale).astype(x.dtype), device=x.device)
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


# ---- spectral normalisation (torch.nn.utils.spectral_norm) ----

class _SpectralNormed:
    """Mixed in front of a layer's class by spectral_norm: each forward recomputes the layer's weight as
    weight_orig / sigma, sigma estimated by power iteration (one step per training forward, as PyTorch's hook)."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        name, n_iterations, eps, dim = self._spectral_norm
        weight = getattr(self, name + "_orig")
        matrix = _weight_matrix(weight, dim)
        u, v = getattr(self, name + "_u"), getattr(self, name + "_v")
        if self.training and n_iterations > 0:
            with no_grad():
                detached = matrix.detach()
                for _ in range(n_iterations):
                    v = _normalize(detached.t().matmul(u), eps)
                    u = _normalize(detached.matmul(v), eps)
                setattr(self, name + "_u", u)
                setattr(self, name + "_v", v)
        sigma = (u * matrix.matmul(v)).sum()
        object.__setattr__(self, name, weight / sigma)
        return super().forward(*args, **kwargs)

    def _get_name(self) -> str:
        return type(self).__mro__[2].__name__


_SPECTRAL_CLASSES: dict[type, type] = {}


def _weight_matrix(weight: Tensor, dim: int) -> Tensor:
    if dim != 0:
        order = [dim] + [d for d in range(weight.ndim) if d != dim]
        weight = weight.permute(*order)
    return weight.reshape(weight.shape[0], -1)


def _normalize(x: Tensor, eps: float) -> Tensor:
    return x / (x * x).sum().sqrt().clamp(min=eps)


def spectral_norm(module: nn.Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> nn.Module:
    """torch.nn.utils.spectral_norm: the layer's `name` parameter becomes `name`_orig, with buffers `name`_u and
    `name`_v (PyTorch's state-dict keys), and every forward uses weight_orig / sigma, sigma the largest singular
    value of the weight as a (size(dim), -1) matrix estimated by power iteration (n_power_iterations steps per
    training forward; none in eval mode). dim defaults to 1 for transposed convolutions, 0 otherwise. Returns the
    module (its class becomes a spectral-normalised subclass of its own)."""
    weight = module._parameters.get(name) if hasattr(module, "_parameters") else None
    if weight is None:
        raise ValueError(f"spectral_norm: the module has no parameter named {name!r}")
    if isinstance(module, _SpectralNormed):
        raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
    if n_power_iterations < 0:
        raise ValueError(f"Expected n_power_iterations to be non-negative, but got n_power_iterations="
                         f"{n_power_iterations}")
    if dim is None:
        transposed = tuple(getattr(nn, k) for k in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d")
                           if hasattr(nn, k))
        dim = 1 if isinstance(module, transposed) else 0
    height, width = _weight_matrix(weight, dim).shape
    generator = nnx_random.numpy_generator()
    dtype = weight.dtype
    u = generator.standard_normal(height).astype(dtype)
    v = generator.standard_normal(width).astype(dtype)
    cls = type(module)
    if cls not in _SPECTRAL_CLASSES:
        _SPECTRAL_CLASSES[cls] = type(f"SpectralNormed{cls.__name__}", (_SpectralNormed, cls), {})
    del module._parameters[name]
    module.register_parameter(name + "_orig", weight)
    module.register_buffer(name + "_u", tensor(u / max(np.linalg.norm(u), eps), device=weight.device))
    module.register_buffer(name + "_v", tensor(v / max(np.linalg.norm(v), eps), device=weight.device))
    object.__setattr__(module, name, weight.detach())
    object.__setattr__(module, "_spectral_norm", (name, int(n_power_iterations), float(eps), int(dim)))
    module.__class__ = _SPECTRAL_CLASSES[cls]
    return module


def _spectral_conv_layer(ni: int, nf: int, ks: int = 3, stride: int = 1, padding: int | None = None,
                         bias: bool = True, act_cls: Any = nn.ReLU, xtra: nn.Module | None = None) -> ConvLayer:
    """fastai's ConvLayer with norm_type=NormType.Spectral: a spectral-normalised convolution with a bias, the
    activation, then xtra."""
    layer = ConvLayer(ni, nf, ks, stride, padding=padding, bias=bias, norm_type=None, act_cls=act_cls)
    layer[0] = spectral_norm(layer[0])
    if xtra is not None:
        layer.append(xtra)
    return layer


def _leaky_relu() -> nn.Module:
    return nn.LeakyReLU(negative_slope=0.2)


class SelfAttention(nn.Module):
    """fastai's SelfAttention (SAGAN): query, key (n_channels // 8) and value 1x1 spectral-normalised Conv1d over
    the flattened pixels, gamma * value @ softmax(query^T key) + x, with gamma starting at 0 (the identity)."""

    def __init__(self, n_channels: int) -> None:
        super().__init__()
        self.query, self.key, self.value = [self._conv(n_channels, c)
                                            for c in (n_channels // 8, n_channels // 8, n_channels)]
        self.gamma = nn.Parameter(Tensor(np.zeros(1, np.float32)))

    @staticmethod
    def _conv(n_in: int, n_out: int) -> nn.Sequential:
        conv = nn.Conv1d(n_in, n_out, 1, bias=False)
        init.kaiming_normal_(conv.weight)  # fastai's init_linear with no activation: kaiming_normal_
        return nn.Sequential(spectral_norm(conv))

    def forward(self, x: Tensor) -> Tensor:
        size = tuple(x.shape)
        x = x.reshape(size[0], size[1], -1)
        f, g, h = self.query(x), self.key(x), self.value(x)
        beta = F.softmax(f.transpose(1, 2).matmul(g), dim=1)
        o = self.gamma * h.matmul(beta) + x
        return o.reshape(*size)


class _MergeDense(nn.Module):
    """fastai's MergeLayer(dense=True) inside a SequentialEx: the block's output concatenated with its input."""

    def forward(self, x: Tensor, orig: Tensor) -> Tensor:
        return cat([x, orig], 1)


class DenseResBlock(nn.Module):
    """fastai's DenseResBlock: two ConvLayer(nf, nf) then the output concatenated with the input (2 * nf channels).
    norm_type may be SPECTRAL (fastai's NormType.Spectral). Keys as fastai's SequentialEx: layers.0, layers.1."""

    def __init__(self, nf: int, norm_type: NormType | str | None = NormType.Batch, **kwargs: Any) -> None:
        super().__init__()
        if norm_type == SPECTRAL:
            kwargs.pop("bias", None)
            convs = [_spectral_conv_layer(nf, nf, **kwargs) for _ in range(2)]
        else:
            convs = [ConvLayer(nf, nf, norm_type=norm_type, **kwargs) for _ in range(2)]
        self.layers = nn.ModuleList([*convs, _MergeDense()])

    def forward(self, x: Tensor) -> Tensor:
        out = self.layers[1](self.layers[0](x))
        return self.layers[2](out, x)


def gan_critic(n_channels: int = 3, nf: int = 128, n_blocks: int = 3, p: float = 0.15) -> nn.Sequential:
    """fastai's gan_critic: a spectral-normalised convolution (ks 4, stride 2, LeakyReLU 0.2), Dropout2d(p/2), a
    DenseResBlock (doubling the channels), then n_blocks of [Dropout2d(p), convolution doubling the channels with
    stride 2 (the first with SelfAttention)], and a last spectral-normalised 4x4 convolution to one channel,
    flattened: (N, 1 * h * w) scores, (N, 1) for 64x64 inputs with n_blocks=3."""
    layers: list[nn.Module] = [
        _spectral_conv_layer(n_channels, nf, ks=4, stride=2, act_cls=_leaky_relu),
        Dropout2d(p / 2),
        DenseResBlock(nf, norm_type=SPECTRAL, act_cls=_leaky_relu)]
    nf *= 2  # after the dense block
    for i in range(n_blocks):
        layers += [Dropout2d(p),
                   _spectral_conv_layer(nf, nf * 2, ks=4, stride=2, act_cls=_leaky_relu,
                                        xtra=SelfAttention(nf * 2) if i == 0 else None)]
        nf *= 2
    layers += [_spectral_conv_layer(nf, 1, ks=4, padding=0, bias=False, act_cls=None), nn.Flatten()]
    return nn.Sequential(*layers)


# ---- the DCGAN layout ----

def _transpose_conv_layer(ni: int, nf: int, ks: int, stride: int, padding: int = 0, **kwargs: Any) -> ConvLayer:
    """fastai's ConvLayer(..., transpose=True): a ConvLayer (its normalisation and activation, its keys) whose
    convolution is a ConvTranspose2d (no bias when normalised), initialised as ConvLayer initialises its own."""
    layer = ConvLayer(ni, nf, ks, stride, padding=padding, **kwargs)
    conv = layer[0]
    transposed = nn.ConvTranspose2d(ni, nf, ks, stride=stride, padding=padding, bias=conv.bias is not None)
    act = next((m for m in layer if isinstance(m, (nn.ReLU, nn.LeakyReLU))), None)
    if act is not None:
        init.kaiming_uniform_(transposed.weight, a=0 if isinstance(act, nn.ReLU) else act.negative_slope,
                              nonlinearity="relu" if isinstance(act, nn.ReLU) else "leaky_relu")
    if transposed.bias is not None:
        init.zeros_(transposed.bias)
    layer[0] = transposed
    return layer


def _check_size(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def basic_generator(out_size: int, n_channels: int, in_sz: int = 100, n_features: int = 64, n_extra_layers: int = 0,
                    **kwargs: Any) -> nn.Sequential:
    """fastai's basic_generator (DCGAN): noise (N, in_sz) -> AddChannels(2) -> a transposed ConvLayer to 4x4, then
    transposed ConvLayers doubling the size and halving the features up to out_size / 2, n_extra_layers 3x3 ones,
    and a last ConvTranspose2d to n_channels at out_size, through Tanh (outputs in [-1, 1]). kwargs go to every
    ConvLayer (act_cls, norm_type, bn_1st). out_size should be a power of 2 (at least 8)."""
    out_size = _check_size("out_size", out_size, 8)
    n_channels, in_sz = _check_size("n_channels", n_channels, 1), _check_size("in_sz", in_sz, 1)
    n_features = _check_size("n_features", n_features, 2)
    cur_size, cur_ftrs = 4, n_features // 2
    while cur_size < out_size:
        cur_size *= 2
        cur_ftrs *= 2
    layers: list[nn.Module] = [AddChannels(2), _transpose_conv_layer(in_sz, cur_ftrs, 4, 1, **kwargs)]
    cur_size = 4
    while cur_size < out_size // 2:
        layers.append(_transpose_conv_layer(cur_ftrs, cur_ftrs // 2, 4, 2, 1, **kwargs))
        cur_ftrs //= 2
        cur_size *= 2
    layers += [_transpose_conv_layer(cur_ftrs, cur_ftrs, 3, 1, 1, **kwargs) for _ in range(n_extra_layers)]
    layers += [nn.ConvTranspose2d(cur_ftrs, n_channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def basic_critic(in_size: int, n_channels: int, n_features: int = 64, n_extra_layers: int = 0,
                 norm_type: NormType | None = NormType.Batch, **kwargs: Any) -> nn.Sequential:
    """fastai's basic_critic (DCGAN): a ConvLayer (4x4, stride 2, no normalisation) to n_features at in_size / 2,
    n_extra_layers 3x3 ConvLayers, ConvLayers (4x4, stride 2) doubling the features down to 4x4, a 4x4 Conv2d to one
    channel (Kaiming-normal, or kwargs' init) and Flatten: (N, 1) scores. kwargs go to every ConvLayer (act_cls,
    e.g. LeakyReLU(0.2) as in the course; bn_1st)."""
    in_size = _check_size("in_size", in_size, 8)
    n_channels, n_features = _check_size("n_channels", n_channels, 1), _check_size("n_features", n_features, 1)
    weight_init = kwargs.pop("init", init.kaiming_normal_)
    layers: list[nn.Module] = [ConvLayer(n_channels, n_features, 4, 2, 1, norm_type=None, **kwargs)]
    cur_size, cur_ftrs = in_size // 2, n_features
    layers += [ConvLayer(cur_ftrs, cur_ftrs, 3, 1, norm_type=norm_type, **kwargs) for _ in range(n_extra_layers)]
    while cur_size > 4:
        layers.append(ConvLayer(cur_ftrs, cur_ftrs * 2, 4, 2, 1, norm_type=norm_type, **kwargs))
        cur_ftrs *= 2
        cur_size //= 2
    final = nn.Conv2d(cur_ftrs, 1, 4, padding=0)
    weight_init(final.weight)
    if final.bias is not None:
        init.zeros_(final.bias)
    layers += [final, nn.Flatten()]
    return nn.Sequential(*layers)
