"""Property-based fuzzing (hypothesis) of the binding layer (nnx._C) and the public ops. Every case either
raises a documented exception (TypeError/ValueError/IndexError naming an argument) or matches the
reference: float64 NumPy for the kernels, PyTorch (float64) for the public ops and their gradients.

Not collected by default (no test_ prefix): test_fuzz.py runs it in a subprocess, so that a crash shows
as a failed return code instead of taking pytest down. By hand:

    NNX_FUZZ_RANDOM=1 NNX_FUZZ_EXAMPLES=2000 python -m pytest tests/reliability/fuzz_cases.py -q

NNX_FUZZ_COUNT_FILE, when set, receives the number of examples each property ran.
"""
import collections
import json
import os
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

import nnx
import nnx.nn.functional as F
from nnx import _C
from ops import BUILDERS, build, check
from ops.activations import reference_forward
from ops.mutations import ARRAY_MUTATIONS, array_slots, expected_errors, mutate
from ops.softmax import reference_softmax

# PyTorch is the reference for the public ops; without it (CI installs no torch) only those properties skip.
try:
    import torch
except ImportError:
    torch = None
if os.environ.get("NNX_FUZZ_NO_TORCH"):
    torch = None

EXAMPLES = int(os.environ.get("NNX_FUZZ_EXAMPLES", "100"))
# By default the same examples every run (derandomize); NNX_FUZZ_RANDOM=1 (set by .ci/run, and for a fuzzing
# session by hand) explores fresh ones (test_fuzz.py seeds them from NNX_TEST_SEED), keeping failing examples in
# hypothesis' example database under the temporary dir so the next run tries them first.
RANDOM = bool(os.environ.get("NNX_FUZZ_RANDOM"))
DATABASE = (DirectoryBasedExampleDatabase(os.path.join(tempfile.gettempdir(), "nnx-hypothesis-db", "fuzz"))
            if RANDOM else None)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=DATABASE, print_blob=True, derandomize=not RANDOM,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
COUNTS = collections.Counter()
DOCUMENTED = (TypeError, ValueError, IndexError)
SIZES = st.sampled_from([0, 1, 1, 2, 3, 5, 8, 17, 33])


@pytest.fixture(scope="module", autouse=True)
def _write_counts():
    yield
    path = os.environ.get("NNX_FUZZ_COUNT_FILE")
    if path:
        with open(path, "w") as file:
            json.dump(dict(COUNTS), file)


def _names_an_argument(message, call):
    names = set(call.names) | {slot for slot, _, _ in array_slots(call)}
    return any(name in message for name in names)


# ---- the binding layer ----------------------------------------------------------------------------------------

