"""Bad input to optimizers, data loaders, Learners and the scikit-learn estimators raises TypeError/ValueError/
IndexError/RuntimeError whose message names the argument, and leaves modules, optimizers and Learners as they were
(the tensor, functional and module API: test_bad_inputs_api.py). One table row per bad input."""
import math
import warnings

import numpy as np
import pytest

import nnx
from nnx import nn, optim
from nnx.data import DataLoader, DataLoaders, TensorDataset
from nnx.learner import Learner

NAN, INF = math.nan, math.inf


def x():
    return nnx.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3), requires_grad=True)


def targets(*values):
    return nnx.tensor(np.array(values, dtype=np.int64))


def param(*shape):
    return nn.Parameter(nnx.ones(*shape))


def small_learner(X=None, y=None):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 4)).astype(np.float32) if X is None else X
    y = rng.integers(0, 3, 32) if y is None else y
    return Learner(DataLoaders.from_arrays(X, y, bs=8), nn.Linear(4, 3), nn.CrossEntropyLoss(), verbose=False)


def fit_one(learn):
    learn.fit(1)


# (id, callable, exception type(s), regex the message must match: it names the argument)
OPTIMIZER_CASES = [
    ("SGD-lr-negative", lambda: optim.SGD([param(3)], lr=-1), ValueError, "Invalid lr"),
    ("SGD-lr-nan", lambda: optim.SGD([param(3)], lr=NAN), ValueError, "Invalid lr"),
    ("SGD-momentum", lambda: optim.SGD([param(3)], lr=0.1, momentum=-1), ValueError, "momentum"),
    ("SGD-nesterov", lambda: optim.SGD([param(3)], lr=0.1, nesterov=True), ValueError, "Nesterov"),
    ("SGD-weight-decay", lambda: optim.SGD([param(3)], lr=0.1, weight_decay=-1), ValueError, "weight_decay"),
    ("Adam-beta1", lambda: optim.Adam([param(3)], betas=(1.0, 0.9)), ValueError, "beta parameter at index 0"),
    ("Adam-beta2-nan", lambda: optim.Adam([param(3)], betas=(0.9, NAN)), ValueError, "beta parameter at index 1"),
    ("Adam-betas-length", lambda: optim.Adam([param(3)], betas=(0.9,)), ValueError, "betas"),
    ("Adam-eps", lambda: optim.Adam([param(3)], eps=-1), ValueError, "eps"),
    ("AdamW-weight-decay", lambda: optim.AdamW([param(3)], weight_decay=-1), ValueError, "weight_decay"),
    ("RMSprop-alpha", lambda: optim.RMSprop([param(3)], lr=0.01, alpha=-1), ValueError, "alpha"),
    ("RMSprop-momentum", lambda: optim.RMSprop([param(3)], lr=0.01, momentum=-1), ValueError, "momentum"),
    ("opt-empty", lambda: optim.Adam([]), ValueError, "empty parameter list"),
    ("opt-tensor", lambda: optim.Adam(param(3)), TypeError, "iterable of Tensors"),
    ("opt-set", lambda: optim.Adam({param(3)}), TypeError, "not a set"),
    ("opt-float-param", lambda: optim.Adam([1.0]), TypeError, "can only optimize Tensors"),
    ("opt-no-grad-param", lambda: optim.Adam([nnx.ones(3)]), ValueError, "require grad"),
    ("opt-non-leaf", lambda: optim.Adam([param(3) * 2]), ValueError, "non-leaf"),
    ("opt-duplicate", lambda: optim.Adam([p := param(3), p]), ValueError, "more than once"),
    ("opt-group-no-params", lambda: optim.Adam([{"lr": 0.1}]), ValueError, "'params'"),
    ("opt-load-state-groups", lambda: optim.Adam([param(3)]).load_state_dict({"state": {}, "param_groups": []}),
     ValueError, "parameter groups"),
    ("opt-load-state-bad", lambda: optim.Adam([param(3)]).load_state_dict([1]), ValueError, "state_dict"),
]

