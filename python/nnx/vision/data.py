"""Image classification data, fastai's way: ImageDataLoaders from arrays (N, H, W[, C]) or from a folder of
class-per-folder image files, batches of float NCHW images (uint8 scaled to [0, 1]) augmented by batch_tfms
when training, then normalised with given or computed per-channel statistics; show_batch draws a grid."""
from __future__ import annotations

import os
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from .. import nn
from ..data import DataLoader, DataLoaders
from ..tabular.data import _valid_index
from ..tensor import Tensor

__all__ = ["ImageDataLoader", "ImageDataLoaders", "image_stats", "IMAGE_EXTENSIONS"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
Stats = tuple[Sequence[float], Sequence[float]]


def _as_nchw(images: Any, name: str = "images") -> np.ndarray:
    """(N, H, W) or (N, H, W, C) images (C of 1, 3 or 4) as a C-contiguous (N, C, H, W) array of their dtype
    (uint8 kept: batches are scaled as they are made; other integers and float64 become float32)."""
    array = images.numpy() if isinstance(images, Tensor) else np.asarray(images)
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4:
        if array.shape[-1] not in (1, 3, 4):
            raise ValueError(f"{name} must be (N, H, W) or channels-last (N, H, W, C) with C in 1, 3, 4; "
                             f"got shape {array.shape}")
        array = array.transpose(0, 3, 1, 2)
    else:
        raise ValueError(f"{name} must be (N, H, W) or (N, H, W, C), got shape {array.shape}")
    if array.dtype != np.uint8:
        if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
            raise TypeError(f"{name} must hold uint8 or real numbers, got dtype {array.dtype}")
        array = array.astype(np.float32)
    return np.ascontiguousarray(array)


def image_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel (mean, std) of (N, C, H, W) images on the [0, 1] scale batches use (uint8 divided by 255)."""
    scale = 1 / 255 if images.dtype == np.uint8 else 1.0
    sums = np.zeros(images.shape[1]), np.zeros(images.shape[1])
    for start in range(0, len(images), 256):  # in chunks: no float64 copy of the whole set
        chunk = images[start:start + 256].astype(np.float64) * scale
        sums[0][:] += chunk.sum(axis=(0, 2, 3))
        sums[1][:] += (chunk * chunk).sum(axis=(0, 2, 3))
    count = max(images.shape[0] * images.shape[2] * images.shape[3], 1)
    mean = sums[0] / count
    std = np.sqrt(np.maximum(sums[1] / count - mean * mean, 0))
    return mean.tolist(), np.where(std > 0, std, 1.0).tolist()


class ImageDataLoader(DataLoader):
    """Batches (xb, yb) of images: xb float32 (N, C, H, W), uint8 images scaled to [0, 1], then batch_tfms
    (nnx.vision.augment's transforms, e.g. aug_transforms()) applied — all of them in a training loader
    (augment=True), only the deterministic ones (resizes) otherwise — then normalised by `stats` ((mean, std)
    per channel, None for none); yb int64 class indices (a loader without labels yields (xb,))."""

    def __init__(self, images: np.ndarray, labels: np.ndarray | None = None, batch_size: int = 64,
                 shuffle: bool = False, drop_last: bool = False, seed: int | None = None,
                 batch_tfms: Sequence[Any] | None = None, augment: bool = False, stats: Stats | None = None) -> None:
        # The base loader batches positions (its order, shuffling and drop_last); images are gathered here, so that
        # uint8 images stay uint8 in memory (the base loader would widen integers to int64).
        super().__init__(np.arange(len(images)), None, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                         seed=seed)
        self.images, self.labels = images, labels
        self.batch_tfms = list(batch_tfms or [])
        self.augment, self.has_labels = bool(augment), labels is not None
        self.stats = stats
        # Augmentation draws from its own generator: from `seed` when given (reproducible), else nnx's.
        self._tfm_generator = None if seed is None else np.random.default_rng([seed, 1])

    def __iter__(self):
        for positions in super().__iter__():
            index = positions.numpy()
            x = self.decode_images(self.images[index])
            if self.batch_tfms:  # (a validation loader's split_idx 1 skips the random parts, keeps resizes)
                x = _apply_tfms(self.batch_tfms, x, self._generator_for_tfms(), 0 if self.augment else 1)
            x = Tensor._wrap(np.ascontiguousarray(self.normalize(x)))
            yield (x,) if self.labels is None else (x, Tensor._wrap(self.labels[index]))

    def _generator_for_tfms(self):
        if self._tfm_generator is not None:
            return self._tfm_generator
        from .. import random as nnx_random
        return nnx_random.numpy_generator()

    @staticmethod
    def decode_images(x: np.ndarray) -> np.ndarray:
        """A batch as float32 on the [0, 1] scale (uint8 / 255; float images as they are)."""
        if x.dtype == np.uint8:
            return x.astype(np.float32) * np.float32(1 / 255)
        return np.ascontiguousarray(x, dtype=np.float32)

    def normalize(self, x: np.ndarray) -> np.ndarray:
        """(x - mean) / std per channel with this loader's stats (x unchanged when stats is None)."""
        if self.stats is None:
            return x
        mean, std = (np.asarray(s, np.float32).reshape(1, -1, 1, 1) for s in self.stats)
        return (x - mean) / std

    def denormalize(self, x: np.ndarray) -> np.ndarray:
        """x * std + mean (the inverse of normalize)."""
        if self.stats is None:
            return x
        mean, std = (np.asarray(s, np.float32).reshape(1, -1, 1, 1) for s in self.stats)
        return x * std + mean


def _apply_tfms(tfms, x, generator, split_idx=0):
    """nnx.vision.augment's transforms applied to the float NCHW batch x (one grid_sample for the coordinate
    transforms, one pass for lighting); split_idx 1 (validation) applies only the deterministic ones."""
    from .augment import augment_batch
    return augment_batch(x, tfms, generator, split_idx)


class ImageDataLoaders(DataLoaders):
    """fastai's ImageDataLoaders: a shuffled, augmented training loader and an in-order validation loader over
    images and their class labels. vocab: the classes (sorted unique labels unless given), c: their count,
    n_channels, stats: the normalisation (mean, std) or None, loss_func: CrossEntropyLoss."""

    def __init__(self, train: ImageDataLoader, valid: ImageDataLoader | None, vocab: list[Hashable]) -> None:
        super().__init__(train, valid)
        self.vocab = list(vocab)
        self.loss_func = nn.CrossEntropyLoss()

    @property
    def c(self) -> int:
        """The number of classes."""
        return len(self.vocab)

    @property
    def n_channels(self) -> int:
        """The images' channel count."""
        return int(self.train.images.shape[1])

    @property
    def stats(self) -> Stats | None:
        """The (mean, std) batches are normalised with, or None."""
        return self.train.stats

    def set_stats(self, stats: Stats | None) -> None:
        """Normalise every loader's batches with stats = (mean, std) per channel (None: not at all)."""
        if stats is not None:
            mean, std = (np.asarray(s, np.float64).reshape(-1) for s in stats)
            if mean.shape != std.shape or mean.size not in (1, self.n_channels):
                raise ValueError(f"stats must be (mean, std) with 1 or {self.n_channels} values each, got {stats!r}")
            if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
                raise ValueError(f"stats must be finite with std > 0, got {stats!r}")
            stats = (mean.tolist(), std.tolist())
        for loader in self.loaders:
            loader.stats = stats

    @classmethod
    def from_arrays(cls, images: Any, labels: Any, valid_pct: float = 0.2, seed: int | None = None,
                    valid_idx: Sequence[int] | None = None, bs: int = 64, val_bs: int | None = None,
                    batch_tfms: Sequence[Any] | None = None, normalize: bool = True, stats: Stats | None = None,
                    vocab: Sequence[Hashable] | None = None, drop_last: bool = True) -> ImageDataLoaders:
        """Loaders over images (N, H, W) or (N, H, W, C), uint8 or float, and their labels (any hashable
        values: classes are the sorted unique labels unless vocab is given). A random valid_pct of the images
        (from seed) or those at valid_idx are the validation set. Batches are normalised with stats when
        given, else with the training images' per-channel statistics when normalize, else not at all. The training
        loader shuffles and, as fastai's, drops a last partial batch (drop_last; BatchNorm refuses a batch of one)."""
        X = _as_nchw(images)
        y_raw = labels.numpy() if isinstance(labels, Tensor) else np.asarray(labels)
        if y_raw.ndim != 1 or len(y_raw) != len(X):
            raise ValueError(f"labels must be one label per image ({len(X)}), got shape {y_raw.shape}")
        vocab = sorted(set(y_raw.tolist()), key=_sort_key) if vocab is None else list(vocab)
        position = {label: i for i, label in enumerate(vocab)}
        missing = [label for label in set(y_raw.tolist()) if label not in position]
        if missing:
            raise ValueError(f"labels hold values not in vocab: {sorted(missing, key=_sort_key)[:5]!r}")
        y = np.array([position[label] for label in y_raw.tolist()], dtype=np.int64)
        train_idx, valid_idx = _valid_index(len(X), valid_idx, valid_pct, seed)
        X_train, y_train = X[train_idx], y[train_idx]
        if stats is None and normalize:
            stats = image_stats(X_train)
        train = ImageDataLoader(X_train, y_train, batch_size=bs, shuffle=True, drop_last=drop_last, seed=seed,
                                batch_tfms=batch_tfms, augment=True)
        valid = (ImageDataLoader(X[valid_idx], y[valid_idx], batch_size=val_bs or bs, batch_tfms=batch_tfms)
                 if len(valid_idx) else None)
        dls = cls(train, valid, vocab)
        dls.set_stats(stats)
        return dls

    @classmethod
    def from_folder(cls, path: str | os.PathLike[str], train: str = "train", valid: str = "valid",
                    valid_pct: float | None = None, seed: int | None = None, size: int | tuple[int, int] | None = None,
                    mode: str | None = None, **kwargs: Any) -> ImageDataLoaders:
        """Images read with Pillow from class-per-folder files: path/train/<class>/* and path/valid/<class>/*
        when both exist (and valid_pct is None), else path/<class>/* split by valid_pct (0.2 by default).
        size: (height, width) or an int for square images, each image resized to it (bilinear); without size
        every image must have the first one's size. mode: Pillow's ("RGB", "L"); by default RGB unless every
        image is grayscale. kwargs go to from_arrays (bs, batch_tfms, normalize, stats, vocab, ...)."""
        root = os.fspath(path)
        train_dir, valid_dir = os.path.join(root, train), os.path.join(root, valid)
        if valid_pct is None and os.path.isdir(train_dir) and os.path.isdir(valid_dir):
            files_train, labels_train = _class_files(train_dir)
            files_valid, labels_valid = _class_files(valid_dir)
            files, labels = files_train + files_valid, labels_train + labels_valid
            kwargs["valid_idx"] = range(len(files_train), len(files))
        else:
            files, labels = _class_files(root)
            valid_pct = 0.2 if valid_pct is None else valid_pct
        images = _read_images(files, size, mode)
        return cls.from_arrays(images, np.array(labels, dtype=object), valid_pct=valid_pct or 0.2, seed=seed,
                               **kwargs)

    def test_dl(self, images: Any, labels: Any = None, bs: int | None = None) -> ImageDataLoader:
        """A loader over new images (as from_arrays takes them), unshuffled and unaugmented, normalised as the
        training batches; labels (optional) are mapped through vocab."""
        X = _as_nchw(images)
        y = None
        if labels is not None:
            position = {label: i for i, label in enumerate(self.vocab)}
            y = np.array([position[label] for label in np.asarray(labels).tolist()], dtype=np.int64)
        return ImageDataLoader(X, y, batch_size=bs or self.train.batch_size, stats=self.stats)

    def one_batch(self, train: bool = True) -> tuple[Tensor, Tensor]:
        """The first batch of the training (augmented) or validation loader."""
        loader = self.train if train else self.valid
        if loader is None:
            raise ValueError("there is no validation loader")
        return next(iter(loader))

    def show_batch(self, max_n: int = 9, nrows: int | None = None, ncols: int | None = None,
                   figsize: tuple[float, float] | None = None, unique: bool = False, train: bool = True) -> Any:
        """A matplotlib grid of up to max_n images of a training (augmented) batch, or the validation batch,
        titled by class; unique=True shows the first image augmented max_n times. Returns the figure."""
        loader = self.train if train else self.valid
        if loader is None:
            raise ValueError("there is no validation loader")
        if unique:
            raw = np.repeat(loader.images[:1], max_n, axis=0)
            x = loader.decode_images(raw)
            if loader.batch_tfms:
                x = _apply_tfms(loader.batch_tfms, x, loader._generator_for_tfms(), 0 if loader.augment else 1)
            labels = np.repeat(loader.labels[:1], max_n) if loader.has_labels else None
        else:
            batch = next(iter(loader))
            x = loader.denormalize(batch[0].numpy())
            labels = batch[1].numpy() if loader.has_labels else None
        titles = None if labels is None else [str(self.vocab[i]) for i in labels[:max_n]]
        return show_images(x[:max_n], titles, nrows, ncols, figsize)


def show_images(images: np.ndarray, titles: Sequence[str] | None = None, nrows: int | None = None,
                ncols: int | None = None, figsize: tuple[float, float] | None = None) -> Any:
    """A matplotlib figure of float (N, C, H, W) images on the [0, 1] scale (clipped), one per axis."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("show_batch needs matplotlib: pip install matplotlib (or nnx[plot])") from error
    n = len(images)
    ncols = ncols or int(np.ceil(np.sqrt(n))) or 1
    nrows = nrows or max(-(-n // ncols), 1)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize or (2.5 * ncols, 2.5 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        image = np.clip(images[i].transpose(1, 2, 0), 0, 1)
        ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray" if image.shape[-1] == 1 else None)
        if titles is not None:
            ax.set_title(titles[i])
    return fig


def _sort_key(label):
    return (type(label).__name__, label)


def _class_files(folder):
    """(files, labels): the image files in each sub-folder of folder (recursively), labelled by the sub-folder."""
    files, labels = [], []
    for label in sorted(entry.name for entry in os.scandir(folder) if entry.is_dir()):
        for root, _, names in sorted(os.walk(os.path.join(folder, label))):
            for name in sorted(names):
                if name.lower().endswith(IMAGE_EXTENSIONS):
                    files.append(os.path.join(root, name))
                    labels.append(label)
    if not files:
        raise ValueError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in class folders under {folder!r}")
    return files, labels


def _read_images(files, size, mode):
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError("from_folder reads images with Pillow: pip install Pillow (or nnx[vision])") from error
    if size is not None:
        height, width = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    opened = [Image.open(file) for file in files]
    try:
        mode = mode or ("L" if all(image.mode in ("L", "1", "I;16") for image in opened) else "RGB")
        arrays = []
        for file, image in zip(files, opened):
            image = image.convert(mode)
            if size is not None and image.size != (width, height):
                image = image.resize((width, height), Image.BILINEAR)
            array = np.asarray(image, dtype=np.uint8)
            if arrays and array.shape != arrays[0].shape:
                raise ValueError(f"{file}: size {array.shape[:2]} differs from the first image's "
                                 f"{arrays[0].shape[:2]}: pass size= to resize them")
            arrays.append(array)
    finally:
        for image in opened:
            image.close()
    return np.stack(arrays)
