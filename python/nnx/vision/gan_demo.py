"""`python -m nnx gan`: a GAN learns to draw the handwritten digits shipped with nnx (8x8, upsampled to 16x16), with
fastai's basic_generator / basic_critic and GANLearner, offline in about a minute on 2 cores. It saves a grid of
generated digits as a PNG (to --out, default the current folder) and prints how digit-like the samples are: the
share a small digit classifier (trained on the real digits first) recognises with confidence >= 0.9, against real
held-out digits and the untrained generator's samples, and how many of the 10 classes the samples cover."""
from __future__ import annotations

import argparse
import os
import time
from functools import partial

import numpy as np

from .. import nn, optim
from ..data import DataLoaders
from ..datasets import load_digits_split
from ..learner import Learner
from ..random import manual_seed
from ..tensor import Tensor
from .gan import AdaptiveLoss, GANLearner, gan_dataloaders, gan_loss_from_func
from .gan_models import basic_critic, basic_generator
from .synthetic import digit_images

FILE_NAME = "gan_digits.png"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The demo's options (python -m nnx gan --help)."""
    parser = argparse.ArgumentParser(
        prog="python -m nnx gan",
        description="Train a DCGAN (fastai's basic_generator and basic_critic, GANLearner) on nnx's 8x8 digits "
                    "upsampled, save a grid of generated digits as a PNG and say how digit-like they are.")
    parser.add_argument("--epochs", type=_positive_int, default=12, help="epochs (12)")
    parser.add_argument("--size", type=int, choices=(8, 16, 32), default=16, help="image size (16)")
    parser.add_argument("--n-features", type=_positive_int, default=16, help="basic_generator/critic width (16)")
    parser.add_argument("--noise-size", type=_positive_int, default=32, help="noise vector length (32)")
    parser.add_argument("--bs", type=_positive_int, default=64, help="batch size (64)")
    parser.add_argument("--lr", type=float, default=2e-3, help="learning rate (2e-3; Adam with betas 0.5, 0.999)")
    parser.add_argument("--wgan", action="store_true", help="GANLearner.wgan (RMSprop, clip 0.01, 5 critic steps) "
                                                            "instead of the standard GAN loss")
    parser.add_argument("--n-images", type=_positive_int, default=None, help="train on the first N digits only")
    parser.add_argument("--n-samples", type=_positive_int, default=64, help="digits in the saved grid (64)")
    parser.add_argument("--zoom", type=_positive_int, default=3, help="each pixel of the grid drawn ZxZ (3)")
    parser.add_argument("--out", default=".", help="folder the PNG is written to (default: the current folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed (0)")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    return parser.parse_args(argv)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def build_gan(args: argparse.Namespace, dls: DataLoaders) -> GANLearner:
    """The DCGAN: LeakyReLU(0.2) in the critic as in the course; Adam with beta1 0.5 (DCGAN's) for the standard
    loss, fastai's WGAN defaults otherwise."""
    generator = basic_generator(args.size, 1, in_sz=args.noise_size, n_features=args.n_features)
    critic = basic_critic(args.size, 1, n_features=args.n_features, act_cls=partial(nn.LeakyReLU, 0.2))
    verbose = not args.quiet
    if args.wgan:
        return GANLearner.wgan(dls, generator, critic, opt_func=optim.RMSprop, lr=args.lr, verbose=verbose)
    losses = gan_loss_from_func(None, AdaptiveLoss(nn.BCEWithLogitsLoss()))
    # switch_eval=False (fastai's GANLearner default is True): with the generator in eval mode for the critic's
    # turns, its BatchNorm would use running statistics there and batch statistics in its own turns, and the
    # critic would learn to reject fakes the generator is not training to improve.
    return GANLearner(dls, generator, critic, *losses, opt_func=partial(optim.Adam, betas=(0.5, 0.999)),
                      lr=args.lr, switch_eval=False, verbose=verbose)


def digit_classifier(seed: int) -> tuple[Learner, np.ndarray, np.ndarray]:
    """`python -m nnx`'s MLP trained on the 8x8 digits (a few seconds), and the held-out digits (X, y)."""
    manual_seed(seed)
    X_train, X_test, y_train, y_test = load_digits_split()
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    learn = Learner(DataLoaders.from_arrays(X_train, y_train, bs=64), model, nn.CrossEntropyLoss(), verbose=False)
    learn.fit_one_cycle(8, 1e-2)
    return learn, X_test, y_test


