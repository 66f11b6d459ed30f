"""Video clips as stacks of images: a (N, T, C, H, W) clip goes through a per-frame CNN (the frames of every clip
as one batch of N*T images), the frame features are pooled over time (mean or max), and a Linear classifies the
clip; plus moving-shape clips generated on the spot for offline examples."""
from __future__ import annotations

import numpy as np

from .. import nn
from ..tensor import Tensor
from .synthetic import shapes

__all__ = ["FrameClassifier", "moving_shapes"]


class FrameClassifier(nn.Module):
    """frame_model maps (B, C, H, W) images to (B, n_features) features (e.g. a CNN body ending in pooling and
    Flatten); forward takes clips (N, T, C, H, W), pools the T frame features by `pool` ('mean' or 'max') and
    returns (N, n_out) scores from a Linear layer named `head`."""

    def __init__(self, frame_model: nn.Module, n_features: int, n_out: int, pool: str = "mean") -> None:
        super().__init__()
        if pool not in ("mean", "max"):
            raise ValueError(f"pool must be 'mean' or 'max', got {pool!r}")
        self.frame_model, self.pool = frame_model, pool
        self.head = nn.Linear(n_features, n_out)

    def forward(self, clips: Tensor) -> Tensor:
        if clips.ndim != 5:
            raise ValueError(f"clips must be (N, T, C, H, W), got shape {tuple(clips.shape)}")
        n, t = clips.shape[0], clips.shape[1]
        features = self.frame_model(clips.reshape(n * t, *clips.shape[2:]))
        if features.ndim != 2:
            raise ValueError(f"frame_model must return (batch, features), got shape {tuple(features.shape)}")
        features = features.reshape(n, t, features.shape[1])
        pooled = features.mean(1) if self.pool == "mean" else features.amax(1)
        return self.head(pooled)

    def extra_repr(self) -> str:
        return f"pool={self.pool!r}"


def moving_shapes(n: int, frames: int = 6, size: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(clips (n, frames, 3, size, size) uint8, labels (n,) int64 indexing synthetic.SHAPE_CLASSES): each clip
    shows one shape drifting across a noisy background (a frame is shifted by a random whole-pixel step per
    frame, wrapping around)."""
    images, labels = shapes(n, size=size, seed=seed)
    rng = np.random.default_rng([seed, 1])
    clips = np.empty((n, frames, 3, size, size), np.uint8)
    for i in range(n):
        step = rng.integers(-2, 3, 2)
        for f in range(frames):
            clips[i, f] = np.roll(images[i], tuple(step * f), axis=(0, 1)).transpose(2, 0, 1)
    return clips, labels

