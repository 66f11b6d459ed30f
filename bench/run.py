"""Runs every benchmark module in bench/ (kernels.py, train.py, sklearn.py, and any other bench/*.py),
one after another, each in its own process so one library's threads and caches do not skew the next.

    python bench/run.py [--quick] [--only kernels,train] [--list]

A benchmark with nothing to measure on this machine (bench/gpu.py without a CUDA device) says why and
exits with status 77 (automake's "skipped"): it is reported as skipped, and the run's exit status is 1
only when a benchmark really failed.
"""
import argparse
import glob
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# These run first, in this order; any other bench/*.py module follows alphabetically.
PREFERRED_ORDER = ("kernels", "train", "sklearn")
NOT_BENCHMARKS = {"run", "common"}
EXIT_SKIPPED = 77  # (bench/gpu.py's EXIT_SKIPPED)


def discover():
    """Benchmark module names found in bench/ now: helpers and private modules are not benchmarks."""
    found = {os.path.splitext(os.path.basename(path))[0] for path in glob.glob(os.path.join(HERE, "*.py"))}
    found = {name for name in found if name not in NOT_BENCHMARKS and not name.startswith("_")}
    ordered = [name for name in PREFERRED_ORDER if name in found]
    return ordered + sorted(found - set(ordered))


def run_module(name, extra_args):
    """Run one benchmark in a subprocess, its output streaming through; returns (exit code, seconds)."""
    command = [sys.executable, os.path.join(HERE, f"{name}.py"), *extra_args]
    print(f"\n===== bench/{name}.py {' '.join(extra_args)}".rstrip() + " =====", flush=True)
    start = time.perf_counter()
    code = subprocess.call(command, cwd=HERE)
    return code, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="passed to every benchmark: fewer sizes and repeats")
    parser.add_argument("--only", help="comma-separated module names to run (default: all found)")
    parser.add_argument("--list", action="store_true", help="print the benchmarks that would run, run none")
    args = parser.parse_args(argv)

    available = discover()
    names = available
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        for name in wanted:
            if name not in available:
                print(f"bench/{name}.py not found, skipped")
        names = [n for n in wanted if n in available]
    for name in PREFERRED_ORDER:
        if name not in available and not args.only:
            print(f"bench/{name}.py not present yet, skipped")

    extra = ["--quick"] if args.quick else []
    if args.list:
        for name in names:
            print(f"bench/{name}.py {' '.join(extra)}".rstrip())
        return 0
    summary = [(name, *run_module(name, extra)) for name in names]
    print("\n===== summary =====")
    for name, code, seconds in summary:
        print(f"  {name:<12} {outcome(code):<16} {seconds:6.1f} s")
    return 0 if all(code in (0, EXIT_SKIPPED) for _, code, _ in summary) else 1


def outcome(code):
    return "ok" if code == 0 else "skipped" if code == EXIT_SKIPPED else f"FAILED (exit {code})"


if __name__ == "__main__":
    sys.exit(main())