@FUZZ
@given(kernel=st.sampled_from(sorted(BUILDERS)), dtype=st.sampled_from([np.float32, np.float64]),
       dims=st.lists(SIZES, min_size=5, max_size=5), big=st.integers(0, 9), special=st.booleans(),
       readonly_inputs=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_valid_kernel_calls_match_the_reference(kernel, dtype, dims, big, special, readonly_inputs, seed):
    if big == 0:  # now and then, a size above the OpenMP grain (32768 elements: 700 x 50 alone is above it)
        # the other sizes at most 8: an image family's x at 700 x 50 x 33 x 33 is 38M elements, and an upsampling
        # reference's temporaries on top took 7 GiB (the conv specs also cap their sizes: tests/ops/conv2d.py)
        dims[0], dims[1], dims[2:] = 700, max(dims[1], 50), [min(size, 8) for size in dims[2:]]
    call = build(kernel, np.random.default_rng(seed), dtype, dims, special)
    if readonly_inputs:  # inputs are only read: read-only arrays are fine
        for _, array, role in array_slots(call):
            if role in ("in", "opt_in"):
                array.flags.writeable = False
    getattr(_C, kernel)(*call.args)
    check(call, dtype, _C.philox_uniform)
    COUNTS["kernel_valid"] += 1


@FUZZ
@given(kernel=st.sampled_from(sorted(BUILDERS)), dtype=st.sampled_from([np.float32, np.float64]),
       dims=st.lists(SIZES, min_size=5, max_size=5), slot_choice=st.integers(0, 100),
       mutation=st.sampled_from(ARRAY_MUTATIONS), bad_scalar=st.integers(0, 3), seed=st.integers(0, 2**32 - 1))
def test_invalid_kernel_calls_raise_a_documented_error(kernel, dtype, dims, slot_choice, mutation, bad_scalar, seed):
    rng = np.random.default_rng(seed)
    call = build(kernel, rng, dtype, dims)
    slots = array_slots(call)
    slot = slots[slot_choice % len(slots)][0]
    mutated = mutate(call, slot, mutation, rng)
    errors = expected_errors(mutation) if mutated else ()
    if call.invalid_scalars and (bad_scalar == 0 or not mutated):  # an invalid scalar too, or alone
        name = sorted(call.invalid_scalars)[slot_choice % len(call.invalid_scalars)]
        call.args[call.names.index(name)] = call.invalid_scalars[name][seed % len(call.invalid_scalars[name])]
        errors = errors + (TypeError, ValueError)
    if not errors:
        return
    with pytest.raises(errors) as error:
        getattr(_C, kernel)(*call.args)
    assert _names_an_argument(str(error.value), call), str(error.value)
    COUNTS["kernel_invalid"] += 1


GARBAGE = [None, "", "mean", 0, -1, 2**70, -(2**70), 1e308, float("nan"), float("inf"), True, [], [1.0], {},
           b"x", np.float64(1.5), np.int64(3), np.array(1.0), np.array([np.nan]), np.empty(0), object()]


@FUZZ
@given(kernel=st.sampled_from(sorted(BUILDERS)), dims=st.lists(SIZES, min_size=5, max_size=5),
       replacements=st.lists(st.tuples(st.integers(0, 20), st.integers(0, len(GARBAGE) - 1)), min_size=1,
                             max_size=3), seed=st.integers(0, 2**32 - 1))
def test_random_argument_mixes_never_crash(kernel, dims, replacements, seed):
    """Any positional argument replaced by any Python or NumPy value: the kernel runs or raises a
    documented exception; the interpreter survives (a crash fails the subprocess)."""
    call = build(kernel, np.random.default_rng(seed), np.float32, dims)
    args = list(call.args)
    for position, garbage in replacements:
        args[position % len(args)] = GARBAGE[garbage]
    try:
        with np.errstate(all="ignore"):
            getattr(_C, kernel)(*args)
    except DOCUMENTED:
        pass
    COUNTS["kernel_garbage"] += 1


# ---- the public ops against PyTorch ----------------------------------------------------------------------------

def _layout(array, layout):
    if layout == "F":
        return np.asfortranarray(array)
    if layout == "reversed" and array.ndim:
        return np.flip(np.flip(array, 0).copy(), 0)
    if layout == "strided" and array.ndim and array.size:
        wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), array.dtype)
        wide[..., ::2] = array
        return wide[..., ::2]
    return array


