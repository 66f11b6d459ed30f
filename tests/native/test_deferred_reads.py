"""nnx.deferred: device scalars and batches read to the host together (one transfer), in order, with the values
a read per item would give."""
import numpy as np
import pytest

import nnx.native.cuda as cuda
from nnx.deferred import DeviceBatches, DeviceScalars, is_device_array


@pytest.fixture(autouse=True)
def native(cuda_native):
    return cuda_native


def test_device_scalars_read_every_value_in_order_and_compact(rng):
    values = rng.standard_normal(23)
    scalars = DeviceScalars(compact_every=5)
    assert not scalars and len(scalars) == 0 and scalars.read().shape == (0,)
    for i, value in enumerate(values):
        dtype = np.float32 if i % 2 else np.float64
        scalars.append(cuda.from_numpy(np.array(value, dtype=dtype).reshape((1,) * (i % 3))))
    assert scalars and len(scalars) == 23 and len(scalars._chunks) == 4 and len(scalars._pending) == 3
    read = scalars.read()
    assert read.dtype == np.float64 and not scalars
    expected = [np.float64(np.float32(v)) if i % 2 else v for i, v in enumerate(values)]
    np.testing.assert_array_equal(read, expected)
    with pytest.raises(ValueError, match="one-element"):
        scalars.append(cuda.from_numpy(np.ones(2)))


def test_device_batches_keep_order_across_shapes_dtypes_and_host_arrays(rng):
    batches = [rng.standard_normal((3, 4)), rng.standard_normal((2, 4)), rng.integers(0, 9, (5,)),
               rng.standard_normal((1, 4)).astype(np.float32), np.array(2.5), rng.standard_normal((4, 4))]
    deferred = DeviceBatches(max_bytes=200)
    for i, batch in enumerate(batches):
        deferred.append(batch if i == 4 else cuda.from_numpy(batch))
    assert deferred
    read = deferred.read()
    assert len(read) == len(batches) and not deferred and deferred.read() == []
    for got, expected in zip(read, batches):
        assert isinstance(got, np.ndarray) and got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_is_device_array():
    assert is_device_array(cuda.from_numpy(np.ones(2))) and not is_device_array(np.ones(2))
