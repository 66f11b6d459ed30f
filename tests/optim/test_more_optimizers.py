"""Adagrad, Adadelta, Adamax, NAdam, RAdam (PyTorch's update rules) and fastai's Lookahead / ranger: 20-step
trajectories against float64 NumPy references of each rule (torch-free, run in CI) and against torch.optim when
torch is importable; the native kernels (_C.*_step) directly against the references in float32 and float64;
state_dict round trips, LR schedulers, one native call per group."""
import copy

import numpy as np
import pytest
from helpers import FLOAT_DTYPES, assert_close, random_array

import nnx
from nnx import _C, optim

SHAPES = [(1,), (17,), (5, 3), (33_001,)]  # one element, odd sizes, above the OpenMP threshold
STEPS = 20


# --- float64 NumPy references, written from torch.optim's documented algorithms ----------------------------------
class Reference:
    """One optimizer's rule over a list of parameters; update(i, theta, g) returns the new theta."""

    def __init__(self, **options):
        self.__dict__.update(self.defaults, **options)
        self.state = {}

    def grad(self, theta, g):
        g = -g if self.maximize else g
        return g + self.weight_decay * theta if self.weight_decay and not self.decoupled() else g

    def decoupled(self):
        return getattr(self, "decoupled_weight_decay", False)

    def update(self, i, theta, g):
        state = self.state.setdefault(i, {"step": 0})
        state["step"] += 1
        if self.decoupled():
            theta = theta * (1 - self.lr * self.weight_decay)
        return self.rule(state, state["step"], theta, self.grad(theta, g))


class ReferenceAdagrad(Reference):
    defaults = dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=False)

    def rule(self, s, t, theta, g):
        s.setdefault("sum", np.full_like(theta, self.initial_accumulator_value))
        clr = self.lr / (1 + (t - 1) * self.lr_decay)
        s["sum"] = s["sum"] + g * g
        return theta - clr * g / (np.sqrt(s["sum"]) + self.eps)


class ReferenceAdadelta(Reference):
    defaults = dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False)

    def rule(self, s, t, theta, g):
        v, u = s.setdefault("square_avg", np.zeros_like(theta)), s.setdefault("acc_delta", np.zeros_like(theta))
        v = self.rho * v + (1 - self.rho) * g * g
        delta = np.sqrt(u + self.eps) / np.sqrt(v + self.eps) * g
        s["square_avg"], s["acc_delta"] = v, self.rho * u + (1 - self.rho) * delta * delta
        return theta - self.lr * delta


class ReferenceAdamax(Reference):
    defaults = dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False)

    def rule(self, s, t, theta, g):
        b1, b2 = self.betas
        m = b1 * s.get("exp_avg", 0) + (1 - b1) * g
        u = np.maximum(b2 * s.get("exp_inf", np.zeros_like(theta)), np.abs(g) + self.eps)
        s["exp_avg"], s["exp_inf"] = m, u
        return theta - self.lr / (1 - b1 ** t) * m / u


class ReferenceNAdam(Reference):
    defaults = dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                    decoupled_weight_decay=False, maximize=False)

    def rule(self, s, t, theta, g):
        b1, b2 = self.betas
        mu = b1 * (1 - 0.5 * 0.96 ** (t * self.momentum_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * self.momentum_decay))
        s["mu_product"] = s.get("mu_product", 1.0) * mu
        m = b1 * s.get("exp_avg", 0) + (1 - b1) * g
        v = b2 * s.get("exp_avg_sq", 0) + (1 - b2) * g * g
        s["exp_avg"], s["exp_avg_sq"] = m, v
        denom = np.sqrt(v / (1 - b2 ** t)) + self.eps
        theta = theta - self.lr * (1 - mu) / (1 - s["mu_product"]) * g / denom
        return theta - self.lr * mu_next / (1 - s["mu_product"] * mu_next) * m / denom


