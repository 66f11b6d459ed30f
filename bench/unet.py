"""A U-Net training step as users run it: nnx's DynamicUnet over a ResNet-18 encoder against the same network
written in plain PyTorch (CPU), each library alone in its own fresh process, best of N after warm-up, the median
of several rounds with the sides alternated.

    python bench/unet.py [--quick] [--rounds R] [--json out.json]

Row (target in brackets): one training step (forward, pixel-wise cross-entropy over 2 classes, backward, Adam)
at batch 16 on 64x64x3 images [nnx's time <= 0.9x PyTorch's]. The PyTorch side (`TorchUnet` below) mirrors
fastai's DynamicUnet(create_body(resnet18), 2, (64, 64)) layer for layer: torchvision's ResNet-18 body, forward
hooks where the size changes, BatchNorm + ReLU, the middle convolutions, four UnetBlocks (PixelShuffle_ICNR,
BatchNorm of the hooked activation, concatenation, two ConvLayers), the last PixelShuffle_ICNR, the cross
connection to the input, a ResBlock and the 1x1 output convolution.
"""
import argparse
import json
import os

from common import alternated_seconds, best_seconds, machine_description, print_table, write_json

BATCH, SIZE, N_OUT = 16, 64, 2
STEP_TARGET = 0.9  # nnx's step time / PyTorch's


def torch_unet():
    """fastai's DynamicUnet(resnet18 body, 2, (64, 64)) in plain PyTorch, the same layers and widths."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    def conv_layer(ni, nf, ks=3, act=True):  # fastai's ConvLayer with norm_type=None: a biased conv (+ ReLU)
        layers = [nn.Conv2d(ni, nf, ks, padding=(ks - 1) // 2, bias=True)]
        return nn.Sequential(*layers, *([nn.ReLU()] if act else []))

    def pixel_shuffle_icnr(ni, nf):
        return nn.Sequential(conv_layer(ni, nf * 4, ks=1), nn.PixelShuffle(2))

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = (None if stride == 1 and cin == cout else
                               nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + identity)

    def stage(cin, cout, stride):
        return nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1))

    class UnetBlock(nn.Module):
        def __init__(self, up_in_c, x_in_c, hook, final_div):
            super().__init__()
            self.hook = hook
            self.shuf = pixel_shuffle_icnr(up_in_c, up_in_c // 2)
            self.bn = nn.BatchNorm2d(x_in_c)
            ni = up_in_c // 2 + x_in_c
            nf = ni if final_div else ni // 2
            self.conv1, self.conv2, self.relu = conv_layer(ni, nf), conv_layer(nf, nf), nn.ReLU()

        def forward(self, up_in):
            s = self.hook.stored
            up_out = self.shuf(up_in)
            if s.shape[-2:] != up_out.shape[-2:]:
                up_out = F.interpolate(up_out, s.shape[-2:], mode="nearest")
            return self.conv2(self.conv1(self.relu(torch.cat([up_out, self.bn(s)], dim=1))))

    class Hook:
        def __init__(self, module):
            self.stored = None
            module.register_forward_hook(self.keep)

        def keep(self, module, args, output):
            self.stored = output

    class ResBlock(nn.Module):
        def __init__(self, nf):
            super().__init__()
            self.convpath = nn.Sequential(conv_layer(nf, nf), conv_layer(nf, nf, act=False))
            self.act = nn.ReLU(inplace=True)

        def forward(self, x):
            return self.act(self.convpath(x) + x)

    class TorchUnet(nn.Module):
        def __init__(self):
            super().__init__()
            encoder = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                                    nn.MaxPool2d(3, 2, 1), stage(64, 64, 1), stage(64, 128, 2), stage(128, 256, 2),
                                    stage(256, 512, 2))
            hooks = [Hook(encoder[i]) for i in (6, 5, 4, 2)]  # where the size changes, deepest first
            blocks = [UnetBlock(512, 256, hooks[0], True), UnetBlock(512, 128, hooks[1], True),
                      UnetBlock(384, 64, hooks[2], True), UnetBlock(256, 64, hooks[3], False)]
            middle = nn.Sequential(conv_layer(512, 1024), conv_layer(1024, 512))
            self.layers = nn.ModuleList([encoder, nn.BatchNorm2d(512), nn.ReLU(), middle, *blocks,
                                         pixel_shuffle_icnr(96, 96), ResBlock(99), conv_layer(99, N_OUT, 1, False)])

        def forward(self, x):
            out = x
            for layer in self.layers[:-2]:
                out = layer(out)
            if out.shape[-2:] != x.shape[-2:]:  # ResizeToOrig
                out = F.interpolate(out, x.shape[-2:], mode="nearest")
            out = torch.cat([out, x], dim=1)  # MergeLayer(dense=True)
            return self.layers[-1](self.layers[-2](out))

    return TorchUnet()


def nnx_unet():
    from nnx.vision import create_body, resnet18
    from nnx.vision.unet import DynamicUnet
    return DynamicUnet(create_body(resnet18(), pretrained=False, cut=-2), N_OUT, (SIZE, SIZE))


def unet_case(library, batch=BATCH):
    import numpy as np
    if library == "torch":
        import torch as lib
        model = torch_unet()
    else:
        import nnx as lib
        model = nnx_unet()
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((batch, 3, SIZE, SIZE), dtype=np.float32))
    y = lib.tensor(rng.integers(0, N_OUT, (batch, SIZE, SIZE)))
    model.train()
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def run_worker(library, case, quick):
    warmup, repeat = (1, 2) if quick else (3, 10)
    if library == "torch":
        import torch
        torch.set_num_threads(len(os.sched_getaffinity(0)))
    if case != "unet":
        raise SystemExit(f"unknown case {case!r}")
    seconds = best_seconds(unet_case(library, 2 if quick else BATCH), warmup, repeat)
    print(json.dumps({"seconds": seconds}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="batch 2, fewer samples and one round (a smoke run)")
    parser.add_argument("--rounds", type=int, default=None, help="fresh-process rounds per side (default 3)")
    parser.add_argument("--json", help="write the row here")
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
    times = alternated_seconds("unet.py", libraries, "unet", rounds, args.quick)
    ratio = times["nnx"] / times["torch"] if "torch" in times else None
    batch = 2 if args.quick else BATCH
    name = f"U-Net (ResNet-18) step, batch {batch}, {SIZE}x{SIZE}x3 (ms)"
    print_table("nnx vs PyTorch CPU, each alone in fresh processes",
                ["case", "nnx", "torch", "ratio", "target", "met"],
                [[name, times["nnx"] * 1e3, times["torch"] * 1e3 if "torch" in times else None, ratio,
                  f"<= {STEP_TARGET} (time)", "yes" if ratio is not None and ratio <= STEP_TARGET else "NO"]])
    print(f"median over {rounds} fresh processes per side of each process's best call"
          + (" (--quick: a smoke run, not a measurement)" if args.quick else ""))
    if args.json:
        write_json(args.json, {"unet_step": dict(nnx_seconds=times["nnx"], torch_seconds=times.get("torch"),
                                                 ratio=ratio, batch=batch)})


if __name__ == "__main__":
    main()
