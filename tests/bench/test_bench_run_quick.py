"""bench/run.py --quick ends cleanly on a machine without a GPU (issue 22, item 1). No benchmark is run here:
gpu.py exits at its device check, and run.py's summary logic is driven with stand-in exit codes."""
import importlib.util
import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench")


def load_run_module():
    spec = importlib.util.spec_from_file_location("bench_run", os.path.join(BENCH, "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def real_cuda_visible():
    from nnx.native import _cuda
    return _cuda is not None and _cuda.device_count() > 0


needs_no_gpu = pytest.mark.skipif(real_cuda_visible(), reason="a GPU is visible: gpu.py would really measure")


@needs_no_gpu
def test_gpu_benchmark_accepts_quick_and_says_it_is_skipped():
    done = subprocess.run([sys.executable, os.path.join(BENCH, "gpu.py"), "--quick"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 77, done.stdout + done.stderr
    assert "skipped" in done.stdout and "CUDA" in done.stdout
    assert "unrecognized arguments" not in done.stderr


@needs_no_gpu
def test_run_quick_reports_a_skipped_benchmark_and_exits_zero():
    done = subprocess.run([sys.executable, os.path.join(BENCH, "run.py"), "--quick", "--only", "gpu"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.split("===== summary =====")[1]
    assert "gpu" in summary and "skipped" in summary and "FAILED" not in summary


@pytest.mark.parametrize("codes, expected", [((0, 77, 0), 0), ((0, 77, 2), 1), ((1,), 1), ((77,), 0)])
def test_exit_status_reflects_real_failures_only(monkeypatch, capsys, codes, expected):
    run = load_run_module()
    names = [f"bench{i}" for i in range(len(codes))]
    monkeypatch.setattr(run, "discover", lambda: names)
    results = dict(zip(names, codes))
    monkeypatch.setattr(run, "run_module", lambda name, extra: (results[name], 0.0))
    assert run.main(["--quick"]) == expected
    summary = capsys.readouterr().out.split("===== summary =====")[1]
    assert summary.count("skipped") == codes.count(77)
    assert summary.count("FAILED") == sum(code not in (0, 77) for code in codes)


def test_list_names_every_benchmark_with_quick_and_each_accepts_it(capsys):
    run = load_run_module()
    assert run.main(["--quick", "--list"]) == 0
    listed = capsys.readouterr().out.split()
    names = run.discover()
    assert "gpu" in names
    for name in names:
        assert f"bench/{name}.py" in listed
        with open(os.path.join(BENCH, f"{name}.py")) as source:  # (argparse would refuse an unknown --quick)
            assert '"--quick"' in source.read(), f"bench/{name}.py does not accept --quick"
