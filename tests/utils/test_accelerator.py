"""nnx.accelerator as torch.accelerator: None/0/False without a usable device, CUDA through nnx.cuda when one is."""
import numpy as np
import pytest

import nnx
import nnx.accelerator


def test_without_a_device_nothing_is_reported(monkeypatch):
    monkeypatch.setattr(nnx.cuda, "is_available", lambda: False)
    assert nnx.accelerator.is_available() is False
    assert nnx.accelerator.current_accelerator() is None
    assert nnx.accelerator.current_accelerator(check_available=True) is None
    assert nnx.accelerator.device_count() == 0
    for call in (nnx.accelerator.current_device_index, nnx.accelerator.synchronize,
                 lambda: nnx.accelerator.set_device_index(0)):
        with pytest.raises(RuntimeError, match="none is available"):
            call()
    nnx.accelerator.set_device_index(-1)  # a negative index is a no-op, as in PyTorch


def test_the_mnist_example_preamble_runs(monkeypatch):
    # pytorch/examples mnist/main.py, with `torch` renamed: picks the CPU on a machine without a device.
    monkeypatch.setattr(nnx.cuda, "is_available", lambda: False)
    no_accel = False
    use_accel = not no_accel and nnx.accelerator.is_available()
    device = nnx.accelerator.current_accelerator() if use_accel else nnx.device("cpu")
    model = nnx.nn.Linear(3, 2).to(device)
    assert device == "cpu" and model(nnx.ones(1, 3).to(device)).shape == (1, 2)


def test_with_a_device_it_is_cuda(fake_cuda_module):
    assert nnx.accelerator.is_available() is True
    accelerator = nnx.accelerator.current_accelerator()
    assert accelerator == nnx.device("cuda") and accelerator.type == "cuda" and accelerator.index is None
    assert nnx.accelerator.current_accelerator(check_available=True) == accelerator
    assert nnx.accelerator.device_count() == nnx.cuda.device_count() >= 1
    assert nnx.accelerator.current_device_index() == 0
    nnx.accelerator.set_device_index(0)
    nnx.accelerator.set_device_index("cuda:0")
    x = nnx.tensor(np.arange(3.0, dtype=np.float32)).to(nnx.accelerator.current_accelerator())
    assert x.device.type == "cuda"
    nnx.accelerator.synchronize()
    nnx.accelerator.synchronize(0)
    with pytest.raises(RuntimeError, match="out of range"):
        nnx.accelerator.set_device_index(nnx.accelerator.device_count())
    with pytest.raises(RuntimeError, match="Accelerator expected"):
        nnx.accelerator.set_device_index("cpu")
    with pytest.raises(TypeError, match="device"):
        nnx.accelerator.set_device_index(1.5)


def test_matches_torch_on_this_machine():
    torch = pytest.importorskip("torch")
    if torch.accelerator.is_available() or nnx.cuda.is_available():
        pytest.skip("compares the CPU-only answers")
    assert nnx.accelerator.is_available() == torch.accelerator.is_available()
    assert nnx.accelerator.current_accelerator() is torch.accelerator.current_accelerator()
    assert nnx.accelerator.device_count() == torch.accelerator.device_count()
