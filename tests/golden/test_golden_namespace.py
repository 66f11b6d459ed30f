"""The torch-named functions of tests/autograd/test_namespace.py's PyTorch comparison (logsumexp, prod, cumsum,
cumprod, norm, tril/triu, flip, roll, diag, trace, std, var, amax ...): values and gradients PyTorch gave on the
recorded inputs (tools/record_golden.py), replayed through nnx without PyTorch."""
import numpy as np
import pytest

import nnx
from golden import array, load

CASES = load("namespace")["cases"]


def as_tuples(value):
    """JSON turned the recorded tuples (e.g. flip's dims) into lists: back to tuples."""
    return tuple(as_tuples(v) for v in value) if isinstance(value, list) else value


@pytest.mark.parametrize("case", CASES, ids=[f"{c['name']}-{i}" for i, c in enumerate(CASES)])
def test_function_matches_recorded_torch(case):
    leaf = nnx.tensor(array(case["values"]), requires_grad=True)
    out = getattr(nnx, case["name"])(leaf, *as_tuples(case["args"]), **case["kwargs"])
    np.testing.assert_allclose(out.numpy(), array(case["out"], case["out_shape"]), rtol=1e-12, atol=1e-12)
    (out * nnx.tensor(array(case["weights"], case["out_shape"]))).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), array(case["grad"]), rtol=1e-10, atol=1e-12)
