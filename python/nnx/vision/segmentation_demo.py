"""`python -m nnx segmentation`: semantic segmentation of generated scenes (nnx.vision.synthetic.scenes: shapes on
textured backgrounds, a class per pixel), offline. SegmentationDataLoaders with batch augmentation that moves each
mask with its image, a segmentation network trained with fit_one_cycle and CrossEntropyLossFlat(axis=1), and the
metrics fastai uses for it (DiceMulti, foreground_acc) on held-out scenes; a picture of scenes, their masks and the
predicted masks is saved (to --out, a temporary folder by default)."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

import numpy as np

from .. import nn
from .._tensor_factories import cat
from ..learner import Learner
from ..metrics import DiceMulti, foreground_acc
from ..random import manual_seed
from .augment import aug_transforms
from .layers import ConvLayer
from .segmentation import SegmentationDataLoaders
from .synthetic import SCENE_CODES, SHAPE_CLASSES, scenes

__all__ = ["SmallSegmenter", "train_segmentation", "main"]


class SmallSegmenter(nn.Module):
    """A small U-shaped network of ConvLayers: two stride-2 stages down (width, 2 width, 4 width channels), nearest
    upsampling back, each step up concatenated with the activation of the same size on the way down, a 1x1
    convolution to n_out class scores at the input's size (any size divisible by 4)."""

    def __init__(self, n_in: int = 3, n_out: int = 2, width: int = 8) -> None:
        super().__init__()
        w = width
        self.down1 = nn.Sequential(ConvLayer(n_in, w), ConvLayer(w, w))
        self.down2 = nn.Sequential(ConvLayer(w, 2 * w, stride=2), ConvLayer(2 * w, 2 * w))
        self.down3 = nn.Sequential(ConvLayer(2 * w, 4 * w, stride=2), ConvLayer(4 * w, 4 * w), ConvLayer(4 * w, 4 * w))
        self.up2 = nn.Sequential(nn.Upsample(scale_factor=2), ConvLayer(4 * w, 2 * w))
        self.merge2 = ConvLayer(4 * w, 2 * w)
        self.up1 = nn.Sequential(nn.Upsample(scale_factor=2), ConvLayer(2 * w, w))
        self.merge1 = ConvLayer(2 * w, w)
        self.head = nn.Conv2d(w, n_out, 1)

    def forward(self, x: Any) -> Any:
        a = self.down1(x)
        b = self.down2(a)
        u = self.merge2(cat([self.up2(self.down3(b)), b], 1))
        return self.head(self.merge1(cat([self.up1(u), a], 1)))


def train_segmentation(n: int = 480, size: int = 32, epochs: int = 8, lr: float = 1e-2, bs: int = 16,
                       classes: tuple[str, ...] = ("circle", "square"), width: int = 8, seed: int = 0,
                       verbose: bool = False) -> dict[str, Any]:
    """Train SmallSegmenter on n generated scenes of size x size holding shapes of `classes` (20% held out) and
    return dict(dice, foreground_acc, seconds, learn, dls): dice is DiceMulti over the held-out scenes (fastai's:
    the mean over the classes present of each class's Dice, background included). Two classes by default: this
    small network tells circles from squares in a few epochs; all four shapes need far longer training."""
    manual_seed(seed)
    images, masks = scenes(n, size, seed=seed, classes=classes)
    tfms = aug_transforms(flip_vert=True, max_rotate=10.0, max_warp=0.0, max_lighting=0.1, pad_mode="zeros")
    dls = SegmentationDataLoaders.from_arrays(images, masks, SCENE_CODES, valid_pct=0.2, seed=seed, bs=bs,
                                              batch_tfms=tfms)
    model = SmallSegmenter(dls.n_channels, len(dls.codes), width)
    learn = Learner(dls, model, metrics=[DiceMulti(), foreground_acc], verbose=verbose)
    start = time.perf_counter()
    learn.fit_one_cycle(epochs, lr)
    seconds = time.perf_counter() - start
    _, dice, fg_acc = learn.validate()
    return dict(dice=float(dice), foreground_acc=float(fg_acc), seconds=seconds, learn=learn, dls=dls)


def save_predictions(learn: Learner, dls: SegmentationDataLoaders, path: str, n: int = 6) -> str:
    """A PNG of n held-out scenes (top), their masks (middle) and the predicted masks (bottom); returns the path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    probs, targs = learn.get_preds()
    preds, n = probs.argmax(1), min(n, len(targs))
    images = dls.valid.decode_images(dls.valid.images[:n])
    fig, axes = plt.subplots(3, n, figsize=(1.6 * n, 5), squeeze=False)
    for i in range(n):
        for row, picture in enumerate((images[i].transpose(1, 2, 0), targs[i], preds[i])):
            ax = axes[row, i]
            ax.axis("off")
            if row:
                ax.imshow(picture, cmap="tab20", vmin=0, vmax=len(dls.codes) - 1, interpolation="nearest")
            else:
                ax.imshow(np.clip(picture, 0, 1))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The demo's command line."""
    parser = argparse.ArgumentParser(prog="python -m nnx segmentation",
                                     description="Segment generated scenes (shapes on textured backgrounds).")
    parser.add_argument("--n", type=int, default=480, help="scenes generated, 20%% held out (480)")
    parser.add_argument("--size", type=int, default=32, help="scene size in pixels (32)")
    parser.add_argument("--epochs", type=int, default=8, help="epochs of fit_one_cycle (8)")
    parser.add_argument("--lr", type=float, default=1e-2, help="maximum learning rate (0.01)")
    parser.add_argument("--classes", default="circle,square",
                        help=f"comma-separated shapes among {','.join(SHAPE_CLASSES)} (circle,square)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the scenes, initialisation, shuffling (0)")
    parser.add_argument("--out", default=None, help="folder for segmentation.png (a temporary folder)")
    parser.add_argument("--quiet", action="store_true", help="no progress display, only the results")
    args = parser.parse_args(argv)
    if args.n < 10 or args.size < 8 or args.size % 4 or args.epochs < 1:
        parser.error("need --n >= 10, --size >= 8 divisible by 4 and --epochs >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the demo; prints the held-out dice and foreground accuracy, the time, and where the picture went."""
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    classes = tuple(name.strip() for name in args.classes.split(",") if name.strip())
    result = train_segmentation(args.n, args.size, args.epochs, args.lr, classes=classes, seed=args.seed,
                                verbose=not args.quiet)
    out = args.out or tempfile.mkdtemp(prefix="nnx-segmentation-")
    os.makedirs(out, exist_ok=True)
    picture = save_predictions(result["learn"], result["dls"], os.path.join(out, "segmentation.png"))
    print(f"segmentation of {args.n} generated {args.size}x{args.size} scenes ({', '.join(classes)}): "
          f"dice (DiceMulti) {result['dice']:.3f}, foreground accuracy {result['foreground_acc']:.3f} on the held-out "
          f"20%, {args.epochs} epochs in {result['seconds']:.1f} s")
    print(f"scenes, masks and predictions: {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
