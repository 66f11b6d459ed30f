"""Every array argument of every nnx._C kernel, given each kind of bad value (a list, None, an object or
complex array, another dtype, big-endian, non-contiguous, an extra dimension, a read-only or aliased
output, an out-of-range index), raises TypeError/ValueError/IndexError naming an argument and writes
nothing; every documented invalid scalar is refused too. The calls are tests/ops' specs (whose valid forms
tests/ops/test_native_kernels.py checks against the references)."""
import copy

import numpy as np
import pytest

from nnx import _C
from ops import BUILDERS, build
from ops.mutations import ARRAY_MUTATIONS, array_slots, expected_errors, mutate

SMALL_DIMS = (3, 5, 2, 4, 3)


def _cases():
    cases = []
    for kernel in BUILDERS:
        call = build(kernel, np.random.default_rng(0), np.float32, SMALL_DIMS)
        for slot, _, _ in array_slots(call):
            for mutation in ARRAY_MUTATIONS:
                probe = build(kernel, np.random.default_rng(0), np.float32, SMALL_DIMS)
                if mutate(probe, slot, mutation, np.random.default_rng(1)):
                    cases.append((kernel, slot, mutation))
    return cases


ARRAY_CASES = _cases()
SCALAR_CASES = [(kernel, name, value) for kernel in BUILDERS
                for name, bad in build(kernel, np.random.default_rng(0), np.float32, SMALL_DIMS)
                .invalid_scalars.items() for value in bad]


def _snapshot(call):
    return [copy.deepcopy(a) for _, a, role in array_slots(call) if role in ("out", "opt_out")]


@pytest.mark.parametrize("kernel, slot, mutation", ARRAY_CASES, ids=[f"{k}-{s}-{m}" for k, s, m in ARRAY_CASES])
def test_bad_array_argument_is_refused_by_name(kernel, slot, mutation):
    call = build(kernel, np.random.default_rng(0), np.float32, SMALL_DIMS)
    assert mutate(call, slot, mutation, np.random.default_rng(1))
    outputs_before = _snapshot(call)
    with pytest.raises(expected_errors(mutation)) as error:
        getattr(_C, kernel)(*call.args)
    message = str(error.value)
    names = [s.split("[")[0] for s, _, _ in array_slots(call)] + list(call.roles)
    assert slot in message or any(message.startswith(name) or f"{name} " in message for name in names), message
    for before, (_, after, _role) in zip(outputs_before, [s for s in array_slots(call) if s[2] in ("out", "opt_out")]):
        if isinstance(after, np.ndarray) and after.shape == before.shape and after.dtype == before.dtype \
                and after.flags.writeable and not mutation == "alias":
            np.testing.assert_array_equal(after, before, err_msg="an output was written before the error")


@pytest.mark.parametrize("kernel, name, value", SCALAR_CASES, ids=[f"{k}-{n}-{v!r}" for k, n, v in SCALAR_CASES])
def test_invalid_scalar_argument_is_refused_by_name(kernel, name, value):
    call = build(kernel, np.random.default_rng(0), np.float32, SMALL_DIMS)
    call.args[call.names.index(name)] = value
    with pytest.raises((TypeError, ValueError)) as error:
        getattr(_C, kernel)(*call.args)
    assert name in str(error.value)


@pytest.mark.parametrize("kernel", sorted(BUILDERS))
def test_wrong_python_types_for_scalars_raise_type_error(kernel):
    call = build(kernel, np.random.default_rng(0), np.float32, SMALL_DIMS)
    for index, (name, value) in enumerate(zip(call.names, call.args)):
        if name in call.roles or value is None:
            continue
        bad = list(call.args)
        bad[index] = object()
        with pytest.raises(TypeError):
            getattr(_C, kernel)(*bad)


def test_too_few_or_unknown_keyword_arguments_raise_type_error():
    with pytest.raises(TypeError):
        _C.gemm(np.ones((2, 2), np.float32))
    with pytest.raises(TypeError):
        _C.softmax_forward(np.ones(2, np.float32), np.ones(2, np.float32), dim=0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        _C.set_num_threads(0)


def test_case_counts():
    assert len(ARRAY_CASES) >= 400 and len(SCALAR_CASES) >= 40