def recognised(classifier: Learner, images: np.ndarray) -> tuple[float, int]:
    """(share of images the classifier gives >= 0.9 confidence, number of classes among those): images are
    (N, 1, S, S) on [-1, 1], averaged down to 8x8 on [0, 1] as the classifier's inputs."""
    n, scale = len(images), images.shape[-1] // 8
    pixels = (images[:, 0].reshape(n, 8, scale, 8, scale).mean(axis=(2, 4)) + 1) / 2
    probs, _ = classifier.get_preds(dl=[Tensor(np.ascontiguousarray(pixels.reshape(n, 64), dtype=np.float32))])
    confident = probs.max(axis=1) >= 0.9
    return float(confident.mean()), len(set(probs.argmax(axis=1)[confident].tolist()))


def save_grid(images: np.ndarray, path: str, zoom: int) -> tuple[int, int]:
    """Images (N, 1, S, S) on [-1, 1] as a PNG grid (as square as N allows, a 1-pixel black frame around each),
    each pixel drawn zoom x zoom; returns the PNG's (width, height)."""
    from PIL import Image  # Pillow: nnx.vision's image reader (nnx[vision])
    n, size = len(images), images.shape[-1]
    cols = int(np.ceil(np.sqrt(n)))
    rows = -(-n // cols)
    cell = size + 2
    grid = np.zeros((rows * cell, cols * cell), np.uint8)
    pixels = np.clip(np.rint((images[:, 0] + 1) * 127.5), 0, 255).astype(np.uint8)
    for index, image in enumerate(pixels):
        row, col = divmod(index, cols)
        grid[row * cell + 1:row * cell + 1 + size, col * cell + 1:col * cell + 1 + size] = image
    picture = Image.fromarray(grid).resize((grid.shape[1] * zoom, grid.shape[0] * zoom), Image.NEAREST)
    picture.save(path)
    return picture.size


def main(argv: list[str] | None = None) -> int:
    """Train the GAN, save the grid, print the figures; returns the exit status (0)."""
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    classifier, X_test, _ = digit_classifier(args.seed)
    manual_seed(args.seed)
    train, test, _, _ = digit_images(args.size // 8)
    images = np.concatenate([train, test])[:args.n_images]
    dls = gan_dataloaders(images, noise_size=args.noise_size, bs=args.bs, seed=args.seed)
    learn = build_gan(args, dls)
    noise = dls.train.noise(args.n_samples)
    before = learn.sample(noise=noise)
    start = time.perf_counter()
    learn.fit(args.epochs)
    seconds = time.perf_counter() - start
    after = learn.sample(noise=noise)
    path = os.path.join(args.out, FILE_NAME)
    width, height = save_grid(after, path, args.zoom)
    real = np.repeat(np.repeat(X_test.reshape(-1, 1, 8, 8) * 2 - 1, args.size // 8, 2), args.size // 8, 3)
    share_real, classes_real = recognised(classifier, real)
    share_before, classes_before = recognised(classifier, before)
    share_after, classes_after = recognised(classifier, after)
    trainer = learn.gan_trainer
    kind = "WGAN" if args.wgan else "GAN"
    print(f"{kind} on {len(images)} digits at {args.size}x{args.size}: {args.epochs} epochs in {seconds:.1f} s; "
          f"smoothed losses: generator {trainer.gen_loss:.3f}, critic {trainer.crit_loss:.3f}")
    print(f"recognised as digits (classifier confidence >= 0.9): generated {share_after:.0%} "
          f"({classes_after} of 10 classes), untrained generator {share_before:.0%} ({classes_before}), "
          f"real held-out digits {share_real:.0%} ({classes_real})")
    print(f"pixel mean/std: generated {after.mean():.2f}/{after.std():.2f}, "
          f"real {dls.train.images.mean():.2f}/{dls.train.images.std():.2f} (on [-1, 1])")
    print(f"saved {args.n_samples} generated digits to {path} ({width}x{height} pixels)")
    return 0
