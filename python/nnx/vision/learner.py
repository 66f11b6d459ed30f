"""Transfer learning, fastai's way: create_body cuts a classifier's pooling and head off, create_head (layers.py)
puts a new head on, and vision_learner (cnn_learner) wraps the result in a Learner whose splitter separates the
body from the head, so freeze(), fine_tune() and fit_one_cycle(..., slice(lo, hi)) train them differently."""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import nn, optim
from .._grad_mode import no_grad
from ..learner import Learner
from ..nn import init
from ..tensor import Tensor
from .layers import apply_init, create_head
from .models import resnet18, resnet34, resnet50, xresnet18, xresnet34, xresnet50

__all__ = ["imagenet_stats", "create_body", "create_vision_model", "vision_learner", "cnn_learner",
           "num_features_model", "has_pool_type", "default_split", "model_meta"]

imagenet_stats = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])

_POOLS = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.AvgPool2d, nn.MaxPool2d)


def _params(*modules: nn.Module) -> list:
    return [p for m in modules for p in m.parameters()]


def default_split(m: nn.Module) -> list[list]:
    """Two parameter groups: the body m[0] and the rest (the head)."""
    return [_params(m[0]), _params(*list(m)[1:])]


def _resnet_split(m):
    body = list(m[0].children())
    return [_params(*body[:6]), _params(*body[6:]), _params(*list(m)[1:])]


def _xresnet_split(m):
    body = list(m[0].children())
    return [_params(*body[:3]), _params(*body[3:]), _params(*list(m)[1:])]


_RESNET_META = {"cut": -2, "split": _resnet_split, "stats": imagenet_stats}
_XRESNET_META = {"cut": -4, "split": _xresnet_split, "stats": imagenet_stats}
# Per architecture function (fastai's model_meta): where create_body cuts, how the Learner splits, the
# normalisation statistics pretrained weights expect.
model_meta: dict[Callable[..., nn.Module], dict[str, Any]] = {
    resnet18: _RESNET_META, resnet34: _RESNET_META, resnet50: _RESNET_META,
    xresnet18: _XRESNET_META, xresnet34: _XRESNET_META, xresnet50: _XRESNET_META,
}
_DEFAULT_META = {"cut": None, "split": default_split, "stats": imagenet_stats}


def has_pool_type(m: nn.Module) -> bool:
    """Whether m is, or contains, a pooling layer."""
    return isinstance(m, _POOLS) or any(isinstance(child, _POOLS) for child in m.modules())


def _first_conv(model):
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module
    raise ValueError("create_body: the model has no Conv2d layer to adapt to n_in channels")


def _update_first_layer(model: nn.Module, n_in: int, pretrained: bool) -> None:
    """fastai's: a first convolution taking n_in channels instead of its own; pretrained weights are kept as
    far as they go (n_in 1: summed over the channels, 2: the first two times 1.5, more: copied, the rest 0)."""
    name, conv = _first_conv(model)
    if conv.in_channels == n_in:
        return
    new = nn.Conv2d(n_in, conv.out_channels, conv.kernel_size, stride=conv.stride, padding=conv.padding,
                    dilation=conv.dilation, groups=conv.groups, bias=conv.bias is not None)
    if pretrained:
        old = conv.weight.detach().numpy()
        if n_in == 1:
            weight = old.sum(axis=1, keepdims=True)
        elif n_in == 2:
            weight = old[:, :2] * 1.5
        else:
            weight = np.zeros((old.shape[0], n_in) + old.shape[2:], old.dtype)
            weight[:, :min(3, n_in, old.shape[1])] = old[:, :min(3, n_in, old.shape[1])]
        new.weight.detach().numpy()[...] = weight
        if conv.bias is not None:
            new.bias.detach().numpy()[...] = conv.bias.detach().numpy()
    parent_name, _, attribute = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attribute, new)


def create_body(model: nn.Module, n_in: int = 3, pretrained: bool = True,
                cut: int | Callable[[nn.Module], nn.Module] | None = None) -> nn.Sequential:
    """The model's children up to `cut` (an index, or a function of the model returning the body; by default
    up to the last child holding a pooling layer) as a Sequential, the first convolution adapted to n_in."""
    _update_first_layer(model, n_in, pretrained)
    children = list(model.children())
    if cut is None:
        pools = [i for i, child in enumerate(children) if has_pool_type(child)]
        if not pools:
            raise ValueError("create_body: no pooling layer to cut at; pass cut=")
        cut = pools[-1]
    if callable(cut):
        return cut(model)
    if isinstance(cut, (int, np.integer)):
        return nn.Sequential(*children[:cut])
    raise TypeError(f"cut must be None, an int or a function of the model, got {cut!r}")


def num_features_model(m: nn.Module) -> int:
    """The channel count m outputs, by running a small random batch through it in eval mode (32x32, doubled
    until the model accepts it)."""
    parameter = next(m.parameters(), None)
    dtype = np.float32 if parameter is None else parameter.detach().numpy().dtype
    conv = next((module for module in m.modules() if isinstance(module, nn.Conv2d)), None)
    channels = 3 if conv is None else conv.in_channels
    was_training = m.training
    m.eval()
    try:
        size = 32
        while True:
            try:
                with no_grad():
                    x = np.random.default_rng(0).uniform(-1, 1, (1, channels, size, size)).astype(dtype)
                    return int(m(Tensor._wrap(x)).shape[1])
            except ValueError:
                if size >= 2048:
                    raise
                size *= 2
    finally:
        m.train(was_training)


