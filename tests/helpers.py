"""Helpers shared by the tests: random inputs, NaN-poisoned outputs, comparison with float64 references."""
import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)

# 1 element, odd sizes, non-multiples of 16, and one above the kernels' OpenMP threshold (32768).
EDGE_SIZES = (1, 3, 17, 250, 40_003)

# Tolerances for a float32/float64 kernel against a float64 reference of the same math.
TOLERANCES = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def random_array(rng, shape, dtype, low=-2.0, high=2.0):
    """Fresh uniform values in [low, high), never all zeros, in C order."""
    return rng.uniform(low, high, size=shape).astype(dtype)


def poisoned(shape, dtype):
    """An output buffer full of NaN (or the most negative integer), so a kernel that skips an element shows."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.full(shape, np.nan, dtype=dtype)
    if dtype.kind == "b":  # no invalid bool exists: True at least shows every element that should be False
        return np.ones(shape, dtype=dtype)
    return np.full(shape, np.iinfo(dtype).min, dtype=dtype)


def assert_close(actual, expected, dtype=None, scale=1.0, **overrides):
    """Compare a kernel output with a float64 reference; tolerances follow the kernel's dtype.

    `scale` widens both tolerances for ops that sum many terms (e.g. a GEMM's inner dimension).
    """
    dtype = np.dtype(dtype or actual.dtype).type
    tolerance = dict(TOLERANCES[dtype])
    tolerance = {k: v * scale for k, v in tolerance.items()}
    tolerance.update(overrides)
    assert actual.dtype == np.dtype(dtype), f"dtype {actual.dtype}, expected {np.dtype(dtype)}"
    assert actual.shape == np.shape(expected), f"shape {actual.shape}, expected {np.shape(expected)}"
    assert not np.isnan(actual).any() or np.isnan(expected).any(), "output still holds NaN poison"
    np.testing.assert_allclose(actual.astype(np.float64), expected, **tolerance)
