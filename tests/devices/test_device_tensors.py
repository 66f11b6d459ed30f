"""Tensors on devices: nnx.device, factories with device=, .to/.cuda/.cpu round trips, autograd across devices,
host reads (item, tolist, repr), numpy() (zero-copy on the CPU, a host copy on CUDA), PyTorch's cross-device
error and CUDA-less errors."""
import pickle
import re
import weakref

import numpy as np
import pytest

import nnx
import nnx.nn.functional as F


def host(tensor):
    """A tensor's values as a NumPy array (a copy for device tensors)."""
    return tensor.detach().cpu().numpy()


def expected_device(device):
    return nnx.device("cpu") if device == "cpu" else nnx.device("cuda", 0)


# --- nnx.device -------------------------------------------------------------------------------------------------
def test_device_object_behaves_like_torch_device():
    cuda1 = nnx.device("cuda:1")
    assert (cuda1.type, cuda1.index) == ("cuda", 1)
    assert str(cuda1) == "cuda:1" and repr(cuda1) == "device(type='cuda', index=1)"
    assert nnx.device("cuda", 1) == cuda1 and nnx.device(1) == cuda1 and nnx.device(cuda1) == cuda1
    assert nnx.device("cuda") != nnx.device("cuda:0")  # no index is not index 0, as in PyTorch
    assert nnx.device("cpu").index is None and repr(nnx.device("cpu")) == "device(type='cpu')"
    assert len({nnx.device("cuda:0"), nnx.device("cuda", 0), nnx.device("cpu")}) == 2
    assert pickle.loads(pickle.dumps(cuda1)) == cuda1
    # The one difference from PyTorch: a device equals (and hashes like) its string.
    assert nnx.device("cuda:0") == "cuda:0" and hash(nnx.device("cuda:0")) == hash("cuda:0")
    assert nnx.device("cuda:0") != "cuda" and nnx.device("cpu") != "tpu"
    with pytest.raises(AttributeError, match="not writable"):
        cuda1.type = "cpu"


@pytest.mark.parametrize("bad, error, message", [
    ("tpu", RuntimeError, "Expected one of cpu, cuda device type"),
    ("cuda:x", RuntimeError, "Invalid device string"),
    ("cuda:-1", RuntimeError, "Invalid device string"),
    ("cuda:1:2", RuntimeError, "Invalid device string"),
    (-1, RuntimeError, "must not be negative"),
    (2.0, TypeError, "device string"),
    (None, TypeError, "device string"),
])
def test_bad_device_arguments(bad, error, message):
    with pytest.raises(error, match=message):
        nnx.device(bad)


# --- factories and transfers ---------------------------------------------------------------------------------------
def test_factories_make_tensors_on_the_device(device):
    target = expected_device(device)
    cases = [
        (nnx.zeros(2, 3, device=device), np.zeros((2, 3), np.float32)),
        (nnx.ones((4,), dtype=nnx.float64, device=device), np.ones(4)),
        (nnx.full((2, 2), 7, device=device), np.full((2, 2), 7, np.int64)),
        (nnx.full((3,), 2.5, device=device), np.full(3, 2.5, np.float32)),
        (nnx.arange(5, device=device), np.arange(5)),
        (nnx.arange(0.5, 2.0, 0.5, device=device), np.arange(0.5, 2.0, 0.5, dtype=np.float32)),
        (nnx.tensor([[1.5, 2.0], [3.0, -4.0]], device=device), np.array([[1.5, 2.0], [3.0, -4.0]], np.float32)),
        (nnx.tensor(np.arange(6, dtype=np.int32), device=device), np.arange(6, dtype=np.int32)),
        (nnx.tensor([True, False], device=device), np.array([True, False])),
    ]
    for made, expected in cases:
        assert made.device == target
        assert made.dtype == expected.dtype and made.shape == expected.shape
        np.testing.assert_array_equal(host(made), expected)
    empty = nnx.empty(3, 5, device=device)
    assert empty.device == target and empty.shape == (3, 5)
    base = nnx.ones(2, 3, device=device)
    for like in (nnx.zeros_like(base), nnx.ones_like(base), nnx.full_like(base, 3.0), nnx.empty_like(base)):
        assert like.device == target and like.shape == (2, 3)
    assert nnx.zeros_like(base, device="cpu").device == nnx.device("cpu")


