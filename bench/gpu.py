"""GPU benchmark: nnx CUDA against PyTorch CUDA in one process, on the same device (issue 6's targets).

Cases (full size; --dry-run shrinks them):
1. GEMM 4096^3 float32 in full FP32 and in TF32 (nnx.backends.cuda.matmul.allow_tf32 / torch's flag):
   target nnx >= 0.95x torch.matmul's throughput at the same precision.
2. softmax cross-entropy forward+backward, 65536 x 1000 float32 (nnx F.cross_entropy + backward vs torch's).
3. Adam step over 100M float32 parameters (one group), against torch.optim.Adam(fused=True) and against the
   measured device-to-device copy bandwidth: target nnx >= 0.8x copy bandwidth (GB/s counts the 7 words Adam
   moves per element: read p, g, m, v; write p, m, v).
4. One epoch of a 784-512-256-10 ReLU MLP with Adam on 60000 samples already on the GPU, batch 128 and 4096,
   the same plain loop in both libraries: target nnx <= 1.0x PyTorch eager's time.
5. A ResNet-20 (CIFAR layout, bench/vision.py's model written once for both libraries) SGD training step at batch
   128 on 32x32x3 images already on the GPU (issue 14): nnx's time against PyTorch eager's (cuDNN), reported.
Every timing synchronises the device before stopping the clock; medians of several repeats, libraries
interleaved. The table is printed last.

Usage: python bench/gpu.py [--quick] [--dry-run] [--repeat N]
  --quick (as bench/run.py --quick passes) uses smaller sizes and fewer repeats: a smoke run.
  --dry-run runs the whole script with tiny sizes on the NumPy stand-in of the CUDA module
  (tests/fake_cuda) and without PyTorch CUDA: it checks the script itself on a machine without a GPU.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# The exit status of a benchmark with nothing to measure on this machine (automake's "skipped" code):
# bench/run.py reports it as skipped, not failed.
EXIT_SKIPPED = 77


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and 2 repeats (a smoke run)")
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes on the fake CUDA module, no torch")
    parser.add_argument("--repeat", type=int, default=5)
    return parser.parse_args()


def install_fake_cuda():
    sys.path.insert(0, os.path.join(HERE, "..", "tests"))
    import fake_cuda  # noqa: E402  (tests/fake_cuda)
    from nnx.native import cuda as cuda_backend

    cuda_backend.use_native_module(fake_cuda)


def median_seconds(fn, sync, repeat, warmup=2):
    for _ in range(warmup):
        fn()
    sync()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


class Row:
    def __init__(self, case, nnx_value, torch_value, unit, ratio, target, met):
        self.cells = [case, nnx_value, torch_value, unit, ratio, target, met]


def fmt(value):
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return f"{value:.4g}"


def print_table(rows):
    header = ["case", "nnx", "torch", "unit", "ratio", "target", "met"]
    cells = [header] + [[fmt(c) for c in row.cells] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for index, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
        if index == 0:
            print("  ".join("-" * w for w in widths))


def main():
    args = parse_args()
    if args.dry_run:
        install_fake_cuda()
    import nnx
    import nnx.nn.functional as F
    from nnx import nn, optim

    # Nothing to measure without a CUDA device (nnx's first: it needs no torch): skipped, not failed.
    if not nnx.cuda.is_available():
        return skip("nnx CUDA is not available (built without nvcc, or no GPU visible)")
    torch = None
    if not args.dry_run:
        try:
            import torch  # noqa: F811  (PyTorch CUDA is on the GPU machine)
        except ImportError:
            return skip("PyTorch is not installed: bench/gpu.py compares against PyTorch CUDA")
        if not torch.cuda.is_available():
            return skip("PyTorch CUDA is not available: bench/gpu.py compares against it")

    dry, quick = args.dry_run, args.quick and not args.dry_run
    sizes = dict(gemm=64 if dry else 1024 if quick else 4096, ce=(256, 100) if dry else (8192, 1000) if quick
                 else (65536, 1000), adam=10_000 if dry else 10_000_000 if quick else 100_000_000,
                 samples=512 if dry else 8192 if quick else 60000, resnet_batch=4 if dry else 128)
    rows = []
    sync_nnx = nnx.cuda.synchronize
    sync_torch = torch.cuda.synchronize if torch else (lambda: None)
    rng = np.random.default_rng(0)
    repeat = 2 if dry or quick else args.repeat
    print(f"device: {nnx.cuda.get_device_name(0)}" + (" (dry run: fake CUDA module)" if dry else
                                                     f"; torch {torch.__version__}"), flush=True)

    # --- 1. GEMM --------------------------------------------------------------------------------------------
    n = sizes["gemm"]
    a_host = rng.standard_normal((n, n), dtype=np.float32)
    b_host = rng.standard_normal((n, n), dtype=np.float32)
    a, b = nnx.tensor(a_host, device="cuda"), nnx.tensor(b_host, device="cuda")
    flop = 2.0 * n ** 3
    for tf32 in (False, True):
        nnx.backends.cuda.matmul.allow_tf32 = tf32
        with nnx.no_grad():
            t_nnx = median_seconds(lambda: a @ b, sync_nnx, repeat)
        t_torch = None
        if torch:
            torch.backends.cuda.matmul.allow_tf32 = tf32
            ta, tb = torch.from_numpy(a_host).cuda(), torch.from_numpy(b_host).cuda()
            t_torch = median_seconds(lambda: ta @ tb, sync_torch, repeat)
        g_nnx, g_torch = flop / t_nnx / 1e12, (flop / t_torch / 1e12 if t_torch else None)
        ratio = g_nnx / g_torch if g_torch else None
        rows.append(Row(f"GEMM {n}^3 {'TF32' if tf32 else 'FP32'}", g_nnx, g_torch, "TFLOP/s", ratio,
                        ">= 0.95x", None if ratio is None else ("yes" if ratio >= 0.95 else "NO")))
    nnx.backends.cuda.matmul.allow_tf32 = False
    if torch:
        torch.backends.cuda.matmul.allow_tf32 = False

    # --- 2. softmax cross-entropy forward + backward ---------------------------------------------------------
    rows_ce, classes = sizes["ce"]
    logits_host = rng.standard_normal((rows_ce, classes), dtype=np.float32) * 3
    target_host = rng.integers(0, classes, rows_ce).astype(np.int64)
    logits = nnx.tensor(logits_host, device="cuda", requires_grad=True)
    target = nnx.tensor(target_host, device="cuda")

    def nnx_ce():
        logits.grad = None
        F.cross_entropy(logits, target).backward()

    t_nnx = median_seconds(nnx_ce, sync_nnx, repeat)
    t_torch = None
    if torch:
        tl = torch.from_numpy(logits_host).cuda().requires_grad_()
        tt = torch.from_numpy(target_host).cuda()

        def torch_ce():
            tl.grad = None
            torch.nn.functional.cross_entropy(tl, tt).backward()

        t_torch = median_seconds(torch_ce, sync_torch, repeat)
    ratio = t_torch / t_nnx if t_torch else None
    rows.append(Row(f"softmax-CE fwd+bwd {rows_ce}x{classes}", t_nnx * 1e3, t_torch * 1e3 if t_torch else None,
                    "ms", ratio, "info (torch/nnx)", None))

    # --- 3. Adam over many parameters ------------------------------------------------------------------------
    count = sizes["adam"]
    param = nnx.nn.Parameter(nnx.tensor(rng.standard_normal(count, dtype=np.float32), device="cuda"))
    param.grad = nnx.tensor(rng.standard_normal(count, dtype=np.float32), device="cuda")
    adam = optim.Adam([param], lr=1e-3)
    t_nnx = median_seconds(adam.step, sync_nnx, repeat)
    source = nnx.tensor(rng.standard_normal(count, dtype=np.float32), device="cuda")
    with nnx.no_grad():
        t_copy = median_seconds(source.clone, sync_nnx, repeat)
    copy_gbs = 2 * 4 * count / t_copy / 1e9
    adam_gbs = 7 * 4 * count / t_nnx / 1e9
    t_torch = None
    if torch:
        tp = torch.nn.Parameter(torch.randn(count, device="cuda"))
        tp.grad = torch.randn(count, device="cuda")
        tadam = torch.optim.Adam([tp], lr=1e-3, fused=True)
        t_torch = median_seconds(tadam.step, sync_torch, repeat)
        torch_copy_src = torch.randn(count, device="cuda")
        t_torch_copy = median_seconds(lambda: torch_copy_src.clone(), sync_torch, repeat)
        copy_gbs = max(copy_gbs, 2 * 4 * count / t_torch_copy / 1e9)
    ratio = adam_gbs / copy_gbs
    rows.append(Row(f"Adam {count:,} params", adam_gbs, 7 * 4 * count / t_torch / 1e9 if t_torch else None,
                    f"GB/s (copy {copy_gbs:.0f})", ratio, ">= 0.8x copy", "yes" if ratio >= 0.8 else "NO"))
    del param, adam, source

    # --- 4. MLP epoch -----------------------------------------------------------------------------------------
    samples = sizes["samples"]
    X_host = rng.standard_normal((samples, 784), dtype=np.float32)
    y_host = rng.integers(0, 10, samples).astype(np.int64)
    X, y = nnx.tensor(X_host, device="cuda"), nnx.tensor(y_host, device="cuda")
    for batch in (128, 4096):
        batch = min(batch, samples)
        order = nnx.tensor(rng.permutation(samples), device="cuda")
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                              nn.Linear(256, 10)).to("cuda")
        opt = optim.Adam(model.parameters(), lr=1e-3)

        def nnx_epoch():
            for start in range(0, samples, batch):
                index = order[start:start + batch]
                loss = F.cross_entropy(model(X[index]), y[index])
                opt.zero_grad()
                loss.backward()
                opt.step()

        t_nnx = median_seconds(nnx_epoch, sync_nnx, max(2, repeat // 2), warmup=1)
        t_torch = None
        if torch:
            tX, ty = torch.from_numpy(X_host).cuda(), torch.from_numpy(y_host).cuda()
            torder = torch.from_numpy(rng.permutation(samples)).cuda()
            tmodel = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256),
                                         torch.nn.ReLU(), torch.nn.Linear(256, 10)).cuda()
            topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)

            def torch_epoch():
                for start in range(0, samples, batch):
                    index = torder[start:start + batch]
                    loss = torch.nn.functional.cross_entropy(tmodel(tX[index]), ty[index])
                    topt.zero_grad()
                    loss.backward()
                    topt.step()

            t_torch = median_seconds(torch_epoch, sync_torch, max(2, repeat // 2), warmup=1)
        ratio = t_nnx / t_torch if t_torch else None
        rows.append(Row(f"MLP epoch {samples}x784 batch {batch}", t_nnx, t_torch, "s", ratio, "<= 1.0x",
                        None if ratio is None else ("yes" if ratio <= 1.0 else "NO")))

    # --- 5. ResNet-20 training step -------------------------------------------------------------------------
    sys.path.insert(0, HERE)
    from vision import resnet20  # the CPU benchmark's model: the same code for either library's nn

    batch = sizes["resnet_batch"]
    images_host = rng.standard_normal((batch, 3, 32, 32), dtype=np.float32)
    labels_host = rng.integers(0, 10, batch).astype(np.int64)

    def resnet_step(lib, model, device):
        images, labels = lib.tensor(images_host, device=device), lib.tensor(labels_host, device=device)
        opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loss_fn = lib.nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss_fn(model(images), labels).backward()
            opt.step()
        return step

    t_nnx = median_seconds(resnet_step(nnx, resnet20(nn).to("cuda"), "cuda"), sync_nnx, repeat)
    t_torch = None
    if torch:
        t_torch = median_seconds(resnet_step(torch, resnet20(torch.nn).cuda(), "cuda"), sync_torch, repeat)
    ratio = t_nnx / t_torch if t_torch else None
    rows.append(Row(f"ResNet-20 step batch {batch} 32x32x3", t_nnx * 1e3, t_torch * 1e3 if t_torch else None, "ms",
                    ratio, "info (nnx/torch)", None))

    print()
    print_table(rows)
    return 0


def skip(reason):
    print(f"bench/gpu.py skipped: {reason}", flush=True)
    return EXIT_SKIPPED


if __name__ == "__main__":
    sys.exit(main())