@st.composite
def operands(draw, count=1, min_dims=0, max_dims=3, positive=False, allow_empty=True):
    """count arrays of broadcast-compatible shapes, each with its own layout, as (numpy arrays, dtype)."""
    sizes = st.sampled_from([0, 1, 2, 3, 5] if allow_empty else [1, 2, 3, 5])
    shape = tuple(draw(st.lists(sizes, min_size=min_dims, max_size=max_dims)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    arrays = []
    for index in range(count):
        own = shape
        if index and shape and draw(st.booleans()):  # broadcast: drop leading dims, set some to 1
            own = tuple(1 if draw(st.booleans()) else n for n in shape[draw(st.integers(0, len(shape))):])
        low, high = (0.5, 2.5) if positive else (-2.0, 2.0)
        values = rng.uniform(low, high, size=own)
        if not positive:  # away from 0 and from each other: kinks (abs, relu, max) have no single gradient
            values = np.where(np.abs(values) < 0.05, values + 0.1, values)
        arrays.append(_layout(values.astype(dtype), draw(st.sampled_from(["C", "F", "strided", "reversed"]))))
    return arrays, dtype


def _torch_result(torch_fn, arrays, grad_seed):
    leaves = [torch.tensor(np.array(a, order="C"), dtype=torch.float64, requires_grad=True) for a in arrays]
    out = torch_fn(*leaves)
    upstream = np.random.default_rng(grad_seed).uniform(-1, 1, size=tuple(out.shape))
    if out.requires_grad and out.numel():
        out.backward(torch.tensor(upstream))
    grads = [leaf.grad.numpy() if leaf.grad is not None else np.zeros(leaf.shape) for leaf in leaves]
    return out.detach().numpy(), grads, upstream


def _compare(nnx_fn, torch_fn, arrays, dtype, grad_seed, scale=1.0):
    expected, expected_grads, upstream = _torch_result(torch_fn, arrays, grad_seed)
    leaves = [nnx.from_numpy(a).requires_grad_() for a in arrays]
    out = nnx_fn(*leaves)
    tol = dict(rtol=2e-4 * scale, atol=2e-5 * scale) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    assert out.shape == expected.shape, (out.shape, expected.shape)
    np.testing.assert_allclose(out.numpy().astype(np.float64), expected, **tol)
    if out.requires_grad and out.numel():
        out.backward(nnx.tensor(upstream.astype(dtype)))
    for leaf, grad in zip(leaves, expected_grads):
        got = leaf.grad.numpy() if leaf.grad is not None else np.zeros(leaf.shape, leaf.dtype)
        assert got.shape == leaf.shape and got.dtype == leaf.dtype
        np.testing.assert_allclose(got.astype(np.float64), grad, **tol)


UNARY = {
    "neg": (lambda a: -a, lambda a: -a),
    "abs": (lambda a: a.abs(), lambda a: a.abs()),
    "exp": (lambda a: a.exp(), lambda a: a.exp()),
    "tanh": (F.tanh, torch.tanh if torch else None),
    "sigmoid": (F.sigmoid, torch.sigmoid if torch else None),
    "relu": (F.relu, torch.relu if torch else None),
    "gelu": (F.gelu, lambda a: torch.nn.functional.gelu(a)),
    "gelu_tanh": (lambda a: F.gelu(a, approximate="tanh"), lambda a: torch.nn.functional.gelu(a, approximate="tanh")),
    "silu": (F.silu, lambda a: torch.nn.functional.silu(a)),
    "softplus": (lambda a: F.softplus(a, beta=2.0), lambda a: torch.nn.functional.softplus(a, beta=2.0)),
    "leaky_relu": (lambda a: F.leaky_relu(a, 0.2), lambda a: torch.nn.functional.leaky_relu(a, 0.2)),
    "clamp": (lambda a: a.clamp(-0.5, 0.7), lambda a: a.clamp(-0.5, 0.7)),
    "square": (lambda a: a * a, lambda a: a * a),
    "scalar_ops": (lambda a: (2.5 - a) * 3 / 1.5 + 1, lambda a: (2.5 - a) * 3 / 1.5 + 1),
    "sum": (lambda a: a.sum(), lambda a: a.sum()),
    "mean": (lambda a: a.mean(), lambda a: a.mean()),
    "T": (lambda a: a.T * 1, lambda a: (a.permute(*range(a.ndim - 1, -1, -1)) if a.ndim else a) * 1),
    "reshape": (lambda a: a.reshape(-1) * 1, lambda a: a.reshape(-1) * 1),
    "unsqueeze_flatten": (lambda a: a.unsqueeze(0).flatten() * 1, lambda a: a.unsqueeze(0).flatten() * 1),
}
POSITIVE_UNARY = {
    "log": (lambda a: a.log(), lambda a: a.log()),
    "sqrt": (lambda a: a.sqrt(), lambda a: a.sqrt()),
    "rsqrt": (lambda a: a.rsqrt(), lambda a: a.rsqrt()),
    "pow": (lambda a: a ** 1.7, lambda a: a ** 1.7),
}
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "maximum": (lambda a, b: a.max(b), lambda a, b: torch.maximum(a, b)),
    "minimum": (lambda a, b: a.min(b), lambda a, b: torch.minimum(a, b)),
    "where": (lambda a, b: nnx.where(a > b, a, b * 2), lambda a, b: torch.where(a > b, a, b * 2)),
}


@pytest.mark.skipif(torch is None, reason="needs PyTorch as the reference")
@FUZZ
@given(name=st.sampled_from(sorted(UNARY)), data=operands(), grad_seed=st.integers(0, 2**32 - 1))
def test_unary_ops_match_pytorch(name, data, grad_seed):
    (a,), dtype = data
    nnx_fn, torch_fn = UNARY[name]
    _compare(nnx_fn, torch_fn, [a], dtype, grad_seed, scale=max(a.size, 1) ** 0.5)
    COUNTS["public_unary"] += 1


@pytest.mark.skipif(torch is None, reason="needs PyTorch as the reference")
@FUZZ
@given(name=st.sampled_from(sorted(POSITIVE_UNARY)), data=operands(positive=True), grad_seed=st.integers(0, 2**32 - 1))
def test_positive_domain_ops_match_pytorch(name, data, grad_seed):
    (a,), dtype = data
    _compare(*POSITIVE_UNARY[name], [a], dtype, grad_seed)
    COUNTS["public_positive"] += 1


@pytest.mark.skipif(torch is None, reason="needs PyTorch as the reference")
@FUZZ
@given(name=st.sampled_from(sorted(BINARY)), data=operands(count=2), grad_seed=st.integers(0, 2**32 - 1))
def test_broadcasting_binary_ops_match_pytorch(name, data, grad_seed):
    (a, b), dtype = data
    _compare(*BINARY[name], [a, b], dtype, grad_seed)
    COUNTS["public_binary"] += 1


@pytest.mark.skipif(torch is None, reason="needs PyTorch as the reference")
@FUZZ
@given(data=operands(min_dims=1, allow_empty=False), dim=st.integers(-3, 2), keepdim=st.booleans(),
       op=st.sampled_from(["sum", "mean", "amax", "var", "softmax", "log_softmax", "max"]),
       grad_seed=st.integers(0, 2**32 - 1))
def test_reductions_over_a_dim_match_pytorch(data, dim, keepdim, op, grad_seed):
    (a,), dtype = data
    dim = dim % a.ndim
    if op == "var" and a.shape[dim] < 2:
        return
    nnx_ops = {"sum": lambda t: t.sum(dim, keepdim=keepdim), "mean": lambda t: t.mean(dim, keepdim=keepdim),
               "amax": lambda t: t.amax(dim, keepdim=keepdim), "var": lambda t: t.var(dim, keepdim=keepdim),
               "softmax": lambda t: F.softmax(t, dim=dim), "log_softmax": lambda t: F.log_softmax(t, dim=dim),
               "max": lambda t: t.max(dim, keepdim=keepdim).values}
    torch_ops = {"sum": lambda t: t.sum(dim, keepdim=keepdim), "mean": lambda t: t.mean(dim, keepdim=keepdim),
                 "amax": lambda t: t.amax(dim, keepdim=keepdim), "var": lambda t: t.var(dim, keepdim=keepdim),
                 "softmax": lambda t: t.softmax(dim), "log_softmax": lambda t: t.log_softmax(dim),
                 "max": lambda t: t.max(dim, keepdim=keepdim).values}
    _compare(nnx_ops[op], torch_ops[op], [a], dtype, grad_seed, scale=max(a.size, 1) ** 0.5)
    COUNTS["public_reduction"] += 1


@pytest.mark.skipif(torch is None, reason="needs PyTorch as the reference")
@FUZZ
@given(rows=st.sampled_from([0, 1, 3, 8, 33]), inner=st.sampled_from([1, 2, 7, 16]), outer=st.sampled_from([1, 3, 9]),
       bias=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]),
       layouts=st.tuples(*[st.sampled_from(["C", "F", "strided", "reversed"])] * 3),
       activation=st.sampled_from(["none", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"]),
       seed=st.integers(0, 2**32 - 1))
def test_linear_matches_pytorch(rows, inner, outer, bias, dtype, layouts, activation, seed):
    rng = np.random.default_rng(seed)
    arrays = [_layout(rng.uniform(-1, 1, size=s).astype(dtype), lay)
              for s, lay in zip([(rows, inner), (outer, inner), (outer,)], layouts)][: 3 if bias else 2]
    torch_act = {"none": lambda t: t, "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
                 "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.01),
                 "gelu": torch.nn.functional.gelu,
                 "gelu_tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh")}[activation]
    _compare(lambda *t: F.fused_linear(*t[:2], t[2] if bias else None, activation),
             lambda *t: torch_act(torch.nn.functional.linear(*t)), arrays, dtype, seed, scale=inner ** 0.5)
    COUNTS["public_linear"] += 1


