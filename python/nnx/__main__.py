"""`python -m nnx`: train an MLP on the handwritten digits shipped with nnx, with fit_one_cycle, and
print the test accuracy and the training time. A smoke test of the whole stack that needs no download.
`python -m nnx vision` runs the convolutional demo instead (nnx/vision/demo.py), `python -m nnx text` the ULMFiT
one (nnx/text/demo.py)."""
import argparse
import sys
import time

import numpy as np

from . import nn
from .data import DataLoaders
from .datasets import load_digits_split
from .learner import Learner
from .metrics import accuracy
from .random import manual_seed


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m nnx",
        description="Train a 64-256-128-10 MLP on the 8x8 handwritten digits (UCI, shipped with nnx) "
                    "with fit_one_cycle and report the accuracy on 360 held-out digits.")
    parser.add_argument("--epochs", type=_positive_int, default=12, help="epochs of one-cycle training (12)")
    parser.add_argument("--lr", type=_positive_float, default=1e-2, help="maximum learning rate (0.01)")
    parser.add_argument("--batch-size", type=_positive_int, default=64, help="training batch size (64)")
    parser.add_argument("--seed", type=int, default=0, help="seed for initialisation and shuffling (0)")
    parser.add_argument("--quiet", action="store_true", help="no progress display, only the result")
    return parser.parse_args(argv)


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def build_model():
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["vision"]:
        from .vision.demo import main as vision_main
        return vision_main(argv[1:])
    if argv[:1] == ["text"]:
        from .text.demo import main as text_main
        return text_main(argv[1:])
    if argv[:1] == ["restore"]:
        from .vision.restoration_demo import main as restore_main
        return restore_main(argv[1:])
    if argv[:1] == ["gan"]:
        from .vision.gan_demo import main as gan_main
        return gan_main(argv[1:])
    if argv[:1] == ["segmentation"]:
        from .vision.segmentation_demo import main as segmentation_main
        return segmentation_main(argv[1:])
    args = parse_args(argv)
    manual_seed(args.seed)
    X_train, X_test, y_train, y_test = load_digits_split()
    dls = DataLoaders.from_arrays(X_train, y_train, X_test, y_test, bs=args.batch_size)
    learn = Learner(dls, build_model(), nn.CrossEntropyLoss(), metrics=[accuracy], verbose=not args.quiet)
    start = time.perf_counter()
    learn.fit_one_cycle(args.epochs, args.lr)
    seconds = time.perf_counter() - start
    test_accuracy = float(np.mean(learn.predict(X_test) == y_test))
    print(f"test accuracy: {test_accuracy:.4f} on {len(y_test)} digits "
          f"({len(y_train)} training digits, {args.epochs} epochs in {seconds:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
