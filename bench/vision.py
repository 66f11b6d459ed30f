"""Convolutional networks as users run them: nnx against PyTorch (CPU), each library alone in its own fresh
process, best of N after warm-up, the median of several rounds with the sides alternated.

    python bench/vision.py [--quick] [--rounds R] [--json out.json]

Rows (target in brackets):
- conv2d 3x3 (padding 1, no bias) forward + backward (input and weight gradients) through nn.Conv2d and
  .backward(), at ResNet shapes: batch 128 at 32x32 x 16 channels, 16x16 x 32, 8x8 x 64, and batch 64 at
  56x56 x 64 [nnx's GFLOP/s >= 1.0x PyTorch's]; GFLOP/s count 3x the forward's multiply-adds x 2.
- a ResNet-20 (CIFAR layout: 3 stages of 3 basic blocks, 16/32/64 channels) training step at batch 128 on
  32x32x3: forward, cross-entropy, backward, SGD with momentum [nnx's time <= 0.8x PyTorch's]
- nnx.vision.augment's aug_transforms() on a batch of 128 32x32x3 images [<= 10% of nnx's ResNet-20 step]

Each row prints the fraction of the machine's fp32 roof and the algorithm nnx uses. Both libraries run the
same model code (`resnet20(nn)` below takes either library's nn module).
"""
import argparse
import json
import os
import statistics

from common import alternated_seconds, best_seconds, machine_description, print_table, roofs, worker_result, write_json

CONV_SHAPES = [(128, 16, 32), (128, 32, 16), (128, 64, 8), (64, 64, 56)]  # (batch, channels, height = width)
CONV_TARGET = 1.0  # nnx GFLOP/s / PyTorch's
STEP_TARGET = 0.8  # nnx's step time / PyTorch's
AUGMENT_TARGET = 0.10  # augmentation time / nnx's ResNet-20 step


def library_modules(library):
    if library == "torch":
        import torch
        return torch, torch.nn
    import nnx
    return nnx, nnx.nn


def conv_case(library, batch, channels, size):
    import numpy as np
    lib, nn = library_modules(library)
    rng = np.random.default_rng(0)
    x_data = rng.standard_normal((batch, channels, size, size), dtype=np.float32)
    grad = lib.tensor(rng.standard_normal((batch, channels, size, size), dtype=np.float32))
    conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)

    def step():
        x = lib.tensor(x_data, requires_grad=True)
        conv.weight.grad = None
        conv(x).backward(grad)
    return step


def resnet20(nn, num_classes=10):
    """He et al.'s CIFAR ResNet-20 with 1x1-convolution shortcuts, written once for either library's nn."""

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.shortcut = (nn.Identity() if stride == 1 and cin == cout else
                             nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + self.shortcut(x))

    layers = [nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(3):
            layers.append(Block(cin, cout, stride if i == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, num_classes)]
    return nn.Sequential(*layers)


def resnet_case(library, batch=128):
    import numpy as np
    lib, nn = library_modules(library)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((batch, 3, 32, 32), dtype=np.float32))
    y = lib.tensor(rng.integers(0, 10, batch))
    model = resnet20(nn)
    opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def augment_case(batch=128):
    import numpy as np

    from nnx.vision import augment
    rng = np.random.default_rng(0)
    images = rng.random((batch, 3, 32, 32), dtype=np.float32)
    tfms = augment.aug_transforms()
    generator = np.random.default_rng(1)
    return lambda: augment.augment_batch(images, tfms, generator)


def run_worker(library, case, quick):
    warmup, repeat = (1, 3) if quick else (3, 10)
    if library == "torch":
        import torch
        torch.set_num_threads(len(os.sched_getaffinity(0)))
    if case.startswith("conv"):
        batch, channels, size = (int(v) for v in case[4:].split("_"))
        seconds = best_seconds(conv_case(library, batch, channels, size), warmup, repeat)
    elif case == "resnet20":
        seconds = best_seconds(resnet_case(library), warmup, repeat)
    elif case == "augment":
        seconds = best_seconds(augment_case(), warmup, repeat)
    else:
        raise SystemExit(f"unknown case {case!r}")
    print(json.dumps({"seconds": seconds}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and one round")
    parser.add_argument("--rounds", type=int, default=None, help="fresh-process rounds per side (default 3)")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--worker", nargs=2, metavar=("LIBRARY", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return run_worker(*args.worker, args.quick)
    try:
        import torch
    except ImportError:
        torch = None
    import nnx
    for line in machine_description(nnx.get_num_threads(), torch):
        print(line)
    rounds = args.rounds or (1 if args.quick else 3)
    libraries = ["nnx", "torch"] if torch is not None else ["nnx"]
    roof = roofs()["fp32"]
    rows, payload = [], {}
    for batch, channels, size in CONV_SHAPES:
        times = alternated_seconds("vision.py", libraries, f"conv{batch}_{channels}_{size}", rounds, args.quick)
        flops = 3 * 2 * batch * channels * channels * 9 * size * size
        rates = {lib: flops / t / 1e9 for lib, t in times.items()}
        ratio = rates["nnx"] / rates["torch"] if "torch" in rates else None
        name = f"conv2d 3x3 fwd+bwd N={batch} C={channels} {size}x{size}"
        rows.append([name, rates["nnx"], rates.get("torch"), ratio, f">= {CONV_TARGET}",
                     "yes" if ratio is not None and ratio >= CONV_TARGET else "NO", rates["nnx"] / roof,
                     "im2col + GEMM"])
        payload[name] = dict(nnx_gflops=rates["nnx"], torch_gflops=rates.get("torch"), ratio=ratio)
        print(f"  {name}: nnx {rates['nnx']:.1f} GFLOP/s, torch {rates.get('torch') or 0:.1f}", flush=True)
    times = alternated_seconds("vision.py", libraries, "resnet20", rounds, args.quick)
    step_ratio = times["nnx"] / times["torch"] if "torch" in times else None
    rows.append(["ResNet-20 step, batch 128, 32x32x3 (ms)", times["nnx"] * 1e3, times.get("torch", 0) * 1e3,
                 step_ratio, f"<= {STEP_TARGET} (time)",
                 "yes" if step_ratio is not None and step_ratio <= STEP_TARGET else "NO", None, "im2col + GEMM"])
    payload["resnet20_step"] = dict(nnx_seconds=times["nnx"], torch_seconds=times.get("torch"), ratio=step_ratio)
    augment_seconds = statistics.median(worker_result("vision.py", "nnx", "augment", args.quick)["seconds"]
                                       for _ in range(rounds))
    share = augment_seconds / times["nnx"]
    rows.append(["aug_transforms() on 128x3x32x32 (ms)", augment_seconds * 1e3, None, share,
                 f"<= {AUGMENT_TARGET} of the step", "yes" if share <= AUGMENT_TARGET else "NO", None,
                 "one grid_sample"])
    payload["augment"] = dict(seconds=augment_seconds, share_of_step=share)
    print_table("nnx vs PyTorch CPU, each alone in fresh processes (conv rows: GFLOP/s; others: ms)",
                ["case", "nnx", "torch", "ratio", "target", "met", "nnx / fp32 roof", "nnx algorithm"], rows)
    print(f"median over {rounds} fresh processes per side of each process's best call")
    if args.json:
        write_json(args.json, payload)


if __name__ == "__main__":
    main()
