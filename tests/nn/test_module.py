"""Module and containers: registration, traversal, modes, repr, state dicts (also a real PyTorch model's),
and Sequential's automatic Linear + activation fusion."""
from collections import OrderedDict

import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.nn import functional as F


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.norm = nn.BatchNorm1d(3)
        self.scale = nn.Parameter(np.ones(3, np.float32))
        self.register_buffer("steps", nnx.tensor(np.zeros((), np.int64)))
        self.register_buffer("cache", nnx.tensor(np.zeros(2, np.float32)), persistent=False)

    def forward(self, x):
        return self.norm(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(3, 2))
        self.shared = self.head[1]  # the same module twice: its parameters are listed once

    def forward(self, x):
        return self.head(self.block(x))


def test_registration_and_traversal():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["block.scale", "block.fc.weight", "block.fc.bias", "block.norm.weight", "block.norm.bias",
                     "head.1.weight", "head.1.bias"]
    assert len(list(net.parameters())) == 7
    assert [n for n, _ in net.named_buffers()] == ["block.steps", "block.cache", "block.norm.running_mean",
                                                   "block.norm.running_var", "block.norm.num_batches_tracked"]
    assert [n for n, _ in net.named_children()] == ["block", "head", "shared"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "block.norm", "head", "head.0", "head.1"]
    assert len(list(net.modules())) == 7 and len(list(net.children())) == 3
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert net.get_submodule("head.1") is net.shared


def test_attribute_assignment_rules():
    net = Net()
    net.block.fc.bias = None
    assert [n for n, _ in net.block.fc.named_parameters()] == ["weight"]
    with pytest.raises(TypeError, match="parameter 'weight'"):
        net.block.fc.weight = np.zeros((3, 4))
    with pytest.raises(TypeError, match="child module 'head'"):
        net.head = 3
    del net.head
    assert "head" not in dict(net.named_children())
    with pytest.raises(AttributeError, match="before Module.__init__"):
        class Broken(nn.Module):
            def __init__(self):
                self.w = nn.Parameter(np.zeros(2, np.float32))
        Broken()
    with pytest.raises(KeyError, match="contain"):
        nn.Module().register_buffer("a.b", None)


def test_train_eval_requires_grad_zero_grad_apply(rng):
    net = Net()
    assert net.training and net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")
    out = net(nnx.tensor(rng.normal(size=(5, 4)).astype(np.float32)))
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "BatchNorm1d", "Block", "ReLU", "Linear", "Sequential", "Linear", "Net"]  # as torch


def test_repr_is_pytorchs():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Dropout(0.1), nn.Sequential(nn.LeakyReLU(0.2)),
                          nn.LayerNorm(3), nn.BatchNorm1d(3), nn.GELU(), nn.Linear(3, 1, bias=False))
    assert repr(model) == """Sequential(
  (0): Linear(in_features=4, out_features=3, bias=True)
  (1): ReLU()
  (2): Dropout(p=0.1, inplace=False)
  (3): Sequential(
    (0): LeakyReLU(negative_slope=0.2)
  )
  (4): LayerNorm((3,), eps=1e-05, elementwise_affine=True)
  (5): BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
  (6): GELU(approximate='none')
  (7): Linear(in_features=3, out_features=1, bias=False)
)"""
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(nn.Parameter(np.zeros(2, np.float32))).startswith("Parameter containing:\n")


