"""Adagrad, Adadelta, Adamax, NAdam, RAdam (PyTorch's update rules): 20-step trajectories against float64 NumPy
references of each rule (more_optimizer_rules.py; torch-free, run in CI) and against torch.optim when torch is
importable; defaults, bad hyperparameters, state_dict round trips, LR schedulers, one native call per group, and the
same on a device (the native kernels: test_more_optimizer_kernels.py; Lookahead and ranger: test_lookahead.py)."""
import copy

import numpy as np
import pytest
from more_optimizer_rules import (
    CASES,
    ReferenceAdadelta,
    ReferenceAdagrad,
    ReferenceAdamax,
    ReferenceNAdam,
    ReferenceRAdam,
    case_id,
    make_grads,
    make_params,
    run_nnx,
    run_reference,
)

import nnx
from helpers import FLOAT_DTYPES, assert_close, random_array
from nnx import _C, optim


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
        optim.Adagrad: dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                            maximize=False),
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


# --- the optimizers as a whole ----------------------------------------------------------------------------------------
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


# --- on a device (the CUDA twins through nnx.native.cuda; tests/fake_cuda without a GPU) ------------------------------
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
                    "state": {i: {name: value.numpy() for name, value in s.items()}
                              for i, s in saved["state"].items()}})
            for p, g in zip(torch_params, step_grads):
                p.grad = torch.tensor(g.copy())
            torch_optimizer.step()
            if k >= 6:
                run_nnx(optimizer, params, [step_grads])
    finally:
        torch.set_default_dtype(previous)
    for p, t in zip(params, torch_params):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-11, atol=1e-13)
