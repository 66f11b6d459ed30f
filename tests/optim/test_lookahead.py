"""fastai's Lookahead and ranger: trajectories against a float64 reference over the inner optimizer's rule,
state_dict round trips, schedulers, bad arguments, and the names optim exports."""
import copy

import numpy as np
import pytest
from more_optimizer_rules import (
    ReferenceRAdam,
    make_grads,
    make_params,
    run_nnx,
)

import nnx
from nnx import optim


# --- Lookahead and ranger ---------------------------------------------------------------------------------------------
def lookahead_reference(inner, thetas, grads, k=6, alpha=0.5):
    """fastai's Lookahead over a reference rule: slow weights from the first step, pulled every k steps."""
    slow = [t.copy() for t in thetas]
    for count, step_grads in enumerate(grads, start=1):
        thetas = [inner.update(i, t, g) for i, (t, g) in enumerate(zip(thetas, step_grads))]
        if count % k == 0:
            slow = [s + alpha * (t - s) for s, t in zip(slow, thetas)]
            thetas = [s.copy() for s in slow]
    return thetas


def test_lookahead_over_sgd_and_radam(rng):
    params = make_params(rng, np.float64)
    grads = make_grads(rng, 14)
    expected = lookahead_reference(ReferenceRAdam(lr=0.01), [p.numpy().copy() for p in params], grads, k=5, alpha=0.3)
    optimizer = optim.Lookahead(optim.RAdam(params, lr=0.01), k=5, alpha=0.3)
    run_nnx(optimizer, params, grads)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.numpy(), e, rtol=1e-12, atol=1e-13)
    assert optimizer.param_groups is optimizer.optimizer.param_groups and optimizer.count == 14


def test_ranger_is_lookahead_radam_with_fastais_defaults(rng):
    params = make_params(rng, np.float64)
    grads = make_grads(rng, 13)
    optimizer = optim.ranger(params, lr=0.01)
    assert isinstance(optimizer, optim.Lookahead) and isinstance(optimizer.optimizer, optim.RAdam)
    assert (optimizer.k, optimizer.alpha) == (6, 0.5)
    group = optimizer.param_groups[0]
    assert (group["betas"], group["eps"], group["weight_decay"], group["decoupled_weight_decay"]) == \
        ((0.95, 0.99), 1e-6, 0.01, True)
    inner = ReferenceRAdam(lr=0.01, betas=(0.95, 0.99), eps=1e-6, weight_decay=0.01, decoupled_weight_decay=True)
    expected = lookahead_reference(inner, [p.numpy().copy() for p in params], grads)
    run_nnx(optimizer, params, grads)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.numpy(), e, rtol=1e-12, atol=1e-13)


def test_lookahead_state_dict_round_trip_and_scheduler(rng):
    params = make_params(rng, np.float64)
    twins = [nnx.tensor(p.numpy().copy(), requires_grad=True) for p in params]
    grads = make_grads(rng, 16)
    run_nnx(optim.ranger(params, lr=0.01), params, grads)
    first = optim.ranger(twins, lr=0.01)
    run_nnx(first, twins, grads[:8])  # mid-way between two pulls: the slow weights matter
    saved = first.state_dict()
    assert saved["lookahead"] == {"k": 6, "alpha": 0.5, "count": 8} and "slow_param" in saved["state"][0]
    saved = {"param_groups": copy.deepcopy(saved["param_groups"]), "lookahead": dict(saved["lookahead"]),
             "state": {i: {k: (v.numpy().copy() if isinstance(v, nnx.Tensor) else v) for k, v in s.items()}
                       for i, s in saved["state"].items()}}
    resumed = optim.ranger(twins, lr=0.01)
    resumed.load_state_dict(saved)
    run_nnx(resumed, twins, grads[8:])
    for p, q in zip(params, twins):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    scheduler = optim.lr_scheduler.StepLR(resumed, step_size=1, gamma=0.5)
    scheduler.step()
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(0.005)


def test_lookahead_refuses_bad_arguments():
    inner = optim.SGD([nnx.tensor(np.zeros(2), requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="k"):
        optim.Lookahead(inner, k=0)
    with pytest.raises(ValueError, match="alpha"):
        optim.Lookahead(inner, alpha=1.5)
    with pytest.raises(TypeError, match="optimizer"):
        optim.Lookahead([inner])


def test_exported():
    for name in ["Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "Lookahead", "ranger"]:
        assert name in optim.__all__ and hasattr(optim, name)
