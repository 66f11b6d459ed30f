"""Image sets generated on the spot, for demos and tests that must run offline: the digits shipped with nnx as
upsampled images, coloured shapes on noisy backgrounds, and oriented textures. Reproducible from the seed."""
from __future__ import annotations

import numpy as np

from ..datasets import load_digits_split

__all__ = ["digit_images", "shapes", "textures", "SHAPE_CLASSES", "TEXTURE_CLASSES"]

SHAPE_CLASSES = ("circle", "square", "triangle", "cross")
TEXTURE_CLASSES = ("stripes", "checks", "dots", "noise")


def digit_images(scale: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_images, test_images, train_labels, test_labels): nnx's 8x8 digits (the same split as `python -m nnx`)
    as uint8 (N, 8*scale, 8*scale) images, each pixel repeated scale x scale times."""
    X_train, X_test, y_train, y_test = load_digits_split()

    def images(X):
        pixels = np.rint(X.reshape(-1, 8, 8) * 255).astype(np.uint8)
        return pixels.repeat(scale, axis=1).repeat(scale, axis=2)

    return images(X_train), images(X_test), y_train, y_test


def shapes(n: int, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, size, size, 3) uint8, labels (n,) int64 indexing SHAPE_CLASSES): one filled shape per image in
    a random colour, position and scale, on a darker noisy background of another colour."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(SHAPE_CLASSES), n)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    images = np.empty((n, size, size, 3), np.uint8)
    for i, label in enumerate(labels):
        radius = rng.uniform(0.2, 0.35) * size
        cy, cx = rng.uniform(radius, size - radius, 2)
        dy, dx = (rows - cy) / radius, (cols - cx) / radius
        if label == 0:
            mask = dy ** 2 + dx ** 2 <= 1
        elif label == 1:
            mask = (np.abs(dy) <= 0.8) & (np.abs(dx) <= 0.8)
        elif label == 2:
            mask = (dy <= 0.8) & (dy >= -1 + 2 * np.abs(dx))
        else:
            mask = ((np.abs(dy) <= 0.25) | (np.abs(dx) <= 0.25)) & (np.abs(dy) <= 1) & (np.abs(dx) <= 1)
        background = rng.uniform(0, 100, 3) + rng.normal(0, 12, (size, size, 3))
        foreground = rng.uniform(140, 255, 3)
        images[i] = np.clip(np.where(mask[..., None], foreground, background), 0, 255).astype(np.uint8)
    return images, labels.astype(np.int64)


def textures(n: int, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, size, size) uint8, labels (n,) int64 indexing TEXTURE_CLASSES): stripes at a random angle and
    period, checks, dots on a grid, or smoothed noise, each with pixel noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(TEXTURE_CLASSES), n)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    images = np.empty((n, size, size), np.uint8)
    for i, label in enumerate(labels):
        angle, period = rng.uniform(0, np.pi), rng.uniform(4, 9)
        u = rows * np.cos(angle) + cols * np.sin(angle)
        v = -rows * np.sin(angle) + cols * np.cos(angle)
        if label == 0:
            pattern = np.sin(2 * np.pi * u / period) > 0
        elif label == 1:
            pattern = (np.sin(2 * np.pi * u / period) > 0) ^ (np.sin(2 * np.pi * v / period) > 0)
        elif label == 2:
            pattern = (np.cos(2 * np.pi * u / period) + np.cos(2 * np.pi * v / period)) > 1.2
        else:
            noise = rng.random((size + 4, size + 4))
            noise = sum(noise[a:a + size, b:b + size] for a in range(5) for b in range(5)) / 25
            pattern = noise > np.median(noise)
        values = np.where(pattern, 200.0, 55.0) + rng.normal(0, 20, (size, size))
        images[i] = np.clip(values, 0, 255).astype(np.uint8)
    return images, labels.astype(np.int64)
