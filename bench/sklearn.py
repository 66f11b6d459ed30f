"""nnx.sklearn against scikit-learn's MLP with the same settings: fit time and test score, each library alone in
its own fresh process, as a user meets it.

    python bench/sklearn.py [--quick] [--rounds N] [--json out.json]

Cases, each with float32 X (target: nnx >= 2.5x faster) and float64 X (target: not slower, >= 1.0x); both
libraries train in the dtype of X (float32 stays float32, float64 stays float64), with an equal or better score:
- 1 epoch of hidden_layer_sizes=(512, 256), batch_size=128, adam on a structured synthetic 10-class task of
  60000 x 784 inputs (prototype images plus noise, MNIST-like values in [0, 1]); 10000 test samples.
- digits (scikit-learn's 8x8 digits, 75/25 split) with every parameter at its default (training until the
  tol / n_iter_no_change criterion stops it).
Each (library, case) runs in a fresh process: one untimed warm-up fit, then `repeat` timed fits (random_state
0, 1, ...: the best time, the mean score). The figure is the median over rounds of those best times, the two
libraries' processes alternated every round (load drift on a shared machine hits both alike).
Both libraries get the same arrays; random_state is shared, so both draw the same initial weights and batches.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

# This file is named sklearn.py: keep its folder off the front of sys.path so `import sklearn` finds
# scikit-learn, while `common` (the benchmarks' helpers next to it) stays importable.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE] + [HERE]

import numpy as np  # noqa: E402
from common import (  # noqa: E402
    environment_without_openblas_overrides,
    machine_description,
    openblas_kernels,
    print_table,
    ratio,
    verdict,
    write_json,
)

TARGET_SPEEDUP = 2.5  # float32 X
TARGET_NOT_SLOWER = 1.0  # float64 X
# One epoch from the same initial weights and batches is chaotic in the last bits: scikit-learn's own float64
# and float32 runs differ by up to ~0.01 accuracy on one seed. "Equal score" therefore means equal within this
# margin on the mean over seeds; the per-seed figures are equal more often than not.
SCORE_MARGIN = 0.005


def structured_task(n_train, n_test, n_features=784, n_classes=10, seed=0):
    """Each class is a mixture of 3 smooth prototype 'images'; a sample is a prototype plus pixel noise,
    clipped to [0, 1]. Learnable in one epoch but not trivially (classes share strokes)."""
    rng = np.random.default_rng(seed)
    side = int(np.sqrt(n_features))
    base = rng.random((n_classes * 3, side + 4, side + 4))
    kernel = np.ones(5) / 5  # blur along both axes: neighbouring pixels correlate as in images
    smooth = np.apply_along_axis(lambda r: np.convolve(r, kernel, "valid"), 2, base)
    smooth = np.apply_along_axis(lambda c: np.convolve(c, kernel, "valid"), 1, smooth)
    prototypes = smooth.reshape(n_classes * 3, -1)[:, :n_features]
    shared = prototypes.mean(axis=0)
    prototypes = np.clip(0.5 + 2.0 * (prototypes - shared), 0, 1)
    n = n_train + n_test
    labels = rng.integers(0, n_classes, n)
    which = labels * 3 + rng.integers(0, 3, n)
    X = np.clip(prototypes[which] + rng.normal(0, 0.45, (n, n_features)), 0, 1)
    return X[:n_train], labels[:n_train], X[n_train:], labels[n_train:]


def digits_task():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    return X_train, y_train, X_test, y_test


def timed_fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: one epoch on purpose
        start = time.perf_counter()
        estimator.fit(X, y)
        return time.perf_counter() - start


BIG = dict(hidden_layer_sizes=(512, 256), batch_size=128, solver="adam", max_iter=1)
CASES = {  # name: (settings, data)
    "big": (BIG, "structured"),
    "digits": ({}, "digits"),
}


def case_data(data, quick):
    if data == "digits":
        return digits_task()
    return structured_task(20000 if quick else 60000, 10000)


def run_worker(library, case, dtype_name, quick):
    """One library, one case, in this (fresh) process: prints {"seconds": best fit, "score": mean score}."""
    if library == "nnx":
        from nnx.sklearn import MLPClassifier
    else:
        from sklearn.neural_network import MLPClassifier
    settings, data = CASES[case]
    X_train, y_train, X_test, y_test = case_data(data, quick)
    dtype = np.dtype(dtype_name)
    X_train, X_test = X_train.astype(dtype), X_test.astype(dtype)
    repeat = 1 if quick else 2
    timed_fit(MLPClassifier(random_state=0, **settings), X_train, y_train)  # warm-up: first-call costs untimed
    seconds, scores = [], []
    for seed in range(repeat):
        model = MLPClassifier(random_state=seed, **settings)
        seconds.append(timed_fit(model, X_train, y_train))
        scores.append(model.score(X_test, y_test))
    print(json.dumps({"seconds": min(seconds), "score": float(np.mean(scores)), "openblas": openblas_kernels()}))


def in_fresh_process(library, case, dtype_name, quick):
    command = [sys.executable, os.path.abspath(__file__), "--worker", library, case, dtype_name]
    if quick:
        command.append("--quick")
    result = subprocess.run(command, capture_output=True, text=True, env=environment_without_openblas_overrides())
    if result.returncode != 0:
        raise RuntimeError(f"{library} {case} {dtype_name} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def alternated(case, dtype_name, rounds, quick):
    """({library: median best seconds}, {library: mean score}) over rounds of fresh processes, sides alternated."""
    libraries = ["sklearn", "nnx"]
    seconds, scores = {name: [] for name in libraries}, {name: [] for name in libraries}
    for round_index in range(rounds):
        for library in (libraries if round_index % 2 == 0 else libraries[::-1]):
            result = in_fresh_process(library, case, dtype_name, quick)
            seconds[library].append(result["seconds"])
            scores[library].append(result["score"])
    return ({k: statistics.median(v) for k, v in seconds.items()}, {k: float(np.mean(v)) for k, v in scores.items()})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20000 training samples, one round, one timed fit")
    parser.add_argument("--rounds", type=int, default=None, help="fresh-process rounds per side (default 3)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--worker", nargs=3, metavar=("LIBRARY", "CASE", "DTYPE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return run_worker(*args.worker, args.quick)

    import nnx
    import sklearn

    for line in machine_description(nnx._C.get_num_threads()):
        print(line)
    print(f"scikit-learn {sklearn.__version__}, nnx {nnx.__version__}", flush=True)
    rounds = args.rounds or (1 if args.quick else 3)
    n_train = 20000 if args.quick else 60000
    titles = {"big": f"1 epoch {n_train}x784 (512,256) b128 adam", "digits": "digits, all defaults"}
    rows, payload = [], {}
    for case in ("big", "digits"):
        for dtype_name, target in (("float32", TARGET_SPEEDUP), ("float64", TARGET_NOT_SLOWER)):
            times, scores = alternated(case, dtype_name, rounds, args.quick)
            name = f"{titles[case]}, {dtype_name} X"
            speedup = ratio(times["sklearn"], times["nnx"])
            score_ok = scores["nnx"] >= scores["sklearn"] - SCORE_MARGIN
            met = "yes" if verdict(speedup, target) == "yes" and score_ok else "NO"
            rows.append([name, times["sklearn"], times["nnx"], speedup, f">= {target}", scores["sklearn"],
                         scores["nnx"], f">= {-SCORE_MARGIN}", scores["nnx"] - scores["sklearn"], met])
            payload[name] = dict(sklearn_seconds=times["sklearn"], nnx_seconds=times["nnx"], speedup=speedup,
                                 target=target, sklearn_score=scores["sklearn"], nnx_score=scores["nnx"], met=met)
            print(f"  {name}: sklearn {times['sklearn']:.3f} s, nnx {times['nnx']:.3f} s, {speedup:.2f}x "
                  f"(target >= {target})", flush=True)
    print_table("fit time and test accuracy, nnx.sklearn.MLPClassifier vs sklearn.neural_network.MLPClassifier, "
                "each library alone in fresh processes",
                ["case", "sklearn s", "nnx s", "speedup", "target", "sklearn acc", "nnx acc", "acc target",
                 "acc diff", "met"], rows)
    print(f"times: median over {rounds} fresh processes per side of each process's best fit after a warm-up fit; "
          f"accuracies: mean over the timed fits (the target allows float rounding noise, {SCORE_MARGIN})")
    if args.json:
        write_json(args.json, payload)


if __name__ == "__main__":
    main()
