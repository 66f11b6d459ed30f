"""fastai schedules with asymmetric and unusual arguments, against DESIGN.md's formulas written out here: one-cycle
with three different momentums (moms[2] must be reached), per-group lr_max, pct_start at 0 and 1, and
combine_scheds' segment boundaries (zero-width segments, the last position)."""
import math

import numpy as np
import pytest
from learner_setup import TRAIN_BATCHES, make_learner

from nnx import optim
from nnx.learner import Callback, schedule

MOMS = (0.9, 0.8, 0.7)  # three different values: a schedule that reuses moms[0] for the end shows


def design_cos(start, end, p):
    """DESIGN.md: f(p) = s + (1 + cos(pi (1 - p))) (e - s) / 2."""
    return start + (1 + math.cos(math.pi * (1 - p))) * (end - start) / 2


def design_one_cycle(pos, lr_max, div, div_final, pct_start, moms):
    if pos < pct_start:
        p = pos / pct_start
        return design_cos(lr_max / div, lr_max, p), design_cos(moms[0], moms[1], p)
    p = (pos - pct_start) / (1 - pct_start) if pct_start < 1 else 1.0
    return design_cos(lr_max, lr_max / div_final, p), design_cos(moms[1], moms[2], p)


@pytest.mark.parametrize("pct_start,div,div_final", [(0.25, 25.0, 1e5), (0.1, 7.0, 30.0), (0.6, 2.0, 1e3)])
def test_one_cycle_follows_three_different_momentums(rng, pct_start, div, div_final):
    scheds = schedule.one_cycle_scheds(0.3, div, div_final, pct_start, MOMS)
    positions = np.concatenate([[0.0, pct_start / 2, pct_start, 0.999999, 1.0], rng.uniform(0, 1, 25)])
    for pos in positions:
        lr, mom = design_one_cycle(pos, 0.3, div, div_final, pct_start, MOMS)
        assert scheds["lr"](pos) == pytest.approx(lr, rel=1e-12), pos
        assert scheds["mom"](pos) == pytest.approx(mom, rel=1e-12), pos
    assert scheds["mom"](0.0) == pytest.approx(0.9) and scheds["mom"](pct_start) == pytest.approx(0.8)
    assert scheds["mom"](1.0) == pytest.approx(0.7)  # the end is moms[2], not moms[0]
    assert scheds["lr"](1.0) == pytest.approx(0.3 / div_final)


def test_one_cycle_per_group_lr_max():
    lr_max = np.array([1e-3, 1e-2, 0.5])
    scheds = schedule.one_cycle_scheds(lr_max, 10.0, 100.0, 0.3, MOMS)
    for pos in (0.0, 0.1, 0.3, 0.65, 1.0):
        expected = [design_one_cycle(pos, high, 10.0, 100.0, 0.3, MOMS)[0] for high in lr_max]
        np.testing.assert_allclose(scheds["lr"](pos), expected, rtol=1e-12)


@pytest.mark.parametrize("pct_start", [0.0, 1.0])
def test_one_cycle_with_a_single_phase(pct_start):
    """pct_start 0: no warm-up, straight cosine annealing; 1: only the warm-up (training never reaches pos 1)."""
    scheds = schedule.one_cycle_scheds(0.2, 4.0, 50.0, pct_start, MOMS)
    for pos in (0.0, 0.3, 0.5, 0.99):
        if pct_start == 0.0:
            lr, mom = design_cos(0.2, 0.2 / 50.0, pos), design_cos(0.8, 0.7, pos)
        else:
            lr, mom = design_cos(0.2 / 4.0, 0.2, pos), design_cos(0.9, 0.8, pos)
        assert scheds["lr"](pos) == pytest.approx(lr, rel=1e-12), pos
        assert scheds["mom"](pos) == pytest.approx(mom, rel=1e-12), pos
    # fastai's combine_scheds: pos 1 is the last schedule's end, whatever the widths
    assert scheds["lr"](1.0) == pytest.approx(0.2 / 50.0) and scheds["mom"](1.0) == pytest.approx(0.7)


