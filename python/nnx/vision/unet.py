"""fastai's U-Net (fastai.vision.models.unet and fastai.vision.learner's unet_learner): DynamicUnet builds the
decoder for any encoder by running a dummy image through it and hooking the layers where the spatial size changes;
each UnetBlock upsamples (PixelShuffle_ICNR), concatenates the hooked activation (BatchNorm'd) and convolves twice.
The last cross connection concatenates the input, so the output has the input's size (ResizeToOrig) at any size."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import nn, optim
from .._tensor_factories import cat
from ..learner import Learner
from ..learner.hook import Hook, dummy_eval, hook_outputs, in_channels, model_sizes
from ..nn import functional as F
from ..nn import init as nn_init
from ..tensor import Tensor
from .gan_models import SelfAttention  # fastai's, with torch's spectral_norm (the GAN critic's too)
from .layers import (
    ConvLayer,
    MergeLayer,
    NormType,
    PixelShuffle_ICNR,
    ResizeToOrig,
    SequentialEx,
    SigmoidRange,
    _batch_norm,
    apply_init,
)
from .learner import _DEFAULT_META, _as_state_dict, add_norm, create_body, model_meta
from .models import ResBlock

__all__ = ["UnetBlock", "ResizeToOrig", "DynamicUnet", "create_unet_model", "unet_learner"]


def _get_sz_change_idxs(sizes: list[tuple[int, ...]]) -> list[int]:
    """The indexes of the layers after which the activation's width changes (fastai's _get_sz_change_idxs)."""
    widths = np.array([size[-1] for size in sizes])
    return [int(i) for i in np.where(widths[:-1] != widths[1:])[0]]


class UnetBlock(nn.Module):
    """fastai's UnetBlock: up_in (up_in_c channels) upsampled by PixelShuffle_ICNR to up_in_c // 2 channels
    (resized, nearest, to the hooked activation's size when they differ), concatenated with BatchNorm(hooked
    activation of x_in_c channels), the activation, then two ConvLayers (ni -> nf -> nf, nf = ni, or ni // 2 when
    not final_div; a SelfAttention after the second when self_attention), initialised by `init`."""

    def __init__(self, up_in_c: int, x_in_c: int, hook: Hook, final_div: bool = True, blur: bool = False,
                 act_cls: Callable[[], nn.Module] = nn.ReLU, self_attention: bool = False,
                 init: Callable[..., Any] | None = nn_init.kaiming_normal_, norm_type: NormType | None = None,
                 **kwargs: Any) -> None:
        super().__init__()
        self.hook = hook
        self.shuf = PixelShuffle_ICNR(up_in_c, up_in_c // 2, blur=blur, act_cls=act_cls, norm_type=norm_type)
        self.bn = _batch_norm(x_in_c)
        ni = up_in_c // 2 + x_in_c
        nf = ni if final_div else ni // 2
        self.conv1 = ConvLayer(ni, nf, act_cls=act_cls, norm_type=norm_type, **kwargs)
        self.conv2 = ConvLayer(nf, nf, act_cls=act_cls, norm_type=norm_type,
                               xtra=SelfAttention(nf) if self_attention else None, **kwargs)
        self.relu = act_cls()
        if init is not None:
            apply_init(nn.Sequential(self.conv1, self.conv2), init)

    def forward(self, up_in: Tensor) -> Tensor:
        s = self.hook.stored
        up_out = self.shuf(up_in)
        if tuple(s.shape[-2:]) != tuple(up_out.shape[-2:]):
            up_out = F.interpolate(up_out, tuple(s.shape[-2:]), mode="nearest")
        cat_x = self.relu(cat([up_out, self.bn(s)], dim=1))
        return self.conv2(self.conv1(cat_x))


class DynamicUnet(SequentialEx):
    """fastai's DynamicUnet over `encoder` (a Sequential, e.g. create_body's) for n_out output channels:
    layers = [encoder, BatchNorm, ReLU, middle convolutions (ni -> 2ni -> ni), one UnetBlock per hooked size change
    (deepest first; self-attention in the third from last when self_attention; blur in all but the last unless
    blur_final), PixelShuffle_ICNR back to the input's size when the first hooked layer is smaller than it,
    ResizeToOrig, with last_cross MergeLayer(dense) + ResBlock, a 1x1 ConvLayer to n_out, SigmoidRange(y_range)].
    img_size only sizes the dummy pass; the network takes any size (odd ones too) and answers at the input's.
    bottle: the cross ResBlock's inner width is halved (fastai v1's meaning; fastai v2 also halves its output,
    which its final convolution then refuses)."""

    def __init__(self, encoder: nn.Module, n_out: int, img_size: tuple[int, int], blur: bool = False,
                 blur_final: bool = True, self_attention: bool = False, y_range: tuple[float, float] | None = None,
                 last_cross: bool = True, bottle: bool = False, act_cls: Callable[[], nn.Module] = nn.ReLU,
                 init: Callable[..., Any] | None = nn_init.kaiming_normal_, norm_type: NormType | None = None,
                 **kwargs: Any) -> None:
        imsize = tuple(int(s) for s in img_size)
        if len(imsize) != 2 or min(imsize) < 1:
            raise ValueError(f"img_size must be (height, width), got {img_size!r}")
        sizes = model_sizes(encoder, size=imsize)
        sz_chg_idxs = list(reversed(_get_sz_change_idxs(sizes)))
        sfs = hook_outputs([encoder[i] for i in sz_chg_idxs], detach=False)
        x = dummy_eval(encoder, imsize).detach()

        ni = sizes[-1][1]
        middle_conv = nn.Sequential(ConvLayer(ni, ni * 2, act_cls=act_cls, norm_type=norm_type, **kwargs),
                                    ConvLayer(ni * 2, ni, act_cls=act_cls, norm_type=norm_type, **kwargs)).eval()
        x = middle_conv(x)
        layers = [encoder, _batch_norm(ni), nn.ReLU(), middle_conv]
        for i, idx in enumerate(sz_chg_idxs):
            not_final = i != len(sz_chg_idxs) - 1
            up_in_c, x_in_c = int(x.shape[1]), int(sizes[idx][1])
            do_blur = blur and (not_final or blur_final)
            sa = self_attention and (i == len(sz_chg_idxs) - 3)
            unet_block = UnetBlock(up_in_c, x_in_c, sfs[i], final_div=not_final, blur=do_blur, self_attention=sa,
                                   act_cls=act_cls, init=init, norm_type=norm_type, **kwargs).eval()
            layers.append(unet_block)
            x = unet_block(x)

        ni = int(x.shape[1])
        if imsize != tuple(sizes[0][-2:]):
            layers.append(PixelShuffle_ICNR(ni, act_cls=act_cls, norm_type=norm_type))
        layers.append(ResizeToOrig())
        if last_cross:
            layers.append(MergeLayer(dense=True))
            ni += in_channels(encoder)
            layers.append(ResBlock(1, ni, ni, nh2=ni // 2 if bottle else None, act_cls=act_cls, norm_type=norm_type,
                                   **kwargs))
        layers.append(ConvLayer(ni, n_out, ks=1, act_cls=None, norm_type=norm_type, **kwargs))
        if init is not None:
            apply_init(nn.Sequential(layers[3], layers[-2]), init)
        if y_range is not None:
            layers.append(SigmoidRange(*y_range))
        super().__init__(*layers)
        self.sfs = sfs  # the hooks; removed by remove_hooks() (fastai removes them in __del__)
        self.train()

    def remove_hooks(self) -> None:
        """Take the encoder hooks out (the U-Net no longer works afterwards)."""
        self.sfs.remove()


def create_unet_model(arch: Callable[..., nn.Module], n_out: int, img_size: tuple[int, int],
                      pretrained_weights: Any = None, cut: int | Callable[[nn.Module], nn.Module] | None = None,
                      n_in: int = 3, **kwargs: Any) -> DynamicUnet:
    """fastai's create_unet_model: arch() (pretrained_weights loaded: a state dict of arrays or an .npz file),
    cut by create_body (the arch's model_meta cut), as the encoder of a DynamicUnet; kwargs go to DynamicUnet."""
    meta = model_meta.get(arch, _DEFAULT_META)
    model = arch()
    if pretrained_weights is not None:
        model.load_state_dict(_as_state_dict(pretrained_weights))
    body = create_body(model, n_in, pretrained_weights is not None, meta["cut"] if cut is None else cut)
    return DynamicUnet(body, n_out, img_size, **kwargs)


def unet_learner(dls: Any, arch: Callable[..., nn.Module], normalize: bool = True, n_out: int | None = None,
                 pretrained_weights: Any = None, config: dict[str, Any] | None = None,
                 loss_func: Callable[..., Tensor] | None = None, opt_func: Callable[..., optim.Optimizer] = optim.Adam,
                 lr: float | slice = 1e-3, splitter: Callable[[nn.Module], list[list]] | None = None, cbs: Any = None,
                 metrics: Any = None, path: str | os.PathLike[str] | None = None,
                 model_dir: str | os.PathLike[str] = "models", wd: float | None = None, wd_bn_bias: bool = True,
                 train_bn: bool = True, moms: tuple[float, float, float] = (0.95, 0.85, 0.95), verbose: bool = True,
                 **kwargs: Any) -> Learner:
    """fastai's unet_learner: a Learner over create_unet_model(arch, n_out, the size of dls's images), split by
    the arch's model_meta splitter (resnets: two encoder groups, then the decoder) and, with pretrained_weights,
    frozen to the decoder. n_out defaults to dls.c; normalize as vision_learner; config (deprecated in fastai) is
    merged into kwargs, which go to create_unet_model and DynamicUnet (blur, self_attention, y_range, ...);
    verbose as vision_learner's (the Learner's progress table)."""
    if config:
        kwargs = {**config, **kwargs}
    meta = model_meta.get(arch, _DEFAULT_META)
    n_in = kwargs.get("n_in", getattr(dls, "n_channels", 3))
    kwargs["n_in"] = n_in
    pretrained = pretrained_weights is not None
    if normalize:
        add_norm(dls, meta, pretrained, n_in)
    if n_out is None:
        n_out = getattr(dls, "c", None)
        if not n_out:
            raise ValueError("`n_out` is not defined, and could not be inferred from data, set `dls.c` or pass `n_out`")
    # nnx.data.DataLoaders has no one_batch: its first training batch then
    batch = dls.one_batch() if hasattr(dls, "one_batch") else next(iter(dls.train))
    img_size = tuple(batch[0].shape[-2:])
    model = create_unet_model(arch, n_out, img_size, pretrained_weights=pretrained_weights, **kwargs)
    learn = Learner(dls, model, loss_func=loss_func, opt_func=opt_func, lr=lr,
                    splitter=meta["split"] if splitter is None else splitter, cbs=cbs, metrics=metrics, path=path,
                    model_dir=model_dir, wd=wd, wd_bn_bias=wd_bn_bias, train_bn=train_bn, moms=moms, verbose=verbose)
    if pretrained:
        learn.freeze()
    learn.arch, learn.normalize, learn.n_out, learn.pretrained = arch, normalize, n_out, pretrained
    return learn
