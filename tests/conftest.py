"""Shared pytest setup: seeds that vary per run (printed, settable), the parity-test count, and the device fixtures
(CUDA cases skip without a GPU)."""
import ast
import inspect
import os
import secrets
import tempfile
import textwrap
import zlib

import numpy as np
import pytest

SEED_VARIABLE = "NNX_TEST_SEED"  # helpers.run_seed() reads it too


# --- seeds: each run draws a fresh run seed (or takes NNX_TEST_SEED), printed in the header and with every failure;
# NNX_TEST_SEED=<it> replays a run exactly. ----------------------------------------------------------------------
def pytest_configure(config):
    if not os.environ.get(SEED_VARIABLE, "").strip():
        # set for the whole session, so subprocesses (the fuzzer) and helpers' sizes see the same seed
        os.environ[SEED_VARIABLE] = str(secrets.randbits(32))
    config.addinivalue_line("markers", "parity: compares with PyTorch (skipped without it; tests/golden has twins)")
    _register_hypothesis_profiles()


def run_seed() -> int:
    return int(os.environ[SEED_VARIABLE])


def pytest_report_header(config):
    return f"nnx run seed: {SEED_VARIABLE}={run_seed()} (set it to replay this run's random inputs)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        report.sections.append(("nnx seed", f"reproduce with {SEED_VARIABLE}={run_seed()}"))


def _register_hypothesis_profiles():
    """'ci': fresh examples every run (not derandomized), failures kept in an example database in a temporary
    dir; 'repeatable': the same examples every run. Pick one with --hypothesis-profile (.ci/run uses 'ci')."""
    try:
        from hypothesis import settings
        from hypothesis.database import DirectoryBasedExampleDatabase
    except ImportError:
        return
    database = os.path.join(tempfile.gettempdir(), "nnx-hypothesis-db")
    settings.register_profile("ci", derandomize=False, database=DirectoryBasedExampleDatabase(database),
                              print_blob=True, deadline=None)
    settings.register_profile("repeatable", derandomize=True, database=None, deadline=None)


@pytest.fixture
def rng(request):
    """A fresh NumPy generator per test: the test's name (crc32, stable; str hashes are salted) XOR the run seed,
    so every run draws new inputs and NNX_TEST_SEED replays them."""
    seed = zlib.crc32(request.node.nodeid.encode()) ^ run_seed()
    return np.random.default_rng(seed)


# --- parity tests: those that compare with PyTorch and skip without it. Marked `parity` (`-m parity` selects
# them), counted, and the count printed at the end, so a CI run shows how many ran and how many skipped. -----------
_PARITY = {"ran": set(), "skipped": set()}


def _compares_with_torch(item) -> bool:
    for mark in item.iter_markers("skipif"):
        reason = str(mark.kwargs.get("reason", ""))
        if "torch" in reason.lower():
            return True
    function = getattr(item, "function", None)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function))) if function is not None else None
    except (OSError, TypeError, SyntaxError):
        return False
    if tree is None or not tree.body or not isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    # importorskip("torch") among the function's own statements, not in a branch only some parameters take
    return any("importorskip" in ast.unparse(statement) and "'torch'" in ast.unparse(statement)
               for statement in tree.body[0].body if isinstance(statement, (ast.Assign, ast.Expr)))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _compares_with_torch(item):
            item.add_marker(pytest.mark.parity)


def pytest_runtest_logreport(report):
    if "parity" not in report.keywords:
        return
    if report.skipped:
        _PARITY["skipped"].add(report.nodeid)
    elif report.when == "call":
        _PARITY["ran"].add(report.nodeid)


def pytest_terminal_summary(terminalreporter):
    ran, skipped = _PARITY["ran"], _PARITY["skipped"] - _PARITY["ran"]
    if ran or skipped:
        terminalreporter.write_line(f"parity tests (PyTorch references): {len(ran)} ran, {len(skipped)} skipped")


# --- devices: every device test runs on the CPU, on a real GPU when one is visible, and on the NumPy stand-in
# for the CUDA module (tests/fake_cuda), which runs the whole CUDA Python path without a GPU. -------------------
def _real_cuda_visible():
    from nnx.native import _cuda
    return _cuda is not None and _cuda.device_count() > 0


_ON_A_GPU = pytest.param("cuda", marks=pytest.mark.cuda)  # `pytest -m cuda` (bench/gpu_check.sh) selects these


@pytest.fixture(params=["cpu", _ON_A_GPU, "fakecuda"])
def device(request):
    """The device string a test runs on: 'cpu', or 'cuda' (a real GPU, or the fake module for 'fakecuda')."""
    if request.param == "cpu":
        yield "cpu"
        return
    from nnx.native import cuda as cuda_backend
    if request.param == "cuda":
        if not _real_cuda_visible():
            pytest.skip("no CUDA device visible")
        previous = cuda_backend.use_native_module(__import__("nnx.native", fromlist=["_cuda"])._cuda)
        try:
            yield "cuda"
        finally:
            cuda_backend.use_native_module(previous)
        return
    import fake_cuda
    previous = cuda_backend.use_native_module(fake_cuda)
    try:
        yield "cuda"
    finally:
        fake_cuda.reset()
        cuda_backend.use_native_module(previous)


@pytest.fixture
def fake_cuda_module():
    """The fake CUDA module installed for one test (for tests that only make sense without a GPU)."""
    import fake_cuda
    from nnx.native import cuda as cuda_backend
    previous = cuda_backend.use_native_module(fake_cuda)
    try:
        yield fake_cuda
    finally:
        fake_cuda.reset()
        cuda_backend.use_native_module(previous)


def to_numpy(value):
    """A NumPy array of a Tensor's, a CudaArray's or an ndarray's values (a host copy for device data)."""
    data = getattr(value, "_data", value)
    if isinstance(data, np.ndarray) or np.isscalar(data):
        return np.asarray(data)
    from nnx.native import for_array
    return for_array(data).to_numpy(data)


@pytest.fixture(params=["fakecuda", _ON_A_GPU])
def cuda_native(request):
    """The native CUDA module a CUDA-only test runs on, installed for the test: the fake everywhere, the real
    nnx._cuda where a GPU is visible (skipped otherwise)."""
    from nnx.native import cuda as cuda_backend
    if request.param == "cuda":
        if not _real_cuda_visible():
            pytest.skip("no CUDA device visible")
        from nnx.native import _cuda as module
    else:
        import fake_cuda as module
    previous = cuda_backend.use_native_module(module)
    try:
        yield module
    finally:
        if request.param == "fakecuda":
            module.reset()
        cuda_backend.use_native_module(previous)
