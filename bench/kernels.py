"""Kernel benchmark: nnx against NumPy and PyTorch side by side in one process (GEMM, fused softmax
cross-entropy, the Adam step, call overhead), each figure printed next to the target it is chasing.

    python bench/kernels.py [--quick] [--json results.json] [--stat median|min]
"""
import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import public_api
from common import (
    Timing,
    machine_description,
    measure,
    measure_side_by_side,
    optional_import,
    print_table,
    ratio,
    verdict,
    write_json,
)

import nnx  # noqa: F401
from nnx import _C

torch = optional_import("torch")
FLOAT = np.float32
STATISTIC = "median"  # or "min" (--stat min): the fastest sample, steadier on a busy shared machine


def timings(fns, quick, slow=False, min_sample_seconds=2e-3):
    """{library: fn or None} -> {library: Timing or None}, the libraries taking turns (five rounds, one
    in --quick mode) so that a change in machine load hits them alike."""
    if quick:
        return measure_side_by_side(fns, rounds=1, repeat=5, warmup=1, max_seconds=1.0,
                                    min_sample_seconds=min_sample_seconds)
    return measure_side_by_side(fns, rounds=5, repeat=4, warmup=2, max_seconds=1.0 if slow else None,
                                min_sample_seconds=min_sample_seconds)


def pick(timing):
    """The reported statistic of a Timing, or None for a library that is not installed."""
    return getattr(timing, STATISTIC) if isinstance(timing, Timing) else None


def milliseconds(timing):
    return None if timing is None else pick(timing) * 1e3


def gigabytes_per_second(moved_bytes, timing):
    return None if timing is None else moved_bytes / pick(timing) / 1e9


def numbers_agree(name, actual, expected, rtol=1e-3, atol=1e-4):
    """A benchmark that computes garbage fast proves nothing: warn loudly when results disagree."""
    if not np.allclose(actual, expected, rtol=rtol, atol=atol):
        print(f"WARNING: {name}: results differ from the NumPy reference", file=sys.stderr)


# ---- memory bandwidth: the roof for the memory-bound kernels -------------------------------------

def copy_bandwidth(quick, threads):
    """GB/s of copying 10M float32 (read + write) split over `threads` threads (NumPy releases the GIL),
    the practical limit of a streaming kernel on this machine."""
    n = 10_000_000
    src, dst = np.ones(n, FLOAT), np.empty(n, FLOAT)
    cuts = np.linspace(0, n, threads + 1).astype(int)
    pieces = [(dst[a:b], src[a:b]) for a, b in zip(cuts, cuts[1:])]
    with ThreadPoolExecutor(threads) as pool:
        t = measure(lambda: list(pool.map(lambda piece: np.copyto(*piece), pieces)), repeat=5 if quick else 15)
    return 2 * src.nbytes / pick(t) / 1e9


# ---- GEMM ----------------------------------------------------------------------------------------

def gemm_cases(quick):
    sizes = (128, 256, 512) if quick else (128, 256, 512, 1024, 2048)
    square = [(f"{n}x{n}x{n}", n, n, n, False) for n in sizes]
    # The MLP layer shapes (batch x in x out) as nnx.nn.Linear calls them: x(M,K) @ weight(N,K).T.
    layers = [("128x784x512 (x @ W.T)", 128, 784, 512, True), ("128x512x256 (x @ W.T)", 128, 512, 256, True)]
    return square + layers


def gemm_functions(a, b, out, layer):
    """{library: fn} computing out = a @ op(b), op transposing b for the layer shapes."""
    b_op = b.T if layer else b
    fns = dict(nnx=lambda: _C.gemm(a, b, out, trans_b=layer), numpy=lambda: np.matmul(a, b_op, out=out), torch=None)
    if torch is not None:
        ta, tout = torch.from_numpy(a), torch.from_numpy(out)
        tb_op = torch.from_numpy(b).t() if layer else torch.from_numpy(b)
        fns["torch"] = lambda: torch.mm(ta, tb_op, out=tout)
    return fns


