"""CudaArray against NumPy: views and reshape, basic and advanced indexing, setitem (on the fake CUDA module
everywhere and on a real GPU when one is visible; see test_cuda_array.py)."""

import numpy as np
import pytest
from cuda_array_checks import dev, random, same

import nnx.native.cuda as cuda


@pytest.fixture(autouse=True)
def native(cuda_native):
    """Every test here runs on the fake CUDA module, and on the real one where a GPU is visible."""
    return cuda_native


# --- views and reshape ------------------------------------------------------------------------------------------------
_BASIC_INDICES = [1, -1, (1, 2), (slice(None), 0), (slice(1, None, 2),), (slice(None, None, -1), slice(1, 3)),
                  (Ellipsis, 1), (None, 0), (0, None, slice(None), None), (slice(None), None, -2, slice(None, 1)),
                  (np.int64(2), Ellipsis), (slice(-2, None), slice(None), slice(None, None, -2))]


@pytest.mark.parametrize("index", _BASIC_INDICES, ids=str)
def test_basic_indexing_gives_views(rng, index):
    data = random(rng, (4, 5, 3))
    a = dev(data)
    view = a[index]
    same(view, data[index])
    assert np.may_share_memory(view, a) or view.size == 0
    view[...] = 7.0  # writes show in the base array
    data[index] = 7.0
    same(a, data)


def test_index_errors_are_numpy_s(rng):
    a = dev(random(rng, (3, 4)))
    with pytest.raises(IndexError):
        a[3]
    with pytest.raises(IndexError):
        a[0, 0, 0]
    with pytest.raises(IndexError):
        a[np.array([0, 5])]
    with pytest.raises(IndexError):
        a["x"]


@pytest.mark.parametrize("source, target", [((3, 4), (12,)), ((3, 4), (2, -1)), ((2, 3, 4), (6, 4)),
                                            ((2, 3, 4), (2, 12)), ((1, 5), (5, 1)), ((0, 3), (3, 0)),
                                            ((2, 3), (3, 1, 2))])
def test_reshape_of_contiguous_arrays_is_a_view(rng, source, target):
    data = random(rng, source)
    a = dev(data)
    result = a.reshape(target)
    same(result, data.reshape(target))
    assert result.size == 0 or np.may_share_memory(result, a)


def test_reshape_of_strided_arrays_copies_only_when_numpy_does(rng):
    data = random(rng, (4, 6, 2))
    a = dev(data)
    for view, reference in ((a.T, data.T), (a[:, ::2], data[:, ::2]), (a.transpose(1, 0, 2), data.transpose(1, 0, 2)),
                            (a[1:3], data[1:3])):
        for shape in ((-1,), (reference.shape[0], -1), (-1, reference.shape[-1])):
            expected = reference.reshape(shape)
            result = view.reshape(shape)
            same(result, expected)
            assert np.may_share_memory(result, a) == np.may_share_memory(expected, data)
    with pytest.raises(ValueError):
        a.reshape(5, -1)
    same(np.ravel(a.T), data.T.ravel())
    same(a.flatten(), data.flatten())


@pytest.mark.parametrize("make", [
    lambda x: np.transpose(x, (2, 0, 1)), lambda x: np.moveaxis(x, 0, -1), lambda x: np.swapaxes(x, 0, 2),
    lambda x: np.expand_dims(x, (0, 2)), lambda x: np.squeeze(x[:, :1], 1),
    lambda x: np.broadcast_to(x[:, :1], (3, 4, 2)),
    lambda x: np.flip(x, 1), lambda x: x.T, lambda x: x.mT, lambda x: x.squeeze(), lambda x: np.atleast_2d(x[0, 0])])
def test_view_functions(rng, make):
    data = random(rng, (3, 4, 2))
    same(make(dev(data)), make(data))


def test_base_is_none_for_fresh_arrays_and_the_owner_for_views(rng):
    data = random(rng, (3, 4, 2))
    a = dev(data)
    fresh = [a, a + 1, a.copy(), a.astype(np.float64), a[[0, 2]], a[a > 0], np.zeros_like(a),
             cuda.empty((2,), np.int64),
             np.concatenate([a, a]), a.sum(0), a.T.copy()]
    assert all(array.base is None for array in fresh)
    views = [a[1:], a[0, :, 1], a.T, a.reshape(-1), a.reshape(3, 4, 2), np.broadcast_to(a[:, :1], (3, 4, 2)),
             np.expand_dims(a, 0), a.swapaxes(0, 1), a[None, ..., ::-1], np.flip(a, 1)]
    assert all(view.base is a for view in views)
    assert a[1:][::2][0].T[None].base is a  # the owner, never a view in between (NumPy's rule)
    copied = a.T.reshape(-1)  # this reshape has to copy: like NumPy, a view of a fresh copy
    assert copied.base is not None and copied.base is not a and copied.base.base is None
    assert data.T.reshape(-1).base is not None  # (NumPy agrees)


