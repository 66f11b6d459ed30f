"""The host memory pool (nnx.native.host_memory): large buffers are reused only when no array uses them."""
import gc
import threading

import numpy as np
import pytest

from nnx.native import host_memory

LARGE = (1024, 1024)  # 4 MiB of float32: pooled
SMALL = (16, 16)


@pytest.fixture(autouse=True)
def fresh_pool():
    host_memory.empty_cache()
    limit = host_memory.max_cached_bytes()
    yield
    host_memory.set_max_cached_bytes(limit)
    host_memory.empty_cache()


def address(array):
    return array.__array_interface__["data"][0]


def test_empty_gives_a_writable_aligned_c_contiguous_array_of_the_shape_and_dtype():
    for dtype in (np.float32, np.float64, np.int64, np.uint8):
        array = host_memory.empty(LARGE, dtype)
        assert array.shape == LARGE and array.dtype == dtype
        assert array.flags.c_contiguous and array.flags.writeable and address(array) % 64 == 0
        array[...] = 7
        assert (array == 7).all()
    assert host_memory.empty(5).shape == (5,) and host_memory.empty((), np.float64).shape == ()


def test_a_dropped_array_s_memory_is_reused_and_a_live_one_s_is_not():
    first = host_memory.empty(LARGE)
    first_address = address(first)
    second = host_memory.empty(LARGE)
    assert address(second) != first_address  # `first` is alive
    del first
    third = host_memory.empty(LARGE)
    assert address(third) == first_address


def test_a_view_keeps_the_memory_in_use():
    array = host_memory.empty(LARGE)
    view = array[3:, ::2]
    row = array[5]
    held_address = address(array)
    del array
    assert address(host_memory.empty(LARGE)) != held_address
    del view
    assert address(host_memory.empty(LARGE)) != held_address  # `row` still refers to it
    row[...] = 1.0
    del row
    assert address(host_memory.empty(LARGE)) == held_address


@pytest.mark.parametrize("hold", ["memoryview", "frombuffer", "reshape", "ravel", "tensor"])
def test_every_way_of_holding_the_data_keeps_it_in_use(hold):
    import nnx
    array = host_memory.empty(LARGE)
    array[...] = 3.0
    held_address = address(array)
    holder = {"memoryview": memoryview, "frombuffer": lambda a: np.frombuffer(a, np.float32),
              "reshape": lambda a: a.reshape(-1), "ravel": np.ravel, "tensor": nnx.from_numpy}[hold](array)
    del array
    gc.collect()
    reused = host_memory.empty(LARGE)
    reused[...] = -1.0
    assert address(reused) != held_address
    assert (np.asarray(holder.numpy() if hold == "tensor" else holder) == 3.0).all()


def test_small_arrays_are_not_pooled_and_sizes_do_not_mix():
    small = host_memory.empty(SMALL)
    assert small.base is None and host_memory.cached_bytes() == 0
    large = host_memory.empty(LARGE)
    large_address = address(large)
    del large
    other_size = host_memory.empty((1024, 1025))
    assert address(other_size) != large_address and other_size.shape == (1024, 1025)


def test_owns_memory_tells_roots_from_views():
    assert host_memory.owns_memory(np.empty(LARGE)) and host_memory.owns_memory(host_memory.empty(LARGE))
    assert not host_memory.owns_memory(np.empty(LARGE)[1:])
    assert not host_memory.owns_memory(host_memory.empty(LARGE)[1:])
    assert not host_memory.owns_memory(np.frombuffer(bytearray(8), np.uint8))


def test_the_limit_bounds_what_is_kept_and_zero_turns_pooling_off():
    nbytes = 4 << 20
    host_memory.set_max_cached_bytes(2 * nbytes + 2 * 4096)
    arrays = [host_memory.empty(LARGE) for _ in range(3)]
    assert host_memory.cached_bytes() <= host_memory.max_cached_bytes()
    assert sum(a.base is not None for a in arrays) == 2  # the third did not fit: a plain np.empty
    del arrays
    host_memory.set_max_cached_bytes(0)
    assert host_memory.cached_bytes() == 0 and host_memory.empty(LARGE).base is None
    with pytest.raises(ValueError, match="limit"):
        host_memory.set_max_cached_bytes(-1)
    with pytest.raises(ValueError, match="limit"):
        host_memory.set_max_cached_bytes(1.5)


def test_empty_cache_releases_free_blocks_only():
    kept = host_memory.empty(LARGE)
    dropped = host_memory.empty(LARGE)
    del dropped
    before = host_memory.cached_bytes()
    host_memory.empty_cache()
    assert 0 < host_memory.cached_bytes() < before
    kept[...] = 2.0  # still valid memory
    assert (kept == 2.0).all()


def test_threads_never_get_the_same_block():
    seen, errors = [], []

    def worker(tag):
        try:
            for _ in range(50):
                array = host_memory.empty(LARGE)
                array[...] = tag
                seen.append(address(array))
                assert (array == tag).all()
        except AssertionError as error:  # (reported below: a thread's exception would be lost)
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(tag,)) for tag in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(seen) == 200


def test_cross_entropy_gradient_is_adopted_and_a_training_step_reuses_its_memory():
    """The forward's dloss/dlogits (pooled) becomes x.grad without a copy, and once the step's tensors are
    dropped, the next step's large buffers are the same memory: no fresh pages for the kernels to fault in."""
    import nnx
    import nnx.nn.functional as F
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((1024, 512), dtype=np.float32)  # 2 MiB: pooled
    target = nnx.tensor(rng.integers(0, 512, 1024))

    def step():
        x = nnx.tensor(logits, requires_grad=True)
        F.cross_entropy(x, target).backward()
        grad = x.grad.numpy()
        assert type(grad.base) is host_memory._Block  # adopted: a copy would own plain memory
        return {address(x.numpy()), address(grad)}

    first = step()
    assert len(first) == 2 and step() == first and step() == first
    x = nnx.tensor(logits, requires_grad=True)
    F.cross_entropy(x, target).backward()
    reference = np.exp(logits - logits.max(1, keepdims=True))
    reference /= reference.sum(1, keepdims=True)
    reference[np.arange(1024), target.numpy()] -= 1
    np.testing.assert_allclose(x.grad.numpy(), reference / 1024, rtol=1e-4, atol=1e-7)