def test_parameter():
    data = np.arange(3, dtype=np.float32)
    p = nn.Parameter(data)
    assert p.requires_grad and p.is_leaf and np.shares_memory(p.numpy(), data)
    assert not nn.Parameter(data, requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    with pytest.raises(TypeError, match="Parameter data"):
        nn.Parameter([1.0, 2.0])


# --- state dicts ---------------------------------------------------------------------------------------
def test_state_dict_keys_and_round_trip(rng):
    net = Net()
    state = net.state_dict()
    assert list(state) == ["block.scale", "block.steps", "block.fc.weight", "block.fc.bias", "block.norm.weight",
                           "block.norm.bias", "block.norm.running_mean", "block.norm.running_var",
                           "block.norm.num_batches_tracked", "head.1.weight", "head.1.bias",
                           "shared.weight", "shared.bias"]  # a module registered twice is saved twice, like torch
    assert not any(v.requires_grad for v in state.values())
    assert np.shares_memory(state["block.fc.weight"].numpy(), net.block.fc.weight.numpy())

    other = Net()
    x = nnx.tensor(rng.normal(size=(6, 4)).astype(np.float32))
    net(x)  # moves the running statistics
    result = other.load_state_dict({k: v.numpy().copy() for k, v in net.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    net.eval(), other.eval()
    np.testing.assert_array_equal(net(x).numpy(), other(x).numpy())
    assert int(other.block.norm.num_batches_tracked.numpy()) == 1


def test_load_state_dict_reports_mismatches():
    net = Net()
    state = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    del state["head.1.bias"]
    state["extra.weight"] = np.zeros(2)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "head.1.bias"') as error:
        Net().load_state_dict(state)
    assert '"extra.weight"' in str(error.value)
    result = Net().load_state_dict(state, strict=False)
    assert result.missing_keys == ["head.1.bias"] and result.unexpected_keys == ["extra.weight"]
    state = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    state["block.fc.weight"] = np.zeros((4, 4), np.float32)
    target = Net()
    before = target.head[1].weight.numpy().copy()
    with pytest.raises(RuntimeError, match="size mismatch for block.fc.weight"):
        target.load_state_dict(state, strict=False)
    np.testing.assert_array_equal(target.head[1].weight.numpy(), before)  # nothing half-loaded
    with pytest.raises(TypeError, match="dict-like"):
        Net().load_state_dict([1, 2])


def test_load_state_dict_casts_and_accepts_tensors_and_floats64():
    layer = nn.Linear(2, 2)
    layer.load_state_dict({"weight": nnx.tensor(np.eye(2)), "bias": [0.5, -0.5]})
    assert layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.numpy(), np.eye(2))
    np.testing.assert_array_equal(layer.bias.numpy(), [0.5, -0.5])


def snapshot_arrays(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


def assert_untouched(module, before):
    after = snapshot_arrays(module)
    assert list(after) == list(before)
    for key, value in after.items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def shifted_state(net):
    """A complete, valid state dict whose every value differs from net's (so a partial load shows)."""
    return {k: v.numpy() + 1 for k, v in net.state_dict().items()}


@pytest.mark.parametrize("bad", [
    np.array([1 + 2j, 3j], np.complex128), np.array([1, 2], np.complex64), np.array(["a", "b"]),
    np.array([1.0, None], dtype=object), np.array([b"x", b"y"]), np.array(["2020-01-01"] * 2, "datetime64[D]"),
], ids=["complex128", "complex64", "str", "object", "bytes", "datetime"])
def test_load_state_dict_refuses_non_real_values_naming_the_key_and_writes_nothing(bad):
    net = Net()
    before = snapshot_arrays(net)
    state = shifted_state(net)
    state["head.1.bias"] = bad  # the last key: every other one would already be written by a key-by-key copy
    with pytest.raises(TypeError, match=r"state_dict\['head.1.bias'\] has dtype"):
        net.load_state_dict(state, strict=False)
    assert_untouched(net, before)


def test_load_state_dict_lists_every_non_real_key():
    net = Net()
    state = {k: v.numpy().astype(np.complex64) for k, v in net.state_dict().items()}
    with pytest.raises(TypeError) as error:
        net.load_state_dict(state)
    assert all(f"'{key}'" in str(error.value) for key in state)


def test_load_state_dict_refuses_values_the_dtype_cannot_hold_and_writes_nothing():
    net = Net()
    before = snapshot_arrays(net)
    state = shifted_state(net)
    state["block.fc.bias"] = np.array([1e300, 0.0, 1.0])  # float64 beyond float32's range
    state["block.norm.num_batches_tracked"] = np.array(2.5)  # into an int64 buffer
    state["block.steps"] = np.array(np.nan)
    with pytest.raises(RuntimeError) as error:
        net.load_state_dict(state)
    message = str(error.value)
    assert "block.fc.bias does not fit in the current model's float32" in message
    assert "block.norm.num_batches_tracked has non-integral" in message and "block.steps has non-integral" in message
    assert_untouched(net, before)


def test_load_state_dict_casts_integral_floats_into_integer_buffers_and_keeps_nan_weights():
    net = Net()
    state = shifted_state(net)
    state["block.norm.num_batches_tracked"] = np.array(7.0)
    state["block.scale"] = np.array([np.nan, np.inf, 1.5])  # a diverged checkpoint still loads, as in torch
    net.load_state_dict(state)
    assert net.block.norm.num_batches_tracked.numpy().dtype == np.int64
    assert int(net.block.norm.num_batches_tracked.numpy()) == 7
    np.testing.assert_array_equal(net.block.scale.numpy(), [np.nan, np.inf, 1.5])


def test_load_state_dict_strict_false_returns_the_key_lists_and_loads_the_rest():
    net = Net()
    before = snapshot_arrays(net)
    state = shifted_state(net)
    del state["block.fc.bias"]
    state["block.unused"] = np.zeros(1)
    result = net.load_state_dict(state, strict=False)
    assert result == (["block.fc.bias"], ["block.unused"])
    after = snapshot_arrays(net)
    np.testing.assert_array_equal(after["block.fc.bias"], before["block.fc.bias"])
    np.testing.assert_array_equal(after["block.fc.weight"], before["block.fc.weight"] + 1)
    assert repr(net.load_state_dict(shifted_state(net))) == "<All keys matched successfully>"


def torch_and_nnx_models(torch):
    torch_model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                      torch.nn.Dropout(0.2), torch.nn.Linear(8, 5), torch.nn.LayerNorm(5),
                                      torch.nn.GELU(), torch.nn.Linear(5, 3))
    nnx_model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 5),
                              nn.LayerNorm(5), nn.GELU(), nn.Linear(5, 3))
    return torch_model, nnx_model


