"""Runs the hypothesis fuzzer (fuzz_cases.py) in a subprocess, so that a segfault or abort in the native
code fails this test with the signal named, instead of taking the test run down with it."""
import json
import os
import signal
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import torch  # noqa: F401  (the reference of the public-op properties)
    HAS_TORCH = True
except ImportError:
    HAS_TORCH = False
# 5 properties drive the binding layer against NumPy; 6 more compare the public ops with PyTorch.
PROPERTIES = 11 if HAS_TORCH else 5


def run_fuzzer(tmp_path, examples, timeout):
    counts_file = tmp_path / "fuzz_counts.json"
    env = dict(os.environ, NNX_FUZZ_EXAMPLES=str(examples), NNX_FUZZ_COUNT_FILE=str(counts_file))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", os.path.join(HERE, "fuzz_cases.py")]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, cwd=tmp_path)
    if result.returncode < 0:
        pytest.fail(f"the fuzzer crashed with {signal.Signals(-result.returncode).name}:\n{result.stdout[-4000:]}"
                    f"\n{result.stderr[-4000:]}")
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert f"{PROPERTIES} passed" in result.stdout, result.stdout[-2000:]
    assert HAS_TORCH or "6 skipped" in result.stdout, result.stdout[-2000:]
    return json.loads(counts_file.read_text())


def test_fuzz_native_and_public_ops(tmp_path):
    counts = run_fuzzer(tmp_path, examples=40, timeout=600)
    assert len(counts) == PROPERTIES  # every property ran examples
    assert sum(counts.values()) >= 20 * PROPERTIES, counts


@pytest.mark.slow
def test_fuzz_native_and_public_ops_at_length(tmp_path):
    counts = run_fuzzer(tmp_path, examples=500, timeout=1800)
    assert sum(counts.values()) >= 320 * PROPERTIES, counts
