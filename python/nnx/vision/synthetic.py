"""Image sets generated on the spot, for demos and tests that must run offline: the digits shipped with nnx as
upsampled images, coloured shapes on noisy backgrounds, oriented textures, and scenes of shapes on textured
backgrounds with their per-pixel masks (segmentation). Reproducible from the seed."""
from __future__ import annotations

import numpy as np

from ..datasets import load_digits_split

__all__ = ["digit_images", "shapes", "textures", "SHAPE_CLASSES", "TEXTURE_CLASSES"]
__all__ += ["scenes", "SCENE_CODES"]

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


SCENE_CODES = ("background",) + SHAPE_CLASSES


def _shape_mask(label: int, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """The pixels of shape SHAPE_CLASSES[label] in coordinates scaled by its radius (as shapes() draws them)."""
    if label == 0:
        return dy ** 2 + dx ** 2 <= 1
    if label == 1:
        return (np.abs(dy) <= 0.8) & (np.abs(dx) <= 0.8)
    if label == 2:
        return (dy <= 0.8) & (dy >= -1 + 2 * np.abs(dx))
    return ((np.abs(dy) <= 0.3) | (np.abs(dx) <= 0.3)) & (np.abs(dy) <= 1) & (np.abs(dx) <= 1)


def scenes(n: int, size: int = 32, seed: int = 0, max_shapes: int = 3,
           classes: tuple[str, ...] = SHAPE_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, size, size, 3) uint8, masks (n, size, size) uint8) for segmentation: 1 to max_shapes filled
    shapes (of `classes`, a subset of SHAPE_CLASSES) per image, each in a random colour, scale and place (later ones
    drawn over earlier ones), on a darker textured background (stripes, checks or smooth noise in two colours, with
    pixel noise). masks[i, y, x] is the class of the pixel: 0 the background, k the shape SCENE_CODES[k] (the
    index in SHAPE_CLASSES plus one, whatever subset `classes` is). Reproducible from the seed."""
    if n < 0 or size < 8 or max_shapes < 1:
        raise ValueError(f"scenes(): need n >= 0, size >= 8 and max_shapes >= 1, got n={n}, size={size}, "
                         f"max_shapes={max_shapes}")
    unknown = [name for name in classes if name not in SHAPE_CLASSES]
    if unknown or not classes:
        raise ValueError(f"scenes(): classes must be names from {SHAPE_CLASSES}, got {classes!r}")
    labels = np.array([SHAPE_CLASSES.index(name) for name in classes])
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    images = np.empty((n, size, size, 3), np.uint8)
    masks = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        angle, period = rng.uniform(0, np.pi), rng.uniform(3, 8)
        u = rows * np.cos(angle) + cols * np.sin(angle)
        v = -rows * np.sin(angle) + cols * np.cos(angle)
        kind = rng.integers(0, 3)
        if kind == 0:
            pattern = np.sin(2 * np.pi * u / period) > 0
        elif kind == 1:
            pattern = (np.sin(2 * np.pi * u / period) > 0) ^ (np.sin(2 * np.pi * v / period) > 0)
        else:
            noise = rng.random((size + 4, size + 4))
            noise = sum(noise[a:a + size, b:b + size] for a in range(5) for b in range(5)) / 25
            pattern = noise > np.median(noise)
        dark, light = rng.uniform(0, 60, 3), rng.uniform(40, 110, 3)
        image = np.where(pattern[..., None], light, dark) + rng.normal(0, 10, (size, size, 3))
        for _ in range(rng.integers(1, max_shapes + 1)):
            label = labels[rng.integers(0, len(labels))]
            radius = rng.uniform(0.15, 0.3) * size
            cy, cx = rng.uniform(radius, size - radius, 2)
            shape = _shape_mask(label, (rows - cy) / radius, (cols - cx) / radius)
            image = np.where(shape[..., None], rng.uniform(140, 255, 3) + rng.normal(0, 10, (size, size, 3)), image)
            masks[i][shape] = label + 1
        images[i] = np.clip(image, 0, 255).astype(np.uint8)
    return images, masks
