"""Learning-rate schedulers: lr (and momentum) sequences against closed forms and torch.optim.lr_scheduler."""
import math

import numpy as np
import pytest

from nnx import nn, optim
from nnx.optim import lr_scheduler


def make_optimizer(cls=optim.SGD, **options):
    params = [nn.Parameter(np.ones(3, np.float32)), nn.Parameter(np.ones(2, np.float32))]
    return cls([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], **dict(dict(lr=0.1), **options))


def lr_sequence(scheduler, steps, metric=None):
    sequence = [list(scheduler.get_last_lr())]
    for step in range(steps):
        scheduler.optimizer.step()
        scheduler.step() if metric is None else scheduler.step(metric(step))
        sequence.append(list(scheduler.get_last_lr()))
    return np.array(sequence)


def test_step_lr_closed_form():
    scheduler = lr_scheduler.StepLR(make_optimizer(), step_size=3, gamma=0.5)
    lrs = lr_sequence(scheduler, 10)
    np.testing.assert_allclose(lrs[:, 0], [0.1 * 0.5 ** (epoch // 3) for epoch in range(11)])
    np.testing.assert_allclose(lrs[:, 1], [0.5 * 0.5 ** (epoch // 3) for epoch in range(11)])


def test_cosine_annealing_closed_form():
    scheduler = lr_scheduler.CosineAnnealingLR(make_optimizer(), T_max=8, eta_min=0.01)
    lrs = lr_sequence(scheduler, 8)
    expected = [0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * t / 8)) / 2 for t in range(9)]
    np.testing.assert_allclose(lrs[:, 0], expected, rtol=1e-12)


def test_lambda_lr_per_group():
    scheduler = lr_scheduler.LambdaLR(make_optimizer(), [lambda e: 1 / (e + 1), lambda e: 0.9**e])
    lrs = lr_sequence(scheduler, 4)
    np.testing.assert_allclose(lrs[:, 0], [0.1 / (e + 1) for e in range(5)])
    np.testing.assert_allclose(lrs[:, 1], [0.5 * 0.9**e for e in range(5)])
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
        lr_scheduler.LambdaLR(make_optimizer(), [lambda e: 1.0])


def test_one_cycle_moves_lr_and_beta1():
    optimizer = make_optimizer(optim.Adam)
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=[1.0, 2.0], total_steps=20, pct_start=0.25)
    betas = [optimizer.param_groups[0]["betas"][0]]
    lrs = [scheduler.get_last_lr()]
    for _ in range(19):
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
        betas.append(optimizer.param_groups[0]["betas"][0])
    lrs = np.array(lrs)
    assert lrs[0, 0] == pytest.approx(1.0 / 25) and lrs[0, 1] == pytest.approx(2.0 / 25)
    assert lrs[:, 0].max() == pytest.approx(1.0) and lrs[-1, 0] == pytest.approx(1.0 / 25 / 1e4)
    assert betas[0] == pytest.approx(0.95) and min(betas) == pytest.approx(0.85) and betas[-1] == pytest.approx(0.95)
    with pytest.raises(ValueError, match="Tried to step 21 times"):
        scheduler.step(), scheduler.step()


def test_reduce_on_plateau():
    optimizer = make_optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2, min_lr=[0.03, 0.0])
    for loss in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]:
        scheduler.step(loss)
    assert scheduler.get_last_lr() == [0.03, 0.5 * 0.5**2]
    with pytest.raises(ValueError, match="factor"):
        lr_scheduler.ReduceLROnPlateau(optimizer, factor=1.5)


def test_scheduler_state_dict_round_trip():
    scheduler = lr_scheduler.StepLR(make_optimizer(), step_size=2)
    lr_sequence(scheduler, 3)
    fresh = lr_scheduler.StepLR(make_optimizer(), step_size=5)
    fresh.load_state_dict(scheduler.state_dict())
    assert fresh.last_epoch == 3 and fresh.step_size == 2 and fresh.get_last_lr() == scheduler.get_last_lr()


def test_bad_arguments():
    with pytest.raises(TypeError, match="Optimizer"):
        lr_scheduler.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="step_size"):
        lr_scheduler.StepLR(make_optimizer(), step_size=0)
    with pytest.raises(ValueError, match="total_steps"):
        lr_scheduler.OneCycleLR(make_optimizer(), max_lr=1.0)
    with pytest.raises(ValueError, match="momentum"):
        lr_scheduler.OneCycleLR(_no_momentum(), 1.0, 10)


def _no_momentum():
    class Plain(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

        def _step_group(self, group):
            pass

    return Plain([nn.Parameter(np.ones(2, np.float32))])


SCHEDULES = [
    ("StepLR", dict(step_size=4, gamma=0.3), 15),
    ("CosineAnnealingLR", dict(T_max=6, eta_min=0.001), 20),  # past T_max: it climbs back like torch's
    ("OneCycleLR", dict(max_lr=0.8, total_steps=30, pct_start=0.3), 29),
    ("OneCycleLR", dict(max_lr=[0.8, 0.4], epochs=3, steps_per_epoch=7, anneal_strategy="linear",
                        three_phase=True), 20),
]


@pytest.mark.parametrize("optimizer_name", ["SGD", "Adam"])
@pytest.mark.parametrize("name,options,steps", SCHEDULES)
def test_matches_torch(optimizer_name, name, options, steps):
    torch = pytest.importorskip("torch")
    extra = dict(momentum=0.9) if optimizer_name == "SGD" else {}
    torch_params = [torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)]
    torch_optimizer = getattr(torch.optim, optimizer_name)(
        [{"params": torch_params[:1]}, {"params": torch_params[1:], "lr": 0.5}], lr=0.1, **extra)
    torch_scheduler = getattr(torch.optim.lr_scheduler, name)(torch_optimizer, **options)
    nnx_scheduler = getattr(lr_scheduler, name)(make_optimizer(getattr(optim, optimizer_name), **extra), **options)
    momentum_key = "momentum" if optimizer_name == "SGD" else "betas"
    for _ in range(steps):
        np.testing.assert_allclose(nnx_scheduler.get_last_lr(), torch_scheduler.get_last_lr(), rtol=1e-12)
        for ours, theirs in zip(nnx_scheduler.optimizer.param_groups, torch_optimizer.param_groups):
            np.testing.assert_allclose(ours[momentum_key], theirs[momentum_key], rtol=1e-12)
        torch_optimizer.step()
        torch_scheduler.step()
        nnx_scheduler.optimizer.step()
        nnx_scheduler.step()


def test_reduce_on_plateau_matches_torch():
    torch = pytest.importorskip("torch")
    losses = [1.0, 0.8, 0.8, 0.79999, 0.81, 0.9, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.69]
    options = dict(mode="min", factor=0.3, patience=1, threshold=1e-3, cooldown=1, min_lr=0.002)
    torch_optimizer = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    torch_scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_optimizer, **options)
    optimizer = optim.SGD([nn.Parameter(np.zeros(2, np.float32))], lr=0.1)
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, **options)
    for loss in losses:
        torch_scheduler.step(loss)
        scheduler.step(loss)
        np.testing.assert_allclose(scheduler.get_last_lr(), torch_scheduler.get_last_lr(), rtol=1e-12)