@pytest.mark.skipif(torch is None, reason="needs PyTorch as the reference")
@FUZZ
@given(rows=st.sampled_from([1, 2, 5, 17]), classes=st.sampled_from([1, 2, 3, 10]), layout=st.sampled_from(["C", "F"]),
       loss=st.sampled_from(["cross_entropy", "mse_loss", "l1_loss", "binary_cross_entropy_with_logits"]),
       reduction=st.sampled_from(["mean", "sum", "none"]), smoothing=st.sampled_from([0.0, 0.1]),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**32 - 1))
def test_losses_match_pytorch(rows, classes, layout, loss, reduction, smoothing, dtype, seed):
    rng = np.random.default_rng(seed)
    logits = _layout(rng.uniform(-3, 3, size=(rows, classes)).astype(dtype), layout)
    if loss == "cross_entropy":
        target = rng.integers(0, classes, rows)
        nnx_target, torch_target = nnx.tensor(target), torch.tensor(target)
        options = dict(reduction=reduction, label_smoothing=smoothing)
    else:
        target = rng.uniform(0, 1, size=(rows, classes)) + (0.01 if loss == "l1_loss" else 0)
        nnx_target, torch_target = nnx.tensor(target.astype(dtype)), torch.tensor(target)
        options = dict(reduction=reduction)
    _compare(lambda t: getattr(F, loss)(t, nnx_target, **options),
             lambda t: getattr(torch.nn.functional, loss)(t, torch_target, **options), [logits], dtype, seed,
             scale=classes)
    COUNTS["public_loss"] += 1


