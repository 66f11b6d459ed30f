"""nnx._cuda's runtime, allocator and DeviceArray (host copies, views, DLPack); GPU cases skip without a GPU,
and the no-GPU cases check that every entry point raises instead of crashing on a machine without one."""
import gc

import numpy as np
import pytest

from helpers import poisoned
from nnx import native

cuda = native._cuda
pytestmark = pytest.mark.cuda
needs_module = pytest.mark.skipif(cuda is None, reason="nnx._cuda was not built (no nvcc)")
needs_gpu = pytest.mark.skipif(cuda is None or cuda.device_count() == 0, reason="needs an NVIDIA GPU")
without_gpu = pytest.mark.skipif(cuda is None or cuda.device_count() > 0, reason="checks the no-GPU behaviour")

DTYPES = (np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64)
SHAPES = [(), (0,), (1,), (3, 5), (2, 0, 3), (17, 1, 3), (40_003,)]


def random_values(rng, shape, dtype):
    """Fresh values of any supported dtype, never all zeros."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.asarray(rng.random(shape) < 0.5)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = rng.integers(max(info.min, -1000), min(info.max, 1000), size=shape, endpoint=True)
        return values.astype(dtype).reshape(shape)
    return np.asarray(rng.uniform(-2, 2, size=shape).astype(dtype))


def to_host(device_array):
    out = poisoned(device_array.shape, device_array.dtype) if device_array.dtype != np.bool_ else \
        np.ones(device_array.shape, np.bool_)
    device_array.to_host(out)
    return out


# --- without a GPU: clear errors, never a crash --------------------------------------------------------------------
@needs_module
def test_device_count_is_an_int_that_never_raises():
    assert isinstance(cuda.device_count(), int) and cuda.device_count() >= 0


@without_gpu
@pytest.mark.parametrize("call", [
    lambda: cuda.DeviceArray.empty((2, 3), np.float32),
    lambda: cuda.DeviceArray.empty((0,), np.int64),
    lambda: cuda.DeviceArray.from_host(np.ones(3, np.float32)),
    lambda: cuda.synchronize(),
    lambda: cuda.synchronize(0),
    lambda: cuda.get_device_name(),
    lambda: cuda.get_device_capability(0),
    lambda: cuda.memory_allocated(),
    lambda: cuda.memory_reserved(0),
    lambda: cuda.malloc_count(0),
], ids=["empty", "empty-0", "from_host", "synchronize", "synchronize-0", "get_device_name", "get_device_capability",
        "memory_allocated", "memory_reserved", "malloc_count"])
def test_entry_points_raise_runtime_error_without_a_gpu(call):
    with pytest.raises(RuntimeError, match="CUDA error: "):
        call()


@without_gpu
def test_empty_cache_without_a_gpu_has_nothing_to_free():
    cuda.empty_cache()


@needs_module
@pytest.mark.parametrize("obj", [[1.0, 2.0], 3.0, None, "array"])
def test_from_host_refuses_non_arrays(obj):
    with pytest.raises(TypeError, match="array must be a numpy.ndarray"):
        cuda.DeviceArray.from_host(obj)


@needs_module
def test_from_host_refuses_unsupported_dtype_and_layout():
    with pytest.raises(TypeError,
                       match="array must have dtype bool, uint8, int32, int64, float32, float64, got float16"):
        cuda.DeviceArray.from_host(np.ones(3, np.float16))
    with pytest.raises(ValueError, match="array must be C-contiguous"):
        cuda.DeviceArray.from_host(np.ones((3, 4), np.float32).T)


@needs_module
def test_empty_validates_its_arguments_before_touching_the_device():
    with pytest.raises(ValueError, match=r"shape must not have negative dimensions, got \(2, -1\)"):
        cuda.DeviceArray.empty((2, -1), np.float32)
    with pytest.raises(TypeError, match="shape must be a sequence of ints"):
        cuda.DeviceArray.empty(3, np.float32)
    with pytest.raises(TypeError, match="shape must be a sequence of ints"):
        cuda.DeviceArray.empty((2.5,), np.float32)
    with pytest.raises(TypeError,
                       match="dtype must be one of bool, uint8, int32, int64, float32, float64, got complex128"):
        cuda.DeviceArray.empty((2,), np.complex128)
    with pytest.raises(TypeError, match="dtype must be a NumPy dtype"):
        cuda.DeviceArray.empty((2,), "not a dtype")
    with pytest.raises(ValueError, match="device must be a CUDA device index >= 0, got -1"):
        cuda.DeviceArray.empty((2,), np.float32, device=-1)
    with pytest.raises(ValueError, match="overflows int64"):
        cuda.DeviceArray.empty((2**40, 2**40), np.float32)
    with pytest.raises(ValueError, match="shape has an item outside the int64 range"):
        cuda.DeviceArray.empty((2**70,), np.float32)


@needs_module
def test_from_dlpack_refuses_non_capsules():
    with pytest.raises(TypeError, match="capsule must be a DLPack 'dltensor' PyCapsule"):
        cuda.from_dlpack(np.ones(3))


@needs_module
def test_synchronize_refuses_a_negative_device_other_than_all():
    with pytest.raises(ValueError, match="device must be a CUDA device index >= 0, got -2"):
        cuda.synchronize(-2)


# --- device queries ------------------------------------------------------------------------------------------------
@needs_gpu
def test_device_queries():
    assert isinstance(cuda.get_device_name(0), str) and cuda.get_device_name(0)
    major, minor = cuda.get_device_capability(0)
    assert major >= 5 and minor >= 0
    cuda.synchronize()
    cuda.synchronize(0)
    with pytest.raises(ValueError, match="device must be <"):
        cuda.get_device_name(cuda.device_count())
    with pytest.raises(ValueError, match="device must be <"):
        cuda.DeviceArray.empty((2,), np.float32, device=cuda.device_count())


# --- host copies ---------------------------------------------------------------------------------------------------
@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_from_host_to_host_round_trip(rng, dtype, shape):
    host = random_values(rng, shape, dtype)
    expected = host.copy()
    device_array = cuda.DeviceArray.from_host(host)
    host[...] = 0  # the host array may be reused as soon as from_host returns
    assert device_array.shape == shape and device_array.dtype == np.dtype(dtype)
    assert device_array.size == expected.size and device_array.is_contiguous
    np.testing.assert_array_equal(to_host(device_array), expected)


@needs_gpu
def test_to_host_validates_out():
    a = cuda.DeviceArray.from_host(np.arange(6, dtype=np.float32).reshape(2, 3))
    with pytest.raises(TypeError, match="out must be a numpy.ndarray"):
        a.to_host([0] * 6)
    with pytest.raises(TypeError, match="out must have dtype float32, got float64"):
        a.to_host(np.empty((2, 3), np.float64))
    with pytest.raises(ValueError, match=r"out must have shape \(2, 3\), got \(3, 2\)"):
        a.to_host(np.empty((3, 2), np.float32))
    with pytest.raises(ValueError, match="out must be C-contiguous"):
        a.to_host(np.empty((3, 2), np.float32).T)
    readonly = np.empty((2, 3), np.float32)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="out must be writeable"):
        a.to_host(readonly)
    with pytest.raises(ValueError, match="to_host needs a contiguous DeviceArray"):
        a.view((3, 2), (1, 3), 0).to_host(np.empty((3, 2), np.float32))


# --- properties and views -----------------------------------------------------------------------------------------
@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_properties(dtype):
    a = cuda.DeviceArray.empty((4, 0, 3) if dtype == np.bool_ else (4, 5, 3), dtype)
    itemsize = np.dtype(dtype).itemsize
    assert a.dtype == np.dtype(dtype) and a.itemsize == itemsize and a.device == 0 and a.ndim == 3
    assert a.offset == 0 and a.is_contiguous
    assert a.size == int(np.prod(a.shape)) and a.nbytes == a.size * itemsize
    assert a.storage_nbytes == a.nbytes
    if a.size:
        assert a.strides == (15, 3, 1) and a.data_ptr == a.storage_ptr != 0
    assert "DeviceArray(shape=" in repr(a) and np.dtype(dtype).name in repr(a)


@needs_gpu
def test_views_share_storage_and_check_bounds():
    host = np.arange(24, dtype=np.float64).reshape(4, 6)
    a = cuda.DeviceArray.from_host(host)
    transposed = a.view((6, 4), (1, 6), 0)
    assert not transposed.is_contiguous and transposed.storage_ptr == a.storage_ptr
    block = a.view((2, 3), (6, 1), 7)  # host[1:3, 1:4]
    assert block.data_ptr == a.data_ptr + 7 * 8 and block.offset == 7
    reversed_row = a.view((6,), (-1,), 5)  # host[0, ::-1]
    broadcast = a.view((3, 6), (0, 1), 0)
    assert broadcast.strides == (0, 1)
    contiguous_last = a.view((1, 24), (100, 1), 0)  # extent-1 dimensions may have any stride
    assert contiguous_last.is_contiguous
    np.testing.assert_array_equal(to_host(a.view((24,), (1,), 0)), host.ravel())
    assert reversed_row.size == 6
    for shape, strides, offset in [((5, 6), (6, 1), 0), ((6,), (-1,), 4), ((2,), (1,), 23), ((25,), (1,), 0),
                                   ((2, 2), (2**62, 2**62), 0)]:
        with pytest.raises(ValueError, match="falls outside the storage"):
            a.view(shape, strides, offset)
    with pytest.raises(ValueError, match="is too large"):
        a.view((2**40, 2**40), (0, 0), 0)  # in bounds, but its size overflows int64
    with pytest.raises(ValueError, match="offset must be in"):
        a.view((1,), (1,), -1)
    with pytest.raises(ValueError, match="strides must have one entry per dimension"):
        a.view((2, 3), (1,), 0)
    assert a.view((0, 5), (1, 1), 24).size == 0  # an empty view may sit at the end


# --- allocator -----------------------------------------------------------------------------------------------------
@needs_gpu
def test_allocator_rounds_caches_and_reuses_blocks():
    gc.collect()
    cuda.synchronize()
    before = cuda.memory_allocated()
    a = cuda.DeviceArray.empty((100,), np.float32)  # 400 B -> one 512 B block
    assert cuda.memory_allocated() - before == 512
    big = cuda.DeviceArray.empty((300_000,), np.float64)  # 2.4 MB -> 4 MiB
    assert cuda.memory_allocated() - before == 512 + (4 << 20)
    assert cuda.memory_reserved() >= cuda.memory_allocated()
    del a, big
    assert cuda.memory_allocated() == before
    mallocs = cuda.malloc_count()
    for _ in range(5):  # steady state: the cached blocks come back, no new cudaMalloc
        a = cuda.DeviceArray.empty((100,), np.float32)
        big = cuda.DeviceArray.empty((300_000,), np.float64)
        del a, big
    assert cuda.malloc_count() == mallocs
    cuda.empty_cache()
    assert cuda.memory_reserved() == cuda.memory_allocated()


@needs_gpu
def test_views_keep_their_storage_alive():
    host = np.arange(10, dtype=np.int64)
    a = cuda.DeviceArray.from_host(host)
    tail = a.view((5,), (1,), 5)
    del a
    gc.collect()
    filler = cuda.DeviceArray.from_host(np.full(10, -1, np.int64))  # would reuse a freed block
    np.testing.assert_array_equal(to_host(tail), host[5:])
    del filler


@needs_gpu
def test_out_of_memory_raises_memory_error_and_the_allocator_recovers():
    with pytest.raises(MemoryError, match="CUDA out of memory"):
        cuda.DeviceArray.empty((2**42,), np.float64)  # 32 TiB
    a = cuda.DeviceArray.from_host(np.arange(5, dtype=np.float32))
    np.testing.assert_array_equal(to_host(a), np.arange(5, dtype=np.float32))


# --- synchronisation of device-side errors --------------------------------------------------------------------------
@needs_gpu
def test_a_bad_index_recorded_by_a_kernel_raises_index_error_once():
    if not hasattr(cuda, "index_select"):
        pytest.skip("index_select is not built")
    src = cuda.DeviceArray.from_host(np.arange(12, dtype=np.float32).reshape(3, 4))
    indices = cuda.DeviceArray.from_host(np.array([0, 7], np.int64))
    out = cuda.DeviceArray.empty((2, 4), np.float32)
    cuda.index_select(src, indices, out, 1, 3, 4)
    with pytest.raises(IndexError, match="index 7 is out of bounds \\(found by a CUDA kernel\\)"):
        cuda.synchronize()
    cuda.synchronize()  # the flag was cleared


# --- DLPack --------------------------------------------------------------------------------------------------------
@needs_gpu
def test_dlpack_round_trip_shares_memory_and_keeps_it_alive():
    host = np.arange(12, dtype=np.float32).reshape(3, 4)
    a = cuda.DeviceArray.from_host(host)
    assert a.__dlpack_device__() == (2, 0)
    transposed = a.view((4, 3), (1, 4), 0)
    capsule = transposed.__dlpack__(stream=None)
    b = cuda.from_dlpack(capsule)
    assert b.shape == (4, 3) and b.strides == (1, 4) and b.data_ptr == transposed.data_ptr and b.dtype == np.float32
    with pytest.raises(ValueError, match="already been consumed"):
        cuda.from_dlpack(capsule)
    del a, transposed, capsule
    gc.collect()
    contiguous = cuda.from_dlpack(b.view((12,), (1,), 0).__dlpack__(stream=-1))
    np.testing.assert_array_equal(to_host(contiguous), host.ravel())
    unconsumed = b.__dlpack__()
    del unconsumed  # its destructor releases the export
    with pytest.raises(BufferError, match="copy=True is not supported"):
        b.__dlpack__(copy=True)
    with pytest.raises(BufferError, match="dl_device"):
        b.__dlpack__(dl_device=(1, 0))
    with pytest.raises(ValueError, match="stream must not be 0"):
        b.__dlpack__(stream=0)


@needs_gpu
def test_dlpack_exchange_with_torch():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    host = np.arange(6, dtype=np.float64).reshape(2, 3)
    a = cuda.DeviceArray.from_host(host)
    t = torch.from_dlpack(a)
    np.testing.assert_array_equal(t.cpu().numpy(), host)
    back = cuda.from_dlpack(torch.arange(5, device="cuda", dtype=torch.int64).__dlpack__())
    np.testing.assert_array_equal(to_host(back), np.arange(5))
    bools = cuda.from_dlpack((torch.arange(4, device="cuda") % 2 == 0).__dlpack__())
    np.testing.assert_array_equal(to_host(bools), [True, False, True, False])
