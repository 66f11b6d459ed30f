"""The fuzzer's six PyTorch-reference properties (tests/reliability/fuzz_cases.py: unary, positive-domain,
broadcasting binary, reductions over a dim, linear + activation, losses), on fixed examples whose PyTorch float64
values and gradients tools/record_golden.py recorded: they run without PyTorch. Each input is laid out C, F, strided
or reversed in turn, as the fuzzer does; float32 inputs hold exactly the values PyTorch saw."""
import os

import numpy as np
import pytest

import nnx
import nnx.nn.functional as F
from golden import array, load

CASES = load("ops")["cases"]
LAYOUTS = ["C", "F", "strided", "reversed"]
RELIABILITY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reliability")


@pytest.fixture(scope="module")
def fuzz():
    """fuzz_cases (the property definitions: the nnx side of each op and the layouts), imported from its folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(RELIABILITY)
        import fuzz_cases
    return fuzz_cases


def nnx_function(fuzz, case):
    name, prop = case["name"], case["property"]
    if prop == "unary":
        return fuzz.UNARY[name][0]
    if prop == "positive":
        return fuzz.POSITIVE_UNARY[name][0]
    if prop == "binary":
        return fuzz.BINARY[name][0]
    if prop == "reduction":
        dim, keepdim = case["dim"], case["keepdim"]
        return {"sum": lambda t: t.sum(dim, keepdim=keepdim), "mean": lambda t: t.mean(dim, keepdim=keepdim),
                "amax": lambda t: t.amax(dim, keepdim=keepdim), "var": lambda t: t.var(dim, keepdim=keepdim),
                "softmax": lambda t: F.softmax(t, dim=dim), "log_softmax": lambda t: F.log_softmax(t, dim=dim),
                "max": lambda t: t.max(dim, keepdim=keepdim).values}[name]
    if prop == "linear":
        return lambda *t: F.fused_linear(t[0], t[1], t[2] if case["bias"] else None, name)
    if prop == "loss":
        target = np.array(case["target"])
        target = nnx.tensor(target.astype(np.int64) if name == "cross_entropy" else target.astype(case["dtype"]))
        return lambda t: getattr(F, name)(t, target, **case["options"])
    raise AssertionError(prop)


def tolerance(case, arrays):
    """The fuzzer's tolerances: float32 widened by sqrt(size) for ops that sum, by the classes for losses."""
    if case["dtype"] == "float64":
        return dict(rtol=1e-9, atol=1e-11)
    scale = 1.0
    if case["property"] in ("unary", "reduction"):
        scale = max(arrays[0].size, 1) ** 0.5
    elif case["property"] == "linear":
        scale = arrays[0].shape[1] ** 0.5
    elif case["property"] == "loss":
        scale = arrays[0].shape[1]
    return dict(rtol=2e-4 * scale, atol=2e-5 * scale)


@pytest.mark.parametrize("index", range(len(CASES)),
                         ids=[f"{c['property']}-{c['name']}-{c['dtype']}-{i}" for i, c in enumerate(CASES)])
def test_public_op_matches_recorded_torch(fuzz, index):
    case = CASES[index]
    dtype = np.dtype(case["dtype"])
    arrays = [array(values, shape, dtype) for values, shape in zip(case["inputs"], case["shapes"])]
    # (np.asfortranarray would make a 0-d array 1-d: 0-d inputs stay as they are)
    arrays = [fuzz._layout(a, LAYOUTS[(index + i) % 4]) if a.ndim else a for i, a in enumerate(arrays)]
    leaves = [nnx.from_numpy(a).requires_grad_() for a in arrays]
    out = nnx_function(fuzz, case)(*leaves)
    tol = tolerance(case, arrays)
    assert tuple(out.shape) == tuple(case["output_shape"])
    np.testing.assert_allclose(out.numpy().astype(np.float64), array(case["output"], case["output_shape"]), **tol)
    if out.requires_grad and out.numel():
        out.backward(nnx.tensor(array(case["upstream"], case["output_shape"], dtype)))
    for leaf, grad, shape in zip(leaves, case["grads"], case["shapes"]):
        got = leaf.grad.numpy() if leaf.grad is not None else np.zeros(leaf.shape, leaf.dtype)
        assert got.shape == tuple(shape) and got.dtype == dtype
        np.testing.assert_allclose(got.astype(np.float64), array(grad, shape), **tol)


def test_every_property_and_op_is_recorded(fuzz):
    recorded = {(c["property"], c["name"]) for c in CASES}
    assert {("unary", n) for n in fuzz.UNARY} <= recorded
    assert {("positive", n) for n in fuzz.POSITIVE_UNARY} <= recorded
    assert {("binary", n) for n in fuzz.BINARY} <= recorded
    assert {p for p, _ in recorded} == {"unary", "positive", "binary", "reduction", "linear", "loss"}
