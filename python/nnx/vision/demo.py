"""`python -m nnx vision`: convolutional networks on the digits shipped with nnx, offline.

1. A small CNN (ConvLayers, global pooling) trained with fit_one_cycle and batch augmentation on the 8x8 digits
   upsampled to 16x16, against the MLP of `python -m nnx` on the same split.
2. Transfer learning: a body pretrained on the digits 0-4 gets a new head for the digits 5-9 and is fine-tuned
   from a few examples per class (vision_learner + fine_tune), against the same network trained from scratch.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from .. import nn
from ..data import DataLoaders
from ..datasets import load_digits_split
from ..learner import Learner
from ..metrics import accuracy
from ..random import manual_seed
from .data import ImageDataLoaders
from .layers import ConvLayer
from .learner import vision_learner
from .synthetic import digit_images

__all__ = ["digits_cnn", "cnn_against_mlp", "transfer", "main"]


def digits_cnn(n_out: int = 10) -> nn.Sequential:
    """Five ConvLayers (16-32-64 channels, two strided), global average pooling, a Linear: ~70 k parameters."""
    return nn.Sequential(ConvLayer(1, 16), ConvLayer(16, 32, stride=2), ConvLayer(32, 32),
                         ConvLayer(32, 64, stride=2), ConvLayer(64, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(64, n_out))


def _augmentations():
    """Small rotations, zooms and warps (no flips: a flipped digit is another symbol)."""
    from .augment import aug_transforms
    return aug_transforms(do_flip=False, max_rotate=10.0, max_zoom=1.1, max_warp=0.1, max_lighting=0.0,
                          pad_mode="zeros")


def _test_accuracy(learn, images, labels, dls):
    preds, _ = learn.get_preds(dl=dls.test_dl(images, labels))
    return float(np.mean(preds.argmax(1) == np.asarray(labels)))


def cnn_against_mlp(epochs: int, seed: int, verbose: bool) -> dict:
    """Test accuracies and seconds of the digits CNN and of `python -m nnx`'s MLP on the same split."""
    train_images, test_images, y_train, y_test = digit_images(scale=2)
    manual_seed(seed)
    dls = ImageDataLoaders.from_arrays(np.concatenate([train_images, test_images]), np.concatenate([y_train, y_test]),
                                       valid_idx=range(len(y_train), len(y_train) + len(y_test)), seed=seed, bs=64,
                                       batch_tfms=_augmentations())
    learn = Learner(dls, digits_cnn(), metrics=accuracy, verbose=verbose)
    start = time.perf_counter()
    learn.fit_one_cycle(epochs, 1e-2)
    cnn_seconds = time.perf_counter() - start
    cnn = _test_accuracy(learn, test_images, y_test, dls)

    from ..__main__ import build_model  # the MLP `python -m nnx` trains
    manual_seed(seed)
    X_train, X_test, _, _ = load_digits_split()
    mlp_learn = Learner(DataLoaders.from_arrays(X_train, y_train, X_test, y_test, bs=64), build_model(),
                        nn.CrossEntropyLoss(), metrics=accuracy, verbose=False)
    start = time.perf_counter()
    mlp_learn.fit_one_cycle(12, 1e-2)
    mlp_seconds = time.perf_counter() - start
    mlp = float(np.mean(mlp_learn.predict(X_test) == y_test))
    return dict(cnn=cnn, cnn_seconds=cnn_seconds, mlp=mlp, mlp_seconds=mlp_seconds, n_test=len(y_test))


def transfer(epochs: int, shots: int, seed: int, verbose: bool) -> dict:
    """Test accuracy on the digits 5-9 after fine-tuning a body pretrained on 0-4 with `shots` examples per class,
    and after training the same network from scratch on them."""
    train_images, test_images, y_train, y_test = digit_images(scale=2)
    low, high = y_train < 5, y_test >= 5
    manual_seed(seed)
    source_dls = ImageDataLoaders.from_arrays(train_images[low], y_train[low], valid_pct=0.1, seed=seed, bs=64,
                                              stats=([0.5], [0.5]))
    source = Learner(source_dls, digits_cnn(5), metrics=accuracy, verbose=verbose)
    source.fit_one_cycle(epochs, 1e-2)
    weights = {k: v.numpy().copy() for k, v in source.model.state_dict().items()}

    rng = np.random.default_rng(seed)
    few = np.concatenate([rng.choice(np.flatnonzero(y_train == digit), shots, replace=False) for digit in range(5, 10)])
    target_images = np.concatenate([train_images[few], test_images[high]])
    target_labels = np.concatenate([y_train[few], y_test[high]]) - 5
    valid = range(len(few), len(target_labels))

    def target_learner(pretrained):
        manual_seed(seed)
        dls = ImageDataLoaders.from_arrays(target_images, target_labels, valid_idx=valid, seed=seed, bs=8,
                                           stats=([0.5], [0.5]))
        return vision_learner(dls, lambda: digits_cnn(5), pretrained_weights=weights if pretrained else None,
                              metrics=accuracy, verbose=verbose, concat_pool=False, lin_ftrs=[], ps=0.25)

    tuned = target_learner(True)
    tuned.fine_tune(epochs, base_lr=2e-2, freeze_epochs=3, lr_mult=1)  # (few examples: a few steps per epoch)
    scratch = target_learner(False)
    scratch.fit_one_cycle(epochs + 3, 1e-2)  # (as many epochs as fine_tune's two phases)
    score = {name: float(np.mean(learn.get_preds()[0].argmax(1) == target_labels[len(few):]))
             for name, learn in (("fine_tuned", tuned), ("scratch", scratch))}
    return dict(score, shots=shots, n_test=len(valid))


def main(argv: list[str] | None = None) -> int:
    """Run both demos (command-line arguments argv, sys.argv's by default) and print their figures."""
    parser = argparse.ArgumentParser(prog="python -m nnx vision", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs of one-cycle training (10)")
    parser.add_argument("--shots", type=int, default=10, help="examples per class for transfer learning (10)")
    parser.add_argument("--seed", type=int, default=0, help="seed (0)")
    parser.add_argument("--quiet", action="store_true", help="no progress display, only the results")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.shots < 1:
        parser.error("--epochs and --shots must be positive")
    result = cnn_against_mlp(args.epochs, args.seed, not args.quiet)
    print(f"digits, {result['n_test']} test images: CNN {result['cnn']:.4f} ({args.epochs} epochs, "
          f"{result['cnn_seconds']:.1f} s), MLP {result['mlp']:.4f} (12 epochs, {result['mlp_seconds']:.1f} s)")
    result = transfer(args.epochs, args.shots, args.seed, not args.quiet)
    print(f"transfer 0-4 -> 5-9 from {result['shots']} examples per class, {result['n_test']} test images: "
          f"fine-tuned {result['fine_tuned']:.4f}, from scratch {result['scratch']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
