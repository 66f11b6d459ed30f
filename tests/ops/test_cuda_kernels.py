"""Every call spec of tests/ops on a CUDA module, against the family's float64 reference (not against the CPU
kernel, which shares its formula headers with the CUDA one): nnx._cuda on a GPU or under tools/cuda_emu (skipped
where neither is present), and the fake CUDA module (tests/fake_cuda, at each case's two smallest sizes: it runs
_C's kernels, so this checks its plumbing)."""
import dataclasses

import numpy as np
import pytest

import ops
from helpers import FLOAT_DTYPES
from nnx import _C
from nnx.native import _cuda
from ops.runner import kernel_cases

HAS_GPU = _cuda is not None and _cuda.device_count() > 0


def _module(name):
    if name == "fakecuda":
        import fake_cuda
        return fake_cuda
    if not HAS_GPU:
        pytest.skip("needs an NVIDIA GPU (or tools/cuda_emu)")
    return _cuda


def _to_device(module, value):
    if isinstance(value, np.ndarray):
        return module.DeviceArray.from_host(np.require(value, requirements="C"))
    if isinstance(value, list) and value and isinstance(value[0], np.ndarray):
        return [_to_device(module, item) for item in value]
    return value


def _to_host(value):
    if isinstance(value, list):
        return [_to_host(item) for item in value]
    if hasattr(value, "to_host"):
        out = np.empty(value.shape, value.dtype)
        value.to_host(out)
        return out
    return value


def run_on_device(module, call):
    """The call on `module` with every array copied to the device; the same call with the results copied back."""
    device_args = [_to_device(module, value) for value in call.args]
    getattr(module, call.kernel)(*device_args)
    return dataclasses.replace(call, args=[_to_host(value) for value in device_args])


def _two_smallest_sizes(cases):
    """The cases at each kernel's two smallest sizes (the fake tier checks plumbing, not arithmetic)."""
    sizes = {}
    for case in cases:
        kernel, _, dims = case.values
        sizes.setdefault(kernel, set()).add(tuple(dims))
    keep = {kernel: sorted(every, key=lambda dims: (np.prod(dims), dims))[:2] for kernel, every in sizes.items()}
    return [case for case in cases if tuple(case.values[2]) in keep[case.values[0]]]


CASES = [pytest.param("cuda", *case.values, id=f"cuda-{case.id}", marks=pytest.mark.cuda) for case in kernel_cases()]
CASES += [pytest.param("fakecuda", *case.values, id=f"fakecuda-{case.id}")
          for case in _two_smallest_sizes(kernel_cases())]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("device, kernel, fixed, dims", CASES)
def test_kernel_matches_reference(rng, device, kernel, fixed, dims, dtype):
    module = _module(device)
    call = ops.build(kernel, rng, dtype, dims, fixed=fixed)
    ops.check(run_on_device(module, call), dtype, _C.philox_uniform)
