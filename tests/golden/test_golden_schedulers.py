"""torch.optim.lr_scheduler's recorded sequences (tools/record_golden.py) replayed through nnx, without PyTorch:
lr and momentum/beta1 of every group after every step, for StepLR, CosineAnnealingLR past T_max, OneCycleLR (cos and
linear, two and three phases, warm-up ending exactly on a step, asymmetric momentums, per-group values) and
ReduceLROnPlateau (min/max, rel/abs, cooldown, eps)."""
import numpy as np
import pytest

from golden import load
from nnx import nn, optim
from nnx.optim import lr_scheduler

SCHEDULERS = load("schedulers")["schedulers"]
PLATEAUS = load("schedulers")["plateaus"]


def make_optimizer(name, options):
    params = [nn.Parameter(np.zeros(3, np.float32)), nn.Parameter(np.zeros(2, np.float32))]
    return getattr(optim, name)([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], lr=0.1, **options)


def _momentum(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


@pytest.mark.parametrize("case", SCHEDULERS,
                         ids=[f"{c['scheduler']}-{c['optimizer']}-{i}" for i, c in enumerate(SCHEDULERS)])
def test_scheduler_matches_recorded_torch(case):
    optimizer = make_optimizer(case["optimizer"], case["optimizer_options"])
    scheduler = getattr(lr_scheduler, case["scheduler"])(optimizer, **case["options"])
    for step in range(case["steps"] + 1):
        np.testing.assert_allclose(scheduler.get_last_lr(), case["lrs"][step], rtol=1e-12, atol=1e-15,
                                   err_msg=f"lr after {step} steps")
        np.testing.assert_allclose([_momentum(g) for g in optimizer.param_groups], case["moms"][step], rtol=1e-12,
                                   err_msg=f"momentum after {step} steps")
        if step < case["steps"]:
            optimizer.step()
            scheduler.step()


@pytest.mark.parametrize("case", PLATEAUS, ids=[f"{c['options']['mode']}-{c['options'].get('threshold_mode', 'rel')}-"
                                                f"{i}" for i, c in enumerate(PLATEAUS)])
def test_reduce_on_plateau_matches_recorded_torch(case):
    optimizer = make_optimizer("SGD", {})
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, **case["options"])
    for i, metric in enumerate(case["metrics"]):
        scheduler.step(metric)
        np.testing.assert_allclose(scheduler.get_last_lr(), case["lrs"][i], rtol=1e-12, err_msg=f"epoch {i}")
        assert scheduler.num_bad_epochs == case["num_bad_epochs"][i], i
        assert scheduler.cooldown_counter == case["cooldown_counter"][i], i


def test_recordings_cover_every_branch():
    """The golden cases keep exercising what they were chosen for (a trimmed recording would lose a branch)."""
    options = [c["options"] for c in SCHEDULERS if c["scheduler"] == "OneCycleLR"]
    assert any(o.get("three_phase") and o.get("anneal_strategy") == "linear" for o in options)
    assert any(o.get("three_phase") and o.get("anneal_strategy", "cos") == "cos" for o in options)
    assert any(o.get("pct_start", 0.3) * o.get("total_steps", 0)
               == int(o.get("pct_start", 0.3) * o.get("total_steps", 0))
               and o.get("total_steps") for o in options)  # warm-up ends exactly on a step
    assert any(not o.get("cycle_momentum", True) for o in options)
    cosine = [c for c in SCHEDULERS if c["scheduler"] == "CosineAnnealingLR"]
    assert any(c["steps"] > 2 * c["options"]["T_max"] for c in cosine)
    modes = {(c["options"]["mode"], c["options"].get("threshold_mode", "rel")) for c in PLATEAUS}
    assert modes == {("min", "rel"), ("min", "abs"), ("max", "rel"), ("max", "abs")}
    assert any(c["options"].get("cooldown") for c in PLATEAUS)
