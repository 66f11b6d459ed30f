"""`python -m nnx restore`: image restoration with a feature loss, as the fastai course's lesson 7, offline.

The digits shipped with nnx, upsampled (bilinear) to size x size, are crappified (box downscale by 2 and back,
JPEG-like blocking at quality 10-70, Gaussian noise); a small U-Net learns to repair them with FeatureLoss, whose
encoder is a small CNN the demo first trains to classify the clean digits. Prints the pixel error (MSE, PSNR) of
the degraded and of the restored held-out images against the clean ones, and saves before/after pictures as PNG.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from .. import nn
from .._tensor_factories import cat
from ..autograd import no_grad
from ..data import DataLoaders
from ..learner import Learner
from ..metrics import accuracy
from ..nn import functional as F
from ..nn import init
from ..random import manual_seed
from ..tensor import Tensor, tensor
from .demo import digits_cnn
from .layers import ConvLayer
from .restoration import FeatureLoss, LossMetrics, crappify
from .synthetic import digit_images

__all__ = ["SmallUnet", "digit_pictures", "pretrain_encoder", "restore", "psnr", "main"]


class SmallUnet(nn.Module):
    """A two-level U-Net for 1-channel images whose sides are multiples of 4: ConvLayers down (stride 2) to a
    quarter of the size, nearest upsampling + ConvLayer back, each level concatenating the encoder's activation
    of its size, the last one the input too (fastai's last_cross); the output is the input plus a correction whose
    last convolution starts at zero, so an untrained model returns its input unchanged."""

    def __init__(self, nf: int = 16) -> None:
        super().__init__()
        self.down0, self.down1 = ConvLayer(1, nf), ConvLayer(nf, 2 * nf, stride=2)
        self.down2 = nn.Sequential(ConvLayer(2 * nf, 4 * nf, stride=2), ConvLayer(4 * nf, 4 * nf))
        self.up1 = nn.Sequential(nn.Upsample(scale_factor=2), ConvLayer(4 * nf, 2 * nf))
        self.merge1 = ConvLayer(4 * nf, 2 * nf)
        self.up0 = nn.Sequential(nn.Upsample(scale_factor=2), ConvLayer(2 * nf, nf))
        self.merge0 = ConvLayer(2 * nf + 1, nf)
        self.head = nn.Conv2d(nf, 1, kernel_size=1)
        init.zeros_(self.head.weight)
        init.zeros_(self.head.bias)

    def forward(self, x: Tensor) -> Tensor:
        skip0 = self.down0(x)
        skip1 = self.down1(skip0)
        middle = self.down2(skip1)
        up = self.merge1(cat([self.up1(middle), skip1], 1))
        up = self.merge0(cat([self.up0(up), skip0, x], 1))
        return x + self.head(up)


def digit_pictures(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train, test, train_labels, test_labels): the digits (python -m nnx's split) as uint8 (N, size, size)
    pictures, the 8x8 grey levels resized bilinearly (smooth strokes rather than blocks)."""
    train, test, y_train, y_test = digit_images(scale=1)

    def resized(images):
        x = tensor(images[:, None].astype(np.float32) / 255)
        big = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).numpy()[:, 0]
        return np.rint(np.clip(big, 0, 1) * 255).astype(np.uint8)

    return resized(train), resized(test), y_train, y_test


def _unit(images: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) pictures as the float32 (N, 1, H, W) batches the networks take (0-1)."""
    return (images[:, None] / np.float32(255)).astype(np.float32)


def psnr(mse: float) -> float:
    """Peak signal-to-noise ratio in dB of a mean squared error on the 0-1 scale."""
    return float(10 * np.log10(1.0 / mse)) if mse > 0 else float("inf")


def pretrain_encoder(train: np.ndarray, labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray, epochs: int,
                     verbose: bool) -> tuple[nn.Sequential, float]:
    """The feature encoder: nnx.vision.demo's digits CNN trained to classify the clean pictures; returns its five
    ConvLayers (the body), frozen and in eval mode as the course freezes vgg16_bn's features, and its accuracy on
    the clean test pictures."""
    model = digits_cnn()
    dls = DataLoaders.from_arrays(_unit(train), labels, _unit(test), test_labels, bs=64)
    learn = Learner(dls, model, nn.CrossEntropyLoss(), metrics=accuracy, verbose=verbose)
    learn.fit_one_cycle(epochs, 1e-2)
    body = nn.Sequential(*list(model.children())[:5]).eval()
    body.requires_grad_(False)
    return body, float(learn.recorder.values[-1][-1])


def _restored(model: nn.Module, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for uint8 pictures, clipped to 0-1, as float (N, H, W)."""
    model.eval()
    outputs = []
    with no_grad():
        for start in range(0, len(images), batch_size):
            outputs.append(model(tensor(_unit(images[start:start + batch_size]))).numpy()[:, 0])
    return np.clip(np.concatenate(outputs), 0.0, 1.0)