class ReferenceRAdam(Reference):
    defaults = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                    maximize=False)

    def rule(self, s, t, theta, g):
        b1, b2 = self.betas
        m = b1 * s.get("exp_avg", 0) + (1 - b1) * g
        v = b2 * s.get("exp_avg_sq", 0) + (1 - b2) * g * g
        s["exp_avg"], s["exp_avg_sq"] = m, v
        m_hat = m / (1 - b1 ** t)
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t <= 5:
            return theta - self.lr * m_hat
        rect = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        adaptive = np.sqrt(1 - b2 ** t) / (np.sqrt(v) + self.eps)
        return theta - self.lr * m_hat * adaptive * rect


CASES = [
    (optim.Adagrad, ReferenceAdagrad, {}),
    (optim.Adagrad, ReferenceAdagrad, dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3)),
    (optim.Adagrad, ReferenceAdagrad, dict(lr=0.05, maximize=True, eps=1e-6)),
    (optim.Adadelta, ReferenceAdadelta, {}),
    (optim.Adadelta, ReferenceAdadelta, dict(lr=0.5, rho=0.7, weight_decay=0.1, maximize=True)),
    (optim.Adamax, ReferenceAdamax, {}),
    (optim.Adamax, ReferenceAdamax, dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1, maximize=True)),
    (optim.NAdam, ReferenceNAdam, {}),
    (optim.NAdam, ReferenceNAdam, dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    (optim.NAdam, ReferenceNAdam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    (optim.RAdam, ReferenceRAdam, {}),
    (optim.RAdam, ReferenceRAdam, dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1)),  # rectified from step 3
    (optim.RAdam, ReferenceRAdam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]


def case_id(case):
    return case[0].__name__ + "-" + ",".join(f"{k}={v}" for k, v in case[2].items())


def make_params(rng, dtype):
    return [nnx.tensor(random_array(rng, shape, dtype), requires_grad=True) for shape in SHAPES]


def make_grads(rng, steps=STEPS):
    return [[rng.standard_normal(shape) for shape in SHAPES] for _ in range(steps)]


def run_nnx(optimizer, params, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = nnx.tensor(g.astype(p.numpy().dtype))
        optimizer.step()


def run_reference(reference, thetas, grads):
    thetas = [t.astype(np.float64) for t in thetas]
    for step_grads in grads:
        thetas = [reference.update(i, theta, g) for i, (theta, g) in enumerate(zip(thetas, step_grads))]
    return thetas


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_against_numpy_reference(rng, case, dtype):
    optimizer_class, reference_class, options = case
    params = make_params(rng, dtype)
    grads = make_grads(rng)
    expected = run_reference(reference_class(**options), [p.numpy() for p in params], grads)
    run_nnx(optimizer_class(params, **options), params, grads)
    for p, e in zip(params, expected):
        assert_close(p.numpy(), e, dtype, scale=20)  # float32: 20 steps of rounding


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_against_torch(rng, case):
    torch = pytest.importorskip("torch")
    optimizer_class, _, options = case
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # NAdam's mu_product is a tensor of the default dtype
    try:
        params = make_params(rng, np.float64)
        torch_params = [torch.tensor(p.numpy().copy(), requires_grad=True) for p in params]
        grads = make_grads(rng)
        run_nnx(optimizer_class(params, **options), params, grads)
        torch_optimizer = getattr(torch.optim, optimizer_class.__name__)(torch_params, **options)
        for step_grads in grads:
            for p, g in zip(torch_params, step_grads):
                p.grad = torch.tensor(g.copy())
            torch_optimizer.step()
    finally:
        torch.set_default_dtype(previous)
    for p, t in zip(params, torch_params):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-11, atol=1e-13)


def test_defaults_are_pytorchs():
    p = [nnx.tensor(np.zeros(2), requires_grad=True)]
    expected = {
        optim.Adagrad: dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=False),
        optim.Adadelta: dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False),
        optim.Adamax: dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False),
        optim.NAdam: dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                          decoupled_weight_decay=False, maximize=False),
        optim.RAdam: dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                          maximize=False),
    }
    for optimizer_class, defaults in expected.items():
        assert optimizer_class(p).defaults == defaults