def test_random_factories_give_the_cpu_values_on_every_device(device):
    nnx.manual_seed(123)
    expected_normal, expected_uniform = nnx.randn(4, 3).numpy(), nnx.rand(5).numpy()
    nnx.manual_seed(123)
    normal, uniform = nnx.randn(4, 3, device=device), nnx.rand(5, device=device)
    assert normal.device == expected_device(device) and uniform.device == expected_device(device)
    np.testing.assert_array_equal(host(normal), expected_normal)
    np.testing.assert_array_equal(host(uniform), expected_uniform)


def test_to_round_trips_keep_values_and_dtypes(device, rng):
    for array in (rng.standard_normal((3, 5)).astype(np.float32), rng.standard_normal(7),
                  rng.integers(-5, 5, (2, 2, 3)), rng.random(4) > 0.5, np.float32(1.5) * np.ones(())):
        source = nnx.tensor(array)
        moved = source.to(device)
        assert moved.device == expected_device(device) and moved.dtype == source.dtype
        back = moved.cpu()
        assert back.device == nnx.device("cpu")
        np.testing.assert_array_equal(back.numpy(), array)
    x = nnx.tensor(rng.standard_normal((2, 3)).astype(np.float32), device=device)
    assert x.to(device) is x and x.to(x.device) is x and x.to(device, copy=True) is not x
    assert x.to(nnx.device(device)) is x
    cast = x.to(device, nnx.float64)
    assert cast.dtype == np.float64 and cast.device == x.device
    np.testing.assert_allclose(host(cast), host(x))
    other = nnx.zeros(1, dtype=nnx.float64)
    assert x.to(other).device == nnx.device("cpu") and x.to(other).dtype == np.float64
    assert x.cpu().cuda().device == nnx.device("cuda:0") if device != "cpu" else x.cpu() is x
    assert nnx.tensor(x).device == x.device and nnx.tensor(x) is not x  # a copy on the same device


def test_gradient_flows_back_across_to(device, rng):
    values = rng.standard_normal((4, 3))
    x = nnx.tensor(values, requires_grad=True)  # float64 on the CPU
    y = x.to(device)
    loss = (y * y * 3.0).sum()
    loss.backward()
    assert x.grad.device == nnx.device("cpu")
    np.testing.assert_allclose(x.grad.numpy(), 6 * values)
    # and from the device back to the CPU
    z = nnx.tensor(values, device=device, requires_grad=True)
    (z.cpu() ** 2).sum().backward()
    assert z.grad.device == expected_device(device)
    np.testing.assert_allclose(host(z.grad), 2 * values)


def test_a_leaf_adopts_a_fresh_gradient_and_copies_a_view(device, rng):
    """The engine gives a leaf the gradient array itself when nothing else can see it (no copy per step), and a
    copy when it is a view of other memory (CudaArray.base, as ndarray.base)."""
    produced = []  # weak references: a strong one would (rightly) make the engine copy

    class Scale(nnx.autograd.Function):
        @staticmethod
        def forward(ctx, x, as_view):
            ctx.as_view = as_view
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            fresh = grad * 2
            result = fresh.T.T if ctx.as_view else fresh  # a view of `fresh` (its base)
            produced.append(weakref.ref(result))
            return result, None

    for as_view in (False, True):
        x = nnx.tensor(rng.standard_normal((3, 4)).astype(np.float32), device=device, requires_grad=True)
        Scale.apply(x, as_view).sum().backward()
        adopted = x.grad._data is produced.pop()()
        assert adopted == (not as_view) and x.grad._data.base is None
        np.testing.assert_array_equal(host(x.grad), np.full((3, 4), 2, np.float32))


