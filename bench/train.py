"""Training-speed benchmark: nnx against PyTorch CPU in one process, the same model and the same loop.

1. One epoch of a 784-512-256-10 ReLU MLP with Adam, batch 128, on 60000x784 float32 synthetic data
   (target: nnx <= 0.75x PyTorch's time; the GEMM floor is ~1.0 s on 2 cores).
2. A tiny step (64-32-10 MLP, batch 32) in microseconds: Python overhead per op dominates
   (target: nnx <= 0.5x PyTorch's time).

Both report medians over a few runs, nnx and PyTorch interleaved. PyTorch gets
torch.set_num_threads(nnx's thread count). The 1-minute load average is printed: figures taken with
other work running are not comparable with a quiet machine's. (bench/public_api.py measures each library
alone in its own process.)
Usage: python bench/train.py [--quick] [--runs N] [--threads N]
"""
import argparse
import os
import statistics
import time

import common  # noqa: F401,I001  (re-runs this process without the OpenBLAS kernel overrides)
import numpy as np

import nnx
from nnx import nn, optim
from nnx.data import DataLoader

try:
    import torch
except ImportError:  # the torch columns are skipped
    torch = None

EPOCH_TARGET, TINY_TARGET = 0.75, 0.5


def synthetic_data(n_samples, n_features, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features), dtype=np.float32)
    y = rng.integers(0, n_classes, size=n_samples).astype(np.int64)
    return X, y


# --- nnx -------------------------------------------------------------------------------------------------
def nnx_mlp(sizes):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def nnx_epoch(X, y, batch_size):
    """Seconds for one epoch of the plain loop over a shuffled DataLoader."""
    nnx.manual_seed(0)
    model = nnx_mlp([X.shape[1], 512, 256, 10])
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(X, y, batch_size=batch_size, shuffle=True)
    start = time.perf_counter()
    for xb, yb in loader:
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    loss.item()
    return time.perf_counter() - start


def nnx_tiny_step_us(steps):
    X, y = synthetic_data(32, 64, 10, seed=1)
    nnx.manual_seed(0)
    model = nnx_mlp([64, 32, 10])
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    xb, yb = nnx.tensor(X), nnx.tensor(y)

    def run(n):
        for _ in range(n):
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    run(steps // 10)  # warm-up
    start = time.perf_counter()
    run(steps)
    return (time.perf_counter() - start) / steps * 1e6


# --- PyTorch ---------------------------------------------------------------------------------------------
def torch_mlp(sizes):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def torch_epoch(X, y, batch_size):
    """The same loop; batches cut from whole tensors by one index per batch (what nnx's DataLoader does;
    torch's own DataLoader over a TensorDataset collates per sample and would be much slower)."""
    torch.manual_seed(0)
    model = torch_mlp([X.shape[1], 512, 256, 10])
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    start = time.perf_counter()
    order = torch.randperm(len(X_t))
    for begin in range(0, len(X_t), batch_size):
        index = order[begin:begin + batch_size]
        xb, yb = X_t[index], y_t[index]
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    loss.item()
    return time.perf_counter() - start


def torch_tiny_step_us(steps):
    X, y = synthetic_data(32, 64, 10, seed=1)
    torch.manual_seed(0)
    model = torch_mlp([64, 32, 10])
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    xb, yb = torch.from_numpy(X), torch.from_numpy(y)

    def run(n):
        for _ in range(n):
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    run(steps // 10)
    start = time.perf_counter()
    run(steps)
    return (time.perf_counter() - start) / steps * 1e6


# --- report ----------------------------------------------------------------------------------------------
def medians(runs, ours, theirs, *args):
    """Median of `runs` measurements of each, interleaved (ours, theirs, ours, ...) so that a change in
    the machine's load during the benchmark hits both libraries alike."""
    times_ours, times_theirs = [], []
    for _ in range(runs):
        times_ours.append(ours(*args))
        if theirs is not None:
            times_theirs.append(theirs(*args))
    return statistics.median(times_ours), statistics.median(times_theirs) if theirs is not None else None


def report(name, unit, ours, theirs, target):
    line = f"{name:<34} nnx {ours:10.3f} {unit}"
    if theirs is None:
        print(line + "   (PyTorch not installed: no ratio)")
        return
    ratio = ours / theirs
    verdict = "met" if ratio <= target else "MISSED"
    print(f"{line}   PyTorch {theirs:10.3f} {unit}   ratio {ratio:5.2f}x  (target <= {target}x: {verdict})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 10000-sample epoch and fewer runs (a smoke test)")
    parser.add_argument("--runs", type=int, default=None, help="runs per measurement (median reported)")
    parser.add_argument("--threads", type=int, default=None, help="threads for both libraries (default: nnx's)")
    args = parser.parse_args()
    if args.threads is not None:
        nnx._C.set_num_threads(args.threads)
    threads = nnx._C.get_num_threads()
    if torch is not None:
        torch.set_num_threads(threads)
    runs = args.runs or (1 if args.quick else 3)
    n_samples = 10_000 if args.quick else 60_000
    tiny_steps = 500 if args.quick else 3000
    X, y = synthetic_data(n_samples, 784, 10)
    print(f"threads: {threads}, load average {os.getloadavg()[0]:.1f}; "
          f"epoch: {n_samples}x784 float32, MLP 784-512-256-10, Adam, batch 128; "
          f"tiny step: 64-32-10, batch 32; median of {runs} run(s)")

    with_torch = torch is not None
    epoch_nnx, epoch_torch = medians(runs, nnx_epoch, torch_epoch if with_torch else None, X, y, 128)
    report("epoch (s)", "s ", epoch_nnx, epoch_torch, EPOCH_TARGET)
    tiny_nnx, tiny_torch = medians(runs + 2, nnx_tiny_step_us, torch_tiny_step_us if with_torch else None, tiny_steps)
    report("tiny step (us per step)", "us", tiny_nnx, tiny_torch, TINY_TARGET)


if __name__ == "__main__":
    main()
