"""The CUDA backend module against the CPU one: device parsing, creation and transfer, every op-table entry on
the same inputs, and the NumPy stand-in's own contract (validation, outputs only, allocator statistics)."""
import subprocess
import sys

import numpy as np
import pytest

import nnx.native as native
import nnx.native.cpu as cpu
import nnx.native.cuda as cuda
from nnx.native.cuda_array import CudaArray


def on_cuda(value):
    return cuda.from_numpy(value) if isinstance(value, np.ndarray) else value


def assert_close(result, expected, tolerance=1e-5):
    if expected is None:
        assert result is None
        return
    assert isinstance(result, CudaArray)
    values = cuda.to_numpy(result)
    assert values.shape == expected.shape and values.dtype == expected.dtype
    np.testing.assert_allclose(values, expected, rtol=tolerance, atol=tolerance)


# --- the registry -----------------------------------------------------------------------------------------------------
def test_import_nnx_does_not_import_the_cuda_backend():
    code = "import sys, nnx, nnx.native; print('nnx.native.cuda' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("module", ["cuda", "cuda_array", "cuda_numpy", "cuda_functions", "cuda_indexing"])
def test_each_cuda_module_can_be_imported_first(module):
    code = f"import nnx.native.{module}; import numpy as np, nnx.native.cuda_array as c; assert np.where in " \
           "c._functions._FUNCTIONS"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_parse_device_with_cuda(cuda_native):
    class Device:
        type, index = "cuda", 0

    assert native.parse_device(None) == ("cpu", 0)
    assert native.parse_device("cpu") == ("cpu", 0)
    assert native.parse_device("cuda") == ("cuda", 0)
    assert native.parse_device("cuda:0") == ("cuda", 0)
    assert native.parse_device(0) == ("cuda", 0)
    assert native.parse_device(Device()) == ("cuda", 0)
    assert native.device_name("cuda:0") == "cuda" and native.get("cuda") is cuda and native.cuda_available()
    assert native.for_array(cuda.zeros((2,), np.float32)) is cuda and native.for_array(np.zeros(2)) is cpu
    with pytest.raises(RuntimeError, match="invalid device index 7"):
        native.parse_device("cuda:7")
    with pytest.raises(RuntimeError, match="my_device: expected one of cpu, cuda"):
        native.parse_device("tpu", "my_device")
    with pytest.raises(RuntimeError, match="invalid device string"):
        native.parse_device("cuda:x")
    with pytest.raises(RuntimeError, match="non-negative"):
        native.parse_device(-1)
    with pytest.raises(TypeError, match="device must be a device string"):
        native.parse_device(1.5)
    with pytest.raises(TypeError):
        native.parse_device(True)


@pytest.mark.parametrize("module, reason",
                         [(None, "nnx was built without the CUDA module"), ("no-device", "no CUDA device")])
def test_cuda_unavailable_is_a_clear_runtime_error(module, reason):
    class NoDevice:
        @staticmethod
        def device_count():
            return 0

    previous = cuda.use_native_module(NoDevice() if module == "no-device" else None)
    try:
        assert not native.cuda_available()
        with pytest.raises(RuntimeError,
                           match=f"model_device='cuda' is not available .*CUDA is not available: {reason}"):
            native.parse_device("cuda", "model_device")
        assert native.parse_device("cpu") == ("cpu", 0)
    finally:
        cuda.use_native_module(previous)


# --- creation and transfer (the same names on both backends) ----------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64])
def test_transfer_round_trip(rng, cuda_native, dtype):
    data = (rng.random((5, 7)) * 10).astype(dtype)
    for source in (data, data.T, data[::2, 1:]):  # non-contiguous inputs are made contiguous
        array = cuda.from_numpy(source)
        assert isinstance(array, CudaArray) and array.flags.c_contiguous and cuda.device_index(array) == 0
        result = cuda.to_numpy(array)
        assert result.dtype == source.dtype and result.flags.c_contiguous
        np.testing.assert_array_equal(result, source)
        assert cpu.from_numpy(source) is source and cpu.to_numpy(source) is source
    with pytest.raises(TypeError, match="float16"):
        cuda.from_numpy(np.zeros(3, np.float16))


def test_creation_functions_match_cpu(cuda_native):
    for name, args in (("zeros", ((2, 3), np.float32)), ("ones", ((4,), np.int64)), ("full", ((2, 2), 7, np.int32)),
                       ("full", ((), 2.5, np.float64)), ("arange", (1, 10, 3, np.int64)),
                       ("arange", (0.0, 1.0, 0.25, np.float32))):
        expected = getattr(cpu, name)(*args)
        result = cuda.to_numpy(getattr(cuda, name)(*args))
        assert result.dtype == expected.dtype
        np.testing.assert_array_equal(result, expected)
    assert cuda.empty((3, 0), np.float32).shape == (3, 0) and cpu.empty((2,), np.float32).shape == (2,)
    cuda.synchronize()
    cpu.synchronize()
    assert cpu.device_type == "cpu" and cuda.device_type == "cuda" and cuda.array_type is CudaArray