def test_host_reads_and_repr(device):
    x = nnx.tensor([[1.0, 2.5], [-3.0, 4.0]], device=device)
    assert x[0, 1].item() == 2.5 and x.tolist() == [[1.0, 2.5], [-3.0, 4.0]]
    assert float(x.sum()) == 4.5 and int(x[1, 1]) == 4 and bool(x[0, 0] > 0)
    suffix = "" if device == "cpu" else ", device='cuda:0'"
    assert repr(x) == f"tensor([[ 1.0000,  2.5000],\n        [-3.0000,  4.0000]]{suffix})"
    assert repr(nnx.tensor([1, 2], device=device)) == f"tensor([1, 2]{suffix})"
    assert repr(nnx.ones(2, dtype=nnx.float64, device=device, requires_grad=True)) == \
        f"tensor([1., 1.]{suffix}, dtype=nnx.float64, requires_grad=True)"
    assert x.is_cuda == (device != "cpu") and x.get_device() == (-1 if device == "cpu" else 0)


def test_numpy_is_zero_copy_on_the_cpu_and_a_host_copy_on_cuda(device, rng):
    values = rng.standard_normal(3).astype(np.float32)
    x = nnx.tensor(values, device=device)
    array = x.numpy()
    assert type(array) is np.ndarray and array.dtype == np.float32
    np.testing.assert_array_equal(array, values)
    array[1] = 5.0
    if device == "cpu":
        assert x[1].item() == 5.0  # the tensor's own memory
        assert x.numpy() is array
        return
    assert x[1].item() == values[1]  # a copy: writes to it do not reach the tensor
    assert x.numpy() is not array
    x.add_(1.0)
    np.testing.assert_allclose(x.numpy(), values + 1, rtol=1e-6)  # a fresh copy waits for the queued work
    with pytest.raises(TypeError, match=re.escape("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() "
                                                  "to copy the tensor to host memory")):
        np.asarray(x)  # implicit conversions stay refused: no silent host copies


def test_in_place_ops_and_copy_across_devices(device, rng):
    values = rng.standard_normal(5).astype(np.float32)
    x = nnx.tensor(values, device=device)
    x.add_(1.0).mul_(2.0).sub_(nnx.ones(5, device=device)).div_(4.0)
    np.testing.assert_allclose(host(x), ((values + 1) * 2 - 1) / 4, rtol=1e-6)
    x.copy_(nnx.tensor(values * 3))  # copy_ moves data from the CPU, as in PyTorch
    np.testing.assert_allclose(host(x), values * 3)
    x.fill_(2.0).clamp_(max=1.5)
    np.testing.assert_array_equal(host(x), np.full(5, 1.5, np.float32))
    x[1:3] = 0.0
    assert x.tolist() == [1.5, 0.0, 0.0, 1.5, 1.5]
    nnx.manual_seed(7)
    x.normal_()
    nnx.manual_seed(7)
    assert np.array_equal(host(x), nnx.zeros(5).normal_().numpy())


def _two_devices_error():
    return pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, but found at least two "
                                             "devices, (cuda:0 and cpu|cpu and cuda:0)!")


