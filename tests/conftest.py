"""Shared pytest setup: every test starts from the same seeds; CUDA cases skip without a GPU."""
import zlib

import numpy as np
import pytest


@pytest.fixture
def rng(request):
    """A fresh NumPy generator per test, seeded from the test's name so failures reproduce."""
    seed = zlib.crc32(request.node.nodeid.encode())  # stable across runs (str hashes are salted)
    return np.random.default_rng(seed)


# --- devices: every device test runs on the CPU, on a real GPU when one is visible, and on the NumPy stand-in
# for the CUDA module (tests/fake_cuda.py), which runs the whole CUDA Python path without a GPU. -------------------
def _real_cuda_visible():
    from nnx._native import _cuda
    return _cuda is not None and _cuda.device_count() > 0


_ON_A_GPU = pytest.param("cuda", marks=pytest.mark.cuda)  # `pytest -m cuda` (bench/gpu_check.sh) selects these


@pytest.fixture(params=["cpu", _ON_A_GPU, "fakecuda"])
def device(request):
    """The device string a test runs on: 'cpu', or 'cuda' (a real GPU, or the fake module for 'fakecuda')."""
    if request.param == "cpu":
        yield "cpu"
        return
    from nnx.backend import cuda as cuda_backend
    if request.param == "cuda":
        if not _real_cuda_visible():
            pytest.skip("no CUDA device visible")
        previous = cuda_backend.use_native_module(__import__("nnx._native", fromlist=["_cuda"])._cuda)
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
    from nnx.backend import cuda as cuda_backend
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
    from nnx.backend import for_array
    return for_array(data).to_numpy(data)


@pytest.fixture(params=["fakecuda", _ON_A_GPU])
def cuda_native(request):
    """The native CUDA module a CUDA-only test runs on, installed for the test: the fake everywhere, the real
    nnx._cuda where a GPU is visible (skipped otherwise)."""
    from nnx.backend import cuda as cuda_backend
    if request.param == "cuda":
        if not _real_cuda_visible():
            pytest.skip("no CUDA device visible")
        from nnx._native import _cuda as module
    else:
        import fake_cuda as module
    previous = cuda_backend.use_native_module(module)
    try:
        yield module
    finally:
        if request.param == "fakecuda":
            module.reset()
        cuda_backend.use_native_module(previous)