@pytest.mark.parametrize("optimizer_class,options,message", [
    (optim.Adagrad, dict(lr_decay=-1), "lr_decay"),
    (optim.Adagrad, dict(initial_accumulator_value=-0.1), "initial_accumulator_value"),
    (optim.Adadelta, dict(rho=1.5), "rho"),
    (optim.Adamax, dict(betas=(1.0, 0.9)), "betas"),
    (optim.NAdam, dict(momentum_decay=-1), "momentum_decay"),
    (optim.RAdam, dict(eps=float("nan")), "eps"),
    (optim.RAdam, dict(differentiable=True), "differentiable"),
])
def test_bad_hyperparameters_are_named(optimizer_class, options, message):
    with pytest.raises((ValueError, TypeError), match=message):
        optimizer_class([nnx.tensor(np.zeros(2), requires_grad=True)], **options)


# --- the native kernels directly --------------------------------------------------------------------------------
KERNELS = {  # function -> (state list names, reference class, state names in the reference, takes a step)
    "adagrad_step": (["state_sums"], ReferenceAdagrad, ["sum"], True),
    "adadelta_step": (["square_avgs", "acc_deltas"], ReferenceAdadelta, ["square_avg", "acc_delta"], False),
    "adamax_step": (["exp_avgs", "exp_infs"], ReferenceAdamax, ["exp_avg", "exp_inf"], True),
    "nadam_step": (["exp_avgs", "exp_avg_sqs"], ReferenceNAdam, ["exp_avg", "exp_avg_sq"], True),
    "radam_step": (["exp_avgs", "exp_avg_sqs"], ReferenceRAdam, ["exp_avg", "exp_avg_sq"], True),
}
KERNEL_OPTIONS = [
    ("adagrad_step", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1)),
    ("adadelta_step", dict(lr=0.5, rho=0.7, weight_decay=0.1, maximize=True)),
    ("adamax_step", dict(lr=0.01, beta1=0.5, beta2=0.9, weight_decay=0.1)),
    ("nadam_step", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("nadam_step", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01, maximize=True)),
    ("radam_step", dict(lr=0.01, beta1=0.5, beta2=0.9, weight_decay=0.1)),
    ("radam_step", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
]


def reference_options(options):
    """A kernel's keyword options as the reference optimizer's (betas as a pair)."""
    options = dict(options)
    if "beta1" in options:
        options["betas"] = (options.pop("beta1"), options.pop("beta2"))
    return options


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("function,options", KERNEL_OPTIONS, ids=lambda x: x if isinstance(x, str) else "")
def test_kernel_against_numpy_reference(rng, function, options, dtype):
    lists, reference_class, state_names, stepped = KERNELS[function]
    shapes = [(1,), (3,), (17,), (10, 25), (33_001,), (0,)]
    params = [random_array(rng, shape, dtype) for shape in shapes]
    states = {name: [np.zeros(shape, dtype) for shape in shapes] for name in lists}
    reference = reference_class(**reference_options(options))
    thetas = [p.astype(np.float64) for p in params]
    mu_product = 1.0
    for step in range(1, 6):
        grads = [random_array(rng, shape, dtype) for shape in shapes]
        thetas = [reference.update(i, theta, g.astype(np.float64)) for i, (theta, g) in enumerate(zip(thetas, grads))]
        kwargs = dict(options, **states)
        if stepped:
            kwargs["step"] = step
        if function == "nadam_step":
            mu_product *= 0.9 * (1 - 0.5 * 0.96 ** (step * options.get("momentum_decay", 4e-3)))
            kwargs["mu_product"] = mu_product
        getattr(_C, function)(params, grads, **kwargs)
    for i, (p, theta) in enumerate(zip(params, thetas)):
        assert_close(p, theta, dtype, scale=10)
        for list_name, state_name in zip(lists, state_names):
            assert_close(states[list_name][i], reference.state[i][state_name], dtype, scale=10)


