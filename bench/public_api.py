"""The public API as a user meets it: each library alone in its own fresh process, best of N after warm-up,
the median of several rounds with the sides alternated (nnx, peer, nnx, peer, ...).

    python bench/public_api.py [--quick] [--rounds R] [--json out.json]

Rows (target in brackets):
- `a @ b` on float32 tensors under no_grad, n = 256 ... 2048, against NumPy's `a @ b` [nnx >= 0.95x NumPy's speed]
- `F.cross_entropy(x, y).backward()` 4096 x 1000, x a fresh leaf each call, against PyTorch [nnx >= 1.5x faster]
- `F.relu(x)` of 16 elements under no_grad, microseconds per call [<= 2 us]
- the same process alternating nnx's and NumPy's (or PyTorch's) GEMMs, n = 512: each library's time next to its
  time alone [neither slowed by more than 10%: nnx must not starve the other library's threads]

Each row prints its ratio, the target, whether it is met, and the fraction of the machine's roof (fp32 GFLOP/s for
GEMMs, copy bandwidth for the memory-bound rows). Workers run `python public_api.py --worker LIB CASE` and print
one JSON line.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from common import (
    ROOF_COPY_GBS,
    environment_without_openblas_overrides,
    machine_description,
    openblas_kernels,
    print_table,
    roofs,
    verdict,
    write_json,
)

HERE = os.path.dirname(os.path.abspath(__file__))
GEMM_SIZES = (256, 384, 512, 640, 768, 1024, 1536, 2048)
GEMM_TARGET = 0.95  # nnx's speed / NumPy's
CE_TARGET = 1.5  # PyTorch's time / nnx's
RELU_TARGET_US = 2.0
MIXED_SLOWDOWN_LIMIT = 1.10


# ---- workers: one library, one case, in a fresh process ----------------------------------------------------

def best_seconds(fn, warmup, repeat, min_seconds=2e-3):
    """Fastest per-call time over `repeat` samples after `warmup` calls; a sample loops until min_seconds."""
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    fn()
    single = time.perf_counter() - start
    calls = max(1, int(min_seconds / max(single, 1e-9)))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def gemm_case(library, n):
    import numpy as np
    rng = np.random.default_rng(n)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    if library == "numpy":
        return lambda: a @ b
    import nnx
    ta, tb = nnx.tensor(a), nnx.tensor(b)

    def multiply():
        with nnx.no_grad():
            return ta @ tb
    return multiply


def cross_entropy_case(library):
    import numpy as np
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((4096, 1000), dtype=np.float32)
    target = rng.integers(0, 1000, 4096)
    if library == "torch":
        import torch
        import torch.nn.functional as F
        x0, y = torch.from_numpy(logits), torch.from_numpy(target)

        def step():
            x = x0.clone().requires_grad_(True)
            F.cross_entropy(x, y).backward()
        return step
    import nnx
    import nnx.nn.functional as F
    y = nnx.tensor(target)

    def step():
        x = nnx.tensor(logits, requires_grad=True)  # a copy, as torch's clone
        F.cross_entropy(x, y).backward()
    return step


def relu_case(library):
    import numpy as np
    if library == "torch":
        import torch
        x = torch.randn(16)
        torch.set_grad_enabled(False)
        return lambda: torch.nn.functional.relu(x)
    import nnx
    x = nnx.tensor(np.random.default_rng(0).standard_normal(16, dtype=np.float32))
    nnx.set_grad_enabled(False)
    return lambda: nnx.nn.functional.relu(x)


def mixed_case(peer, n=512, blocks=6, calls=6):
    """One process: each library's GEMM alone and the two back to back, in interleaved blocks (alone nnx, alone
    peer, together, repeated) so that a drift of the machine's speed during the process hits all three alike; returns
    each library's best call alone and interleaved."""
    import numpy as np
    nnx_multiply = gemm_case("nnx", n)
    if peer == "numpy":
        peer_multiply = gemm_case("numpy", n)
    else:
        import torch
        rng = np.random.default_rng(n)
        a = torch.from_numpy(rng.standard_normal((n, n), dtype=np.float32))
        b = torch.from_numpy(rng.standard_normal((n, n), dtype=np.float32))
        peer_multiply = lambda: a @ b  # noqa: E731
    for fn in (nnx_multiply, peer_multiply, nnx_multiply, peer_multiply):
        fn()  # warm-up
    alone = {"nnx": float("inf"), peer: float("inf")}
    together = {"nnx": float("inf"), peer: float("inf")}
    for _ in range(blocks):
        for name, fn in (("nnx", nnx_multiply), (peer, peer_multiply)):
            for _ in range(calls):
                start = time.perf_counter()
                fn()
                alone[name] = min(alone[name], time.perf_counter() - start)
        for _ in range(calls):
            for name, fn in (("nnx", nnx_multiply), (peer, peer_multiply)):
                start = time.perf_counter()
                fn()
                together[name] = min(together[name], time.perf_counter() - start)
    return {"alone": alone, "together": together}


def run_worker(library, case, quick):
    warmup, repeat = (2, 5) if quick else (5, 20)
    if case.startswith("gemm"):
        seconds = best_seconds(gemm_case(library, int(case[4:])), warmup, repeat)
    elif case == "ce":
        seconds = best_seconds(cross_entropy_case(library), warmup, repeat)
    elif case == "relu":
        seconds = best_seconds(relu_case(library), warmup, repeat, min_seconds=0.02)
    elif case.startswith("mixed"):
        print(json.dumps(mixed_case(library)))
        return
    else:
        raise SystemExit(f"unknown case {case!r}")
    print(json.dumps({"seconds": seconds, "openblas": openblas_kernels()}))


