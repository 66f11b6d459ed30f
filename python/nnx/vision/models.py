"""Image classification models: torchvision's ResNets (resnet18/34/50, the same module names and state-dict keys,
so torchvision weights given as NumPy arrays load as they are), fastai's XResNets (xresnet18/34/50) and its
simple_cnn. All NCHW; each is an nnx.nn.Module trained by any nnx optimizer or Learner."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import nn
from ..nn import init
from ..tensor import Tensor
from .layers import ConvLayer, NormType, init_cnn

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50", "ResBlock", "XResNet",
           "xresnet18", "xresnet34", "xresnet50", "simple_cnn"]


def _conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups, bias=False,
                     dilation=dilation)


def _conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def _bn_relu(bn: nn.Module, relu: nn.Module, x: Tensor) -> Tensor:
    """relu(bn(x)), in one pass (BatchNorm2d's fused relu) when both are the stock layers."""
    if type(bn) is nn.BatchNorm2d and type(relu) is nn.ReLU and "forward" not in bn.__dict__ and not bn._hooked \
            and not relu._hooked:  # a hooked module runs as itself, so that its hooks fire
        return bn._normalize(x, "relu")
    return relu(bn(x))


class BasicBlock(nn.Module):
    """torchvision's two-3x3-convolution residual block (ResNet-18/34)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = _bn_relu(self.bn1, self.relu, self.conv1(x))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """torchvision's 1x1-3x3-1x1 bottleneck block (ResNet-50), the stride on the 3x3 convolution (ResNet V1.5)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1) -> None:
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = _conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, stride, groups, dilation)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = _bn_relu(self.bn1, self.relu, self.conv1(x))
        out = _bn_relu(self.bn2, self.relu, self.conv2(out))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision.models.ResNet: a 7x7 stride-2 stem, 3x3 max pooling, four stages of `block` (64, 128, 256, 512
    planes; stages 2-4 halve the resolution), global average pooling and a Linear classifier. Initialised as
    torchvision's (Kaiming normal fan_out for convolutions, BatchNorm weight 1 and bias 0, the last BatchNorm of
    each block zeroed when zero_init_residual)."""

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: Sequence[int], num_classes: int = 1000,
                 zero_init_residual: bool = False, groups: int = 1, width_per_group: int = 64,
                 in_chans: int = 3) -> None:
        super().__init__()
        if len(layers) != 4 or any(int(n) < 1 for n in layers):
            raise ValueError(f"layers must be four positive block counts, got {list(layers)!r}")
        self.inplanes, self.dilation = 64, 1
        self.groups, self.base_width = groups, width_per_group
        self.conv1 = nn.Conv2d(in_chans, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    init.zeros_(m.bn2.weight)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(_conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width, self.dilation)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                         dilation=self.dilation) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(_bn_relu(self.bn1, self.relu, self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def _resnet(block, layers, pretrained_weights, kwargs):
    model = ResNet(block, layers, **kwargs)
    if pretrained_weights is not None:
        model.load_state_dict(pretrained_weights)
    return model


def resnet18(pretrained_weights: Any = None, **kwargs: Any) -> ResNet:
    """ResNet-18 (torchvision's layout). pretrained_weights: a state dict (name -> array), e.g. torchvision's
    weights as `{k: v.numpy() for k, v in tv_model.state_dict().items()}`; nothing is downloaded."""
    return _resnet(BasicBlock, [2, 2, 2, 2], pretrained_weights, kwargs)


def resnet34(pretrained_weights: Any = None, **kwargs: Any) -> ResNet:
    """ResNet-34 (torchvision's layout); pretrained_weights as resnet18's."""
    return _resnet(BasicBlock, [3, 4, 6, 3], pretrained_weights, kwargs)


def resnet50(pretrained_weights: Any = None, **kwargs: Any) -> ResNet:
    """ResNet-50 (torchvision's layout, V1.5); pretrained_weights as resnet18's."""
    return _resnet(Bottleneck, [3, 4, 6, 3], pretrained_weights, kwargs)


class ResBlock(nn.Module):
    """fastai's ResBlock: convpath (two 3x3 ConvLayers, or 1x1-3x3-1x1 when expansion > 1, the last one's
    BatchNorm zero-initialised and without activation) plus idpath (average pooling when strided, then a 1x1
    ConvLayer when the width changes), then the activation. nh2: the inner width (nf by default); norm_type and
    act_cls as fastai's (norm_type None: no BatchNorm, biased convolutions). State-dict keys as fastai's."""

    def __init__(self, expansion: int, ni: int, nf: int, stride: int = 1, ks: int = 3, nh2: int | None = None,
                 norm_type: NormType | None = NormType.Batch, act_cls: Callable[[], nn.Module] = nn.ReLU) -> None:
        super().__init__()
        nh = nf if nh2 is None else nh2
        nf, ni = nf * expansion, ni * expansion
        # fastai's: the last BatchNorm of the path starts at zero (the block starts as its shortcut)
        norm2 = NormType.BatchZero if norm_type is NormType.Batch else norm_type
        k0, k1 = {"norm_type": norm_type, "act_cls": act_cls}, {"norm_type": norm2, "act_cls": None}
        if expansion == 1:
            convpath = [ConvLayer(ni, nh, ks, stride=stride, **k0), ConvLayer(nh, nf, ks, **k1)]
        else:
            convpath = [ConvLayer(ni, nh, 1, **k0), ConvLayer(nh, nh, ks, stride=stride, **k0),
                        ConvLayer(nh, nf, 1, **k1)]
        self.convpath = nn.Sequential(*convpath)
        idpath: list[nn.Module] = []
        if ni != nf:
            idpath.append(ConvLayer(ni, nf, 1, act_cls=None))
        if stride != 1:
            idpath.insert(0, nn.AvgPool2d(stride, ceil_mode=True))
        self.idpath = nn.Sequential(*idpath)
        self.act = nn.ReLU(inplace=True) if act_cls is nn.ReLU else act_cls()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.convpath(x) + self.idpath(x))


class XResNet(nn.Sequential):
    """fastai's XResNet ("bag of tricks" ResNet): a three-ConvLayer stem (c_in -> 32 -> 32 -> 64, the first
    strided), max pooling, ResBlock stages, global average pooling, Flatten, Dropout(p) and a Linear to n_out;
    initialised with fastai's init_cnn (Kaiming normal weights, zero biases)."""

    def __init__(self, expansion: int, layers: Sequence[int], p: float = 0.0, c_in: int = 3, n_out: int = 1000,
                 stem_szs: Sequence[int] = (32, 32, 64), widen: float = 1.0, ks: int = 3, stride: int = 2) -> None:
        if ks % 2 == 0:
            raise ValueError(f"ks (the kernel size) has to be odd, got {ks}")
        sizes = [c_in, *stem_szs]
        stem = [ConvLayer(sizes[i], sizes[i + 1], ks=ks, stride=stride if i == 0 else 1) for i in range(3)]
        block_szs = [64 // expansion] + [int(o * widen) for o in [64, 128, 256, 512] + [256] * (len(layers) - 4)]
        blocks = [nn.Sequential(*[ResBlock(expansion, block_szs[i] if j == 0 else block_szs[i + 1], block_szs[i + 1],
                                           stride=(1 if i == 0 else stride) if j == 0 else 1, ks=ks)
                                  for j in range(n)])
                  for i, n in enumerate(layers)]
        super().__init__(*stem, nn.MaxPool2d(kernel_size=ks, stride=stride, padding=ks // 2), *blocks,
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(p),
                         nn.Linear(block_szs[-1] * expansion, n_out))
        init_cnn(self)


def xresnet18(pretrained_weights: Any = None, **kwargs: Any) -> XResNet:
    """fastai's xresnet18; kwargs go to XResNet (n_out, c_in, p, ...)."""
    return _loaded(XResNet(1, [2, 2, 2, 2], **kwargs), pretrained_weights)


def xresnet34(pretrained_weights: Any = None, **kwargs: Any) -> XResNet:
    """fastai's xresnet34; kwargs go to XResNet."""
    return _loaded(XResNet(1, [3, 4, 6, 3], **kwargs), pretrained_weights)


def xresnet50(pretrained_weights: Any = None, **kwargs: Any) -> XResNet:
    """fastai's xresnet50; kwargs go to XResNet."""
    return _loaded(XResNet(4, [3, 4, 6, 3], **kwargs), pretrained_weights)


def _loaded(model, weights):
    if weights is not None:
        model.load_state_dict(weights)
    return model


def simple_cnn(actns: Sequence[int], kernel_szs: Sequence[int] | None = None, strides: Sequence[int] | None = None,
               bn: bool = False) -> nn.Sequential:
    """fastai's simple_cnn: a ConvLayer from actns[i] to actns[i+1] channels per step (kernel 3, stride 2 by
    default; BatchNorm after every convolution but the last when bn), then global average pooling and Flatten:
    actns=(1, 16, 32, 10) maps 1-channel images to 10 scores."""
    n_layers = len(actns) - 1
    if n_layers < 1:
        raise ValueError(f"actns must list at least two channel counts, got {list(actns)!r}")
    kernel_szs = [3] * n_layers if kernel_szs is None else list(kernel_szs)
    strides = [2] * n_layers if strides is None else list(strides)
    if len(kernel_szs) != n_layers or len(strides) != n_layers:
        raise ValueError(f"kernel_szs and strides must have len(actns) - 1 = {n_layers} entries")
    layers = [ConvLayer(actns[i], actns[i + 1], kernel_szs[i], stride=strides[i],
                        norm_type=NormType.Batch if bn and i < n_layers - 1 else None) for i in range(n_layers)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