@pytest.mark.parametrize("function", sorted(KERNELS))
def test_kernel_refuses_bad_arrays(function):
    lists, _, _, stepped = KERNELS[function]
    params = [np.zeros(3, np.float32)]
    extra = dict(step=1) if stepped else {}
    if function == "nadam_step":
        extra["mu_product"] = 0.5
    states = {name: [np.zeros(3, np.float32)] for name in lists}
    with pytest.raises(TypeError, match=r"grads\[0\]"):
        getattr(_C, function)(params, [np.zeros(3, np.float64)], **states, **extra)
    with pytest.raises(ValueError, match=lists[0]):
        getattr(_C, function)(params, [np.zeros(3, np.float32)], **dict(states, **{lists[0]: [np.zeros(4, np.float32)]}),
                              **extra)
    with pytest.raises(ValueError, match="must not share memory"):
        getattr(_C, function)(params, [np.zeros(3, np.float32)], **dict(states, **{lists[0]: params}), **extra)
    if stepped:
        with pytest.raises(ValueError, match="step"):
            getattr(_C, function)(params, [np.zeros(3, np.float32)], **states, **dict(extra, step=0))


# --- the optimizers as a whole ----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES[::2], ids=case_id)
def test_state_dict_round_trip(rng, case):
    """10 steps, state_dict() copied as NumPy arrays into a new optimizer, 10 more steps: as 20 in one go."""
    optimizer_class, _, options = case
    params = make_params(rng, np.float64)
    twins = [nnx.tensor(p.numpy().copy(), requires_grad=True) for p in params]
    grads = make_grads(rng)
    optimizer = optimizer_class(params, **options)
    run_nnx(optimizer, params, grads)
    first = optimizer_class(twins, **options)
    run_nnx(first, twins, grads[:10])
    saved = first.state_dict()
    saved = {"param_groups": copy.deepcopy(saved["param_groups"]),
             "state": {i: {k: (v.numpy().copy() if isinstance(v, nnx.Tensor) else v) for k, v in s.items()}
                       for i, s in saved["state"].items()}}
    resumed = optimizer_class(twins, **options)
    resumed.load_state_dict(saved)
    run_nnx(resumed, twins, grads[10:])
    for p, q in zip(params, twins):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    assert set(resumed.state_dict()["state"][0]) == set(optimizer.state_dict()["state"][0])