def test_loads_a_real_pytorch_state_dict(rng):
    torch = pytest.importorskip("torch")
    torch_model, nnx_model = torch_and_nnx_models(torch)
    x = rng.normal(size=(10, 6)).astype(np.float32)
    torch_model.train()
    torch_model(torch.from_numpy(x))  # running statistics move away from their initial values
    torch_model.eval()
    state = {k: v.numpy() for k, v in torch_model.state_dict().items()}
    assert list(state) == list(nnx_model.state_dict())
    nnx_model.load_state_dict(state)
    nnx_model.eval()
    expected = torch_model(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(nnx_model(nnx.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-5)
    # and back: nnx's state dict loads into torch
    back = {k: torch.from_numpy(v.numpy().copy()) for k, v in nnx_model.state_dict().items()}
    torch_model.load_state_dict(back)
    nnx_model.load_state_dict(torch_model.state_dict())  # torch tensors are accepted as they are


def test_to_double_casts_parameters_and_float_buffers():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    model.double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model[1].running_mean.dtype == np.float64 and model[1].num_batches_tracked.dtype == np.int64
    with pytest.raises(TypeError, match="floating point"):
        model.to(np.int32)


# --- Sequential and ModuleList ------------------------------------------------------------------------
def test_sequential_container_protocol():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4), nn.Tanh()]
    model = nn.Sequential(*layers)
    assert len(model) == 4 and model[0] is layers[0] and model[-1] is layers[-1]
    assert list(model) == layers
    head = model[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    with pytest.raises(IndexError, match="out of range"):
        model[4]
    model.append(nn.Sigmoid())
    assert len(model) == 5 and isinstance(model[4], nn.Sigmoid)
    model[1] = nn.GELU()
    assert isinstance(model[1], nn.GELU)
    del model[0]
    assert [name for name, _ in model.named_children()] == ["0", "1", "2", "3"]
    assert isinstance(model[0], nn.GELU)
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]


def test_module_list():
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(blocks) == 3 and len(list(blocks.parameters())) == 6
    blocks.append(nn.Linear(2, 1))
    assert list(blocks.state_dict())[-1] == "3.bias"
    assert isinstance(blocks[1:], nn.ModuleList) and len(blocks[1:]) == 3
    del blocks[0]
    assert [n for n, _ in blocks.named_children()] == ["0", "1", "2"]
    with pytest.raises(NotImplementedError):
        blocks(nnx.tensor(np.zeros((1, 2), np.float32)))


