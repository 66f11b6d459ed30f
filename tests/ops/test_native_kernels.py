"""Every call spec of tests/ops on nnx._C, in float32 and float64: each kernel x its family's parameter AXES x its
SIZES (one element, odd sizes, above the OpenMP threshold), then sizes 0 and 1; outputs NaN-poisoned before the
call, every output compared with the family's float64 reference."""
import zlib

import numpy as np
import pytest

import ops
from helpers import FLOAT_DTYPES
from nnx import _C
from ops.runner import SMALL_DIMS, kernel_cases


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("kernel, fixed, dims", kernel_cases())
def test_kernel_matches_reference(rng, kernel, fixed, dims, dtype):
    call = ops.build(kernel, rng, dtype, dims, fixed=fixed)
    getattr(_C, kernel)(*call.args)
    ops.check(call, dtype, _C.philox_uniform)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("dims", SMALL_DIMS.values(), ids=SMALL_DIMS.keys())
@pytest.mark.parametrize("kernel", sorted(ops.BUILDERS))
def test_empty_and_unit_sizes(kernel, dims, dtype):
    call = ops.build(kernel, np.random.default_rng(zlib.crc32(f"{kernel}{dims}".encode())), dtype, dims)
    getattr(_C, kernel)(*call.args)
    ops.check(call, dtype, _C.philox_uniform)


def test_every_bound_kernel_has_a_spec():
    """A new kernel of nnx._C needs a spec in tests/ops/<family>.py (the host-only thread controls, the build
    description (tests/test_config.py) and the Philox generator, which dropout's check uses, excepted)."""
    bound = {name for name in dir(_C) if not name.startswith("_")}
    unchecked = {"get_num_threads", "set_num_threads", "build_config", "philox_uniform"}
    assert bound - unchecked - set(ops.BUILDERS) == set()
    assert set(ops.BUILDERS) <= bound


def test_families_match_csrc():
    native = ops.native_families()
    if native is None:
        pytest.skip("csrc/families.txt is not in this checkout")
    assert sorted(ops._spec_modules()) == sorted(native)  # a spec per family nnx._C binds, and no stray spec