@pytest.mark.parametrize("optimizer_class", [optim.Adagrad, optim.Adadelta, optim.Adamax, optim.NAdam, optim.RAdam])
def test_lr_scheduler_drives_them(rng, optimizer_class):
    params = make_params(rng, np.float64)
    optimizer = optimizer_class(params, lr=0.01)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    reference = {optim.Adagrad: ReferenceAdagrad, optim.Adadelta: ReferenceAdadelta, optim.Adamax: ReferenceAdamax,
                 optim.NAdam: ReferenceNAdam, optim.RAdam: ReferenceRAdam}[optimizer_class](lr=0.01)
    thetas = [p.numpy().copy() for p in params]
    for epoch, step_grads in enumerate(make_grads(rng, 9)):
        reference.lr = 0.01 * 0.5 ** (epoch // 3)
        thetas = [reference.update(i, t, g) for i, (t, g) in enumerate(zip(thetas, step_grads))]
        run_nnx(optimizer, params, [step_grads])
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01 * 0.125)
    for p, t in zip(params, thetas):
        np.testing.assert_allclose(p.numpy(), t, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("optimizer_class,function", [
    (optim.Adagrad, "adagrad_step"), (optim.Adadelta, "adadelta_step"), (optim.Adamax, "adamax_step"),
    (optim.NAdam, "nadam_step"), (optim.RAdam, "radam_step")])
def test_step_is_one_native_call_per_group(rng, monkeypatch, optimizer_class, function):
    module = __import__(optimizer_class.__module__, fromlist=["_C"])
    if not hasattr(module, "_C"):  # its steps are planned by nnx.optim.stepping.plan_stepped
        module = __import__("nnx.optim.stepping", fromlist=["_C"])
    calls = []
    native = getattr(_C, function)

    class CountingC:
        def __getattr__(self, name):
            def counted(*args, **kwargs):
                calls.append(name)
                return native(*args, **kwargs)
            return counted if name == function else getattr(_C, name)

    monkeypatch.setattr(module, "_C", CountingC())
    params = make_params(rng, np.float32)
    optimizer = optimizer_class([{"params": params[:3]}, {"params": params[3:]}], lr=0.01)
    run_nnx(optimizer, params, make_grads(rng, 3))
    assert calls == [function] * 6


def test_parameter_joining_later_gets_its_own_step(rng):
    """A parameter without a gradient at first starts its own count (one more native call while they differ)."""
    params = make_params(rng, np.float64)
    grads = make_grads(rng, 4)
    optimizer = optim.NAdam(params, lr=0.01)
    reference = ReferenceNAdam(lr=0.01)
    thetas = [p.numpy().copy() for p in params]
    for k, step_grads in enumerate(grads):
        active = range(len(params)) if k >= 2 else range(1, len(params))
        for i, p in enumerate(params):
            p.grad = nnx.tensor(step_grads[i]) if i in active else None
        optimizer.step()
        for i in active:
            thetas[i] = reference.update(i, thetas[i], step_grads[i])
    assert optimizer.state[params[0]]["step"] == 2 and optimizer.state[params[1]]["step"] == 4
    for p, t in zip(params, thetas):
        np.testing.assert_allclose(p.numpy(), t, rtol=1e-12, atol=1e-13)


# --- Lookahead and ranger ---------------------------------------------------------------------------------------
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


# --- on a device (the CUDA twins through nnx.native.cuda; tests/fake_cuda without a GPU) ----------------------
@pytest.mark.parametrize("make", [
    lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
    lambda ps: optim.Adadelta(ps, weight_decay=0.1),
    lambda ps: optim.Adamax(ps, lr=0.01),
    lambda ps: optim.NAdam(ps, lr=0.01, decoupled_weight_decay=True, weight_decay=0.1),
    lambda ps: optim.ranger(ps, lr=0.01, k=3),
], ids=["adagrad", "adadelta", "adamax", "nadam", "ranger"])
def test_on_a_device_as_on_the_cpu(device, rng, make):
    values = [random_array(rng, shape, np.float32) for shape in [(4, 3), (3,), (1,)]]
    grads = [[random_array(rng, v.shape, np.float32) for v in values] for _ in range(8)]
    results = {}
    for where in ("cpu", device):
        params = [nnx.tensor(v.copy(), requires_grad=True, device=where) for v in values]
        optimizer = make(params)
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad = nnx.tensor(g.copy(), device=where)
            optimizer.step()
        results[where] = [p.cpu().numpy() for p in params]
        for state in optimizer.state.values():
            for value in state.values():
                if isinstance(value, nnx.Tensor):
                    assert value.device == params[0].device
    for on_device, on_cpu in zip(results[device], results["cpu"]):
        np.testing.assert_allclose(on_device, on_cpu, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", [CASES[1], CASES[4], CASES[6], CASES[9], CASES[12]], ids=case_id)
def test_resumes_from_a_torch_state_dict(rng, case):
    """torch's state (0-d tensors for step and NAdam's mu_product) as NumPy loads and continues as torch does."""
    torch = pytest.importorskip("torch")
    optimizer_class, _, options = case
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        params = make_params(rng, np.float64)
        torch_params = [torch.tensor(p.numpy().copy(), requires_grad=True) for p in params]
        torch_optimizer = getattr(torch.optim, optimizer_class.__name__)(torch_params, **options)
        grads = make_grads(rng, 12)
        for k, step_grads in enumerate(grads):
            if k == 6:
                for p, t in zip(params, torch_params):
                    p._data[...] = t.detach().numpy()
                saved = torch_optimizer.state_dict()
                optimizer = optimizer_class(params, **options)
                optimizer.load_state_dict({
                    "param_groups": [{k: v for k, v in g.items() if k in optimizer.defaults or k == "params"}
                                     for g in saved["param_groups"]],
                    "state": {i: {name: value.numpy() for name, value in s.items()} for i, s in saved["state"].items()}})
            for p, g in zip(torch_params, step_grads):
                p.grad = torch.tensor(g.copy())
            torch_optimizer.step()
            if k >= 6:
                run_nnx(optimizer, params, [step_grads])
    finally:
        torch.set_default_dtype(previous)
    for p, t in zip(params, torch_params):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-11, atol=1e-13)