def bench_gemm(rng, quick):
    """Each library runs all its sizes in one block, one library after the other: NumPy's and nnx's
    OpenBLAS thread pools alternating on two cores were measured slowing each other down 2x to 50x for
    seconds, so per-size turns would measure that fight rather than the GEMMs."""
    cases = []
    for label, M, K, N, layer in gemm_cases(quick):
        a = rng.standard_normal((M, K)).astype(FLOAT)
        b = rng.standard_normal((N, K) if layer else (K, N)).astype(FLOAT)
        out = np.empty((M, N), FLOAT)
        expected = a.astype(np.float64) @ (b.T if layer else b)
        cases.append((label, 2.0 * M * N * K, layer, M, gemm_functions(a, b, out, layer), out, expected, K))
    gflops = {label: {} for label, *_ in cases}
    for library in ("nnx", "numpy", "torch"):
        time.sleep(1.0)  # let the previous library's threads go idle
        for label, flops, _, _, fns, out, expected, K in cases:
            if fns[library] is None:
                gflops[label][library] = None
                continue
            timing = measure(fns[library], repeat=5 if quick else 15, warmup=1 if quick else 5,
                             max_seconds=1.0 if quick else 4.0, settle_seconds=0)
            gflops[label][library] = flops / pick(timing) / 1e9
            numbers_agree(f"gemm {label} ({library})", out, expected, rtol=1e-3, atol=1e-3 * np.sqrt(K))
    rows, records = [], []
    for label, _, layer, M, *_ in cases:
        g = gflops[label]
        vs_numpy = ratio(g["nnx"], g["numpy"])
        target = 0.95 if (not layer and M >= 256) else None
        rows.append([label, g["nnx"], g["numpy"], g["torch"], vs_numpy, ratio(g["nnx"], g["torch"]),
                     ">= 0.95x NumPy" if target else "-", verdict(vs_numpy, target)])
        records.append(dict(section="gemm", case=label, gflops=g, nnx_over_numpy=vs_numpy))
    print_table("GEMM float32 (GFLOP/s, higher is better)",
                ["shape MxKxN", "nnx", "NumPy", "torch", "nnx/NumPy", "nnx/torch", "target", "met"], rows)
    return records


# ---- softmax cross-entropy, forward + backward ----------------------------------------------------

def numpy_cross_entropy(logits, target):
    """The composite a NumPy user writes: log-softmax, gather, mean, and the gradient of the mean."""
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), target].mean()
    grad = np.exp(log_probs)
    grad[np.arange(n), target] -= 1.0
    grad /= n
    return loss, grad


def torch_cross_entropy_step(logits, target):
    """F.cross_entropy forward and backward, as a training step runs it."""
    x, t = torch.from_numpy(logits.copy()).requires_grad_(), torch.from_numpy(target)

    def step():
        x.grad = None
        torch.nn.functional.cross_entropy(x, t).backward()

    return step


