"""The data of fastai's GANs: noise for the generator (fastai's generate_noise) paired with real images for the
critic, as loaders of (noise, images) batches (gan.py's GANTrainer swaps them for the critic)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import random as nnx_random
from ..data import DataLoader, DataLoaders
from ..tensor import Tensor
from .data import _as_nchw

__all__ = ["generate_noise", "NoiseDataLoader", "gan_dataloaders"]


def generate_noise(fn: Any = None, size: int = 100) -> np.ndarray:
    """fastai's generate_noise: a float32 standard-normal vector of `size` from nnx's seeded generator (fn, the
    item, is ignored, as in fastai)."""
    return nnx_random.numpy_generator().standard_normal(size).astype(np.float32)


class NoiseDataLoader(DataLoader):
    """Batches (noise, real images): fresh standard-normal noise (batch, noise_size) each batch (fastai's
    generate_noise as get_x) and the images as float32 (N, C, H, W) scaled to [-1, 1], the range of the generator's
    Tanh (fastai's course normalises with mean 0.5 and std 0.5). uint8 images are divided by 255 first; float
    images are taken to be on [0, 1]."""

    def __init__(self, images: Any, noise_size: int = 100, batch_size: int = 64, shuffle: bool = True,
                 drop_last: bool = True, seed: int | None = None) -> None:
        if isinstance(noise_size, bool) or not isinstance(noise_size, (int, np.integer)) or noise_size < 1:
            raise ValueError(f"noise_size must be a positive integer, got {noise_size!r}")
        array = _as_nchw(images)
        if len(array) == 0:
            raise ValueError("images must hold at least one image")
        scaled = array.astype(np.float32) / (255.0 if array.dtype == np.uint8 else 1.0)
        super().__init__(np.arange(len(array)), None, batch_size=min(batch_size, len(array)), shuffle=shuffle,
                         drop_last=drop_last, seed=seed)
        self.images = np.ascontiguousarray(scaled * 2 - 1)
        self.noise_size = int(noise_size)
        self._noise_generator = None if seed is None else np.random.default_rng([seed, 2])

    def __iter__(self):
        for positions in super().__iter__():
            real = self.images[positions.numpy()]
            yield Tensor(self.noise(len(real))), Tensor(real)

    def noise(self, n: int) -> np.ndarray:
        """(n, noise_size) float32 standard-normal noise, from the loader's own generator when it has a seed."""
        generator = self._noise_generator if self._noise_generator is not None else nnx_random.numpy_generator()
        return generator.standard_normal((n, self.noise_size)).astype(np.float32)


def gan_dataloaders(images: Any, noise_size: int = 100, bs: int = 64, n_valid: int = 0,
                    seed: int | None = None) -> DataLoaders:
    """DataLoaders for a GAN from real images ((N, H, W) or (N, H, W, C), uint8 or floats on [0, 1]): training
    batches of (noise, images) (NoiseDataLoader, shuffled, full batches), and, when n_valid > 0, a validation
    loader over the last n_valid images (fastai's GAN DataBlock has none by default; with one, the epoch table
    shows the generator's validation loss and the gen_loss/crit_loss columns)."""
    array = _as_nchw(images)
    if isinstance(n_valid, bool) or not isinstance(n_valid, (int, np.integer)) or not 0 <= n_valid < len(array):
        raise ValueError(f"n_valid must be an integer in [0, {len(array)}), got {n_valid!r}")
    train_images = array[:len(array) - n_valid]
    train = NoiseDataLoader(_nhwc(train_images), noise_size, bs, shuffle=True, drop_last=True, seed=seed)
    valid = None
    if n_valid:
        valid = NoiseDataLoader(_nhwc(array[len(array) - n_valid:]), noise_size, bs, shuffle=False, drop_last=False,
                                seed=None if seed is None else seed + 1)
    return DataLoaders(train, valid)


def _nhwc(nchw: np.ndarray) -> np.ndarray:
    """(N, C, H, W) back to what _as_nchw takes."""
    return nchw[:, 0] if nchw.shape[1] == 1 else nchw.transpose(0, 2, 3, 1)
