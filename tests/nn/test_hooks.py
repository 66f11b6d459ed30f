"""Module hooks (nn/hooks.py): forward pre-hooks, forward hooks, full backward hooks and backward pre-hooks. Each
scenario runs the same code on nnx and, where installed, on torch, and logs every hook call with its arguments;
the logs (call order, argument values, the effect of returned replacements, removal) and the gradients must match.
Without torch the nnx logs are checked against what PyTorch's documentation specifies."""
import warnings

import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.utils.hooks import RemovableHandle


class Lib:
    """The few names a scenario needs, for nnx or torch."""

    def __init__(self, name):
        if name == "torch":
            torch = pytest.importorskip("torch")
            self.nn, self.tensor = torch.nn, lambda a, grad=False: torch.tensor(a, requires_grad=grad)
        else:
            self.nn, self.tensor = nn, lambda a, grad=False: nnx.tensor(a, requires_grad=grad)
        self.name = name


def as_numpy(value):
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        return tuple(as_numpy(v) for v in value)
    return np.array(value.detach().numpy(), copy=True)


def set_params(module, lib, seed):
    rng = np.random.default_rng(seed)
    for param in module.parameters():
        values = rng.standard_normal(tuple(param.shape)).astype(np.float32)
        if lib.name == "torch":
            import torch
            with torch.no_grad():
                param.copy_(torch.from_numpy(values))
        else:
            param.data.numpy()[...] = values


def scenario_forward(lib, seed):
    """Pre-hooks and forward hooks: order (prepend), with_kwargs, replacement of args and output, removal."""
    log = []
    layer = lib.nn.Linear(3, 2)
    set_params(layer, lib, seed)
    x = np.random.default_rng(seed + 1).standard_normal((4, 3)).astype(np.float32)
    handles = [
        layer.register_forward_pre_hook(lambda m, args: log.append(("pre1", as_numpy(args))) or (args[0] * 2,)),
        layer.register_forward_pre_hook(lambda m, args: log.append(("pre0", as_numpy(args))), prepend=True),
        layer.register_forward_pre_hook(lambda m, args, kw: log.append(("prekw", as_numpy(args), sorted(kw))),
                                        with_kwargs=True),
        layer.register_forward_hook(lambda m, args, out: log.append(("fwd1", as_numpy(args), as_numpy(out)))
                                    or out + 1),
        layer.register_forward_hook(lambda m, args, out: log.append(("fwd0", as_numpy(out))), prepend=True),
        layer.register_forward_hook(lambda m, args, kw, out: log.append(("fwdkw", as_numpy(out), sorted(kw))),
                                    with_kwargs=True),
    ]
    log.append(("result", as_numpy(layer(lib.tensor(x)))))
    handles[0].remove()
    handles[3].remove()
    handles[3].remove()  # a second remove does nothing
    log.append(("result after removal", as_numpy(layer(lib.tensor(x)))))
    with layer.register_forward_hook(lambda m, args, out: log.append(("ctx", as_numpy(out)))):
        layer(lib.tensor(x))
    layer(lib.tensor(x))
    return log


def scenario_backward(lib, seed):
    """Full backward hooks and backward pre-hooks: arguments, grad_output replacement, grad_input replacement."""
    log = []
    layer = lib.nn.Linear(3, 2)
    set_params(layer, lib, seed)
    x = lib.tensor(np.random.default_rng(seed + 1).standard_normal((4, 3)).astype(np.float32), grad=True)
    layer.register_full_backward_pre_hook(lambda m, go: log.append(("bpre", as_numpy(go))) or (go[0] * 2,))
    layer.register_full_backward_hook(lambda m, gi, go: log.append(("bwd1", as_numpy(gi), as_numpy(go)))
                                      or (gi[0] * 3,))
    layer.register_full_backward_hook(lambda m, gi, go: log.append(("bwd0", as_numpy(gi), as_numpy(go))),
                                      prepend=True)
    layer.register_full_backward_hook(lambda m, gi, go: log.append(("bwd2", as_numpy(gi))))
    (layer(x) ** 2).sum().backward()
    log.append(("x.grad", as_numpy(x.grad)))
    log.append(("weight.grad", as_numpy(layer.weight.grad)))
    return log


def scenario_two_inputs(lib, seed):
    class Mul(lib.nn.Module):
        def forward(self, a, scale, b):
            return a * b * scale, a + b

    log = []
    module = Mul()
    rng = np.random.default_rng(seed)
    a = lib.tensor(rng.standard_normal((2, 3)).astype(np.float32), grad=True)
    b = lib.tensor(rng.standard_normal((2, 3)).astype(np.float32), grad=True)
    module.register_full_backward_hook(lambda m, gi, go: log.append(("bwd", as_numpy(gi), as_numpy(go)))
                                       or (gi[0] * 2, None, gi[2]))
    product, total = module(a, 3.0, b)
    (product.sum() + (total ** 2).sum()).backward()
    log.append(("grads", as_numpy(a.grad), as_numpy(b.grad)))
    return log


