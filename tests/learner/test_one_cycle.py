"""fit_one_cycle's per-batch lr and momentum, discriminative rates, freeze/unfreeze, fine_tune and wd."""
import math

import numpy as np
import pytest
from learner_setup import TRAIN_BATCHES, assert_params_equal, make_learner, three_groups

from nnx import optim
from nnx.learner import Callback


class HyperSpy(Callback):
    """Records every group's lr and momentum as the optimizer sees them at each training step."""

    order = 70  # after ParamScheduler (60) set them

    def __init__(self):
        self.lrs, self.moms = [], []

    def before_step(self):
        groups = self.learn.opt.param_groups
        self.lrs.append([g["lr"] for g in groups])
        self.moms.append([g["betas"][0] if "betas" in g else g["momentum"] for g in groups])


def one_cycle_reference(pos, high, div=25.0, div_final=1e5, pct_start=0.25, moms=(0.95, 0.85, 0.95)):
    """DESIGN.md's formula, written out independently of the library."""
    def cos(start, end, p):
        return start + (1 + math.cos(math.pi * (1 - p))) * (end - start) / 2

    if pos < pct_start:
        p = pos / pct_start
        return cos(high / div, high, p), cos(moms[0], moms[1], p)
    p = (pos - pct_start) / (1 - pct_start)
    return cos(high, high / div_final, p), cos(moms[1], moms[2], p)


@pytest.mark.parametrize("pct_start", [0.25, 0.4])
def test_fit_one_cycle_sets_lr_and_beta1_before_every_batch(pct_start):
    learn = make_learner()
    spy = HyperSpy()
    n_epoch, lr_max = 3, 1e-2
    learn.fit_one_cycle(n_epoch, lr_max, pct_start=pct_start, cbs=[spy])
    total = n_epoch * TRAIN_BATCHES
    assert len(spy.lrs) == total
    for i, (lrs, moms) in enumerate(zip(spy.lrs, spy.moms)):
        lr, mom = one_cycle_reference(i / total, lr_max, pct_start=pct_start)
        assert lrs[0] == pytest.approx(lr, rel=1e-9), i
        assert moms[0] == pytest.approx(mom, rel=1e-9), i
    assert learn.recorder.lrs == [row[-1] for row in spy.lrs]
    assert learn.recorder.moms == [row[-1] for row in spy.moms]
    assert learn.recorder.hps["lr"] == learn.recorder.lrs


def test_one_cycle_moves_sgd_momentum():
    learn = make_learner(opt_func=lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9))
    spy = HyperSpy()
    learn.fit_one_cycle(1, 0.1, moms=(0.9, 0.8, 0.9), cbs=[spy])
    for i, moms in enumerate(spy.moms):
        assert moms[0] == pytest.approx(one_cycle_reference(i / TRAIN_BATCHES, 0.1, moms=(0.9, 0.8, 0.9))[1])


def test_discriminative_learning_rates_in_param_groups():
    learn = make_learner(splitter=three_groups)
    learn.fit(1, lr=slice(1e-5, 1e-3))
    np.testing.assert_allclose([g["lr"] for g in learn.opt.param_groups], [1e-5, 1e-4, 1e-3], rtol=1e-12)
    learn.fit(1, lr=slice(1e-3))
    assert [g["lr"] for g in learn.opt.param_groups] == pytest.approx([1e-4, 1e-4, 1e-3], rel=1e-12)
    spy = HyperSpy()
    learn.fit_one_cycle(2, slice(1e-4, 1e-2), cbs=[spy])
    for i, lrs in enumerate(spy.lrs):
        expected = [one_cycle_reference(i / (2 * TRAIN_BATCHES), high)[0] for high in (1e-4, 1e-3, 1e-2)]
        assert lrs == pytest.approx(expected, rel=1e-9)


def _group_arrays(learn):
    return [[p.numpy().copy() for p in group["params"]] for group in learn.opt.param_groups]


def _opt_state(learn, group_index):
    out = []
    for p in learn.opt.param_groups[group_index]["params"]:
        state = learn.opt.state.get(p, {})
        out.append({k: (v.numpy().copy() if hasattr(v, "numpy") else v) for k, v in state.items()})
    return out


