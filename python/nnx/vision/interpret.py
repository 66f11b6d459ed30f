"""fastai's ClassificationInterpretation: where a trained classifier goes wrong on the validation set — the
confusion matrix, the most confused pairs of classes, and the images with the largest losses."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..learner import Learner
from .data import ImageDataLoader, show_images

__all__ = ["ClassificationInterpretation"]


class ClassificationInterpretation:
    """Predictions (class probabilities), targets and per-item cross-entropy losses of a Learner on a loader.
    vocab names the classes (the DataLoaders' vocab, else their indices)."""

    def __init__(self, learn: Learner, dl: Any, preds: np.ndarray, targs: np.ndarray,
                 vocab: Sequence[Any] | None = None) -> None:
        self.learn, self.dl = learn, dl
        self.preds, self.targs = np.asarray(preds), np.asarray(targs).astype(np.int64)
        if self.preds.ndim != 2 or len(self.preds) != len(self.targs):
            raise ValueError(f"preds must be (n, classes) and targs (n,), got {self.preds.shape} and "
                             f"{self.targs.shape}")
        self.vocab = list(vocab) if vocab is not None else list(range(self.preds.shape[1]))
        rows = np.arange(len(self.targs))
        with np.errstate(divide="ignore"):
            self.losses = -np.log(self.preds[rows, self.targs].astype(np.float64))
        self.decoded = self.preds.argmax(axis=1)

    @classmethod
    def from_learner(cls, learn: Learner, ds_idx: int = 1, dl: Any = None) -> ClassificationInterpretation:
        """Interpret learn on dl, by default its validation (ds_idx=1) or training (0) loader, unshuffled."""
        if dl is None:
            dl = learn.dls[ds_idx]
            if dl is None:
                raise ValueError(f"the Learner's DataLoaders have no loader at ds_idx={ds_idx}")
        if isinstance(dl, ImageDataLoader) and (dl.shuffle or dl.augment):  # (the training loader) in order, as is
            dl = ImageDataLoader(dl.images, dl.labels, batch_size=dl.batch_size, stats=dl.stats)
        preds, targs = learn.get_preds(dl=dl)
        if targs is None:
            raise ValueError("ClassificationInterpretation needs a loader with targets")
        return cls(learn, dl, preds, targs, getattr(learn.dls, "vocab", None))

    def confusion_matrix(self) -> np.ndarray:
        """counts[actual, predicted] (int64, classes x classes)."""
        n = len(self.vocab)
        return np.bincount(self.targs * n + self.decoded, minlength=n * n).reshape(n, n)

    def most_confused(self, min_val: int = 1) -> list[tuple[Any, Any, int]]:
        """(actual, predicted, count) for every off-diagonal cell with count >= min_val, largest first."""
        cm = self.confusion_matrix()
        np.fill_diagonal(cm, 0)
        pairs = [(self.vocab[i], self.vocab[j], int(cm[i, j])) for i, j in zip(*np.nonzero(cm >= min_val))]
        return sorted(pairs, key=lambda pair: -pair[2])

    def top_losses(self, k: int | None = None, largest: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(losses, indices) of the k items with the largest (or smallest) loss, in that order."""
        order = np.argsort(-self.losses if largest else self.losses, kind="stable")
        order = order[:k] if k is not None else order
        return self.losses[order], order

    def plot_confusion_matrix(self, normalize: bool = False, title: str = "Confusion matrix",
                              cmap: str = "Blues", figsize: tuple[float, float] | None = None) -> Any:
        """The confusion matrix as a matplotlib figure (rows actual, columns predicted); normalize divides each
        row by its count."""
        plt = _pyplot()
        cm = self.confusion_matrix().astype(np.float64)
        if normalize:
            cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        fig, ax = plt.subplots(figsize=figsize or (max(4, len(self.vocab) * 0.6),) * 2)
        ax.imshow(cm, interpolation="nearest", cmap=cmap)
        ax.set_title(title)
        ticks = np.arange(len(self.vocab))
        ax.set_xticks(ticks, [str(v) for v in self.vocab], rotation=90)
        ax.set_yticks(ticks, [str(v) for v in self.vocab])
        for i, j in np.ndindex(cm.shape):
            ax.text(j, i, f"{cm[i, j]:.2f}" if normalize else f"{int(cm[i, j])}", ha="center", va="center",
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
        ax.set_ylabel("Actual")
        ax.set_xlabel("Predicted")
        return fig

    def plot_top_losses(self, k: int = 9, largest: bool = True, nrows: int | None = None,
                        figsize: tuple[float, float] | None = None) -> Any:
        """The k images with the largest losses, titled prediction/actual/loss/probability of the actual
        class, as fastai. Needs a loader over images (ImageDataLoader)."""
        losses, idx = self.top_losses(k, largest)
        images = self.dl.images[idx]
        images = self.dl.decode_images(images)
        titles = [f"{self.vocab[self.decoded[i]]}/{self.vocab[self.targs[i]]} / {loss:.2f} / "
                  f"{self.preds[i, self.targs[i]]:.2f}" for loss, i in zip(losses, idx)]
        return show_images(images, titles, nrows=nrows, figsize=figsize)


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("plots need matplotlib: pip install matplotlib (or nnx[plot])") from error
    return plt
