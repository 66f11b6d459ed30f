"""Schedule functions against the formulas in DESIGN.md, and the lr_find suggestions."""
import math

import numpy as np
import pytest

from nnx.learner import schedule
from nnx.learner.hypers import even_mults, spread_over_groups


def _cos(start, end, p):
    return start + (1 + math.cos(math.pi * (1 - p))) * (end - start) / 2


@pytest.mark.parametrize("pos", [0.0, 0.13, 0.5, 0.77, 1.0])
def test_basic_schedules(pos):
    assert schedule.SchedLin(2.0, 5.0)(pos) == pytest.approx(2.0 + 3.0 * pos)
    assert schedule.SchedCos(2.0, 5.0)(pos) == pytest.approx(_cos(2.0, 5.0, pos))
    assert schedule.SchedNo(2.0, 5.0)(pos) == 2.0
    assert schedule.SchedExp(1e-3, 10.0)(pos) == pytest.approx(1e-3 * 1e4**pos)
    assert schedule.SchedPoly(2.0, 5.0, 2)(pos) == pytest.approx(2.0 + 3.0 * pos**2)
    assert schedule.sched_cos(2.0, 5.0, pos) == schedule.SchedCos(2.0, 5.0)(pos)


def test_cosine_endpoints_are_exact():
    assert schedule.SchedCos(0.1, 0.9)(0.0) == pytest.approx(0.1, abs=1e-15)
    assert schedule.SchedCos(0.1, 0.9)(1.0) == pytest.approx(0.9, abs=1e-15)


def test_schedules_take_one_value_per_group():
    values = schedule.SchedCos([1.0, 2.0], [3.0, 6.0])(0.25)
    np.testing.assert_allclose(values, [_cos(1, 3, 0.25), _cos(2, 6, 0.25)])


@pytest.mark.parametrize("pct_start", [0.25, 0.3, 0.99])
def test_one_cycle_matches_the_design_formula(rng, pct_start):
    lr_max, div, div_final = 3e-3, 25.0, 1e5
    scheds = schedule.one_cycle_scheds(lr_max, div, div_final, pct_start, (0.95, 0.85, 0.95))
    for p in np.concatenate([[0.0, pct_start, 0.999], rng.uniform(0, 1, 20)]):
        if p < pct_start:
            lr = _cos(lr_max / div, lr_max, p / pct_start)
            mom = _cos(0.95, 0.85, p / pct_start)
        else:
            lr = _cos(lr_max, lr_max / div_final, (p - pct_start) / (1 - pct_start))
            mom = _cos(0.85, 0.95, (p - pct_start) / (1 - pct_start))
        assert scheds["lr"](p) == pytest.approx(lr, rel=1e-12)
        assert scheds["mom"](p) == pytest.approx(mom, rel=1e-12)


def test_combine_scheds_checks_its_arguments():
    with pytest.raises(ValueError, match="sum to 1"):
        schedule.combine_scheds([0.3, 0.3], [schedule.SchedNo(1, 1)] * 2)
    with pytest.raises(ValueError, match="same non-zero length"):
        schedule.combine_scheds([1.0], [])


def test_discriminative_spreads():
    np.testing.assert_allclose(spread_over_groups(slice(1e-5, 1e-3), 3), [1e-5, 1e-4, 1e-3], rtol=1e-12)
    assert spread_over_groups(slice(1e-3), 3) == [1e-4, 1e-4, 1e-3]
    assert spread_over_groups(0.1, 2) == [0.1, 0.1]
    np.testing.assert_allclose(even_mults(1.0, 16.0, 5), [1, 2, 4, 8, 16])
    with pytest.raises(ValueError, match="parameter groups"):
        spread_over_groups([0.1, 0.2], 3)


def test_suggestions_on_a_known_curve():
    lrs = np.logspace(-7, 1, 100)
    log_lr = np.log10(lrs)
    # Flat, then falling fastest at lr = 1e-3, lowest at 1e-1, then rising.
    losses = 2.0 - 1.0 / (1 + np.exp(-(log_lr + 3) * 3)) + np.where(log_lr > -1, (log_lr + 1) ** 2, 0)
    suggestions, points = schedule.suggest_lrs(lrs, losses, num_it=100)
    kept = slice(10, -5)
    assert suggestions.minimum == pytest.approx(lrs[kept][np.argmin(losses[kept])] / 10)
    slopes = np.diff(losses[kept]) / np.diff(np.log(lrs[kept]))
    assert suggestions.steep == pytest.approx(lrs[kept][np.argmin(slopes)])
    assert 1e-5 < suggestions.valley < 1e-1
    assert lrs[kept][0] <= suggestions.slide <= lrs[kept][-1]
    assert len(points) == 4


def test_suggestions_stop_at_the_first_nan():
    lrs = np.logspace(-7, 1, 100)
    losses = np.linspace(3, 1, 100)
    losses[60:] = np.nan
    suggestions, _ = schedule.suggest_lrs(lrs, losses, num_it=100)
    assert suggestions.minimum == pytest.approx(lrs[59] / 10)
