"""Soak test: resident memory (RSS) over many small training steps, which must stay flat.

    python bench/soak.py [--steps 20000] [--interval 2000] [--quick] [--limit-mb 4]

Phase "loop": a plain PyTorch-style loop (forward with dropout and LayerNorm, cross-entropy, backward,
AdamW step, zero_grad) on one small batch. Phase "learner": Learner.fit over a small DataLoader for the
same number of batches; its Recorder keeps three floats per batch by design, reported beside the RSS.
RSS is read after a warm-up (the allocator's pools and NumPy's caches fill first); the growth from
there to the end is the figure, next to the limit. Exits 1 when a phase grows by more than the limit.
"""
import argparse
import gc
import os
import sys
import time

import common  # noqa: F401,I001  (re-runs this process without the OpenBLAS kernel overrides)
import numpy as np

import nnx
from nnx import nn
from nnx.data import DataLoader
from nnx.learner import Learner

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_mb():
    """Resident set size of this process in MiB (Linux /proc; ru_maxrss elsewhere, a high-water mark)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE / 2**20
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def small_model():
    return nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Dropout(0.1), nn.LayerNorm(64), nn.Linear(64, 10))


def data(rows, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 32)).astype(np.float32)
    y = rng.integers(0, 10, rows)
    return X, y


def loop_phase(steps, interval, warmup):
    """(rss samples [(step, MiB)], seconds) of the plain training loop."""
    nnx.manual_seed(0)
    model = small_model()
    opt = nnx.optim.AdamW(model.parameters(), lr=1e-3)
    loss_func = nn.CrossEntropyLoss()
    X, y = data(32)
    xb, yb = nnx.tensor(X), nnx.tensor(y)
    samples = []
    start = time.perf_counter()
    for step in range(1, warmup + steps + 1):
        loss = loss_func(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        if step >= warmup and (step - warmup) % interval == 0:
            samples.append((step - warmup, rss_mb()))
    return samples, time.perf_counter() - start


def learner_phase(steps, interval, warmup):
    """(rss samples, seconds, recorder floats kept) of Learner.fit over steps + warmup batches."""
    nnx.manual_seed(0)
    X, y = data(32 * 20)
    learn = Learner((DataLoader(X, y, batch_size=32, shuffle=True), None), small_model(), nn.CrossEntropyLoss(),
                    opt_func=nnx.optim.AdamW, verbose=False)
    samples = []

    class Sample(nnx.learner.Callback):
        order = 100

        def after_batch(self):
            done = self.learn.train_iter - warmup
            if done >= 0 and done % interval == 0:
                samples.append((done, rss_mb()))

    epochs = -(-(warmup + steps + 1) // len(learn.dls.train))
    start = time.perf_counter()
    learn.fit(epochs, cbs=[Sample()])
    recorded = len(learn.recorder.losses) + len(learn.recorder.lrs) + len(learn.recorder.moms)
    return samples, time.perf_counter() - start, recorded


def report(name, samples, seconds, steps, limit_mb, note=""):
    print(f"\n{name}: RSS over {steps} steps after warm-up ({seconds:.1f} s, {seconds / steps * 1e6:.0f} us/step)")
    for step, mb in samples:
        print(f"  step {step:>7d}: {mb:8.2f} MiB")
    growth = samples[-1][1] - samples[0][1]
    verdict = "ok" if growth <= limit_mb else "TOO MUCH"
    print(f"  growth: {growth:+.2f} MiB (limit {limit_mb:.1f} MiB) {verdict}{note}")
    return growth <= limit_mb


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--interval", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--limit-mb", type=float, default=4.0, help="allowed RSS growth per phase")
    parser.add_argument("--quick", action="store_true", help="2000 steps (as bench/run.py --quick passes)")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.interval = 2000, 500
    gc.collect()
    print(f"nnx soak: {args.steps} steps per phase, threads={nnx._C.get_num_threads()}, start RSS {rss_mb():.1f} MiB")
    samples, seconds = loop_phase(args.steps, args.interval, args.warmup)
    ok = report("loop (Linear/ReLU/Dropout/LayerNorm/Linear, AdamW, batch 32)", samples, seconds, args.steps,
                args.limit_mb)
    samples, seconds, recorded = learner_phase(args.steps, args.interval, args.warmup)
    ok &= report("Learner.fit (same model, DataLoader shuffling, Recorder)", samples, seconds, args.steps,
                 args.limit_mb, note=f"; the Recorder holds {recorded} floats by design "
                                     f"(~{recorded * 32 / 2**20:.1f} MiB as Python floats in lists)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
