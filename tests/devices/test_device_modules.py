"""Modules and optimizers on devices: Module.to/.cuda/.cpu in place, constructors with device=, optimizer steps
through the parameters' backend matching the CPU, state dicts across devices, DataLoader(device=)."""
import numpy as np
import pytest

import nnx
from nnx import nn, optim
from nnx.data import DataLoader, DataLoaders


def host(tensor):
    return tensor.detach().cpu().numpy()


def expected_device(device):
    return nnx.device("cpu") if device == "cpu" else nnx.device("cuda", 0)


def small_model(seed=0):
    nnx.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3))


def test_module_to_moves_parameters_and_buffers_in_place(device, rng):
    model = small_model()
    before = {name: host(value) for name, value in model.state_dict().items()}
    params = list(model.parameters())
    params[0].grad = nnx.ones(*params[0].shape)
    assert model.to(device) is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]  # the same Parameter objects
    for name, value in model.state_dict().items():
        assert value.device == expected_device(device), name
        np.testing.assert_array_equal(host(value), before[name])
    assert params[0].grad.device == expected_device(device)
    assert model.cpu() is model and all(p.device == nnx.device("cpu") for p in model.parameters())
    if device != "cpu":
        assert model.cuda() is model and model[1].running_mean.device == nnx.device("cuda:0")
    model.to(device, np.float64)
    assert all(p.dtype == np.float64 and p.device == expected_device(device) for p in model.parameters())
    assert model[1].num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype


def test_constructors_with_device_start_from_the_cpu_values(device):
    for make in (lambda **d: nn.Linear(5, 4, **d), lambda **d: nn.Embedding(7, 3, padding_idx=1, **d),
                 lambda **d: nn.BatchNorm1d(4, **d), lambda **d: nn.LayerNorm(4, **d)):
        nnx.manual_seed(3)
        expected = make().state_dict()
        nnx.manual_seed(3)
        made = make(device=device)
        for name, value in made.state_dict().items():
            assert value.device == expected_device(device)
            np.testing.assert_array_equal(host(value), host(expected[name]))


def test_load_state_dict_across_devices(device):
    source, target = small_model(1), small_model(2).to(device)
    target.load_state_dict(source.state_dict())  # CPU values into a device model
    for name, value in target.state_dict().items():
        assert value.device == expected_device(device)
        np.testing.assert_array_equal(host(value), host(source.state_dict()[name]))
    back = small_model(3)
    back.load_state_dict(target.state_dict())  # device values into a CPU model
    for name, value in back.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), host(source.state_dict()[name]))


def optimizer_model(seed=4):
    # Not small_model: a bias right before BatchNorm has an exactly-zero gradient in exact arithmetic, so its
    # computed gradient is rounding noise whose sign differs between devices, and Adam/RMSprop scale noise up
    # to a full lr-sized step. After a ReLU the BatchNorm sees a bias that matters.
    nnx.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.BatchNorm1d(8), nn.Dropout(0.2), nn.Linear(8, 3))


def train_steps(make_optimizer, device, rng_seed=5, steps=4):
    model = optimizer_model().to(device)
    optimizer = make_optimizer(model.parameters())
    data = np.random.default_rng(rng_seed)
    X, y = data.standard_normal((16, 6)).astype(np.float32), data.integers(0, 3, 16)
    nnx.manual_seed(9)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(nnx.tensor(X, device=device)), nnx.tensor(y, device=device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, optimizer


@pytest.mark.parametrize("name, make_optimizer", [
    ("sgd-momentum", lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("adam", lambda p: optim.Adam(p, lr=0.01, amsgrad=True)),
    ("adamw", lambda p: optim.AdamW(p, lr=0.01)),
    ("rmsprop", lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True)),
])
def test_optimizers_on_the_device_match_the_cpu(device, name, make_optimizer):
    expected, _ = train_steps(make_optimizer, "cpu")
    model, optimizer = train_steps(make_optimizer, device)
    for (key, value), reference in zip(model.state_dict().items(), expected.state_dict().values()):
        np.testing.assert_allclose(host(value), host(reference), rtol=1e-4, atol=1e-5, err_msg=key)
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, nnx.Tensor):
                assert value.device == expected_device(device)


def test_optimizer_state_dict_moves_between_devices(device):
    make = lambda p: optim.Adam(p, lr=0.01)  # noqa: E731
    model, optimizer = train_steps(make, device)
    saved = optimizer.state_dict()
    cpu_model = optimizer_model()
    cpu_model.load_state_dict(model.state_dict())
    cpu_optimizer = make(cpu_model.parameters())
    cpu_optimizer.load_state_dict(saved)  # state saved on the device loads onto the CPU parameters
    for _param, state in cpu_optimizer.state.items():
        assert state["step"] == 4 and state["exp_avg"].device == nnx.device("cpu")
    device_model = optimizer_model().to(device)
    device_optimizer = make(device_model.parameters())
    device_optimizer.load_state_dict(cpu_optimizer.state_dict())  # and back
    for param, state in device_optimizer.state.items():
        assert state["exp_avg"].device == param.device == expected_device(device)
    for original, loaded in zip(optimizer.state.values(), device_optimizer.state.values()):
        np.testing.assert_array_equal(host(loaded["exp_avg_sq"]), host(original["exp_avg_sq"]))


def test_dataloader_yields_batches_on_its_device(device, rng):
    X, y = rng.standard_normal((23, 4)).astype(np.float32), rng.integers(0, 3, 23)
    nnx.manual_seed(2)
    expected = [(xb.numpy(), yb.numpy()) for xb, yb in DataLoader(X, y, batch_size=5, shuffle=True)]
    loader = DataLoader(X, y, batch_size=5, shuffle=True, device=device)
    nnx.manual_seed(2)
    batches = list(loader)
    assert len(batches) == len(expected) == 5
    for (xb, yb), (expected_x, expected_y) in zip(batches, expected):  # the CPU's order, on the device
        assert xb.device == yb.device == expected_device(device)
        np.testing.assert_array_equal(host(xb), expected_x)
        np.testing.assert_array_equal(host(yb), expected_y)
    dls = DataLoaders.from_arrays(X, y, X[:7], y[:7], bs=4, device=device)
    assert dls.train.device == dls.valid.device == (None if device == "cpu" else expected_device(device))
    assert next(iter(dls.valid))[0].device == expected_device(device)
    dls.device = "cpu"
    assert dls.device is None and next(iter(dls.train))[0].device == nnx.device("cpu")
    samples = [(X[i], y[i]) for i in range(6)]  # a dataset object: collated on the host, then moved
    xb, yb = next(iter(DataLoader(samples, batch_size=4, device=device)))
    assert xb.device == expected_device(device) and xb.shape == (4, 4)