def test_mixing_devices_raises_pytorchs_error(device, rng):
    if device == "cpu":
        pytest.skip("needs a second device")
    on_device = nnx.tensor(rng.standard_normal((3, 4)).astype(np.float32), device=device, requires_grad=True)
    on_cpu = nnx.tensor(rng.standard_normal((3, 4)).astype(np.float32))
    weight = nnx.nn.Parameter(nnx.tensor(rng.standard_normal((2, 4)).astype(np.float32)))
    attempts = [
        lambda: on_device + on_cpu, lambda: on_cpu * on_device, lambda: on_device @ on_cpu.T,
        lambda: on_device < on_cpu, lambda: nnx.cat([on_device, on_cpu]), lambda: nnx.stack([on_cpu, on_device]),
        lambda: F.linear(on_device, weight), lambda: F.cross_entropy(on_device, nnx.tensor([0, 1, 2])),
        lambda: nnx.where(on_cpu > 0, on_device, on_cpu), lambda: on_device.detach().add_(on_cpu),
        lambda: on_device.equal(on_cpu), lambda: on_device.allclose(on_cpu),
    ]
    for attempt in attempts:
        with _two_devices_error():
            attempt()
    # As in PyTorch, a 0-d CPU tensor is a scalar any device takes; its gradient comes back to the CPU.
    scale = nnx.tensor(3.0, requires_grad=True)
    (on_device * scale).sum().backward()
    assert scale.grad.device == nnx.device("cpu") and scale.grad.item() == pytest.approx(host(on_device).sum(), 1e-5)


def test_a_model_on_the_device_refuses_cpu_batches(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    model = nnx.nn.Sequential(nnx.nn.Linear(4, 3), nnx.nn.ReLU()).to(device)
    with _two_devices_error():
        model(nnx.ones(2, 4))


# --- without CUDA --------------------------------------------------------------------------------------------------
def test_asking_for_cuda_without_it_raises_runtime_error():
    if nnx.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert nnx.cuda.device_count() == 0
    from nnx.data import DataLoader
    from nnx.sklearn import MLPClassifier
    attempts = [
        lambda: nnx.tensor([1.0], device="cuda"), lambda: nnx.zeros(2, device="cuda:0"),
        lambda: nnx.ones(2).cuda(), lambda: nnx.ones(2).to("cuda"), lambda: nnx.nn.Linear(2, 2).to("cuda"),
        lambda: nnx.nn.Linear(2, 2, device="cuda"), lambda: DataLoader(np.ones((4, 2)), device="cuda"),
        lambda: nnx.Learner((DataLoader(np.ones((4, 2))), None), nnx.nn.Linear(2, 2), nnx.nn.MSELoss(),
                            device="cuda"),
        lambda: MLPClassifier(device="cuda").fit(np.ones((4, 2)), [0, 1, 0, 1]),
        nnx.cuda.synchronize, nnx.cuda.current_device, nnx.cuda.get_device_name, nnx.cuda.memory_allocated,
        nnx.cuda.memory_reserved, nnx.cuda.empty_cache,
    ]
    for attempt in attempts:
        with pytest.raises(RuntimeError, match="(?i)cuda"):
            attempt()


# --- nnx.cuda and nnx.backends with a device ---------------------------------------------------------------------
def test_cuda_queries_with_a_device(device):
    if device == "cpu":
        pytest.skip("needs CUDA")
    assert nnx.cuda.is_available() and nnx.cuda.device_count() >= 1 and nnx.cuda.current_device() == 0
    assert isinstance(nnx.cuda.get_device_name(), str) and len(nnx.cuda.get_device_capability()) == 2
    before = nnx.cuda.memory_allocated()
    kept = nnx.zeros(1000, device=device)
    assert nnx.cuda.memory_allocated() >= before + kept.numel() * 4
    assert nnx.cuda.memory_reserved() >= nnx.cuda.memory_allocated()
    nnx.cuda.synchronize()
    nnx.cuda.synchronize("cuda:0")
    del kept
    nnx.cuda.empty_cache()


def test_allow_tf32_is_off_by_default_and_reaches_the_cuda_module(device):
    matmul = nnx.backends.cuda.matmul
    assert matmul.allow_tf32 is False
    with pytest.raises(TypeError, match="True or False"):
        matmul.allow_tf32 = 1
    if device == "cpu":
        return
    from nnx.native import cuda as cuda_backend
    try:
        matmul.allow_tf32 = True
        assert cuda_backend._native.get_allow_tf32() is True
    finally:
        matmul.allow_tf32 = False
    assert cuda_backend._native.get_allow_tf32() is False
