"""fastai's building blocks for convolutional networks: ConvLayer (convolution, BatchNorm, activation),
AdaptiveConcatPool2d, the classifier head create_head makes, and the initialisations (init_cnn, apply_init)."""
from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .. import nn
from .._tensor_factories import cat, zeros
from ..nn import functional as F
from ..nn import init
from ..tabular.model import LinBnDrop, SigmoidRange
from ..tensor import Tensor

__all__ = ["NormType", "ConvLayer", "AdaptiveConcatPool2d", "create_head", "init_cnn", "apply_init", "icnr_init",
           "PixelShuffle_ICNR", "SequentialEx", "MergeLayer", "ResizeToOrig", "SigmoidRange"]


class NormType(enum.Enum):
    """fastai's normalisation kinds a ConvLayer knows (BatchZero: BatchNorm with weight 0, to start a residual
    branch as the identity)."""

    Batch = 1
    BatchZero = 2


def _batch_norm(nf: int, zero: bool = False) -> nn.BatchNorm2d:
    """fastai's BatchNorm: bias 1e-3, weight 0 (zero) or 1."""
    bn = nn.BatchNorm2d(nf)
    init.constant_(bn.bias, 1e-3)
    init.constant_(bn.weight, 0.0 if zero else 1.0)
    return bn


class ConvLayer(nn.Sequential):
    """fastai's ConvLayer: Conv2d(ni, nf, ks, stride, padding=(ks-1)//2, no bias when normalised), then BatchNorm2d
    and the activation (bn_1st, the default) or the activation then BatchNorm2d. Children are numbered as fastai's
    (0: conv, 1: norm, 2: activation, then `xtra` when given), so state-dict keys match. act_cls=None leaves the
    activation out; the convolution is Kaiming-uniform initialised for ReLU (fastai's init='auto' for ReLU), biases
    zero."""

    def __init__(self, ni: int, nf: int, ks: int = 3, stride: int = 1, padding: int | None = None,
                 bias: bool | None = None, norm_type: NormType | None = NormType.Batch, bn_1st: bool = True,
                 act_cls: Callable[[], nn.Module] | None = nn.ReLU, groups: int = 1, dilation: int = 1,
                 xtra: nn.Module | None = None) -> None:
        if norm_type is not None and not isinstance(norm_type, NormType):
            raise TypeError(f"norm_type must be a NormType or None, got {norm_type!r}")
        padding = (ks - 1) // 2 * dilation if padding is None else padding
        has_bn = norm_type is not None
        bias = not has_bn if bias is None else bias
        conv = nn.Conv2d(ni, nf, kernel_size=ks, stride=stride, padding=padding, bias=bias, groups=groups,
                         dilation=dilation)
        act = None if act_cls is None else act_cls()
        if isinstance(act, (nn.ReLU, nn.LeakyReLU)):
            init.kaiming_uniform_(conv.weight, a=0 if isinstance(act, nn.ReLU) else act.negative_slope,
                                  nonlinearity="relu" if isinstance(act, nn.ReLU) else "leaky_relu")
        if conv.bias is not None:
            init.zeros_(conv.bias)
        act_bn: list[nn.Module] = []
        if act is not None:
            act_bn.append(act)
        if has_bn:
            act_bn.append(_batch_norm(nf, zero=norm_type is NormType.BatchZero))
        if bn_1st:
            act_bn.reverse()
        super().__init__(conv, *act_bn, *([xtra] if xtra is not None else []))


class AdaptiveConcatPool2d(nn.Module):
    """fastai's AdaptiveConcatPool2d: adaptive max pooling and adaptive average pooling to `size`, concatenated
    along the channels (max first): twice the channels of either."""

    def __init__(self, size: int | Sequence[int] | None = None) -> None:
        super().__init__()
        self.size = size or 1
        self.ap = nn.AdaptiveAvgPool2d(self.size)
        self.mp = nn.AdaptiveMaxPool2d(self.size)

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.mp(x), self.ap(x)], 1)