DATA_CASES = [
    ("DataLoader-batch-size-zero", lambda: DataLoader(np.ones((4, 2)), batch_size=0), ValueError, "batch_size"),
    ("DataLoader-batch-size-float", lambda: DataLoader(np.ones((4, 2)), batch_size=2.5), ValueError, "batch_size"),
    ("DataLoader-batch-size-bool", lambda: DataLoader(np.ones((4, 2)), batch_size=True), ValueError, "batch_size"),
    ("DataLoader-lengths", lambda: DataLoader(np.ones((4, 2)), np.ones(3)), ValueError, "X and y have different"),
    ("DataLoader-strings", lambda: DataLoader(np.array([["a"]] * 4), np.ones(4)), TypeError, "X must hold numbers"),
    ("DataLoader-complex", lambda: DataLoader(np.ones((4, 2), complex)), TypeError, "X must hold numbers"),
    ("DataLoader-object-y", lambda: DataLoader(np.ones((4, 2)), np.array([None] * 4)), TypeError,
     "y must hold numbers"),
    ("DataLoader-scalar", lambda: DataLoader(np.float32(1)), TypeError, "X must be an array"),
    ("DataLoader-none", lambda: DataLoader(None), TypeError, "X must be an array"),
    ("DataLoader-seed", lambda: DataLoader(np.ones((4, 2)), seed=-1), ValueError, "seed"),
    ("TensorDataset-lengths", lambda: TensorDataset(np.ones((4, 2)), np.ones(3)), ValueError, "arrays\\[1\\]"),
    ("TensorDataset-empty", lambda: TensorDataset(), ValueError, "at least one array"),
    ("DataLoaders-train-none", lambda: DataLoaders(None), ValueError, "train"),
    ("DataLoaders-y_valid-only", lambda: DataLoaders.from_arrays(np.ones((4, 2)), np.ones(4), y_valid=np.ones(2)),
     ValueError, "y_valid"),
]

LEARNER_CASES = [
    ("Learner-model", lambda: Learner(small_learner().dls, None, nn.CrossEntropyLoss()), TypeError, "model"),
    ("Learner-dls", lambda: Learner(np.ones((4, 4)), nn.Linear(4, 3), nn.CrossEntropyLoss()), TypeError, "dls"),
    ("Learner-loss", lambda: Learner(small_learner().dls, nn.Linear(4, 3), 3), TypeError, "loss_func"),
    ("Learner-opt", lambda: Learner(small_learner().dls, nn.Linear(4, 3), nn.MSELoss(), opt_func=1), TypeError,
     "opt_func"),
    ("Learner-metrics", lambda: Learner(small_learner().dls, nn.Linear(4, 3), nn.MSELoss(), metrics=3), TypeError,
     "metrics"),
    ("Learner-no-loss", lambda: Learner(small_learner().dls, nn.Linear(4, 3)), TypeError, "loss_func is required"),
    ("Learner-wd_bn_bias", lambda: Learner(small_learner().dls, nn.Linear(4, 3), nn.MSELoss(), wd_bn_bias=False),
     NotImplementedError, "wd_bn_bias"),
    ("Learner-callback", lambda: small_learner().add_cb(3), TypeError, "callbacks must be Callback"),
    ("fit-zero-epochs", lambda: small_learner().fit(0), ValueError, "n_epoch"),
    ("fit-float-epochs", lambda: small_learner().fit(1.5), ValueError, "n_epoch"),
    ("fit-start-epoch", lambda: small_learner().fit(2, start_epoch=2), ValueError, "start_epoch"),
    ("fit-lr-negative", lambda: small_learner().fit(1, lr=-1), ValueError, "lr must be a finite number"),
    ("fit-lr-str", lambda: small_learner().fit(1, lr="a"), TypeError, "lr must be a number"),
    ("fit-wd-nan", lambda: small_learner().fit(1, wd=NAN), ValueError, "wd must be a finite number"),
    ("fit-lr-slice-step", lambda: small_learner().fit(1, lr=slice(1e-3, 1e-2, 2)), ValueError, "lr as a slice"),
    ("fit_one_cycle-pct", lambda: small_learner().fit_one_cycle(1, pct_start=2), ValueError, "pct_start"),
    ("fit_one_cycle-div", lambda: small_learner().fit_one_cycle(1, div=0), ValueError, "div"),
    ("fit_one_cycle-moms", lambda: small_learner().fit_one_cycle(1, moms=(0.9, 1.2, 0.9)), ValueError, "mom"),
    ("lr_find-range", lambda: small_learner().lr_find(start_lr=10, end_lr=1e-3), ValueError, "start_lr < end_lr"),
    ("freeze_to-range", lambda: small_learner().freeze_to(5), ValueError, "freeze_to"),
    ("fit-targets-out-of-range", lambda: fit_one(small_learner(y=np.full(32, 5))), IndexError,
     "target must hold class indices in \\[0, 3\\)"),
    # A plain DataLoader keeps float64 (PyTorch's rule; DataLoaders.from_arrays converts it to float32).
    ("fit-float64-data", lambda: fit_one(Learner(DataLoaders(DataLoader(np.ones((32, 4)),
     np.zeros(32, np.int64), batch_size=8)), nn.Linear(4, 3), nn.CrossEntropyLoss(), verbose=False)), TypeError,
     "dtype"),
    ("predict-features", lambda: small_learner().predict(np.ones((3, 5), np.float32)), ValueError, "in_features=4"),
    ("predict-strings", lambda: small_learner().predict(np.array([["a"] * 4])), TypeError, "X must hold numbers"),
    ("predict-empty", lambda: small_learner().predict(np.zeros((0, 4))), ValueError, "X must be a non-empty"),
    ("predict-scalar", lambda: small_learner().predict(np.float32(1)), ValueError, "X must be a non-empty"),
    ("get_preds-no-valid", lambda: Learner((small_learner().dls.train, None), nn.Linear(4, 3),
                                           nn.CrossEntropyLoss(), verbose=False).get_preds(), ValueError, "dl"),
    ("save-directory", lambda: small_learner().save("/"), IsADirectoryError, "directory"),
]


