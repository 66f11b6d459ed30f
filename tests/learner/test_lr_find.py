"""lr_find: exponential steps, early stop on divergence, suggestions, and everything restored after."""
import copy
import sys

import numpy as np
import pytest
from learner_setup import assert_params_equal, make_learner, param_arrays

import nnx
from nnx.learner import SuggestedLRs


def _opt_snapshot(opt):
    state = opt.state_dict()
    arrays = {index: {k: (np.array(v.numpy()) if hasattr(v, "numpy") else v) for k, v in s.items()}
              for index, s in state["state"].items()}
    groups = copy.deepcopy([{k: v for k, v in g.items()} for g in state["param_groups"]])
    return arrays, groups


def test_lr_find_restores_weights_optimizer_and_random_state():
    learn = make_learner(dropout=0.1, lr=2e-3)
    learn.fit(1)
    weights = param_arrays(learn.model)
    opt_state, opt_groups = _opt_snapshot(learn.opt)
    rng_state = nnx.random.get_state()
    suggestions = learn.lr_find(num_it=40)
    assert isinstance(suggestions, SuggestedLRs)
    assert all(np.isfinite(v) and v > 0 for v in suggestions)
    assert_params_equal(param_arrays(learn.model), weights)
    new_state, new_groups = _opt_snapshot(learn.opt)
    assert new_groups == opt_groups and new_state.keys() == opt_state.keys()
    for index in opt_state:
        for key in opt_state[index]:
            np.testing.assert_array_equal(new_state[index][key], opt_state[index][key])
    assert nnx.random.get_state() == rng_state
    # the schedule: lr_i = start * (end / start) ** (i / num_it)
    lrs = np.array(learn.recorder.lrs)
    assert 6 <= len(lrs) <= 40
    np.testing.assert_allclose(lrs, 1e-7 * (1e8) ** (np.arange(len(lrs)) / 40), rtol=1e-9)


def test_lr_find_then_training_matches_training_alone():
    """lr_find leaves no trace: a fit after it equals the same fit without it."""
    with_find = make_learner(dropout=0.1)
    with_find.lr_find(num_it=20)
    with_find.fit(1)
    alone = make_learner(dropout=0.1)
    alone.fit(1)
    assert_params_equal(param_arrays(with_find.model), param_arrays(alone.model))


def test_lr_find_stops_when_the_loss_diverges():
    learn = make_learner()
    learn.lr_find(start_lr=1e-5, end_lr=1e5, num_it=100)
    assert len(learn.recorder.lrs) < 100
    losses = np.array(learn.recorder.losses)
    assert losses[-1] > 4 * np.nanmin(losses) or not np.isfinite(losses[-1])


def test_lr_find_arguments_are_checked():
    with pytest.raises(ValueError, match="start_lr"):
        make_learner().lr_find(start_lr=1.0, end_lr=0.1)


def test_plots_return_figures(monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    learn = make_learner()
    learn.lr_find(num_it=30)
    fig = learn.recorder.plot_lr_find()
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes[0].lines) == 1 + 4  # the curve and the four suggestions
    learn.fit_one_cycle(2, 1e-2)
    for fig in (learn.recorder.plot_loss(), learn.recorder.plot_sched()):
        assert isinstance(fig, matplotlib.figure.Figure)
    plt.close("all")
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # as if matplotlib were not installed
    with pytest.raises(ImportError, match="pip install matplotlib"):
        learn.recorder.plot_loss()