def create_head(nf: int, n_out: int, lin_ftrs: Sequence[int] | None = None, ps: float | Sequence[float] = 0.5,
                pool: bool = True, concat_pool: bool = True, first_bn: bool = True, bn_final: bool = False,
                lin_first: bool = False, y_range: tuple[float, float] | None = None) -> nn.Sequential:
    """fastai's classifier head over nf body features: [AdaptiveConcatPool2d (or AdaptiveAvgPool2d), Flatten],
    then LinBnDrop blocks nf(*2 with concat pooling) -> 512 -> n_out (BatchNorm1d, Dropout ps/2 then ps, Linear,
    ReLU between), an optional final BatchNorm1d and SigmoidRange(y_range)."""
    if pool and concat_pool:
        nf *= 2
    features = [nf, 512, n_out] if lin_ftrs is None else [nf, *lin_ftrs, n_out]
    bns = [first_bn] + [True] * len(features[1:])
    ps_list = [float(ps)] if isinstance(ps, (int, float)) else [float(p) for p in ps]
    if len(ps_list) == 1:
        ps_list = [ps_list[0] / 2] * (len(features) - 2) + ps_list
    if len(ps_list) != len(features) - 1:
        raise ValueError(f"ps must be one probability or one per linear layer ({len(features) - 1}), got {ps!r}")
    actns: list[nn.Module | None] = [nn.ReLU(inplace=True) for _ in range(len(features) - 2)] + [None]
    layers: list[nn.Module] = []
    if pool:
        layers += [AdaptiveConcatPool2d() if concat_pool else nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if lin_first:
        layers.append(nn.Dropout(ps_list.pop(0)))
    for ni, no, bn, p, actn in zip(features[:-1], features[1:], bns, ps_list, actns):
        layers += list(LinBnDrop(ni, no, bn=bn, p=p, act=actn, lin_first=lin_first).children())
    if lin_first:
        layers.append(nn.Linear(features[-2], n_out))
    if bn_final:
        layers.append(nn.BatchNorm1d(features[-1], momentum=0.01))
    if y_range is not None:
        layers.append(SigmoidRange(*y_range))
    return nn.Sequential(*layers)


def init_cnn(m: nn.Module) -> None:
    """fastai's init_cnn: zero biases, Kaiming-normal weights of convolutions and Linear layers, recursively."""
    if getattr(m, "bias", None) is not None:
        init.zeros_(m.bias)
    if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
        init.kaiming_normal_(m.weight)
    for child in m.children():
        init_cnn(child)


def apply_init(m: nn.Module, func: Callable[..., Any] = init.kaiming_normal_) -> None:
    """fastai's apply_init: func on the weight and zero on the bias of every layer but the normalisation ones."""
    norm_types = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)
    for module in m.modules():
        if isinstance(module, norm_types) or next(module.children(), None) is not None:
            continue
        weight = getattr(module, "weight", None)
        if weight is not None and weight.requires_grad:
            func(weight)
            if getattr(module, "bias", None) is not None:
                init.zeros_(module.bias)


# ---- the U-Net's layers (fastai.layers): ICNR upsampling, SequentialEx and its merge layers ----
def icnr_init(x: Tensor, scale: int = 2, init: Callable[..., Any] = init.kaiming_normal_) -> Tensor:
    """fastai's icnr_init: a (ni, nf, h, w) convolution weight whose output channels come in groups of scale**2
    equal kernels (k * scale**2 + j for j < scale**2 share kernel k, drawn by `init` with x's fan-in), so that the
    PixelShuffle that follows starts as nearest-neighbour upsampling: no checkerboard artefacts. Returns a new
    tensor (x is not written), as fastai's."""
    ni, nf, h, w = x.shape
    ni2 = int(ni / (scale ** 2))
    kernels = init(zeros(ni2, nf, h, w, dtype=x.dtype)).detach().numpy()
    return Tensor._wrap(np.ascontiguousarray(np.repeat(kernels, scale ** 2, axis=0)))


