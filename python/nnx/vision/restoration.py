"""Image restoration as the fastai course's lesson 7 ("superres") does it: degradations of NumPy image batches
(Gaussian noise, downscale-then-upscale, JPEG-like 8x8 DCT blocking, and `crappify` composing them from a seed),
the Gram matrix and FeatureLoss (pixel L1 + L1 of a frozen encoder's activations + Gram-matrix style terms), and
LossMetrics, which reports FeatureLoss's parts as the Learner's metrics. `python -m nnx restore` runs the demo
(restoration_demo.py)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..metrics import Metric
from ..nn import functional as F
from ..tensor import Tensor, tensor

__all__ = ["add_noise", "downscale_upscale", "jpeg_table", "jpeg_blocking", "crappify", "gram_matrix", "FeatureLoss",
           "LossMetric", "LossMetrics", "JPEG_LUMINANCE_TABLE"]

Seed = Union[int, np.random.Generator, None]

# The JPEG standard's luminance quantisation table (ITU-T T.81, Annex K), the one quality 50 uses.
JPEG_LUMINANCE_TABLE = np.array([
    [16, 11, 10, 16, 24, 40, 51, 61],
    [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77],
    [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101],
    [72, 92, 95, 98, 112, 100, 103, 99]], dtype=np.float64)


# ---- degradations: (N, H, W) or channels-last (N, H, W, C) batches, uint8 (0-255) or floats (0-1) ----

def _as_unit_float(images: Any, name: str = "images") -> tuple[np.ndarray, np.dtype]:
    """images as float64 on the [0, 1] scale, and their dtype (to give the result back in it)."""
    array = np.asarray(images)
    if array.ndim not in (3, 4):
        raise ValueError(f"{name} must be a batch (N, H, W) or (N, H, W, C), got shape {array.shape}")
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255, array.dtype
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{name} must be uint8 (0-255) or floating point (0-1), got dtype {array.dtype}")
    return array.astype(np.float64), array.dtype


def _from_unit_float(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """values clipped to [0, 1] in `dtype` (uint8 rounded to 0-255), as the images the degradation was given."""
    values = np.clip(values, 0.0, 1.0)
    if dtype == np.uint8:
        return np.rint(values * 255).astype(np.uint8)
    return values.astype(dtype)


def _generator(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def add_noise(images: Any, sigma: float = 0.1, seed: Seed = None) -> np.ndarray:
    """images plus Gaussian noise of standard deviation sigma (on the 0-1 scale), clipped; same shape and dtype."""
    if not sigma >= 0:
        raise ValueError(f"sigma must be a non-negative number, got {sigma!r}")
    values, dtype = _as_unit_float(images)
    return _from_unit_float(values + _generator(seed).normal(0.0, sigma, values.shape), dtype)


def _nchw(values: np.ndarray) -> np.ndarray:
    return values[:, None] if values.ndim == 3 else values.transpose(0, 3, 1, 2)


def _channels_last(values: np.ndarray, ndim: int) -> np.ndarray:
    return values[:, 0] if ndim == 3 else values.transpose(0, 2, 3, 1)


def downscale_upscale(images: Any, factor: int = 2, mode: str = "bilinear") -> np.ndarray:
    """Low resolution at the original size: each factor x factor block averaged (a box filter, as Pillow's
    reduce), then resized back with nnx's F.interpolate(mode=mode, 'bilinear' or 'nearest'); same shape and dtype.
    Sizes that factor does not divide lose their last rows/columns to the average and get them back by the resize."""
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be a positive integer, got {factor!r}")
    if mode not in ("bilinear", "nearest"):
        raise ValueError(f"mode must be 'bilinear' or 'nearest', got {mode!r}")
    values, dtype = _as_unit_float(images)
    height, width = values.shape[1:3]
    if factor > min(height, width):
        raise ValueError(f"factor must be at most the images' smallest side {min(height, width)}, got {factor}")
    x = tensor(np.ascontiguousarray(_nchw(values)), dtype="float32")
    small = F.avg_pool2d(x, factor)
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    big = F.interpolate(small, size=(height, width), mode=mode, **kwargs)
    return _from_unit_float(_channels_last(big.numpy().astype(np.float64), values.ndim), dtype)


def _dct_matrix(n: int = 8) -> np.ndarray:
    """The orthonormal DCT-II matrix: JPEG's 8x8 forward transform is D @ block @ D.T."""
    k, i = np.mgrid[0:n, 0:n]
    matrix = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    matrix[0] /= np.sqrt(2.0)
    return matrix