# ---- the driver ------------------------------------------------------------------------------------------------

def in_fresh_process(library, case, quick):
    command = [sys.executable, os.path.join(HERE, "public_api.py"), "--worker", library, case]
    if quick:
        command.append("--quick")
    result = subprocess.run(command, capture_output=True, text=True, cwd=HERE,
                            env=environment_without_openblas_overrides())
    if result.returncode != 0:
        raise RuntimeError(f"{library} {case} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def alternated(libraries, case, rounds, quick):
    """{library: median over rounds of each fresh process's best seconds}, sides alternated every round."""
    seconds = {library: [] for library in libraries}
    for round_index in range(rounds):
        order = libraries if round_index % 2 == 0 else libraries[::-1]
        for library in order:
            seconds[library].append(in_fresh_process(library, case, quick)["seconds"])
    return {library: statistics.median(values) for library, values in seconds.items()}


def have(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes, rounds and samples")
    parser.add_argument("--rounds", type=int, default=None, help="fresh-process rounds per side (default 5, quick 1)")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--worker", nargs=2, metavar=("LIBRARY", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return run_worker(*args.worker, args.quick)

    import nnx  # noqa: F401  (only for the header's thread count)
    for line in machine_description(nnx.get_num_threads(), __import__("torch") if have("torch") else None):
        print(line)
    results = report(args.quick, args.rounds)
    if args.json:
        write_json(args.json, results)


def report(quick, rounds=None):
    """Measures and prints every public-API row (each library in fresh processes); returns the figures."""
    rounds = rounds or (1 if quick else 5)
    torch_installed = have("torch")
    print(f"\npublic API, each library alone in fresh processes: median over {rounds} processes per side of the "
          f"best call after warm-up")
    fp32_roof = roofs()["fp32"]
    results = {}

    rows = []
    for n in (GEMM_SIZES[::3] if quick else GEMM_SIZES):
        times = alternated(["nnx", "numpy"], f"gemm{n}", rounds, quick)
        speed = times["numpy"] / times["nnx"]
        gflops = 2 * n ** 3 / times["nnx"] / 1e9
        rows.append([f"a @ b  n={n}", times["nnx"] * 1e3, times["numpy"] * 1e3, speed, f">= {GEMM_TARGET}",
                     verdict(speed, GEMM_TARGET), gflops, gflops / fp32_roof])
        results[f"gemm{n}"] = times
    print_table("GEMM through Tensor.__matmul__ (no_grad) vs NumPy a @ b, float32",
                ["case", "nnx ms", "numpy ms", "speed vs numpy", "target", "met", "nnx GFLOP/s", "of roof"], rows)

    if torch_installed:
        times = alternated(["nnx", "torch"], "ce", rounds, quick)
        speedup = times["torch"] / times["nnx"]
        moved = 4096 * 1000 * 4 * 4  # copy in (read + write), forward read, gradient write: the bytes at least moved
        print_table("F.cross_entropy(x, y).backward(), 4096 x 1000 float32 (x a fresh leaf: a 16 MB copy each call)",
                    ["case", "nnx ms", "torch ms", "speedup", "target", "met", "nnx GB/s", "of copy bw"],
                    [["cross-entropy fwd+bwd", times["nnx"] * 1e3, times["torch"] * 1e3, speedup, f">= {CE_TARGET}",
                      verdict(speedup, CE_TARGET), moved / times["nnx"] / 1e9,
                      moved / times["nnx"] / 1e9 / ROOF_COPY_GBS]])
        results["ce"] = times
    else:
        print("\ncross-entropy row skipped: PyTorch is not installed (pip install torch)")

    libraries = ["nnx", "torch"] if torch_installed else ["nnx"]
    times = alternated(libraries, "relu", rounds, quick)
    print_table("F.relu of 16 float32 elements under no_grad, per call",
                ["case", "nnx us", "torch us", "target", "met"],
                [["relu(16)", times["nnx"] * 1e6, times["torch"] * 1e6 if torch_installed else None,
                  f"<= {RELU_TARGET_US}", verdict(times["nnx"] * 1e6, RELU_TARGET_US, higher_is_better=False)]])
    results["relu"] = times

    rows = []
    for peer in ["numpy"] + (["torch"] if torch_installed else []):
        # The median over fresh processes of each process's slowdown (a process's own speed varies on a shared VM).
        runs = [in_fresh_process(peer, "mixed", quick) for _ in range(1 if quick else 3)]
        for library in ("nnx", peer):
            slowdowns = [run["together"][library] / run["alone"][library] for run in runs]
            middle = runs[slowdowns.index(statistics.median_low(slowdowns))]
            slowdown = statistics.median(slowdowns)
            rows.append([f"{library} (with {peer if library == 'nnx' else 'nnx'})", middle["alone"][library] * 1e3,
                         middle["together"][library] * 1e3, slowdown, f"<= {MIXED_SLOWDOWN_LIMIT}",
                         verdict(slowdown, MIXED_SLOWDOWN_LIMIT, higher_is_better=False)])
        results[f"mixed_{peer}"] = runs
    print_table("One process alternating nnx's and another library's 512^3 GEMM (best call, ms; the median of 3 "
                "fresh processes)",
                ["library", "alone", "alternating", "slowdown", "target", "met"], rows)
    return results


if __name__ == "__main__":
    main()
