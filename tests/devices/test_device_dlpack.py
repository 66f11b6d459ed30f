"""DLPack: zero-copy exchange of nnx tensors with NumPy and PyTorch (CPU here; CUDA on a GPU machine)."""
import numpy as np
import pytest

import nnx


def test_numpy_and_nnx_share_memory_both_ways(rng):
    array = rng.standard_normal((3, 4)).astype(np.float32)
    tensor = nnx.from_dlpack(array)
    assert tensor.dtype == np.float32 and tensor.shape == (3, 4) and tensor.device == nnx.device("cpu")
    array[1, 2] = 42.0
    assert tensor[1, 2].item() == 42.0
    tensor[0, 0] = -7.0
    assert array[0, 0] == -7.0
    exported = np.from_dlpack(nnx.tensor(rng.integers(0, 9, (2, 5))))
    source = nnx.ones(4, dtype=nnx.float64)
    view = np.from_dlpack(source)
    view[3] = 5.0
    assert source[3].item() == 5.0 and exported.dtype == np.int64
    assert source.__dlpack_device__() == (1, 0)
    assert nnx.from_dlpack(source).numpy() is not None and np.shares_memory(nnx.from_dlpack(source).numpy(), view)


def test_dlpack_refuses_what_it_cannot_share():
    with pytest.raises(RuntimeError, match="Can't export tensors that require gradient"):
        nnx.ones(2, requires_grad=True).__dlpack__()
    with pytest.raises(TypeError, match="__dlpack__"):
        nnx.from_dlpack([1.0, 2.0])
    with pytest.raises(TypeError, match="complex"):
        nnx.from_dlpack(np.ones(2, dtype=np.complex64))

    class OnMetal:
        def __dlpack__(self, stream=None):
            raise AssertionError("must not be asked for its data")

        def __dlpack_device__(self):
            return (8, 0)
    with pytest.raises(RuntimeError, match="Metal"):
        nnx.from_dlpack(OnMetal())


def test_torch_and_nnx_share_cpu_memory_both_ways(rng):
    torch = pytest.importorskip("torch")
    source = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    tensor = nnx.from_dlpack(source)
    assert tensor.dtype == np.float32 and tensor.shape == (2, 3)
    source[1, 1] = 100.0
    assert tensor[1, 1].item() == 100.0
    tensor[0, 2] = -1.0
    assert source[0, 2].item() == -1.0
    values = rng.standard_normal((4, 2))
    mine = nnx.tensor(values)
    theirs = torch.from_dlpack(mine)
    assert theirs.dtype == torch.float64 and torch.equal(theirs, torch.from_numpy(values))
    theirs[3, 1] = 9.0
    assert mine[3, 1].item() == 9.0
    transposed = nnx.from_dlpack(torch.ones(3, 2).t())  # strided views keep their strides
    assert transposed.shape == (2, 3) and not transposed.is_contiguous()
    with pytest.raises(TypeError, match="bfloat16|nnx tensors hold"):
        nnx.from_dlpack(torch.ones(2, dtype=torch.bfloat16))


class _CudaProducer:
    """A DLPack producer of CUDA memory (an nnx CUDA tensor behind another library's face) that records the stream
    each __dlpack__ call was given."""

    def __init__(self, tensor):
        self.tensor, self.streams = tensor, []

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        self.streams.append(stream)
        return self.tensor.__dlpack__(stream=stream, max_version=max_version, dl_device=dl_device, copy=copy)

    def __dlpack_device__(self):
        return self.tensor.__dlpack_device__()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_from_dlpack_imports_cuda_memory_zero_copy(device, rng, dtype):
    if device == "cpu":
        pytest.skip("CUDA import path")
    values = (rng.standard_normal((3, 5)) * 4).astype(dtype)
    source = nnx.tensor(values, device=device)
    producer = _CudaProducer(source)
    assert producer.__dlpack_device__() == (2, 0)
    imported = nnx.from_dlpack(producer)
    assert producer.streams == [None]  # DLPack's legacy default stream: the producer orders its writes before it
    assert imported.device == nnx.device("cuda:0") and imported.dtype == dtype and imported.shape == (3, 5)
    np.testing.assert_array_equal(imported.numpy(), values)
    source[1, 2] = 1
    assert imported[1, 2].item() == 1  # the same memory, both ways
    imported[0, 0] = 0
    assert source[0, 0].item() == 0