def create_vision_model(arch: Callable[..., nn.Module], n_out: int, pretrained_weights: Any = None,
                        cut: int | Callable[[nn.Module], nn.Module] | None = None, n_in: int = 3,
                        init: Callable[..., Any] | None = init.kaiming_normal_, custom_head: nn.Module | None = None,
                        concat_pool: bool = True, pool: bool = True, lin_ftrs: Sequence[int] | None = None,
                        ps: float | Sequence[float] = 0.5, first_bn: bool = True, bn_final: bool = False,
                        lin_first: bool = False, y_range: tuple[float, float] | None = None) -> nn.Sequential:
    """Sequential(body, head): arch() with pretrained_weights loaded (a state dict of arrays), cut by
    create_body, and create_head's head (or custom_head) for n_out outputs, the head initialised by `init`."""
    meta = model_meta.get(arch, _DEFAULT_META)
    model = arch()
    if pretrained_weights is not None:
        model.load_state_dict(_as_state_dict(pretrained_weights))
    body = create_body(model, n_in, pretrained_weights is not None, meta["cut"] if cut is None else cut)
    if custom_head is None:
        nf = num_features_model(nn.Sequential(*body.children()))
        head = create_head(nf, n_out, lin_ftrs, ps=ps, pool=pool, concat_pool=concat_pool, first_bn=first_bn,
                           bn_final=bn_final, lin_first=lin_first, y_range=y_range)
    else:
        head = custom_head
    model = nn.Sequential(body, head)
    if init is not None:
        apply_init(model[1], init)
    return model


def _as_state_dict(weights):
    if isinstance(weights, (str, os.PathLike)):
        with np.load(weights) as archive:
            return {key: archive[key] for key in archive.files}
    return weights


def add_norm(dls: Any, meta: dict[str, Any], pretrained: bool, n_in: int = 3) -> None:
    """fastai's _add_norm: with pretrained weights, 3-channel images and DataLoaders that do not normalise yet,
    the statistics the arch's weights expect (meta["stats"]) are set on dls."""
    if pretrained and n_in == 3 and getattr(dls, "stats", False) is None:
        dls.set_stats(meta["stats"])


def vision_learner(dls: Any, arch: Callable[..., nn.Module], normalize: bool = True, n_out: int | None = None,
                   pretrained_weights: Any = None, loss_func: Callable[..., Tensor] | None = None,
                   opt_func: Callable[..., optim.Optimizer] = optim.Adam, lr: float | slice = 1e-3,
                   splitter: Callable[[nn.Module], list[list]] | None = None, cbs: Any = None, metrics: Any = None,
                   path: str | os.PathLike[str] | None = None, model_dir: str | os.PathLike[str] = "models",
                   wd: float | None = None, wd_bn_bias: bool = True, train_bn: bool = True,
                   moms: tuple[float, float, float] = (0.95, 0.85, 0.95),
                   cut: int | Callable[[nn.Module], nn.Module] | None = None, n_in: int | None = None,
                   verbose: bool = True, **kwargs: Any) -> Learner:
    """fastai's vision_learner: a Learner over create_vision_model(arch, n_out) for the classes of dls, split
    into body groups and the head (arch's model_meta splitter: resnets in 3 groups) and frozen to the head when
    pretrained_weights are given (a state dict of NumPy arrays, or a .npz file of one: torchvision's keys for
    the resnets; nothing is downloaded). normalize: with pretrained weights and DataLoaders that do not
    normalise yet, the arch's statistics (ImageNet's) are set on dls. kwargs go to create_vision_model
    (init, custom_head, concat_pool, pool, lin_ftrs, ps, first_bn, bn_final, lin_first, y_range).
    wd_bn_bias stays True (nnx's Learner decays per group; see Learner)."""
    meta = model_meta.get(arch, _DEFAULT_META)
    if n_out is None:
        n_out = getattr(dls, "c", None)
        if n_out is None:
            raise ValueError("n_out is not given and could not be inferred from dls (no dls.c)")
    if n_in is None:
        n_in = getattr(dls, "n_channels", 3)
    pretrained = pretrained_weights is not None
    if normalize:
        add_norm(dls, meta, pretrained, n_in)
    model = create_vision_model(arch, n_out, pretrained_weights=pretrained_weights, cut=cut, n_in=n_in, **kwargs)
    learn = Learner(dls, model, loss_func=loss_func, opt_func=opt_func, lr=lr,
                    splitter=meta["split"] if splitter is None else splitter, cbs=cbs, metrics=metrics, path=path,
                    model_dir=model_dir, wd=wd, wd_bn_bias=wd_bn_bias, train_bn=train_bn, moms=moms,
                    verbose=verbose)
    if pretrained:
        learn.freeze()
    learn.arch, learn.normalize, learn.n_out, learn.pretrained = arch, normalize, n_out, pretrained
    return learn


def cnn_learner(*args: Any, **kwargs: Any) -> Learner:
    """fastai's older name of vision_learner (same arguments)."""
    return vision_learner(*args, **kwargs)