def bench_cross_entropy(rng, quick, bandwidth):
    if not hasattr(_C, "cross_entropy_forward"):
        print("\nsoftmax cross-entropy: skipped, _C.cross_entropy_forward is not built yet")
        return []
    rows, records = [], []
    for N, C in ((128, 10), (4096, 1000)):
        logits = (3 * rng.standard_normal((N, C))).astype(FLOAT)
        target = rng.integers(0, C, size=N)
        loss, logsumexp, grad = np.empty((), FLOAT), np.empty(N, FLOAT), np.empty((N, C), FLOAT)
        t = timings(dict(nnx=lambda: _C.cross_entropy_forward(logits, target, loss, logsumexp, grad),
                         numpy=lambda: numpy_cross_entropy(logits, target),
                         torch=torch and torch_cross_entropy_step(logits, target)), quick,
                      # Steady state, as in a training loop: each sample times back-to-back calls. A lone
                      # millisecond call after a pause measured 2x slower for every library here (threads
                      # parked by the pause wake up on the first call).
                      min_sample_seconds=0.03)
        numbers_agree(f"cross-entropy {N}x{C}", grad, numpy_cross_entropy(logits, target)[1], atol=1e-7)
        moved = 2 * logits.nbytes + target.nbytes  # logits read, grad_logits written, targets read
        over_torch = ratio(pick(t["torch"]), pick(t["nnx"]))
        over_numpy = ratio(pick(t["numpy"]), pick(t["nnx"]))
        big = N * C >= 1_000_000
        ms = {name: milliseconds(timing) for name, timing in t.items()}
        rows.append([f"{N}x{C}", ms["nnx"], ms["numpy"], ms["torch"], gigabytes_per_second(moved, t["nnx"]),
                     over_torch, over_numpy, ">= 1.5x torch, >= 5x NumPy" if big else "-",
                     f"{verdict(over_torch, 1.5)}/{verdict(over_numpy, 5.0)}" if big else "n/a"])
        records.append(dict(section="cross_entropy", case=f"{N}x{C}", ms=ms,
                            nnx_gbps=gigabytes_per_second(moved, t["nnx"]), speedup_over_torch=over_torch,
                            speedup_over_numpy=over_numpy))
    print_table(f"softmax cross-entropy forward+backward, float32 (ms; nnx GB/s vs copy {bandwidth:.1f} GB/s)",
                ["N x C", "nnx ms", "NumPy ms", "torch ms", "nnx GB/s", "torch/nnx", "NumPy/nnx", "target", "met"],
                rows)
    return records


# ---- Adam step over 10M parameters --------------------------------------------------------------

