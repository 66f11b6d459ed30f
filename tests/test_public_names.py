"""Public names no other test named (tools/untested_names.py lists them): each is called here with an expected
result computed independently (NumPy, or the documented formula), so a wrong body fails, not only a missing name."""
import math

import numpy as np
import pytest

import nnx
from nnx import nn, optim
from nnx.learner import TrackerCallback, schedule, trainable_params
from nnx.learner.hypers import get_hyper, set_hyper
from nnx.learner.progress import format_time
from nnx.learner.recorder import AvgLoss, AvgSmoothLoss
from nnx.metrics import AccumMetric, AvgMetric
from nnx.tabular import LinBnDrop, MSELossFlat, TabularDataLoaders

# ---- Tensor comparisons, in-place detach, *_as reshapes, unflatten ------------------------------------------

@pytest.mark.parametrize("name,expected", [("eq", np.equal), ("ne", np.not_equal), ("gt", np.greater),
                                           ("ge", np.greater_equal), ("lt", np.less), ("le", np.less_equal)])
def test_tensor_comparison_methods(rng, name, expected):
    a = rng.integers(-2, 3, size=(4, 5)).astype(np.float32)
    b = rng.integers(-2, 3, size=(5,)).astype(np.float32)  # broadcast, with ties
    result = getattr(nnx.tensor(a), name)(nnx.tensor(b))
    assert result.dtype == np.bool_ and result.shape == (4, 5)
    np.testing.assert_array_equal(result.numpy(), expected(a, b))
    np.testing.assert_array_equal(getattr(nnx.tensor(a), name)(0.5).numpy(), expected(a, 0.5))  # a Python scalar
    np.testing.assert_array_equal(getattr(nnx, name)(nnx.tensor(a), nnx.tensor(b)).numpy(), expected(a, b))


def test_detach_in_place_cuts_the_graph(rng):
    leaf = nnx.tensor(rng.normal(size=3)).requires_grad_()
    y = leaf * 2
    assert y.requires_grad
    assert y.detach_() is y and not y.requires_grad and y.grad_fn is None
    np.testing.assert_array_equal(y.numpy(), leaf.numpy() * 2)
    (y * leaf).sum().backward()  # only the path through leaf remains
    np.testing.assert_array_equal(leaf.grad.numpy(), y.numpy())


