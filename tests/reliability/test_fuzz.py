"""Runs the hypothesis fuzzer (fuzz_cases.py) in a subprocess, so that a segfault or abort in the native
code fails this test with the signal named, instead of taking the test run down with it. Each property is
reported as its own test: one that could not run (the six PyTorch-reference ones without PyTorch) shows as
skipped, never as part of a pass; tests/golden/test_golden_ops.py checks those six without PyTorch."""
import json
import os
import re
import signal
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
# property (fuzz_cases.py test function) -> the key its examples are counted under
NATIVE_PROPERTIES = {
    "test_valid_kernel_calls_match_the_reference": "kernel_valid",
    "test_invalid_kernel_calls_raise_a_documented_error": "kernel_invalid",
    "test_random_argument_mixes_never_crash": "kernel_garbage",
    "test_nan_and_inf_propagate_like_numpy": "public_special",
    "test_functional_api_with_garbage_arguments_raises_documented_errors": "public_garbage",
}
TORCH_PROPERTIES = {
    "test_unary_ops_match_pytorch": "public_unary",
    "test_positive_domain_ops_match_pytorch": "public_positive",
    "test_broadcasting_binary_ops_match_pytorch": "public_binary",
    "test_reductions_over_a_dim_match_pytorch": "public_reduction",
    "test_linear_matches_pytorch": "public_linear",
    "test_losses_match_pytorch": "public_loss",
}
PROPERTIES = [pytest.param(name, id=name) for name in NATIVE_PROPERTIES] + [
    pytest.param(name, id=name, marks=pytest.mark.parity) for name in TORCH_PROPERTIES]
OUTCOME = re.compile(r"fuzz_cases\.py::(test_\w+) (PASSED|FAILED|SKIPPED|ERROR)")


def run_fuzzer(tmp_path, examples, timeout):
    """{property: (outcome, examples run)} from one fuzzer run; fails on a crash. With NNX_FUZZ_RANDOM set
    (CI), hypothesis draws fresh examples, seeded from NNX_TEST_SEED so a failing run replays."""
    counts_file = tmp_path / "fuzz_counts.json"
    env = dict(os.environ, NNX_FUZZ_EXAMPLES=str(examples), NNX_FUZZ_COUNT_FILE=str(counts_file))
    command = [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", os.path.join(HERE, "fuzz_cases.py")]
    if os.environ.get("NNX_FUZZ_RANDOM") and os.environ.get("NNX_TEST_SEED"):
        command.append(f"--hypothesis-seed={os.environ['NNX_TEST_SEED']}")
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, cwd=tmp_path)
    if result.returncode < 0:
        pytest.fail(f"the fuzzer crashed with {signal.Signals(-result.returncode).name}:\n{result.stdout[-4000:]}"
                    f"\n{result.stderr[-4000:]}")
    outcomes = dict(OUTCOME.findall(result.stdout))
    counts = json.loads(counts_file.read_text()) if counts_file.exists() else {}
    log = result.stdout[-8000:] + result.stderr[-2000:]
    assert set(outcomes) == set(NATIVE_PROPERTIES) | set(TORCH_PROPERTIES), log  # no property lost or renamed
    keys = {**NATIVE_PROPERTIES, **TORCH_PROPERTIES}
    return {name: (outcome, counts.get(keys[name], 0)) for name, outcome in outcomes.items()}, log


@pytest.fixture(scope="module")
def fuzz_run(tmp_path_factory):
    return run_fuzzer(tmp_path_factory.mktemp("fuzz"), examples=40, timeout=600)


def check_property(results, log, name, minimum):
    outcome, examples = results[name]
    if outcome == "SKIPPED":
        assert name in TORCH_PROPERTIES, f"{name} skipped:\n{log}"  # only the PyTorch ones may skip
        pytest.skip(f"{name}: needs PyTorch as the reference (tests/golden/test_golden_ops.py runs its torch-free "
                    "form)")
    assert outcome == "PASSED", f"{name}: {outcome}\n{log}"
    assert examples >= minimum, f"{name} ran only {examples} examples"


@pytest.mark.parametrize("name", PROPERTIES)
def test_fuzz_property(fuzz_run, name):
    results, log = fuzz_run
    check_property(results, log, name, minimum=20)


@pytest.mark.slow
def test_fuzz_native_and_public_ops_at_length(tmp_path):
    results, log = run_fuzzer(tmp_path, examples=500, timeout=1800)
    for name in results:
        if results[name][0] != "SKIPPED":
            check_property(results, log, name, minimum=320)