def numpy_adam(p, g, m, v, tmp, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """In-place NumPy Adam: several passes over memory, one per operation."""
    m *= beta1
    np.multiply(g, 1 - beta1, out=tmp)
    m += tmp
    v *= beta2
    np.multiply(g, g, out=tmp)
    tmp *= 1 - beta2
    v += tmp
    np.sqrt(v, out=tmp)
    tmp /= np.sqrt(1 - beta2**step)
    tmp += eps
    np.divide(m, tmp, out=tmp)
    tmp *= lr / (1 - beta1**step)
    p -= tmp


def torch_adam(params):
    """torch.optim.Adam with its fastest CPU implementation: fused if this build has it, else foreach."""
    for flavour in ("fused", "foreach"):
        try:
            optimizer = torch.optim.Adam(params, lr=1e-3, **{flavour: True})
            optimizer.step()
            return optimizer, flavour
        except (RuntimeError, ValueError, TypeError):
            continue
    return torch.optim.Adam(params, lr=1e-3), "single-tensor"


def stepper(update):
    """fn() that calls update(step) with step = 1, 2, 3, ... (Adam's bias correction needs the count)."""
    count = [0]

    def fn():
        count[0] += 1
        update(count[0])

    return fn


def bench_adam(rng, quick, bandwidth):
    n = 10_000_000
    p, g = rng.standard_normal(n).astype(FLOAT), rng.standard_normal(n).astype(FLOAT)
    m, v = np.zeros(n, FLOAT), np.zeros(n, FLOAT)
    p_np, m_np, v_np, tmp = p.copy(), m.copy(), v.copy(), np.empty(n, FLOAT)
    fns = dict(nnx=stepper(lambda step: _C.adam_step([p], [g], [m], [v], None, step, 1e-3)),
               numpy=stepper(lambda step: numpy_adam(p_np, g, m_np, v_np, tmp, step)), torch=None)
    flavour = "n/a"
    if torch is not None:
        param = torch.nn.Parameter(torch.from_numpy(p.copy()))
        param.grad = torch.from_numpy(g.copy())
        optimizer, flavour = torch_adam([param])
        fns["torch"] = optimizer.step
    # nnx and torch share one OpenMP runtime (libgomp) and NumPy runs single-threaded here, so no
    # library leaves threads spinning against the next: they can alternate call by call, which pairs
    # the samples and takes load drift out of a comparison that is within ~10%.
    t = measure_side_by_side(fns, rounds=5 if quick else 25, repeat=1, warmup=0, settle_seconds=0)
    moved = 7 * 4 * n  # p, g, m, v read; p, m, v written
    over_torch = ratio(pick(t["torch"]), pick(t["nnx"]))
    rows = [["nnx _C.adam_step", milliseconds(t["nnx"]), gigabytes_per_second(moved, t["nnx"]), 1.0, "", ""],
            ["NumPy in-place composite", milliseconds(t["numpy"]), gigabytes_per_second(moved, t["numpy"]),
             ratio(pick(t["nnx"]), pick(t["numpy"])), "", ""],
            [f"torch.optim.Adam({flavour}=True)", milliseconds(t["torch"]), gigabytes_per_second(moved, t["torch"]),
             ratio(pick(t["nnx"]), pick(t["torch"])), "nnx >= torch fused", verdict(over_torch, 1.0)]]
    print_table(f"Adam step, 10M float32 parameters (GB/s counts 7 x 4 B per element; copy roof "
                f"{bandwidth:.1f} GB/s)", ["implementation", "ms", "GB/s", "speed vs nnx", "target", "met"], rows)
    return [dict(section="adam", case="10M float32", ms={name: milliseconds(timing) for name, timing in t.items()},
                 torch_flavour=flavour, nnx_gbps=gigabytes_per_second(moved, t["nnx"]), speedup_over_torch=over_torch)]


# ---- call overhead: a 16-element relu -----------------------------------------------------------

def bench_call_overhead(rng, quick):
    if not hasattr(_C, "activation_forward"):
        print("\n16-element relu: skipped, _C.activation_forward is not built yet")
        return []
    x = rng.standard_normal(16).astype(FLOAT)
    out = np.empty_like(x)
    tx = torch and torch.from_numpy(x)
    t = timings(dict(nnx=lambda: _C.activation_forward("relu", x, out), numpy=lambda: np.maximum(x, 0, out=out),
                     torch=torch and (lambda: torch.relu(tx))), quick)
    _C.activation_forward("relu", x, out)
    numbers_agree("relu", out, np.maximum(x, 0))
    us = {name: None if timing is None else pick(timing) * 1e6 for name, timing in t.items()}
    rows = [["relu(16) per call", us["nnx"], us["numpy"], us["torch"], "nnx <= 2 us", verdict(us["nnx"], 2.0, False)]]
    print_table("call overhead, 16-element float32 relu (microseconds per call, lower is better)",
                ["case", "nnx _C", "np.maximum", "torch.relu", "target", "met"], rows)
    return [dict(section="call_overhead", case="relu 16", us=us)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats (a smoke run)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--no-public", action="store_true",
                        help="skip the public-API rows (each library alone in fresh processes, bench/public_api.py)")
    parser.add_argument("--stat", choices=("median", "min"), default="median",
                        help="statistic reported per case (min is steadier on a busy shared machine)")
    args = parser.parse_args(argv)
    global STATISTIC
    STATISTIC = args.stat

    threads = _C.get_num_threads()
    if torch is not None:
        torch.set_num_threads(threads)  # same thread count for a fair comparison
    header = machine_description(threads, torch)
    print("nnx kernel benchmark" + (" (quick)" if args.quick else "") + f", {STATISTIC} of the samples per case")
    for line in header:
        print("  " + line)

    rng = np.random.default_rng(0)
    bandwidth = copy_bandwidth(args.quick, threads)
    print(f"  memory copy bandwidth ({threads} threads of np.copyto, 10M float32, read + write): {bandwidth:.1f} GB/s")
    records = bench_gemm(rng, args.quick)
    records += bench_cross_entropy(rng, args.quick, bandwidth)
    records += bench_adam(rng, args.quick, bandwidth)
    records += bench_call_overhead(rng, args.quick)
    print("\nThe rows above time the _C kernels back to back in one long process (steady state); the rows below time"
          "\nthe public API as a user meets it. Both count: the targets are met when both kinds of row meet them.")
    if not args.no_public:
        records.append(dict(section="public_api", results=public_api.report(args.quick)))
    if args.json:
        write_json(args.json, dict(machine=header, statistic=STATISTIC, copy_bandwidth_gbps=bandwidth, quick=args.quick,
                                   results=records))
        print(f"\nresults written to {args.json}")


if __name__ == "__main__":
    main()