@FUZZ
@given(shape=st.lists(st.sampled_from([0, 1, 2, 3, 5]), min_size=0, max_size=3),
       dtype=st.sampled_from([np.float32, np.float64]), special=st.sampled_from([np.nan, np.inf, -np.inf]),
       op=st.sampled_from(["relu", "sigmoid", "tanh", "gelu", "silu", "softplus", "exp", "abs", "neg", "softmax",
                           "log_softmax", "sum", "mean", "mse"]), seed=st.integers(0, 2**32 - 1))
def test_nan_and_inf_propagate_like_numpy(shape, dtype, special, op, seed):
    """Forward values with NaN/inf in the input: the same NaN/inf pattern and values as a float64 NumPy
    reference of the op (PyTorch's semantics: nothing raises, NaN propagates)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, size=shape)
    if x.size:
        x.reshape(-1)[rng.integers(x.size)] = special
    x = x.astype(dtype)
    t = nnx.from_numpy(x)
    with np.errstate(all="ignore"):
        x64 = x.astype(np.float64)
        if op in ("softmax", "log_softmax"):
            if x.ndim == 0 or x.size == 0:
                return
            expected, got = reference_softmax(x64, op == "log_softmax"), getattr(F, op)(t, dim=-1)
        elif op in ("exp", "abs", "neg"):
            expected, got = {"exp": np.exp, "abs": np.abs, "neg": np.negative}[op](x64), getattr(t, op)()
        elif op in ("sum", "mean"):
            expected = getattr(x64, op)() if x.size or op == "sum" else np.nan
            got = getattr(t, op)()
        elif op == "mse":
            expected, got = np.mean((x64 - 1) ** 2) if x.size else np.nan, F.mse_loss(t, nnx.ones(*shape, dtype=dtype))
        else:
            expected = reference_forward(op, x64)
            got = getattr(F, op)(t)
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.numpy().astype(np.float64), expected, equal_nan=True, **tol)
    COUNTS["public_special"] += 1


@FUZZ
@given(function=st.sampled_from(["relu", "softmax", "cross_entropy", "linear", "dropout", "embedding", "layer_norm",
                                 "mse_loss", "leaky_relu", "softplus"]),
       garbage=st.lists(st.sampled_from(list(range(len(GARBAGE)))), min_size=1, max_size=3),
       positions=st.lists(st.integers(0, 4), min_size=1, max_size=3))
def test_functional_api_with_garbage_arguments_raises_documented_errors(function, garbage, positions):
    base = {"relu": [nnx.randn(3, 4)], "softmax": [nnx.randn(3, 4), 1],
            "cross_entropy": [nnx.randn(3, 4), nnx.tensor([0, 1, 3])], "linear": [nnx.randn(3, 4), nnx.randn(2, 4)],
            "dropout": [nnx.randn(3, 4), 0.5], "embedding": [nnx.tensor([0, 2]), nnx.randn(5, 3)],
            "layer_norm": [nnx.randn(3, 4), (4,)], "mse_loss": [nnx.randn(3), nnx.randn(3)],
            "leaky_relu": [nnx.randn(3, 4), 0.1], "softplus": [nnx.randn(3, 4), 1.0, 20.0]}[function]
    args = list(base)
    for position, index in zip(positions, garbage):
        args[position % len(args)] = GARBAGE[index]
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # softmax(dim=None) warns as PyTorch does
            getattr(F, function)(*args)
    except (TypeError, ValueError, IndexError, RuntimeError):
        pass
    COUNTS["public_garbage"] += 1
