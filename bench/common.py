"""Shared helpers for the nnx benchmarks: timing (warm-up, repeats, median), a plain-text table printer,
a description of the machine, and optional imports of the libraries nnx is compared with.

Importing this module from a benchmark script run as a program re-runs that process without
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE. Those variables are set on these machines for old OpenBLAS builds that
crash on new CPUs; they pin a current OpenBLAS (NumPy's and nnx's alike) to its AVX2 kernel, half of the
AVX-512 machine's roof, while PyTorch's oneDNN ignores them. A benchmark measures what a user of the machine
gets, so it lets OpenBLAS choose its kernel (and prints which one it chose). Tests and CI keep the variables.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# 2 cores of AMD Zen 5 with two 512-bit FMA pipes each: OpenBLAS reaches 461 GFLOP/s at n = 2048, PyTorch's bf16
# matmul 950. Where the CPU exposes no AVX-512 (some virtual machines of this kind hide it), the vector width
# and so the roof halve: see roofs().
ROOF_FP32_GFLOPS_AVX512 = 470.0
ROOF_BF16_GFLOPS_AVX512 = 950.0
ROOF_COPY_GBS = 45.0  # practical copy bandwidth (read + write), 40-50 GB/s measured


def environment_without_openblas_overrides():
    """os.environ less the OpenBLAS kernel overrides: for the benchmark's own child processes."""
    return {name: value for name, value in os.environ.items() if name not in OPENBLAS_OVERRIDES}


def _rerun_without_openblas_overrides():
    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if os.path.dirname(script) != HERE:  # imported by a test or a tool: leave the process alone
        return
    if any(name in os.environ for name in OPENBLAS_OVERRIDES):
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable, *sys.argv], environment_without_openblas_overrides())


_rerun_without_openblas_overrides()


@dataclass
class Timing:
    """Seconds per call: the median over the samples (the figure reported) and the fastest sample."""

    median: float
    min: float

    @classmethod
    def of(cls, samples):
        return cls(statistics.median(samples), min(samples))


def sample(fn, repeat=15, warmup=3, min_sample_seconds=2e-3, max_seconds=None, settle_seconds=0.2):
    """Seconds per call of fn(), one figure per sample, after `warmup` calls. Each sample times enough
    back-to-back calls to last at least min_sample_seconds (so microsecond calls are not lost in timer
    noise). max_seconds stops early after at least three samples, for slow cases.

    It first sleeps settle_seconds: after a call, a BLAS or OpenMP library keeps its worker threads
    spinning for a while, and on a small machine they would steal the cores from the next library
    measured (a 256^3 sgemm ran 5x slower right after another library's sgemm than after a pause)."""
    time.sleep(settle_seconds)
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    fn()
    single = time.perf_counter() - start
    calls = max(1, int(min_sample_seconds / max(single, 1e-9))) if single < min_sample_seconds else 1
    samples = []
    began = time.perf_counter()
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
        if max_seconds is not None and len(samples) >= 3 and time.perf_counter() - began > max_seconds:
            break
    return samples


def measure(fn, **options):
    """Timing of fn() (median and fastest of the samples); options as for sample()."""
    return Timing.of(sample(fn, **options))


def measure_side_by_side(fns, rounds=3, **options):
    """{name: fn or None} -> {name: Timing or None}. The libraries take turns, `rounds` times, and each
    one's samples are pooled: on a shared machine the load drifts, and taking turns spreads the drift
    over every library instead of charging it to whichever ran at the busy moment."""
    samples = {name: [] for name, fn in fns.items() if fn is not None}
    for _ in range(rounds):
        for name in samples:
            samples[name] += sample(fns[name], **options)
    return {name: Timing.of(samples[name]) if name in samples else None for name in fns}