def _assert_state_equal(left, right):
    assert len(left) == len(right)
    for a, b in zip(left, right):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize("freeze_to, moving", [(-1, [False, False, True]), (1, [False, True, True]),
                                               (0, [True, True, True]), (3, [False, False, False])])
def test_freeze_to_moves_exactly_the_unfrozen_groups(freeze_to, moving):
    learn = make_learner(splitter=three_groups)
    learn.fit(1, lr=1e-2)  # every group gets optimizer state first
    states = [_opt_state(learn, g) for g in range(3)]
    before = _group_arrays(learn)
    learn.freeze_to(freeze_to)
    learn.fit(1, lr=1e-2)
    after = _group_arrays(learn)
    for group, (old, new, moves) in enumerate(zip(before, after, moving)):
        changed = [not np.array_equal(a, b) for a, b in zip(old, new)]
        assert changed == [moves] * len(old), f"group {group}"
        if not moves:
            _assert_state_equal(_opt_state(learn, group), states[group])
    assert [p.requires_grad for g in learn.opt.param_groups for p in g["params"]] == \
        [m for m, g in zip(moving, learn.opt.param_groups) for _ in g["params"]]


def test_freeze_then_unfreeze_and_fresh_optimizer():
    learn = make_learner(splitter=three_groups)
    learn.freeze()
    before = _group_arrays(learn)
    learn.fit(1, reset_opt=True)  # the optimizer is rebuilt with the body still frozen
    after = _group_arrays(learn)
    assert_params_equal(after[0] + after[1], before[0] + before[1])
    assert _opt_state(learn, 0) == [{}, {}]
    learn.unfreeze()
    learn.fit(1)
    final = _group_arrays(learn)
    assert all(not np.array_equal(a, b) for a, b in zip(final[0], after[0]))
    with pytest.raises(ValueError, match="freeze_to"):
        learn.freeze_to(4)


def test_fine_tune_trains_the_head_first_then_everything():
    learn = make_learner(splitter=three_groups)
    snapshots, peaks = [], []

    class Spy(Callback):
        def before_fit(self):
            peaks.append(None)

        def before_step(self):
            lrs = [g["lr"] for g in self.learn.opt.param_groups]
            if peaks[-1] is None or lrs[-1] > peaks[-1][-1]:
                peaks[-1] = lrs

        def after_fit(self):
            snapshots.append(_group_arrays(self.learn))

    learn.create_opt()
    initial = _group_arrays(learn)
    learn.add_cb(Spy())
    learn.fine_tune(2, base_lr=2e-3, freeze_epochs=1)
    assert_params_equal(snapshots[0][0] + snapshots[0][1], initial[0] + initial[1])
    assert not np.array_equal(snapshots[0][2][0], initial[2][0])
    assert not np.array_equal(snapshots[1][0][0], initial[0][0])
    # Second stage: slice(1e-3 / 100, 1e-3), geometric over three groups, peak near lr_max.
    assert peaks[1] == pytest.approx([1e-5, 1e-4, 1e-3], rel=0.05)
    assert all(p.requires_grad for p in learn.model.parameters())


def test_wd_goes_to_the_optimizer():
    adam = make_learner()
    adam.fit(1)
    assert [g["weight_decay"] for g in adam.opt.param_groups] == [0]
    adamw = make_learner(opt_func=optim.AdamW, wd=0.1)
    adamw.fit(1)
    assert adamw.opt.param_groups[0]["weight_decay"] == 0.1
    assert adamw.opt.param_groups[0]["decoupled_weight_decay"] is True
    adamw.fit(1, wd=0.0)
    assert adamw.opt.param_groups[0]["weight_decay"] == 0.0


def test_parameters_frozen_by_hand_stay_frozen():
    learn = make_learner(splitter=three_groups)
    hand_frozen = learn.model[3].weight
    hand_frozen.requires_grad = False
    before = hand_frozen.numpy().copy()
    learn.freeze()
    learn.unfreeze()
    learn.fit(1, reset_opt=True)
    assert hand_frozen.requires_grad is False
    np.testing.assert_array_equal(hand_frozen.numpy(), before)
    default = make_learner()
    default.model[0].weight.requires_grad = False
    default.create_opt()
    assert sum(len(g["params"]) for g in default.opt.param_groups) == 5  # the default splitter leaves it out