class MomentumSpy(Callback):
    order = 70  # after ParamScheduler (60)

    def __init__(self):
        self.lrs, self.moms = [], []

    def before_step(self):
        group = self.learn.opt.param_groups[0]
        self.lrs.append(group["lr"])
        self.moms.append(group["betas"][0] if "betas" in group else group["momentum"])


@pytest.mark.parametrize("opt_func", [optim.Adam, lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9)],
                         ids=["Adam-beta1", "SGD-momentum"])
def test_fit_one_cycle_reaches_the_third_momentum(opt_func):
    learn = make_learner(opt_func=opt_func)
    spy = MomentumSpy()
    learn.fit_one_cycle(2, 0.05, div=8.0, div_final=20.0, pct_start=0.3, moms=MOMS, cbs=[spy])
    total = 2 * TRAIN_BATCHES
    assert len(spy.moms) == total
    for i, (lr, mom) in enumerate(zip(spy.lrs, spy.moms)):
        expected_lr, expected_mom = design_one_cycle(i / total, 0.05, 8.0, 20.0, 0.3, MOMS)
        assert lr == pytest.approx(expected_lr, rel=1e-9), i
        assert mom == pytest.approx(expected_mom, rel=1e-9), i
    assert spy.moms[-1] < 0.72  # heading for 0.7: the last batch is at position 13/14


def test_combine_scheds_three_segments_and_boundaries():
    combined = schedule.combine_scheds([0.2, 0.5, 0.3], [schedule.SchedLin(0.0, 1.0), schedule.SchedNo(5.0, 9.0),
                                                         schedule.SchedExp(1.0, 8.0)])
    assert combined(0.0) == 0.0
    assert combined(0.1) == pytest.approx(0.5)
    assert combined(0.2) == 5.0  # a boundary belongs to the next segment, at its start
    assert combined(0.69) == 5.0
    assert combined(0.7) == pytest.approx(1.0)
    assert combined(0.8) == pytest.approx(8.0 ** (1 / 3))
    assert combined(1.0) == pytest.approx(8.0)  # the last position ends the last segment


def test_combine_scheds_skips_a_zero_width_segment():
    combined = schedule.combine_scheds([0.5, 0.0, 0.5], [schedule.SchedLin(0.0, 1.0), schedule.SchedNo(42.0, 42.0),
                                                         schedule.SchedLin(2.0, 4.0)])
    assert combined(0.25) == pytest.approx(0.5)
    assert combined(0.5) == pytest.approx(2.0)  # the empty middle segment never runs
    assert combined(0.75) == pytest.approx(3.0)


def test_combined_cos_is_two_cosines():
    combined = schedule.combined_cos(0.4, 1.0, 3.0, 0.5)
    for pos in (0.0, 0.2, 0.4, 0.7, 1.0):
        expected = design_cos(1.0, 3.0, pos / 0.4) if pos < 0.4 else design_cos(3.0, 0.5, (pos - 0.4) / 0.6)
        assert combined(pos) == pytest.approx(expected, rel=1e-12), pos


@pytest.mark.parametrize("pos", [0.0, 0.37, 1.0])
def test_schedule_functions_with_reversed_ranges(pos):
    """Decreasing schedules (start > end) and the plain functions sched_lin/exp/no with arrays per group."""
    start, end = np.array([4.0, 1.0]), np.array([1.0, 1e-3])
    np.testing.assert_allclose(schedule.sched_lin(start, end, pos), start + pos * (end - start))
    np.testing.assert_allclose(schedule.sched_exp(start, end, pos), start * (end / start) ** pos)
    np.testing.assert_array_equal(schedule.sched_no(start, end, pos), start)
    np.testing.assert_allclose(schedule.sched_cos(4.0, 1.0, pos), design_cos(4.0, 1.0, pos))