def _estimator(kind, **params):
    sklearn = pytest.importorskip("nnx.sklearn")
    return getattr(sklearn, kind)(max_iter=3, **params)


def _xy(n=40, features=5, classes=2):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, features))
    return X, rng.integers(0, classes, n)


def _fit(kind, X=None, y=None, **params):
    from sklearn.exceptions import ConvergenceWarning
    X0, y0 = _xy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=3 is meant to stop early
        return _estimator(kind, **params).fit(X0 if X is None else X, y0 if y is None else y)


def _with(array, index, value):
    array = np.array(array, dtype=np.float64)
    array[index] = value
    return array


ESTIMATOR_CASES = [
    ("clf-nan-X", lambda: _fit("MLPClassifier", X=_with(_xy()[0], (3, 2), NAN)), ValueError, "Input X contains NaN"),
    ("clf-inf-X", lambda: _fit("MLPClassifier", X=_with(_xy()[0], (3, 2), INF)), ValueError, "Input X contains inf"),
    ("reg-nan-y", lambda: _fit("MLPRegressor", y=_with(_xy()[1], 3, NAN)), ValueError, "Input y contains NaN"),
    ("clf-strings", lambda: _fit("MLPClassifier", X=np.array([["a"] * 5] * 40)), ValueError, "could not convert"),
    ("clf-complex", lambda: _fit("MLPClassifier", X=_xy()[0].astype(complex)), ValueError, "Complex data"),
    ("clf-empty", lambda: _fit("MLPClassifier", X=np.zeros((0, 5)), y=np.zeros(0)), ValueError, "0 sample"),
    ("clf-lengths", lambda: _fit("MLPClassifier", y=_xy()[1][:20]), ValueError, "inconsistent numbers of samples"),
    ("clf-3d", lambda: _fit("MLPClassifier", X=_xy()[0].reshape(40, 5, 1)), ValueError, "dim 3"),
    ("clf-alpha", lambda: _fit("MLPClassifier", alpha=-1), ValueError, "'alpha' parameter"),
    ("clf-lr", lambda: _fit("MLPClassifier", learning_rate_init=0), ValueError, "'learning_rate_init'"),
    ("clf-hidden-zero", lambda: _fit("MLPClassifier", hidden_layer_sizes=(0,)), ValueError, "hidden_layer_sizes"),
    ("clf-batch-size", lambda: _fit("MLPClassifier", batch_size=0), ValueError, "'batch_size'"),
    ("clf-solver", lambda: _fit("MLPClassifier", solver="newton"), ValueError, "'solver'"),
    ("clf-predict-features", lambda: _fit("MLPClassifier").predict(np.ones((2, 3))), ValueError, "3 features"),
    ("clf-predict-nan", lambda: _fit("MLPClassifier").predict(_with(np.ones((2, 5)), (0, 0), NAN)), ValueError,
     "Input X contains NaN"),
    ("clf-unfitted", lambda: _estimator("MLPClassifier").predict(np.ones((2, 5))), Exception, "not fitted"),
    # float32 X trains in float32 (scikit-learn's dtype rule), where these values overflow within three epochs;
    # float64 training needs values near its own range to diverge that fast
    ("reg-divergence", lambda: _fit("MLPRegressor", X=_xy()[0].astype(np.float32) * 100, y=_xy()[0][:, 0] * 1e8,
                                    solver="sgd", learning_rate_init=10.0, momentum=0.9), ValueError, "non-finite"),
    ("reg-divergence-float64", lambda: _fit("MLPRegressor", X=_xy()[0] * 1e100, y=_xy()[0][:, 0] * 1e200,
                                            solver="sgd", learning_rate_init=10.0, momentum=0.9), ValueError,
     "non-finite"),
]