ACTIVATION_MODULES = [nn.ReLU(), nn.LeakyReLU(0.3), nn.Sigmoid(), nn.Tanh(), nn.GELU(), nn.GELU("tanh")]


def unfused_forward(model, x):
    for module in model:
        x = module(x)
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ACTIVATION_MODULES, ids=lambda m: repr(m))
def test_sequential_fuses_linear_and_activation(rng, monkeypatch, dtype, activation):
    model = nn.Sequential(nn.Linear(5, 7, dtype=dtype), activation, nn.Linear(7, 3, dtype=dtype))
    fused_calls = []
    real = F.fused_linear

    def counting(*args, **kwargs):
        activation = args[3] if len(args) > 3 else kwargs.get("activation", "none")
        if activation != "none":  # F.linear is fused_linear(..., "none"): not a fusion
            fused_calls.append(activation)
        return real(*args, **kwargs)

    monkeypatch.setattr(F, "fused_linear", counting)
    x = rng.normal(size=(11, 5)).astype(dtype)
    inputs = [nnx.tensor(x, requires_grad=True) for _ in range(2)]
    outputs = [model(inputs[0]), unfused_forward(model, inputs[1])]
    assert len(fused_calls) == 1 and len(model.plan()) == 2
    grads = []
    for out, inp in zip(outputs, inputs):
        model.zero_grad()
        (out * nnx.tensor(np.linspace(-1, 1, out.numel(), dtype=dtype).reshape(out.shape))).sum().backward()
        grads.append([inp.grad.numpy()] + [p.grad.numpy().copy() for p in model.parameters()])
    tolerance = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(outputs[0].numpy(), outputs[1].numpy(), **tolerance)
    for fused_grad, plain_grad in zip(*grads):
        np.testing.assert_allclose(fused_grad, plain_grad, **tolerance)


def test_fusion_plan_follows_structure_changes():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.5), nn.Linear(3, 3), nn.SiLU(), nn.Linear(3, 1))
    assert [getattr(step, "fuses", (None, None))[1] for step in model.plan()] == [
        "relu", None, None, None, None]
    plan = model.plan()
    assert model.plan() is plan  # built once, not per call
    model[4] = nn.Tanh()
    assert [getattr(step, "fuses", (None, None))[1] for step in model.plan()] == ["relu", None, "tanh", None]
    model.append(nn.Sigmoid())
    assert [getattr(step, "fuses", (None, None))[1] for step in model.plan()] == ["relu", None, "tanh", "sigmoid"]

    class MyLinear(nn.Linear):
        def forward(self, input):
            return super().forward(input) * 2

    custom = nn.Sequential(MyLinear(2, 2), nn.ReLU())
    assert not any(hasattr(step, "fuses") for step in custom.plan())


def test_fused_leaky_relu_reads_the_current_slope(rng):
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.LeakyReLU(0.1))
    x = nnx.tensor(-np.abs(rng.normal(size=(5, 3))))
    model[1].negative_slope = 0.5
    pre = x.numpy() @ model[0].weight.numpy().T + model[0].bias.numpy()
    np.testing.assert_allclose(model(x).numpy(), np.where(pre > 0, pre, 0.5 * pre), rtol=1e-12)


def test_deepcopy_and_pickle_after_use(rng):
    import copy
    import pickle

    model = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.BatchNorm1d(4), nn.Linear(4, 2))
    x = nnx.tensor(rng.normal(size=(5, 3)).astype(np.float32))
    model(x)  # builds the fusion plan
    model.eval()
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert not np.shares_memory(clone[0].weight.numpy(), model[0].weight.numpy())
        assert isinstance(clone[0].weight, nn.Parameter) and clone[0].weight.requires_grad
        np.testing.assert_array_equal(clone(x).numpy(), model(x).numpy())
        clone[0].weight.numpy()[...] = 0  # the clone's plan reads the clone's own parameters
        assert not np.array_equal(clone(x).numpy(), model(x).numpy())
