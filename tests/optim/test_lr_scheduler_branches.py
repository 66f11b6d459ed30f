"""torch.optim.lr_scheduler semantics pinned without PyTorch, branch by branch: OneCycleLR's phase ends (warm-up
ending exactly on a step, the three-phase boundary, linear anneal), CosineAnnealingLR past T_max, and
ReduceLROnPlateau's threshold modes at their exact margins and its cooldown. The recorded PyTorch sequences are
in tests/golden/test_golden_schedulers.py; these state the rules themselves."""
import math

import numpy as np
import pytest

from nnx import nn, optim
from nnx.optim import lr_scheduler


def sgd(lr=0.1, momentum=0.9, groups=1):
    params = [nn.Parameter(np.zeros(2, np.float32)) for _ in range(groups)]
    return optim.SGD([{"params": [p]} for p in params], lr=lr, momentum=momentum)


def run(scheduler, steps):
    """(lr, momentum) of group 0 at positions 0..steps."""
    group = scheduler.optimizer.param_groups[0]
    values = [(scheduler.get_last_lr()[0], group["momentum"])]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        values.append((scheduler.get_last_lr()[0], group["momentum"]))
    return np.array(values)


def cos_anneal(start, end, pct):
    return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)


@pytest.mark.parametrize("total,pct_start", [(20, 0.25), (10, 0.5), (8, 0.375)])
def test_one_cycle_warmup_ends_exactly_at_max_lr(total, pct_start):
    """pct_start * total - 1 is an integer here: that very step is max_lr and base_momentum, not one later."""
    scheduler = lr_scheduler.OneCycleLR(sgd(), max_lr=2.0, total_steps=total, pct_start=pct_start,
                                        base_momentum=0.7, max_momentum=0.95, div_factor=8.0, final_div_factor=50.0)
    values = run(scheduler, total - 1)
    peak = round(pct_start * total) - 1
    assert values[peak, 0] == pytest.approx(2.0, rel=1e-15) and values[peak, 1] == pytest.approx(0.7, rel=1e-15)
    assert values[peak - 1, 0] < 2.0 and values[peak + 1, 0] < 2.0
    for step in range(peak + 1):
        assert values[step, 0] == pytest.approx(cos_anneal(0.25, 2.0, step / peak), rel=1e-12), step
        assert values[step, 1] == pytest.approx(cos_anneal(0.95, 0.7, step / peak), rel=1e-12), step
    for step in range(peak, total):
        pct = (step - peak) / (total - 1 - peak)
        assert values[step, 0] == pytest.approx(cos_anneal(2.0, 0.25 / 50.0, pct), rel=1e-12), step
        assert values[step, 1] == pytest.approx(cos_anneal(0.7, 0.95, pct), rel=1e-12), step


@pytest.mark.parametrize("anneal_strategy", ["cos", "linear"])
def test_one_cycle_three_phases(anneal_strategy):
    """Up to max_lr at pct*T - 1, back down to initial_lr at 2*pct*T - 2, then to min_lr at T - 1."""
    total, pct_start = 25, 0.2  # phase ends at steps 4, 8 and 24
    scheduler = lr_scheduler.OneCycleLR(sgd(), max_lr=1.0, total_steps=total, pct_start=pct_start,
                                        anneal_strategy=anneal_strategy, three_phase=True, base_momentum=0.6,
                                        max_momentum=0.9, div_factor=10.0, final_div_factor=100.0)
    values = run(scheduler, total - 1)

    def anneal(start, end, pct):
        return cos_anneal(start, end, pct) if anneal_strategy == "cos" else start + (end - start) * pct

    for step in range(total):
        if step <= 4:
            expected = anneal(0.1, 1.0, step / 4), anneal(0.9, 0.6, step / 4)
        elif step <= 8:
            expected = anneal(1.0, 0.1, (step - 4) / 4), anneal(0.6, 0.9, (step - 4) / 4)
        else:
            expected = anneal(0.1, 0.001, (step - 8) / 16), 0.9
        np.testing.assert_allclose(values[step], expected, rtol=1e-12, err_msg=f"step {step}")
    assert values[8, 0] == pytest.approx(0.1) and values[9, 0] < 0.1  # the second boundary, exactly