def jpeg_table(quality: float) -> np.ndarray:
    """The luminance quantisation table at quality 1-100, scaled as the IJG encoder (libjpeg, Pillow) does."""
    quality = float(np.clip(quality, 1, 100))
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return np.clip(np.floor((JPEG_LUMINANCE_TABLE * scale + 50) / 100), 1, 255)


def jpeg_blocking(images: Any, quality: float | Sequence[float] = 30) -> np.ndarray:
    """JPEG's loss without the file: every channel cut into 8x8 blocks (edges replicated up to a multiple of 8),
    each block's DCT coefficients (of the 0-255 values less 128) rounded to multiples of the luminance table at
    `quality` (1-100, one for all images or one per image), transformed back; same shape and dtype. No chroma
    subsampling or entropy coding: they lose nothing more (the former only colour resolution)."""
    values, dtype = _as_unit_float(images)
    qualities = np.broadcast_to(np.asarray(quality, dtype=np.float64), (len(values),))
    if not np.all((qualities >= 1) & (qualities <= 100)):
        raise ValueError(f"quality must be in 1-100, got {quality!r}")
    planes = _nchw(values) * 255 - 128  # (N, C, H, W)
    height, width = planes.shape[2:]
    pad_h, pad_w = -height % 8, -width % 8
    planes = np.pad(planes, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode="edge")
    n, c, h, w = planes.shape
    blocks = planes.reshape(n, c, h // 8, 8, w // 8, 8).transpose(0, 1, 2, 4, 3, 5)  # (N, C, by, bx, 8, 8)
    dct = _dct_matrix()
    tables = np.stack([jpeg_table(q) for q in qualities])[:, None, None, None]  # (N, 1, 1, 1, 8, 8)
    coefficients = dct @ blocks @ dct.T
    restored = dct.T @ (np.rint(coefficients / tables) * tables) @ dct
    planes = restored.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)[:, :, :height, :width]
    return _from_unit_float(_channels_last((planes + 128) / 255, values.ndim), dtype)


def crappify(images: Any, seed: Seed = 0, factor: int = 2, quality: tuple[float, float] = (10, 70),
             sigma: float = 0.05) -> np.ndarray:
    """The course's crappifier for a batch: downscale_upscale by `factor` (1: none), then jpeg_blocking at a
    quality drawn per image uniformly from the integers in [quality[0], quality[1]) (the course's
    random.randint(10, 70)), then Gaussian noise of std `sigma` (0: none); reproducible from `seed`."""
    low, high = quality
    if not 1 <= low < high <= 101:
        raise ValueError(f"quality must be a range (low, high) with 1 <= low < high <= 101, got {quality!r}")
    rng = _generator(seed)
    degraded = np.asarray(images)
    if factor != 1:
        degraded = downscale_upscale(degraded, factor)
    degraded = jpeg_blocking(degraded, rng.integers(int(low), int(high), len(degraded)))
    return add_noise(degraded, sigma, rng) if sigma > 0 else degraded


# ---- the feature (perceptual) loss ----

