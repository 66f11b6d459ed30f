"""torch.optim's recorded trajectories (tools/record_golden.py) replayed through nnx.optim, without PyTorch: 12 steps
of SGD/Adam/AdamW/RMSprop over their options with a parameter-dependent gradient, so one wrong step shows."""
import numpy as np
import pytest

import nnx
from golden import load
from nnx import optim

RECORDED = load("optimizers")
CASES = RECORDED["cases"]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['optimizer']}-{i}" for i, c in enumerate(CASES)])
def test_trajectory_matches_recorded_torch(case):
    options = dict(case["options"])
    if "betas" in options:
        options["betas"] = tuple(options["betas"])
    params = [nnx.nn.Parameter(np.array(start, dtype=np.float64)) for start in case["start"]]
    optimizer = getattr(optim, case["optimizer"])(params, **options)
    for noises in case["noises"]:
        for p, noise in zip(params, noises):
            p.grad = nnx.tensor(0.5 * p.numpy() + np.array(noise))  # RECORDED["gradient"]
        optimizer.step()
    for p, final in zip(params, case["final"]):
        np.testing.assert_allclose(p.numpy(), np.array(final), rtol=1e-10, atol=1e-12)


def test_the_recorded_gradient_is_the_one_replayed():
    assert RECORDED["gradient"] == "0.5 * theta + noise" and RECORDED["steps"] == len(CASES[0]["noises"])