def restore(size: int = 32, n_train: int | None = None, epochs: int = 4, pretrain_epochs: int = 2,
            lr: float = 1e-2, bs: int = 16, seed: int = 0, verbose: bool = False) -> dict:
    """Train the encoder, then SmallUnet with FeatureLoss(encoder, [0, 2, 4], [5, 15, 2]) on crappified digits;
    returns the held-out pictures (clean, degraded, restored as floats 0-1), their MSEs and the seconds taken."""
    if size < 8 or size % 8:
        raise ValueError(f"size must be a multiple of 8 (JPEG blocks, the U-Net's levels), got {size}")
    start = time.perf_counter()
    manual_seed(seed)
    train, test, y_train, y_test = digit_pictures(size)
    if n_train is not None:
        train, y_train = train[:n_train], y_train[:n_train]
    encoder, encoder_accuracy = pretrain_encoder(train, y_train, test, y_test, pretrain_epochs, verbose)
    degraded_train, degraded_test = crappify(train, seed=seed), crappify(test, seed=seed + 1)
    dls = DataLoaders.from_arrays(_unit(degraded_train), _unit(train), _unit(degraded_test), _unit(test), bs=bs)
    feat_loss = FeatureLoss(encoder, [0, 2, 4], [5, 15, 2])  # the course's layer weights
    learn = Learner(dls, SmallUnet(), feat_loss, metrics=LossMetrics(feat_loss), verbose=verbose)
    learn.fit_one_cycle(epochs, lr, pct_start=0.3)
    feat_loss.remove()
    restored = _restored(learn.model, degraded_test)
    clean, degraded = test / 255.0, degraded_test / 255.0
    return dict(clean=clean, degraded=degraded, restored=restored, labels=y_test, n_train=len(train),
                encoder_accuracy=encoder_accuracy,
                mse_degraded=float(np.mean((degraded - clean) ** 2)),
                mse_restored=float(np.mean((restored - clean) ** 2)),
                loss_parts={name: value for name, value in zip(learn.recorder.metric_names[3:-1],
                                                               learn.recorder.values[-1][2:])},
                seconds=time.perf_counter() - start)


def save_pictures(result: dict, out: str) -> list[str]:
    """Write out/restore_{degraded,restored,clean}.png (a row of held-out pictures each, the first of each digit,
    2x nearest) and out/restore_before_after.png (the three rows together); returns the file names."""
    try:
        from PIL import Image
    except ImportError as error:  # (Pillow is in nnx[vision])
        raise ImportError("python -m nnx restore saves PNGs with Pillow: pip install 'nnx[vision]'") from error
    os.makedirs(out, exist_ok=True)
    labels = np.asarray(result["labels"])
    shown = [int(np.flatnonzero(labels == digit)[0]) for digit in np.unique(labels)]
    rows = {name: np.concatenate(list(result[name][shown]), axis=1) for name in ("degraded", "restored", "clean")}
    rows["before_after"] = np.concatenate([rows["degraded"], rows["restored"], rows["clean"]], axis=0)
    files = []
    for name, picture in rows.items():
        pixels = np.rint(np.clip(picture, 0, 1) * 255).astype(np.uint8).repeat(2, axis=0).repeat(2, axis=1)
        file = os.path.join(out, f"restore_{name}.png")
        Image.fromarray(pixels).save(file)
        files.append(file)
    return files


def main(argv: list[str] | None = None) -> int:
    """Run the demo (command-line arguments argv, sys.argv's by default) and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m nnx restore", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32, help="picture side, a multiple of 8 (32)")
    parser.add_argument("--n-train", type=int, default=None, help="training pictures (all 1437)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs of restoration training (4)")
    parser.add_argument("--pretrain-epochs", type=int, default=2, help="epochs of encoder training (2)")
    parser.add_argument("--seed", type=int, default=0, help="seed (0)")
    parser.add_argument("--out", default=".", help="folder for the PNG pictures (the current directory)")
    parser.add_argument("--quiet", action="store_true", help="no progress display, only the results")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.pretrain_epochs < 1 or (args.n_train is not None and args.n_train < 1):
        parser.error("--epochs, --pretrain-epochs and --n-train must be positive")
    if args.size < 8 or args.size % 8:
        parser.error(f"--size must be a positive multiple of 8, got {args.size}")
    result = restore(args.size, args.n_train, args.epochs, args.pretrain_epochs, seed=args.seed,
                     verbose=not args.quiet)
    n_test = len(result["clean"])
    print(f"restoration of {n_test} held-out {args.size}x{args.size} digits ({result['n_train']} training, "
          f"{args.epochs} epochs, {result['seconds']:.1f} s in all; the feature encoder classifies the clean test "
          f"digits at {result['encoder_accuracy']:.3f}):")
    for name in ("degraded", "restored"):
        mse = result[f"mse_{name}"]
        print(f"  {name:8s} MSE {mse:.5f}  PSNR {psnr(mse):.2f} dB")
    print("  feature loss parts (validation): "
          + ", ".join(f"{name} {value:.4f}" for name, value in result["loss_parts"].items()))
    for file in save_pictures(result, args.out):
        print(f"saved {file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