def gram_matrix(x: Tensor) -> Tensor:
    """The notebook's Gram matrix of (N, C, H, W) activations: (N, C, C) channel-by-channel inner products over
    the positions, divided by C*H*W."""
    if x.ndim != 4:
        raise ValueError(f"gram_matrix(): argument 'x' must be 4-D (N, C, H, W), got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w)
    return (flat @ flat.transpose(1, 2)) / (c * h * w)


class FeatureLoss(nn.Module):
    """The course's feature loss (lesson 7, after Johnson et al.'s perceptual losses): with the outputs of
    m_feat's children layer_ids hooked (fastai's hook_outputs, detach=False), loss(input, target) =
    L1(input, target) + sum_i w_i L1(f_i(input), f_i(target)) + sum_i 5e3 w_i^2 L1(gram(f_i(input)),
    gram(f_i(target))), w = layer_wgts (the course: [5, 15, 2]). m_feat should be frozen and in eval mode (the
    course's vgg16_bn features); the target's features are computed without a graph (the notebook's clone of
    them: the same values). After each call, feat_losses holds the terms in that order and metrics maps
    metric_names ('pixel', 'feat_0'.., 'gram_0'..) to them. remove() takes the hooks off m_feat."""

    def __init__(self, m_feat: nn.Module, layer_ids: Sequence[int], layer_wgts: Sequence[float]) -> None:
        super().__init__()
        from ..learner.hook import hook_outputs  # (the Learner's hooks; imported here: nnx.vision loads lazily)
        layer_ids, layer_wgts = list(layer_ids), [float(w) for w in layer_wgts]
        if len(layer_ids) != len(layer_wgts):
            raise ValueError(f"layer_wgts must have one weight per layer id: {len(layer_ids)} ids, "
                             f"{len(layer_wgts)} weights")
        self.m_feat = m_feat
        self.loss_features = [m_feat[i] for i in layer_ids]
        self.hooks = hook_outputs(self.loss_features, detach=False)
        self.wgts = layer_wgts
        self.metric_names = (["pixel"] + [f"feat_{i}" for i in range(len(layer_ids))]
                             + [f"gram_{i}" for i in range(len(layer_ids))])
        self.feat_losses: list[Tensor] = []
        self.metrics: dict[str, Tensor] = {}

    def make_features(self, x: Tensor, clone: bool = False) -> list[Tensor]:
        """Run m_feat on x; the hooked layers' outputs (cloned when asked: the next call overwrites them)."""
        self.m_feat(x)
        return [(o.clone() if clone else o) for o in self.hooks.stored]

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        with no_grad():
            out_feat = self.make_features(target, clone=True)
        in_feat = self.make_features(input)
        losses = [F.l1_loss(input, target)]
        losses += [F.l1_loss(f_in, f_out) * w for f_in, f_out, w in zip(in_feat, out_feat, self.wgts)]
        losses += [F.l1_loss(gram_matrix(f_in), gram_matrix(f_out)) * w ** 2 * 5e3
                   for f_in, f_out, w in zip(in_feat, out_feat, self.wgts)]
        self.feat_losses = losses
        self.metrics = dict(zip(self.metric_names, losses))
        total = losses[0]
        for loss in losses[1:]:
            total = total + loss
        return total

    def remove(self) -> None:
        """Take the hooks off m_feat (the notebook does it in __del__; here it is explicit)."""
        self.hooks.remove()


class LossMetric(Metric):
    """fastai's LossMetric: the batch-size-weighted mean over the validation set of one of the loss's recorded
    parts, loss_func.metrics[name], read when the Recorder hands the metric a validation batch. That is right after
    the batch's loss on the CPU; on a GPU the Recorder hands device batches over after the pass, so every batch
    would read the last batch's parts: use it on the CPU (as the demo does)."""

    def __init__(self, loss_func: Any, name: str) -> None:
        self.loss_func, self.name = loss_func, name
        self.reset()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def accumulate(self, pred: Any, targ: Any) -> None:
        part = self.loss_func.metrics[self.name]
        self.total += float(part.item() if hasattr(part, "item") else part) * len(targ)
        self.count += len(targ)

    @property
    def value(self) -> float:
        return self.total / self.count if self.count else float("nan")


def LossMetrics(loss_func: Any) -> list[LossMetric]:  # noqa: N802 (fastai's name)
    """One LossMetric per name in loss_func.metric_names (fastai v1's LossMetrics callback, as Learner metrics)."""
    return [LossMetric(loss_func, name) for name in loss_func.metric_names]