def test_from_dlpack_keeps_strides_and_offsets_on_cuda(device, rng):
    if device == "cpu":
        pytest.skip("CUDA import path")
    values = rng.standard_normal((4, 6)).astype(np.float32)
    source = nnx.tensor(values, device=device)
    view = nnx.from_dlpack(_CudaProducer(source[1:, ::2].t()))
    assert view.shape == (3, 3) and not view.is_contiguous()
    np.testing.assert_array_equal(view.numpy(), values[1:, ::2].T)
    del source  # the imported view keeps the memory alive
    np.testing.assert_array_equal((view * 2).numpy(), values[1:, ::2].T * 2)
    scalar = nnx.from_dlpack(_CudaProducer(nnx.tensor(2.5, device=device)))
    assert scalar.shape == () and scalar.item() == 2.5
    empty = nnx.from_dlpack(_CudaProducer(nnx.zeros(0, 3, device=device)))
    assert empty.shape == (0, 3) and empty.device == nnx.device("cuda:0")


def test_cuda_backend_from_dlpack_returns_a_cuda_array_sharing_memory(device):
    if device == "cpu":
        pytest.skip("CUDA import path")
    from nnx.native import cuda
    array = cuda.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3))
    imported = cuda.from_dlpack(array)
    assert isinstance(imported, cuda.array_type) and np.may_share_memory(imported, array)
    np.testing.assert_array_equal(cuda.to_numpy(imported), np.arange(6).reshape(2, 3))
    with pytest.raises(ValueError, match="stream must not be 0"):
        array.__dlpack__(stream=0)


def test_torch_cuda_exchange_is_zero_copy(device):
    if device != "cuda" or not _real_cuda():
        pytest.skip("needs a real GPU and PyTorch with CUDA")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch has no CUDA here")
    source = torch.arange(8, dtype=torch.float32, device="cuda")
    tensor = nnx.from_dlpack(source)
    assert tensor.device == nnx.device("cuda:0")
    source[3] = 50.0
    torch.cuda.synchronize()
    assert tensor[3].item() == 50.0
    mine = nnx.ones(5, device="cuda") * 2
    theirs = torch.from_dlpack(mine)  # ordered after nnx's queued work on torch's stream
    assert theirs.device.type == "cuda" and theirs.sum().item() == 10.0
    theirs[0] = 7.0
    torch.cuda.synchronize()
    assert mine[0].item() == 7.0 and mine.__dlpack_device__() == (2, 0)


def _real_cuda():
    from nnx.native import _cuda
    return _cuda is not None and _cuda.device_count() > 0


def test_jax_and_nnx_exchange_cpu_arrays(rng):
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    values = rng.standard_normal((3, 5)).astype(np.float32)
    tensor = nnx.from_dlpack(jnp.asarray(values))  # JAX arrays are immutable: nnx reads them without a copy
    np.testing.assert_array_equal(tensor.numpy(), values)
    mine = nnx.tensor(rng.standard_normal((4, 2)))
    theirs = jnp.from_dlpack(mine)
    assert theirs.dtype == jnp.float64 or not jax.config.jax_enable_x64  # JAX keeps float64 only with x64 on
    np.testing.assert_allclose(np.asarray(theirs), mine.numpy(), rtol=1e-7)
    integers = nnx.from_dlpack(jnp.arange(5, dtype=jnp.int32))
    assert integers.dtype == np.int32 and integers.tolist() == [0, 1, 2, 3, 4]


def test_cupy_and_nnx_share_cuda_memory(device):
    if device != "cuda" or not _real_cuda():
        pytest.skip("needs a real GPU and CuPy")
    cupy = pytest.importorskip("cupy")
    source = cupy.arange(6, dtype=cupy.float32)
    tensor = nnx.from_dlpack(source)
    source[2] = 40.0
    cupy.cuda.runtime.deviceSynchronize()
    assert tensor[2].item() == 40.0
    mine = nnx.ones(4, device="cuda") * 3
    theirs = cupy.from_dlpack(mine)
    assert float(theirs.sum()) == 12.0
    theirs[1] = -1.0
    cupy.cuda.runtime.deviceSynchronize()
    assert mine[1].item() == -1.0
