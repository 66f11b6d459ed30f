"""Helpers of the CudaArray tests (test_cuda_array*.py): device copies, host reads, and the check that a result is
NumPy's (shape, dtype and values)."""
import numpy as np

import nnx.native.cuda as cuda
from nnx.native.cuda_array import CudaArray


def dev(array):
    return cuda.from_numpy(np.asarray(array))


def host(array):
    assert isinstance(array, CudaArray), f"expected a CudaArray, got {type(array).__name__}"
    return cuda.to_numpy(array)


def same(result, expected, exact=True):
    """The CudaArray `result` holds NumPy's `expected`: same shape, dtype and values."""
    expected = np.asarray(expected)
    values = host(result)
    assert values.shape == expected.shape, (values.shape, expected.shape)
    assert values.dtype == expected.dtype, (values.dtype, expected.dtype)
    if exact or expected.dtype.kind not in "f":
        np.testing.assert_array_equal(values, expected)
    else:
        tolerance = 1e-5 if expected.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(values, expected, rtol=tolerance, atol=tolerance)


DEVICE_DTYPES = tuple(np.dtype(t) for t in (np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64))


def numpy_or_type_error(function, *args):
    """NumPy's result, or None where NumPy raises TypeError or gives a dtype device arrays do not hold."""
    try:
        result = np.asarray(function(*args))
    except TypeError:
        return None
    return result if result.dtype in DEVICE_DTYPES else None


def random(rng, shape, dtype=np.float32, low=-3.0, high=3.0):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        low = 0 if dtype.kind == "u" else int(low) * 3
        return rng.integers(low, int(high) * 3 + 1, size=shape).astype(dtype)
    values = rng.uniform(low, high, size=shape)
    values[values == 0] = 0.5
    return values.astype(dtype)