# --- the op table: the CUDA entry gives the CPU entry's result on the same inputs -------------------------------------
def _both(function_name, *args, **kwargs):
    cpu_result = getattr(cpu, function_name)(*args, **kwargs)
    cuda_result = getattr(cuda, function_name)(*(on_cuda(a) for a in args),
                                               **{k: on_cuda(v) for k, v in kwargs.items()})
    return cpu_result, cuda_result


def _compare(cpu_result, cuda_result, tolerance=1e-5):
    if isinstance(cpu_result, tuple):
        assert isinstance(cuda_result, tuple) and len(cpu_result) == len(cuda_result)
        for expected, result in zip(cpu_result, cuda_result):
            _compare(expected, result, tolerance)
    else:
        assert_close(cuda_result, cpu_result, tolerance)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_and_linear(rng, cuda_native, dtype):
    a, b = rng.standard_normal((5, 3)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)
    _compare(*_both("matmul", a, b))
    _compare(*_both("matmul2d", a.T.copy(), b, trans_a=True))
    _compare(*_both("matmul2d", a, b.T.copy(), trans_b=True))
    x, weight, bias = (rng.standard_normal(shape).astype(dtype) for shape in ((6, 3), (4, 3), (4,)))
    for activation in ("none", "relu", "gelu"):
        cpu_out, cuda_out = _both("linear_forward", x, weight, bias, activation)
        _compare(cpu_out[0], cuda_out[0])
        grad = rng.standard_normal((6, 4)).astype(dtype)
        expected = cpu.linear_backward(grad, x, weight, cpu_out[1], activation, 0.01, True, True, True)
        result = cuda.linear_backward(on_cuda(grad), on_cuda(x), on_cuda(weight), cuda_out[1], activation, 0.01,
                                      True, True, True)
        _compare(expected, result, 1e-4)


def test_activations_softmax_dropout(rng, cuda_native):
    x = rng.standard_normal((7, 5)).astype(np.float32)
    grad = rng.standard_normal((7, 5)).astype(np.float32)
    for kind in ("relu", "sigmoid", "tanh", "gelu", "silu", "softplus", "leaky_relu"):
        cpu_out, cuda_out = _both("activation_forward", kind, x)
        _compare(cpu_out, cuda_out)
        _compare(cpu.activation_backward(kind, grad, x, cpu_out),
                 cuda.activation_backward(kind, on_cuda(grad), on_cuda(x), cuda_out))
    for log in (False, True):
        cpu_out, cuda_out = _both("softmax_forward", x, log)
        _compare(cpu_out, cuda_out)
        _compare(cpu.softmax_backward(grad, cpu_out, log), cuda.softmax_backward(on_cuda(grad), cuda_out, log))
    cpu_out, cuda_out = _both("dropout_forward", x, 0.3, 1234, 8)
    _compare(cpu_out, cuda_out)  # the same Philox stream: the same mask
    _compare(cpu.dropout_backward(grad, cpu_out[1], 0.3), cuda.dropout_backward(on_cuda(grad), cuda_out[1], 0.3))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses(rng, cuda_native, reduction):
    logits = rng.standard_normal((6, 4))
    target = rng.integers(0, 4, size=6)
    target[2] = -100
    cpu_out, cuda_out = _both("cross_entropy_forward", logits, target, reduction, -100, 0.1, True)
    _compare(cpu_out, cuda_out, 1e-10)
    x, y = rng.standard_normal((5, 3)), rng.random((5, 3))
    for name, options in (("mse_loss", {}), ("l1_loss", {}), ("bce_with_logits", {"pos_weight": rng.random(3)})):
        _compare(*_both("pointwise_loss_forward", name, x, y, reduction, **options), 1e-10)
        grad = np.asarray(0.5) if reduction != "none" else rng.standard_normal((5, 3))
        _compare(*_both("pointwise_loss_backward", name, grad, x, y, reduction, **options), 1e-10)


def test_embedding_and_norms(rng, cuda_native):
    weight = rng.standard_normal((9, 4)).astype(np.float32)
    indices = rng.integers(0, 9, size=(3, 5))
    _compare(*_both("embedding_forward", weight, indices))
    grad = rng.standard_normal((3, 5, 4)).astype(np.float32)
    _compare(*_both("embedding_backward", grad, indices, 9, 2))
    x = rng.standard_normal((8, 4))
    gamma, beta = rng.random(4) + 0.5, rng.standard_normal(4)
    running = [rng.random(4), rng.random(4) + 1]
    device_running = [cuda.from_numpy(r) for r in running]
    expected = cpu.batch_norm_forward(x, gamma, beta, *running, True, 0.1, 1e-5)
    result = cuda.batch_norm_forward(*(on_cuda(v) for v in (x, gamma, beta)), *device_running, True, 0.1, 1e-5)
    _compare(expected[0], result[0], 1e-10)
    for cpu_stat, cuda_stat in zip(running, device_running):  # updated in place on both
        assert_close(cuda_stat, cpu_stat, 1e-10)
    grad = rng.standard_normal((8, 4))
    _compare(cpu.batch_norm_backward(grad, gamma, expected[1], True, True, True, True),
             cuda.batch_norm_backward(on_cuda(grad), on_cuda(gamma), result[1], True, True, True, True), 1e-10)
    expected = cpu.layer_norm_forward(x, gamma, beta, 1e-5)
    result = cuda.layer_norm_forward(*(on_cuda(v) for v in (x, gamma, beta)), 1e-5)
    _compare(expected[0], result[0], 1e-10)
    _compare(cpu.layer_norm_backward(grad, gamma, expected[1], True, True, True),
             cuda.layer_norm_backward(on_cuda(grad), on_cuda(gamma), result[1], True, True, True), 1e-10)