class PixelShuffle_ICNR(nn.Sequential):
    """fastai's PixelShuffle_ICNR: upsample by `scale` from ni to nf (default ni) channels: ConvLayer(ni,
    nf * scale**2, ks=1) with icnr_init weights, PixelShuffle(scale), and with blur a ReplicationPad2d((1, 0, 1, 0))
    and AvgPool2d(2, stride=1) that smooth the result. Keys as fastai's (0.0.weight, 0.0.bias, ...). nnx has no
    weight normalisation: norm_type is None (fastai's U-Net passes None) or a NormType."""

    def __init__(self, ni: int, nf: int | None = None, scale: int = 2, blur: bool = False,
                 norm_type: NormType | None = None, act_cls: Callable[[], nn.Module] | None = nn.ReLU) -> None:
        nf = ni if nf is None else nf
        conv = ConvLayer(ni, nf * scale ** 2, ks=1, norm_type=norm_type, act_cls=act_cls)
        weight = conv[0].weight
        weight.detach().numpy()[...] = icnr_init(weight.detach(), scale).numpy()
        layers: list[nn.Module] = [conv, nn.PixelShuffle(scale)]
        if blur:
            layers += [nn.ReplicationPad2d((1, 0, 1, 0)), nn.AvgPool2d(2, stride=1)]
        super().__init__(*layers)


class SequentialEx(nn.Module):
    """fastai's SequentialEx: runs `layers` (a ModuleList: keys layers.0, layers.1, ...) in order, and lets a layer
    read the SequentialEx's own input (MergeLayer, ResizeToOrig). fastai sets it as `x.orig` on each layer's input;
    nnx Tensors take no attributes, so the input is kept on a per-thread stack while the layers run."""

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x: Tensor) -> Tensor:
        _ORIGINALS.stack.append(x)
        try:
            result = x
            for layer in self.layers:
                result = layer(result)
            return result
        finally:
            _ORIGINALS.stack.pop()

    def __getitem__(self, i: int | slice) -> Any:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[nn.Module]:
        return iter(self.layers)

    def append(self, layer: nn.Module) -> nn.ModuleList:
        """Add `layer` at the end."""
        return self.layers.append(layer)

    def extend(self, layers: Sequence[nn.Module]) -> nn.ModuleList:
        """Add each of `layers` at the end."""
        return self.layers.extend(layers)

    def insert(self, i: int, layer: nn.Module) -> nn.ModuleList:
        """Put `layer` at position i."""
        return self.layers.insert(i, layer)


class _Originals(threading.local):
    def __init__(self) -> None:
        self.stack: list[Tensor] = []


_ORIGINALS = _Originals()


def _original() -> Tensor:
    if not _ORIGINALS.stack:
        raise RuntimeError("MergeLayer and ResizeToOrig read the input of the SequentialEx they are in; "
                           "this one is called outside a SequentialEx")
    return _ORIGINALS.stack[-1]


class MergeLayer(nn.Module):
    """fastai's MergeLayer: the enclosing SequentialEx's input added to x, or concatenated after x's channels
    when dense."""

    def __init__(self, dense: bool = False) -> None:
        super().__init__()
        self.dense = dense

    def forward(self, x: Tensor) -> Tensor:
        orig = _original()
        return cat([x, orig], dim=1) if self.dense else x + orig


class ResizeToOrig(nn.Module):
    """fastai's ResizeToOrig: x interpolated (`mode`, nearest by default) to the spatial size of the enclosing
    SequentialEx's input when they differ (a U-Net's output at the input's size, odd sizes included)."""

    def __init__(self, mode: str = "nearest") -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: Tensor) -> Tensor:
        size = tuple(_original().shape[-2:])
        if size != tuple(x.shape[-2:]):
            x = F.interpolate(x, size, mode=self.mode)
        return x
