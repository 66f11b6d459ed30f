"""Every family's functional wrappers (nnx.nn.functional, listed in tests/ops/<family>.py as FUNCTIONAL) in float64:
the forward against the family's reference, every input's gradient against central finite differences of it."""
import pytest

import ops
from ops import gradcheck

CASES = [pytest.param(case, id=f"{family}-{case.name}") for family, module in ops.MODULES.items()
         for case in getattr(module, "FUNCTIONAL", ())]


@pytest.mark.parametrize("case", CASES)
def test_functional_matches_reference_and_finite_differences(rng, case):
    gradcheck.check(case, rng)