def test_expand_reshape_view_as(rng):
    x = nnx.tensor(rng.normal(size=(3, 1)))
    target = nnx.zeros(3, 4)
    np.testing.assert_array_equal(x.expand_as(target).numpy(), np.broadcast_to(x.numpy(), (3, 4)))
    flat = nnx.tensor(np.arange(12.0))
    np.testing.assert_array_equal(flat.reshape_as(target).numpy(), np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(flat.view_as(target).numpy(), np.arange(12.0).reshape(3, 4))
    with pytest.raises((RuntimeError, ValueError)):
        nnx.tensor(np.arange(5.0)).reshape_as(target)


@pytest.mark.parametrize("dim,sizes,shape", [(1, (2, 3), (4, 2, 3, 5)), (-1, (5, 1), (4, 6, 5, 1)),
                                             (0, (-1, 2), (2, 2, 6, 5))])
def test_unflatten(dim, sizes, shape):
    values = np.arange(4 * 6 * 5.0).reshape(4, 6, 5)
    np.testing.assert_array_equal(nnx.tensor(values).unflatten(dim, sizes).numpy(), values.reshape(shape))
    with pytest.raises((RuntimeError, ValueError)):
        nnx.tensor(values).unflatten(1, (4, 4))


# ---- Module registration and resets ---------------------------------------------------------------------------

def test_register_parameter_and_module():
    module = nn.Module()
    weight = nn.Parameter(np.ones(3, np.float32))
    module.register_parameter("weight", weight)
    module.register_parameter("bias", None)  # torch: a None slot, listed nowhere
    module.register_module("inner", nn.Linear(2, 2))
    assert module.weight is weight and module.bias is None
    assert [name for name, _ in module.named_parameters()] == ["weight", "inner.weight", "inner.bias"]
    assert list(module.state_dict()) == ["weight", "inner.weight", "inner.bias"]
    with pytest.raises(TypeError):
        module.register_parameter("other", np.ones(2))  # only Parameters (or None)


@pytest.mark.parametrize("make", [lambda: nn.Linear(20, 30), lambda: nn.Embedding(40, 6), lambda: nn.LayerNorm(7),
                                  lambda: nn.BatchNorm1d(5)], ids=["Linear", "Embedding", "LayerNorm", "BatchNorm1d"])
def test_reset_parameters_redraws_or_restores(make):
    nnx.manual_seed(0)
    module = make()
    fresh = {k: v.numpy().copy() for k, v in module.state_dict().items()}
    for p in module.parameters():
        p.data.numpy()[...] = 123.0  # (the module's own storage)
    module.reset_parameters()
    for name, p in module.named_parameters():
        values = p.numpy()
        assert not np.any(values == 123.0), name
        if isinstance(module, (nn.LayerNorm, nn.BatchNorm1d)):  # deterministic: ones and zeros
            np.testing.assert_array_equal(values, fresh[name])
        else:  # redrawn from the same distribution: the same bound
            bound = np.abs(fresh[name]).max()
            assert np.abs(values).max() <= max(bound * 1.5, 6.0)


def test_batch_norm_reset_running_stats():
    bn = nn.BatchNorm1d(3)
    bn(nnx.tensor(np.random.default_rng(0).normal(2.0, 3.0, size=(8, 3)).astype(np.float32)))
    assert not np.allclose(bn.running_mean.numpy(), 0) and bn.num_batches_tracked.item() == 1
    bn.reset_running_stats()
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(3))
    assert bn.num_batches_tracked.item() == 0


@pytest.mark.parametrize("module,text", [(nn.Linear(3, 4, bias=False), "in_features=3, out_features=4, bias=False"),
                                         (nn.Dropout(0.25), "p=0.25"), (nn.LeakyReLU(0.2), "negative_slope=0.2"),
                                         (nn.LayerNorm(5), "(5,), eps=1e-05"), (nn.Embedding(10, 3), "10, 3")])
def test_extra_repr_is_in_the_repr(module, text):
    assert text in module.extra_repr() and text in repr(module)


# ---- learner helpers ----------------------------------------------------------------------------------------

def test_trainable_params_leaves_frozen_ones_out():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    model[0].weight.requires_grad_(False)
    (group,) = trainable_params(model)
    assert len(group) == 3 and all(p is not model[0].weight for p in group)


def test_get_and_set_hyper_across_groups():
    params = [nn.Parameter(np.ones(2, np.float32)) for _ in range(3)]
    opt = optim.Adam([{"params": [p]} for p in params], lr=1e-3)
    set_hyper(opt, "lr", np.array([1e-3, 2e-3, 3e-3]))
    set_hyper(opt, "mom", 0.8)  # Adam's beta1
    assert [g["lr"] for g in opt.param_groups] == [1e-3, 2e-3, 3e-3]
    assert get_hyper(opt, "lr") == 3e-3 and get_hyper(opt, "lr", 0) == 1e-3
    assert all(g["betas"] == (0.8, 0.999) for g in opt.param_groups) and get_hyper(opt, "mom") == 0.8


@pytest.mark.parametrize("seconds,text", [(0.4, "00:00"), (61.5, "01:02"), (3599, "59:59"), (3725, "1:02:05")])
def test_format_time(seconds, text):
    assert format_time(seconds) == text


def test_avg_metric_weights_by_batch_size():
    metric = AvgMetric(lambda pred, targ: float(np.mean(np.asarray(pred) == np.asarray(targ))))
    metric.reset()
    assert math.isnan(metric.value)
    metric.accumulate(np.array([1, 1, 1]), np.array([1, 1, 0]))  # 2/3 over 3 rows
    metric.accumulate(np.array([0]), np.array([0]))  # 1/1 over 1 row
    assert metric.value == pytest.approx(3 / 4)  # not the mean of batch means (5/6)