def scenario_fused_sequential(lib, seed):
    """Hooks on a BatchNorm2d and ReLU inside a Sequential (nnx fuses the pair when unhooked): they fire with the
    BatchNorm's own output, as in PyTorch; removing them gives the same result."""
    log = []
    model = lib.nn.Sequential(lib.nn.Conv2d(2, 3, 3, padding=1), lib.nn.BatchNorm2d(3), lib.nn.ReLU(),
                              lib.nn.Linear(5, 2), lib.nn.ReLU())
    set_params(model, lib, seed)
    x = lib.tensor(np.random.default_rng(seed + 1).standard_normal((2, 2, 5, 5)).astype(np.float32), grad=True)
    handles = [model[1].register_forward_hook(lambda m, args, out: log.append(("bn", as_numpy(out)))),
               model[2].register_forward_pre_hook(lambda m, args: log.append(("relu in", as_numpy(args)))),
               model[3].register_forward_hook(lambda m, args, out: log.append(("linear", as_numpy(out)))),
               model[0].register_full_backward_hook(lambda m, gi, go: log.append(("conv bwd", as_numpy(gi),
                                                                                 as_numpy(go))))]
    model(x).sum().backward()
    for handle in handles:
        handle.remove()
    log.append(("unhooked", as_numpy(model(x))))
    return log


SCENARIOS = [scenario_forward, scenario_backward, scenario_two_inputs, scenario_fused_sequential]


def assert_logs_equal(ours, theirs):
    assert [entry[0] for entry in ours] == [entry[0] for entry in theirs]
    for mine, reference in zip(ours, theirs):
        assert_same(mine, reference, mine[0])


def assert_same(mine, reference, where):
    if isinstance(reference, tuple) or isinstance(reference, list):
        assert isinstance(mine, (tuple, list)) and len(mine) == len(reference), where
        for a, b in zip(mine, reference):
            assert_same(a, b, where)
    elif isinstance(reference, np.ndarray):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-5, err_msg=str(where))
    else:
        assert mine == reference, where


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
def test_hooks_match_pytorch(scenario):
    theirs = scenario(Lib("torch"), 3)
    ours = scenario(Lib("nnx"), 3)
    assert_logs_equal(ours, theirs)


def test_forward_hooks_order_and_replacement():
    log = scenario_forward(Lib("nnx"), 5)
    assert [entry[0] for entry in log] == ["pre0", "pre1", "prekw", "fwd0", "fwd1", "fwdkw", "result", "pre0",
                                           "prekw", "fwd0", "fwdkw", "result after removal", "pre0", "prekw",
                                           "fwd0", "fwdkw", "ctx", "pre0", "prekw", "fwd0", "fwdkw"]
    np.testing.assert_allclose(log[2][1][0], 2 * log[1][1][0])  # the next pre-hook sees the replaced args
    np.testing.assert_allclose(log[6][1], log[4][2] + 1)  # the returned output replaced the result
    assert log[2][2] == []  # kwargs (none given) reach with_kwargs hooks


def test_backward_hook_replacements_reach_the_gradients():
    log = dict((entry[0], entry[1:]) for entry in scenario_backward(Lib("nnx"), 7))
    grad_output = log["bpre"][0][0]
    np.testing.assert_allclose(log["bwd0"][1][0], 2 * grad_output)  # the pre-hook's replacement is grad_output
    np.testing.assert_allclose(log["bwd2"][0][0], 3 * log["bwd0"][0][0])  # bwd1's replacement reaches bwd2
    np.testing.assert_allclose(log["x.grad"][0], log["bwd2"][0][0])  # ... and x.grad


def test_handles_and_unhooked_call():
    layer = nn.Linear(2, 2)
    calls = []
    handle = layer.register_forward_hook(lambda *a: calls.append(1))
    assert isinstance(handle, RemovableHandle) and layer._hooked
    assert len(layer._forward_hooks) == 1 and len(nn.Linear(2, 2)._forward_hooks) == 0
    with handle:
        layer(nnx.ones(1, 2))
    layer(nnx.ones(1, 2))
    assert calls == [1] and len(layer._forward_hooks) == 0
    assert not layer._hooked  # back on the plain path after the first call without hooks