def test_one_cycle_linear_two_phases_midpoints():
    scheduler = lr_scheduler.OneCycleLR(sgd(), max_lr=0.9, total_steps=11, pct_start=0.5, anneal_strategy="linear",
                                        div_factor=9.0, final_div_factor=10.0, base_momentum=0.8, max_momentum=0.9)
    values = run(scheduler, 10)  # warm-up ends at step 4.5: steps 0..4 rise, 5..10 fall
    np.testing.assert_allclose(values[:5, 0], [0.1 + 0.8 * s / 4.5 for s in range(5)], rtol=1e-12)
    np.testing.assert_allclose(values[5:, 0], [0.9 + (0.01 - 0.9) * (s - 4.5) / 5.5 for s in range(5, 11)],
                               rtol=1e-12)
    np.testing.assert_allclose(values[:5, 1], [0.9 - 0.1 * s / 4.5 for s in range(5)], rtol=1e-12)


@pytest.mark.parametrize("T_max,eta_min", [(5, 0.01), (3, 0.0), (1, 0.05)])
def test_cosine_annealing_past_t_max_is_periodic(T_max, eta_min):
    """Past T_max the lr climbs back up the same cosine: lr(T_max + k) == lr(T_max - k), back at base at 2 T_max."""
    scheduler = lr_scheduler.CosineAnnealingLR(sgd(lr=0.2), T_max=T_max, eta_min=eta_min)
    lrs = run(scheduler, 4 * T_max + 1)[:, 0]
    closed = [eta_min + (0.2 - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2 for t in range(4 * T_max + 2)]
    np.testing.assert_allclose(lrs, closed, rtol=1e-10, atol=1e-15)
    assert lrs[T_max] == pytest.approx(eta_min, abs=1e-15) and lrs[2 * T_max] == pytest.approx(0.2, rel=1e-12)
    for k in range(1, T_max + 1):
        assert lrs[T_max + k] == pytest.approx(lrs[T_max - k], rel=1e-10)
        assert lrs[T_max + k] > lrs[T_max + k - 1]  # rising after T_max, not falling


def plateau(mode, threshold_mode, threshold, **options):
    return lr_scheduler.ReduceLROnPlateau(sgd(lr=1.0, momentum=0.0), mode=mode, threshold=threshold,
                                          threshold_mode=threshold_mode, factor=0.5, patience=0, **options)


@pytest.mark.parametrize("mode,threshold_mode,best,margin", [
    ("min", "rel", 2.0, 2.0 * (1 - 0.25)), ("min", "abs", 2.0, 2.0 - 0.25),
    ("max", "rel", 2.0, 2.0 * (1 + 0.25)), ("max", "abs", 2.0, 2.0 + 0.25)])
def test_plateau_threshold_is_strict(mode, threshold_mode, best, margin):
    """Exactly the margin is not an improvement (patience 0: the lr halves); just past it is."""
    scheduler = plateau(mode, threshold_mode, 0.25)
    scheduler.step(best)
    assert scheduler.best == best and scheduler.get_last_lr() == [1.0]
    scheduler.step(margin)
    assert scheduler.get_last_lr() == [0.5] and scheduler.best == best
    beyond = margin - 1e-9 if mode == "min" else margin + 1e-9
    scheduler.step(beyond)
    assert scheduler.get_last_lr() == [0.5] and scheduler.best == beyond and scheduler.num_bad_epochs == 0


def test_plateau_cooldown_ignores_bad_epochs_then_counts_them():
    scheduler = lr_scheduler.ReduceLROnPlateau(sgd(lr=1.0, momentum=0.0), factor=0.1, patience=1, cooldown=2,
                                               min_lr=1e-3)
    lrs, bad, cooldown = [], [], []
    for metric in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]:
        scheduler.step(metric)
        lrs.append(scheduler.get_last_lr()[0])
        bad.append(scheduler.num_bad_epochs)
        cooldown.append(scheduler.cooldown_counter)
    np.testing.assert_allclose(lrs, [1, 1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01], rtol=1e-12)
    assert bad == [0, 1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert cooldown == [0, 0, 2, 1, 0, 0, 2, 1, 0, 0]
    for _ in range(8):
        scheduler.step(1.0)
    assert scheduler.get_last_lr()[0] == pytest.approx(1e-3, rel=1e-12)  # min_lr floors it


def test_plateau_eps_skips_tiny_reductions():
    scheduler = lr_scheduler.ReduceLROnPlateau(sgd(lr=0.1, momentum=0.0), factor=0.9, patience=0, eps=0.02)
    scheduler.step(1.0)
    scheduler.step(1.0)
    assert scheduler.get_last_lr() == [0.1]  # 0.1 - 0.09 = 0.01 < eps: unchanged