def test_accum_metric_computes_on_everything_at_the_end():
    metric = AccumMetric(lambda preds, targs: float(np.median(np.abs(preds - targs))))
    metric.reset()
    metric.accumulate(np.array([1.0, 5.0]), np.array([0.0, 0.0]))
    metric.accumulate(np.array([2.0]), np.array([0.0]))
    assert metric.value == 2.0  # the median of all three errors, not an average of per-batch medians (3, 2)


def test_avg_loss_and_smooth_loss():
    avg, smooth = AvgLoss(), AvgSmoothLoss(beta=0.9)
    avg.reset()
    avg.accumulate(4.0, 2)
    avg.accumulate(1.0, 6)
    assert avg.value == pytest.approx((4.0 * 2 + 1.0 * 6) / 8)  # weighted by batch size
    for loss in (1.0, 2.0, 3.0):
        smooth.accumulate(loss)
    expected = (0.1 * 0.9**2 * 1 + 0.1 * 0.9 * 2 + 0.1 * 3) / (1 - 0.9**3)  # bias-corrected EMA
    assert smooth.value == pytest.approx(expected, rel=1e-12)


class FakeRecorder:
    def __init__(self):
        self.metric_names = ["epoch", "train_loss", "valid_loss", "accuracy", "time"]
        self.values = []


class FakeLearner:
    def __init__(self):
        self.recorder = FakeRecorder()


@pytest.mark.parametrize("monitor,comp_is_less", [("valid_loss", True), ("accuracy", False)])
def test_tracker_callback_follows_the_monitored_value(monitor, comp_is_less):
    tracker = TrackerCallback(monitor=monitor, min_delta=0.05)
    tracker.learn = FakeLearner()
    tracker.before_fit()
    assert tracker.best == (math.inf if comp_is_less else -math.inf)
    flags = []
    for valid_loss, accuracy in [(1.0, 0.5), (0.97, 0.53), (0.9, 0.6), (0.95, 0.58), (0.5, 0.9)]:
        tracker.learn.recorder.values.append([1.2, valid_loss, accuracy])
        tracker.after_epoch()
        flags.append(tracker.new_best)
    assert flags == [True, False, True, False, True]  # 0.03 changes are within min_delta
    assert tracker.best == (0.5 if comp_is_less else 0.9)
    tracker.learn.recorder.metric_names = ["epoch", "train_loss", "time"]
    with pytest.raises(ValueError, match="is not recorded"):
        tracker.before_fit()


# ---- schedules, tabular ---------------------------------------------------------------------------------------

def test_sched_functions_by_their_plain_names():
    assert schedule.sched_lin(1.0, 3.0, 0.25) == 1.5
    assert schedule.sched_exp(1.0, 100.0, 0.5) == pytest.approx(10.0)
    assert schedule.sched_no(7.0, 3.0, 0.9) == 7.0
    assert schedule.combined_cos(0.5, 0.0, 1.0, 0.0)(0.5) == pytest.approx(1.0)


def test_mse_loss_flat_flattens_both_sides(rng):
    pred, target = rng.normal(size=(6, 1)).astype(np.float32), rng.normal(size=6).astype(np.float32)
    loss = MSELossFlat()(nnx.tensor(pred), nnx.tensor(target))
    assert loss.item() == pytest.approx(np.mean((pred.ravel() - target) ** 2), rel=1e-6)
    with pytest.raises(ValueError, match="pred has 6 values but target has 5"):
        MSELossFlat()(nnx.tensor(pred), nnx.tensor(target[:5]))