def test_always_call_hook_runs_when_forward_raises():
    class Failing(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    calls = []
    module = Failing()
    module.register_forward_hook(lambda m, args, out: calls.append(("always", out)), always_call=True)
    module.register_forward_hook(lambda m, args, out: calls.append("normal"))
    with pytest.raises(ValueError, match="boom"):
        module(nnx.ones(1))
    assert calls == [("always", None)]


def test_bad_with_kwargs_pre_hook_result_is_refused():
    layer = nn.Linear(2, 2)
    layer.register_forward_pre_hook(lambda m, args, kwargs: (args,), with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"forward pre-hook must return None or a tuple of \(new_args, new_kwargs\)"):
        layer(nnx.ones(1, 2))


def test_backward_hook_with_inputs_not_requiring_grad_fires_on_outputs():
    layer = nn.Linear(2, 2)
    calls = []
    layer.register_full_backward_hook(lambda m, gi, go: calls.append((gi, go[0].shape)))
    with pytest.warns(UserWarning, match="Full backward hook is firing when gradients are computed"):
        layer(nnx.ones(3, 2)).sum().backward()
    assert calls == [((None,), (3, 2))]
    layer.register_full_backward_hook(lambda m, gi, go: (nnx.ones(3, 2),))
    with warnings.catch_warnings(), pytest.raises(RuntimeError, match="should always return None"):
        warnings.simplefilter("ignore")
        layer(nnx.ones(3, 2)).sum().backward()


def test_wrong_number_of_replacement_gradients_is_refused():
    layer = nn.Linear(2, 2)
    layer.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of grad_input, got 2, but "
                                           "expected 1"):
        layer(nnx.ones(3, 2, requires_grad=True)).sum().backward()


def test_no_backward_hook_under_no_grad():
    layer = nn.Linear(2, 2)
    calls = []
    layer.register_full_backward_hook(lambda *a: calls.append(1))
    with nnx.no_grad():
        out = layer(nnx.ones(1, 2, requires_grad=True))
    assert not out.requires_grad and calls == []


# ---- fastai's helpers (nnx.learner.hook) ----
def test_hook_outputs_store_detached_activations_and_remove():
    from nnx.learner.hook import Hook, hook_output, hook_outputs

    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = nnx.randn(5, 3, requires_grad=True)
    with hook_outputs(model) as hooks:
        out = model(x)
        assert [tuple(s.shape) for s in hooks.stored] == [(5, 4), (5, 4), (5, 2)]
        assert not any(s.requires_grad for s in hooks.stored)
        np.testing.assert_allclose(hooks.stored[1].numpy(), np.maximum(hooks.stored[0].numpy(), 0))
        np.testing.assert_allclose(hooks[2].stored.numpy(), out.detach().numpy())
    assert all(h.removed for h in hooks) and not model[0]._forward_hooks
    with hook_output(model[0], detach=False) as kept:
        model(x)
    assert kept.stored.requires_grad
    with hook_output(model[2], grad=True) as grads:
        (model(x) * 3).sum().backward()
    np.testing.assert_allclose(grads.stored[0].numpy(), np.full((5, 2), 3.0))  # (grad_output,)
    with Hook(model[0], lambda m, i, o: (m, i[0].shape, o.shape)) as hook:
        model(x)
    assert hook.stored == (model[0], (5, 3), (5, 4))


def test_model_sizes_and_dummy_eval():
    from nnx.learner.hook import dummy_eval, in_channels, model_sizes

    model = nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Conv2d(4, 8, 3, stride=2, padding=1))
    assert in_channels(model) == 2
    assert model_sizes(model, (16, 12)) == [(1, 4, 8, 6), (1, 4, 8, 6), (1, 4, 8, 6), (1, 8, 4, 3)]
    assert not model.training and not model[0]._forward_hooks  # left in eval mode, as fastai's
    out = dummy_eval(model.train(), (8, 8))
    assert tuple(out.shape) == (1, 8, 2, 2) and not out.requires_grad
    with pytest.raises(ValueError, match="no layer with a 4-d weight"):
        in_channels(nn.Linear(2, 2))


def test_deepcopy_of_a_hooked_model_keeps_its_own_hooks():
    import copy

    from nnx.learner.hook import hook_outputs

    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    hooks = hook_outputs(model)
    model_copy, hooks_copy = copy.deepcopy((model, hooks))
    model_copy(nnx.ones(2, 3))
    assert hooks_copy.stored[0] is not None and hooks.stored[0] is None  # the copy's hooks fill the copy's Hooks
    hooks_copy.remove()
    assert not model_copy[0]._forward_hooks and len(model[0]._forward_hooks) == 1
    hooks.remove()