def test_elementwise_entries_and_helpers(rng, cuda_native):
    x = rng.random((3, 4)) + 0.1
    for name in ("exp", "log", "sqrt", "abs"):
        _compare(*_both(name, x))
    device_x = cuda.from_numpy(x)
    assert cuda.contiguous(device_x) is device_x and cuda.contiguous(device_x.T).flags.c_contiguous
    assert cuda.empty_c(device_x.T).shape == (4, 3) and cuda.empty_c(device_x.T).flags.c_contiguous
    assert cuda.is_native_float(device_x) and not cuda.is_native_float(cuda.zeros((2,), np.int64))


def test_optimizer_steps_update_every_parameter_in_place(rng, cuda_native):
    shapes = [(3, 4), (4,), (1,)]
    params = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    state = [np.zeros(s, np.float32) for s in shapes]
    device = [[cuda.from_numpy(a) for a in group] for group in (params, grads, state, state, state)]
    host = [[a.copy() for a in group] for group in (params, grads, state, state, state)]
    cpu.sgd_step(host[0], host[1], host[2], 0.1, momentum=0.9, first_step=True)
    cuda.sgd_step(device[0], device[1], device[2], 0.1, momentum=0.9, first_step=True)
    cpu.adam_step(host[0], host[1], host[3], host[4], None, 1, 0.01, weight_decay=0.1)
    cuda.adam_step(device[0], device[1], device[3], device[4], None, 1, 0.01, weight_decay=0.1)
    cpu.rmsprop_step(host[0], host[1], host[4], None, None, 0.01)
    cuda.rmsprop_step(device[0], device[1], device[4], None, None, 0.01)
    for device_group, host_group in zip(device, host):
        for result, expected in zip(device_group, host_group):
            assert_close(result, expected)


# --- the NumPy stand-in keeps the real module's contract --------------------------------------------------------------
def test_fake_refuses_host_arrays_and_writes_only_outputs(fake_cuda_module):
    fake = fake_cuda_module
    x = fake.DeviceArray.from_host(np.arange(6, dtype=np.float32).reshape(2, 3))
    out = fake.DeviceArray.empty((2, 3), np.float32)
    with pytest.raises(TypeError, match="x must be an nnx._cuda.DeviceArray, got ndarray"):
        fake.unary("exp", np.zeros((2, 3), np.float32), out)
    with pytest.raises(TypeError, match="a must be an nnx._cuda.DeviceArray"):
        fake.gemm(np.zeros((2, 2), np.float32), x, out)
    with pytest.raises(TypeError, match=r"params\[0\] must be an nnx._cuda.DeviceArray"):
        fake.sgd_step([np.zeros(2, np.float32)], [x], None, 0.1)
    with pytest.raises(TypeError, match="x must have float32 or float64 for 'exp', got int64"):
        fake.unary("exp", fake.DeviceArray.from_host(np.arange(3)), fake.DeviceArray.empty((3,), np.int64))
    with pytest.raises(ValueError, match="broadcast view cannot be written"):
        fake.copy(x, x.view((2, 3), (0, 1), 0))
    before = np.arange(6, dtype=np.float32).reshape(2, 3)
    fake.unary("exp", x, out)
    host = np.empty((2, 3), np.float32)
    x.to_host(host)
    np.testing.assert_array_equal(host, before)  # the input is untouched
    with pytest.raises(ValueError, match="falls outside the storage"):
        x.view((3, 3), (3, 1), 0)


def test_fake_allocator_reuses_blocks_and_reports_bad_indices_at_synchronisation(fake_cuda_module):
    fake = fake_cuda_module
    fake.empty_cache()
    first = fake.DeviceArray.empty((100,), np.float32)
    mallocs = fake.malloc_count()
    assert fake.memory_allocated() >= 400 and fake.memory_reserved() >= fake.memory_allocated()
    del first
    for _ in range(3):
        fake.DeviceArray.empty((100,), np.float32)  # served from the cache
    assert fake.malloc_count() == mallocs
    src = fake.DeviceArray.from_host(np.arange(4, dtype=np.float32))
    out = fake.DeviceArray.empty((1,), np.float32)
    fake.index_select(src, fake.DeviceArray.from_host(np.array([9])), out, 1, 4, 1)  # queued, not raised
    with pytest.raises(IndexError, match="out of bounds"):
        fake.synchronize()
    fake.synchronize()
    assert fake.device_count() == 1 and fake.get_device_capability() == (9, 0)