@pytest.mark.parametrize("lin_first", [True, False])
def test_lin_bn_drop_layer_order(lin_first):
    block = LinBnDrop(4, 3, bn=True, p=0.2, act=nn.ReLU(), lin_first=lin_first)
    kinds = [type(layer).__name__ for layer in block]
    if lin_first:
        assert kinds == ["Linear", "ReLU", "BatchNorm1d", "Dropout"] and block[2].num_features == 3
    else:
        assert kinds == ["BatchNorm1d", "Dropout", "Linear", "ReLU"] and block[0].num_features == 4
    assert block[kinds.index("Linear")].bias is None  # batch norm follows or precedes: no bias
    assert [type(layer).__name__ for layer in LinBnDrop(4, 3, bn=False)] == ["Linear"]
    assert LinBnDrop(4, 3, bn=False)[0].bias is not None


def test_tabular_loaders_for_inference_keep_only_the_preprocessing(rng):
    X = {"shop": rng.integers(0, 4, 40), "temp": rng.normal(size=40)}
    dls = TabularDataLoaders.from_arrays(X, rng.normal(size=40).astype(np.float32), bs=8, seed=0)
    inference = TabularDataLoaders.for_inference(dls.proc, bs=16)
    assert inference.proc is dls.proc and inference.bs == 16 and inference.cont_names == dls.cont_names
    assert sum(1 for _ in inference.train) == 0  # no rows of its own
    test = inference.test_dl({"shop": np.array([0, 3]), "temp": np.array([0.5, -1.0])})
    expected = dls.test_dl({"shop": np.array([0, 3]), "temp": np.array([0.5, -1.0])})
    for got, want in zip(next(iter(test)), next(iter(expected))):
        np.testing.assert_array_equal(nnx.as_tensor(got).numpy(), nnx.as_tensor(want).numpy())


# ---- nnx.random.Generator, element-wise predicates, classifier log-probabilities -----------------------------

def test_random_generator_state_round_trip():
    from nnx.random import Generator
    generator = Generator(1234)
    assert generator.initial_seed() == 1234 and generator.get_state() == {"seed": 1234, "counter": 0}
    assert generator.dropout_seed_offset(10) == (1234, 0)  # 10 elements take 3 blocks of 4
    assert generator.dropout_seed_offset(4) == (1234, 3)
    saved = generator.get_state()
    first = generator.dropout_seed_offset(1)
    generator.set_state(saved)
    assert generator.dropout_seed_offset(1) == first  # a restored state replays
    assert generator.manual_seed(7) is generator and generator.get_state() == {"seed": 7, "counter": 0}
    with pytest.raises(ValueError, match="counter"):
        generator.set_state({"seed": 1, "counter": -1})
    new_seed = generator.seed()
    assert generator.initial_seed() == new_seed and generator.get_state()["counter"] == 0


def test_float_predicates_and_clamp_max():
    values = np.array([-np.inf, -1.5, 0.0, 2.0, np.inf, np.nan])
    t = nnx.tensor(values)
    np.testing.assert_array_equal(t.isposinf().numpy(), np.isposinf(values))
    np.testing.assert_array_equal(nnx.isneginf(t).numpy(), np.isneginf(values))
    np.testing.assert_array_equal(t.clamp_max(1.0).numpy()[:4], np.minimum(values, 1.0)[:4])
    assert np.isnan(t.clamp_max(1.0).numpy()[5])  # NaN stays NaN, as in torch
    assert t.is_floating_point() and not nnx.tensor(np.arange(3)).is_floating_point()
    assert nnx.is_floating_point(t)
    np.testing.assert_array_equal(nnx.sgn(nnx.tensor(values[:5])).numpy(), np.sign(values[:5]))
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(nnx.swapdims(nnx.tensor(x), 0, 2).numpy(), np.swapaxes(x, 0, 2))


def test_mlp_classifier_predict_log_proba_is_the_log_of_predict_proba(rng):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from nnx.sklearn import MLPClassifier
    X = rng.normal(size=(60, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.predict_log_proba(X[:7]), np.log(model.predict_proba(X[:7])), rtol=1e-6,
                               atol=1e-7)