def best_seconds(fn, warmup, repeat):
    """The fastest of `repeat` timed calls of fn() after `warmup` untimed ones (a worker process's figure)."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def worker_result(script, library, case, quick):
    """The JSON object `python bench/<script> --worker LIBRARY CASE [--quick]` prints last: one case measured by
    one library alone in a fresh process (no other library's threads or caches), without the OpenBLAS
    overrides."""
    command = [sys.executable, os.path.join(HERE, script), "--worker", library, case] + (["--quick"] if quick else [])
    result = subprocess.run(command, capture_output=True, text=True, cwd=HERE,
                            env=environment_without_openblas_overrides())
    if result.returncode != 0:
        raise RuntimeError(f"{script} {library} {case} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def alternated_seconds(script, libraries, case, rounds, quick):
    """{library: the median over `rounds` fresh worker processes of their "seconds"}, the libraries taking turns
    in alternating order so that the machine's drift falls on both."""
    seconds = {library: [] for library in libraries}
    for round_index in range(rounds):
        for library in (libraries if round_index % 2 == 0 else libraries[::-1]):
            seconds[library].append(worker_result(script, library, case, quick)["seconds"])
    return {library: statistics.median(values) for library, values in seconds.items()}


def optional_import(name):
    """The module, or None when it is not installed (its columns then read n/a)."""
    try:
        return __import__(name)
    except ImportError:
        return None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags():
    """The SIMD extensions that matter for these kernels, as listed by /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [f for f in ("avx2", "fma", "avx512f", "avx512_bf16") if f in flags]
    except OSError:
        pass
    return []


def machine_description(threads, torch=None):
    """Lines describing the machine and library versions, printed above every benchmark."""
    import numpy as np

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        f"CPU: {cpu_model()} ({', '.join(cpu_flags()) or 'no AVX2'}), {cores} cores available, "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"torch {torch.__version__ if torch else 'not installed'}, threads per library: {threads}",
        f"roofs: fp32 {roofs()['fp32']:.0f} GFLOP/s, bf16 {roofs()['bf16']:.0f} GFLOP/s, copy ~{ROOF_COPY_GBS:.0f} GB/s"
        f"{'' if 'avx512f' in cpu_flags() else ' (no AVX-512 exposed: half the AVX-512 roofs)'}; "
        f"OpenBLAS kernels: {openblas_kernels()}",
    ]
    return lines


def roofs():
    """{'fp32': GFLOP/s, 'bf16': GFLOP/s} of this machine: the measured AVX-512 figures, halved without AVX-512."""
    scale = 1.0 if "avx512f" in cpu_flags() else 0.5
    return {"fp32": ROOF_FP32_GFLOPS_AVX512 * scale, "bf16": ROOF_BF16_GFLOPS_AVX512 * scale}


def openblas_kernels():
    """The kernel each loaded OpenBLAS chose (threadpoolctl's 'architecture'), e.g. 'SkylakeX' or 'Haswell'."""
    try:
        import threadpoolctl
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    found = [f"{os.path.basename(info['filepath']).split('.')[0]}={info.get('architecture', '?')}"
             for info in threadpoolctl.threadpool_info() if info.get("internal_api") == "openblas"]
    overridden = [name for name in OPENBLAS_OVERRIDES if name in os.environ]
    suffix = f" (overridden by {', '.join(overridden)})" if overridden else ""
    return (", ".join(found) or "none loaded") + suffix


def format_value(value, digits=3):
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if value == 0 or abs(value) >= 10 ** digits:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def print_table(title, columns, rows):
    """rows: lists of cells (numbers, strings or None for n/a), aligned under `columns`."""
    cells = [[format_value(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(columns)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(columns, widths))))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))


def verdict(value, target, higher_is_better=True):
    """'yes'/'NO' against a target, 'n/a' when either side is missing."""
    if value is None or target is None:
        return "n/a"
    return "yes" if (value >= target if higher_is_better else value <= target) else "NO"


def ratio(numerator, denominator):
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def write_json(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)
