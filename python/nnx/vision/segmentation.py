"""Segmentation data, fastai's way (fastai/vision/data.py's SegmentationDataLoaders): images with a class per pixel.
SegmentationDataLoaders.from_arrays builds on ImageDataLoaders: the same split, scaling, normalisation (of the
images only) and batch augmentation, where each mask takes its image's coordinate transform with nearest sampling
(nnx.vision.augment) and never the lighting; batches are (float (N, C, H, W) images, int64 (N, H, W) masks), the
loss CrossEntropyLossFlat(axis=1), `codes` the pixel classes' names. show_batch draws the masks over the images."""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from ..losses import CrossEntropyLossFlat
from ..tabular.data import _valid_index
from ..tensor import Tensor
from .data import ImageDataLoader, ImageDataLoaders, Stats, _as_nchw, image_stats, show_images

__all__ = ["SegmentationDataLoader", "SegmentationDataLoaders"]


def _as_masks(masks: Any, images: np.ndarray, name: str = "masks") -> np.ndarray:
    """(N, H, W) integer masks (a (N, H, W, 1) or (N, 1, H, W) channel dropped), checked against the images."""
    array = masks.numpy() if isinstance(masks, Tensor) else np.asarray(masks)
    if array.ndim == 4 and 1 in (array.shape[1], array.shape[-1]):
        array = array[:, 0] if array.shape[1] == 1 else array[..., 0]
    if array.dtype.kind not in "biu" or array.shape != (len(images),) + images.shape[2:]:
        raise ValueError(f"{name} must be integer class maps (N, H, W) of the images' size "
                         f"{(len(images),) + images.shape[2:]}, got shape {array.shape} and dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise ValueError(f"{name} must hold class indices >= 0, got {array.min()}")
    return np.ascontiguousarray(array)


class SegmentationDataLoader(ImageDataLoader):
    """An ImageDataLoader whose labels are masks (N, H, W): batches (xb, yb) with xb as ImageDataLoader's (scaled,
    augmented by batch_tfms when training, normalised) and yb the int64 masks, moved by the same coordinate
    transform as their images (nearest sampling) and untouched by lighting and normalisation."""

    def __iter__(self):
        if self.labels is None:
            yield from super().__iter__()
            return
        for positions in super(ImageDataLoader, self).__iter__():  # (the base loader's batches of positions)
            index = positions.numpy()
            x, y = self.decode_images(self.images[index]), self.labels[index]
            if self.batch_tfms:
                from .augment import augment_batch
                x, y = augment_batch(x, self.batch_tfms, self._generator_for_tfms(), 0 if self.augment else 1, mask=y)
            x = Tensor._wrap(np.ascontiguousarray(self.normalize(x)))
            yield x, Tensor._wrap(np.ascontiguousarray(y, dtype=np.int64))


class SegmentationDataLoaders(ImageDataLoaders):
    """fastai's SegmentationDataLoaders: a shuffled, augmented training loader and an in-order validation loader
    over images and their masks. codes (also vocab): the pixel classes' names, c: their count, loss_func:
    CrossEntropyLossFlat(axis=1) (scores (N, c, H, W) against masks (N, H, W))."""

    def __init__(self, train: SegmentationDataLoader, valid: SegmentationDataLoader | None,
                 codes: Sequence[Hashable]) -> None:
        super().__init__(train, valid, codes)
        self.loss_func = CrossEntropyLossFlat(axis=1)

    @property
    def codes(self) -> list[Hashable]:
        """The names of the pixel classes (mask value i is codes[i])."""
        return self.vocab

    @classmethod
    def from_arrays(cls, images: Any, masks: Any, codes: Sequence[Hashable] | None = None, valid_pct: float = 0.2,
                    seed: int | None = None, valid_idx: Sequence[int] | None = None, bs: int = 64,
                    val_bs: int | None = None, batch_tfms: Sequence[Any] | None = None, normalize: bool = True,
                    stats: Stats | None = None, drop_last: bool = True) -> SegmentationDataLoaders:
        """Loaders over images (N, H, W) or (N, H, W, C), uint8 or float, and their masks (N, H, W) of class
        indices into codes (default: 0 .. the largest index). The split, stats, normalize and drop_last are
        ImageDataLoaders.from_arrays's; batch_tfms (nnx.vision.augment's) move each mask with its image."""
        X = _as_nchw(images)
        y = _as_masks(masks, X)
        n_codes = int(y.max()) + 1 if y.size else 1
        codes = list(range(n_codes)) if codes is None else list(codes)
        if n_codes > len(codes):
            raise ValueError(f"masks hold class {n_codes - 1} but codes names only {len(codes)} classes")
        train_idx, valid_idx = _valid_index(len(X), valid_idx, valid_pct, seed)
        X_train = X[train_idx]
        if stats is None and normalize:
            stats = image_stats(X_train)
        train = SegmentationDataLoader(X_train, y[train_idx], batch_size=bs, shuffle=True, drop_last=drop_last,
                                       seed=seed, batch_tfms=batch_tfms, augment=True)
        valid = (SegmentationDataLoader(X[valid_idx], y[valid_idx], batch_size=val_bs or bs, batch_tfms=batch_tfms)
                 if len(valid_idx) else None)
        dls = cls(train, valid, codes)
        dls.set_stats(stats)
        return dls

    def test_dl(self, images: Any, masks: Any = None, bs: int | None = None) -> SegmentationDataLoader:
        """A loader over new images (and their masks, optional), unshuffled and unaugmented, normalised as the
        training batches."""
        X = _as_nchw(images)
        y = None if masks is None else _as_masks(masks, X)
        return SegmentationDataLoader(X, y, batch_size=bs or self.train.batch_size, stats=self.stats)

    def show_batch(self, max_n: int = 9, nrows: int | None = None, ncols: int | None = None,
                   figsize: tuple[float, float] | None = None, unique: bool = False, train: bool = True,
                   alpha: float = 0.5) -> Any:
        """A matplotlib grid of up to max_n images of a training (augmented) or validation batch, each with its
        mask drawn over it (fastai's: colormap tab20, alpha 0.5, background included); unique=True shows the first
        image augmented max_n times. Returns the figure."""
        loader = self.train if train else self.valid
        if loader is None:
            raise ValueError("there is no validation loader")
        if unique:
            from .augment import augment_batch
            x, y = loader.decode_images(np.repeat(loader.images[:1], max_n, axis=0)), \
                np.repeat(loader.labels[:1], max_n, axis=0)
            if loader.batch_tfms:
                x, y = augment_batch(x, loader.batch_tfms, loader._generator_for_tfms(), 0 if loader.augment else 1,
                                     mask=y)
        else:
            xb, yb = next(iter(loader))
            x, y = loader.denormalize(xb.numpy()), yb.numpy()
        fig = show_images(x[:max_n], None, nrows, ncols, figsize)
        _show_masks(fig, y[:max_n], len(self.codes), alpha)
        return fig


def _show_masks(fig: Any, masks: np.ndarray, n_codes: int, alpha: float = 0.5) -> None:
    """Draw masks[i] over the i-th axis of fig (show_images's grid), coloured by class (tab20, fastai's)."""
    for ax, mask in zip(fig.axes, masks):
        ax.imshow(mask, cmap="tab20", alpha=alpha, vmin=0, vmax=max(n_codes - 1, 1), interpolation="nearest")