ALL_CASES = OPTIMIZER_CASES + DATA_CASES + LEARNER_CASES + ESTIMATOR_CASES


@pytest.mark.parametrize("function, error, match", [case[1:] for case in ALL_CASES], ids=[c[0] for c in ALL_CASES])
def test_bad_input_raises_a_clear_error(function, error, match):
    with pytest.raises(error, match=match):
        function()


def test_every_bad_input_case_id_is_unique():
    ids = [case[0] for case in ALL_CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 80


# ---- nothing is left half-updated ----

def snapshot(module):
    return [(k, v.numpy().copy()) for k, v in module.state_dict().items()]


def assert_unchanged(module, before):
    for (key, value), (key_before, value_before) in zip(snapshot(module), before, strict=True):
        assert key == key_before
        np.testing.assert_array_equal(value, value_before, err_msg=key)


def test_a_failed_forward_leaves_the_module_and_its_gradients_alone():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.LayerNorm(4), nn.Linear(4, 2))
    before = snapshot(model)
    for bad in (nnx.ones(2, 5), nnx.tensor([[1, 2, 3]]), nnx.ones(2, 3, dtype=np.float64)):
        with pytest.raises((TypeError, ValueError)):
            model(bad).sum().backward()
    assert_unchanged(model, before)
    assert all(p.grad is None for p in model.parameters())


def test_a_refused_batch_norm_input_leaves_its_statistics_alone():
    bn = nn.BatchNorm1d(3)
    before = snapshot(bn)
    for bad in (nnx.randn(1, 3), nnx.tensor([[1, 2, 3], [4, 5, 6]])):
        with pytest.raises((TypeError, ValueError)):
            bn(bad)
    assert_unchanged(bn, before)


def test_a_refused_sgd_step_changes_no_parameter():
    a, b = param(3), param(3)
    opt = optim.SGD([a, b], lr=0.1)
    a.grad = nnx.ones(3)
    b._grad = nnx.Tensor._wrap(np.ones(4, np.float32))  # a gradient of the wrong shape (set behind the checks)
    with pytest.raises(ValueError, match=r"grads\[1\] must have the shape of params\[1\]"):
        opt.step()
    np.testing.assert_array_equal(a.numpy(), np.ones(3))


def test_a_refused_adam_step_leaves_the_optimizer_state_alone():
    a, b = param(3), param(3)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = nnx.ones(3)
    b._grad = nnx.Tensor._wrap(np.ones(4, np.float32))  # a gradient of the wrong shape (set behind the checks)
    with pytest.raises(ValueError, match="grads"):
        opt.step()
    assert all("step" not in state for state in opt.state.values())


@pytest.mark.parametrize("lr", ["0.1", None, INF])
def test_optimizer_names_a_non_numeric_or_infinite_lr(lr):
    with pytest.raises((TypeError, ValueError), match="lr"):
        optim.SGD([param(3)], lr=lr)


def test_a_fit_refused_at_its_first_batch_leaves_learner_model_and_optimizer_alone():
    learn = small_learner(y=np.full(32, 5))  # every target out of range
    before = snapshot(learn.model)
    with pytest.raises(IndexError, match="target"):
        learn.fit(1)
    assert_unchanged(learn.model, before)
    assert not learn.opt.state and not learn.training and learn.recorder.losses == []
    learn.dls = small_learner().dls
    learn.fit(1)  # and it trains once given good data
    assert len(learn.recorder.losses) == 4