def test_broadcast_views_are_read_only(rng):
    a = np.broadcast_to(dev(random(rng, (1, 4))), (3, 4))
    assert not a.flags.writeable and a.strides[0] == 0
    with pytest.raises(ValueError, match="read-only"):
        a[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        a += 1


# --- advanced indexing ------------------------------------------------------------------------------------------------
def _advanced_indices(rng):
    rows = np.array([2, 0, -1, 2])
    columns = np.array([[1], [4]])
    return [rows, (rows,), (slice(None), rows), (rows, slice(1, 4)), (rows, columns[:, :1].ravel()[:1]),
            (rows[:, None], slice(None), np.array([0, 2, 1, 0])), (slice(None), np.array([[0, 1], [4, 3]]), 1),
            (Ellipsis, np.array([1, 0])), (None, rows), (1, slice(None), np.array([1, 1, 0])),
            (np.array([0, 2]), np.array([1, 3]), np.array([0, 1])), [0, 0, 1], np.array([], dtype=np.int64),
            (rows, None, 2)]


@pytest.mark.parametrize("case", range(14))
@pytest.mark.parametrize("on_device", [False, True], ids=["host-index", "device-index"])
def test_integer_array_indexing_matches_numpy(rng, case, on_device):
    data = random(rng, (3, 5, 4))
    index = _advanced_indices(rng)[case]
    device_index = tuple(dev(part) if on_device and isinstance(part, np.ndarray) else part for part in index) \
        if isinstance(index, tuple) else (dev(index) if on_device and isinstance(index, np.ndarray) else index)
    a = dev(data)
    same(a[device_index], data[index])
    values = random(rng, data[index].shape)
    written = np.arange(data.size).reshape(data.shape)[index].ravel()
    if len(np.unique(written)) < len(written):
        # an element indexed twice: NumPy keeps the last write, a GPU (like PyTorch's index_put_) any one of them
        values = np.broadcast_to(np.float32(0.5), values.shape)
    a[device_index] = dev(np.ascontiguousarray(values))
    data[index] = values
    same(a, data)
    a[device_index] = 0.25  # a scalar broadcasts
    data[index] = 0.25
    same(a, data)


@pytest.mark.parametrize("mask_shape", [(3,), (3, 5), (3, 5, 4)])
@pytest.mark.parametrize("on_device", [False, True], ids=["host-mask", "device-mask"])
def test_boolean_mask_indexing(rng, mask_shape, on_device):
    data = random(rng, (3, 5, 4))
    mask = rng.random(mask_shape) < 0.5
    a = dev(data)
    index = dev(mask) if on_device else mask
    same(a[index], data[mask])
    data[mask] = -1.0
    a[index] = -1.0
    same(a, data)
    same(a[dev(data > 0)], data[data > 0])
    with pytest.raises(IndexError, match="boolean index did not match"):
        a[dev(np.ones(4, bool))]


def test_np_add_at_accumulates_repeated_indices(rng):
    data = random(rng, (4, 3), np.float64)
    a = dev(data)
    rows, values = np.array([0, 2, 0, 0, 3]), random(rng, (5, 3), np.float64)
    np.add.at(a, dev(rows), dev(values))
    np.add.at(data, rows, values)
    same(a, data, exact=False)
    positions = np.indices((2, 3), sparse=True)
    index = np.array([[1, 1, 0], [3, 3, 3]])
    grid = (index, positions[1])
    grad = random(rng, (2, 3), np.float64)
    np.add.at(a, (dev(index), positions[1]), dev(grad))
    np.add.at(data, grid, grad)
    same(a, data, exact=False)


def test_out_of_range_indices_raise_index_error(rng, native):
    a = dev(random(rng, (3, 4)))
    with pytest.raises(IndexError, match="out of bounds"):
        a[np.array([0, 3])]
    with pytest.raises(IndexError, match="out of bounds"):
        a[dev(np.array([0, 1])), dev(np.array([1, 9]))]
    with pytest.raises(IndexError):  # one device index array: checked by the kernel, raised at the next sync
        cuda.to_numpy(a[dev(np.array([5]))])
    cuda.synchronize()  # nothing left pending


def test_take_and_put_along_axis(rng):
    data = random(rng, (4, 6, 3))
    a = dev(data)
    for axis in (0, 1, 2, -1):
        # two distinct positions per line: with a repeated one NumPy keeps the last write, a GPU any one of them
        indices = np.take(np.argsort(rng.random(data.shape), axis=axis), [0, 1], axis=axis)
        same(np.take_along_axis(a, dev(indices), axis), np.take_along_axis(data, indices, axis))
        values = random(rng, indices.shape)
        np.put_along_axis(a, dev(indices), dev(values), axis)
        np.put_along_axis(data, indices, values, axis)
        same(a, data)
    column = np.argmax(data, axis=1)[:, None]  # broadcasting indices, as Tensor.max(dim) does
    same(np.take_along_axis(a, dev(column), 1), np.take_along_axis(data, column, 1))
    strided = a[:, ::2]
    np.put_along_axis(strided, dev(np.zeros((4, 1, 3), np.int64)), 9.0, 1)
    data[:, ::2][:, :1] = 9.0
    same(a, data)
    same(np.take(a, dev(np.array([2, 0])), axis=1), np.take(data, [2, 0], axis=1))


def test_setitem_basic_and_overlapping(rng):
    data = random(rng, (5, 4))
    a = dev(data)
    a[1:] = a[:-1]  # overlapping source and destination
    data[1:] = data[:-1].copy()
    same(a, data)
    a[0] = dev(np.arange(4, dtype=np.float32))
    data[0] = np.arange(4)
    a[:, 1] = np.array([1, 2, 3, 4, 5])  # host values written explicitly
    data[:, 1] = [1, 2, 3, 4, 5]
    a[2:4, ::2] = dev(np.array([[7.0], [8.0]], np.float64))  # broadcast and cast
    data[2:4, ::2] = [[7.0], [8.0]]
    a[-1, -1] = np.float64(-3)
    data[-1, -1] = -3
    same(a, data)
    a.fill(0.5)
    same(a, np.full((5, 4), 0.5, np.float32))
