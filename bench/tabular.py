"""Tabular training-speed benchmark: nnx's TabularModel against the same model written in PyTorch CPU, the
same plain loop (Adam, MSE), in one process.

A 200k-row synthetic task with 8 categorical columns (cardinalities 3 to 1000, embedding sizes by
fastai's rule) and 10 continuous ones; fastai's default layers [200, 100]. One epoch, shuffled.
Target: nnx <= 0.75x PyTorch's epoch time. Medians over a few runs; PyTorch gets nnx's thread count.
Usage: python bench/tabular.py [--quick] [--runs N] [--batch-size B]
"""
import argparse
import statistics
import time

import common  # noqa: F401,I001  (re-runs this process without the OpenBLAS kernel overrides)
import numpy as np

import nnx
from nnx.tabular import TabularDataLoader, TabularModel, get_emb_sz

try:
    import torch
except ImportError:  # the torch column is skipped
    torch = None

TARGET = 0.75
CARDINALITIES = [4, 8, 13, 25, 51, 101, 501, 1001]  # with the '#na#' row, as Categorify makes them
LAYERS = [200, 100]


def synthetic_data(n_rows, n_cont=10, seed=0):
    rng = np.random.default_rng(seed)
    x_cat = np.stack([rng.integers(1, c, n_rows) for c in CARDINALITIES], 1).astype(np.int64)
    x_cont = rng.standard_normal((n_rows, n_cont), dtype=np.float32)
    y = (x_cont[:, :1] + 0.1 * (x_cat[:, :1] % 3)).astype(np.float32)
    return x_cat, x_cont, y


# --- nnx -------------------------------------------------------------------------------------------------
def nnx_epoch(x_cat, x_cont, y, batch_size):
    nnx.manual_seed(0)
    model = TabularModel(get_emb_sz(CARDINALITIES), x_cont.shape[1], 1, LAYERS)
    loss_fn = nnx.nn.MSELoss()
    optimizer = nnx.optim.Adam(model.parameters(), lr=1e-3)
    loader = TabularDataLoader(x_cat, x_cont, y, batch_size=batch_size, shuffle=True, drop_last=True)
    start = time.perf_counter()
    for xb, yb in loader:
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    loss.item()
    return time.perf_counter() - start


# --- PyTorch: fastai's TabularModel written out ----------------------------------------------------------
def torch_model(n_cont):
    nn = torch.nn

    class TorchTabular(nn.Module):
        def __init__(self):
            super().__init__()
            sizes = get_emb_sz(CARDINALITIES)
            self.embeds = nn.ModuleList([nn.Embedding(n, s) for n, s in sizes])
            self.bn_cont = nn.BatchNorm1d(n_cont)
            widths = [sum(s for _, s in sizes) + n_cont] + LAYERS
            blocks = []
            for n_in, n_out in zip(widths[:-1], widths[1:]):
                blocks += [nn.Linear(n_in, n_out, bias=False), nn.ReLU(inplace=True), nn.BatchNorm1d(n_out)]
            self.layers = nn.Sequential(*blocks, nn.Linear(widths[-1], 1))

        def forward(self, x_cat, x_cont):
            embedded = torch.cat([embed(x_cat[:, i]) for i, embed in enumerate(self.embeds)], 1)
            return self.layers(torch.cat([embedded, self.bn_cont(x_cont)], 1))

    return TorchTabular()


def torch_epoch(x_cat, x_cont, y, batch_size):
    torch.manual_seed(0)
    model = torch_model(x_cont.shape[1])
    loss_fn = torch.nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x_cat, x_cont, y = torch.from_numpy(x_cat), torch.from_numpy(x_cont), torch.from_numpy(y)
    start = time.perf_counter()
    order = torch.randperm(len(y))
    for first in range(0, len(y) - batch_size + 1, batch_size):
        index = order[first:first + batch_size]
        loss = loss_fn(model(x_cat[index], x_cont[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    loss.item()
    return time.perf_counter() - start


def median_time(function, runs, *args):
    return statistics.median(function(*args) for _ in range(runs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k rows instead of 200k")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, nargs="+", default=[256, 1024])
    args = parser.parse_args()
    data = synthetic_data(20_000 if args.quick else 200_000)
    threads = nnx._C.get_num_threads()
    if torch is not None:
        torch.set_num_threads(threads)
    print(f"tabular epoch: {len(data[2])} rows, 8 categorical + 10 continuous, layers {LAYERS}, "
          f"{threads} threads, median of {args.runs}")
    for batch_size in args.batch_size:
        nnx_time = median_time(nnx_epoch, args.runs, *data, batch_size)
        line = f"  batch {batch_size:5d}: nnx {nnx_time:6.3f} s"
        if torch is not None:
            torch_time = median_time(torch_epoch, args.runs, *data, batch_size)
            ratio = nnx_time / torch_time
            verdict = "met" if ratio <= TARGET else "NOT met"
            line += f"   torch {torch_time:6.3f} s   ratio {ratio:.2f} (target <= {TARGET}: {verdict})"
        print(line)


if __name__ == "__main__":
    main()
