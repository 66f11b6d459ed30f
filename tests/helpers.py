"""Helpers shared by the tests: random inputs, NaN-poisoned outputs, comparison with float64 references."""
import math
import os

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def run_seed() -> int:
    """The run seed conftest.py draws (or takes from NNX_TEST_SEED) for this pytest run; 0 outside pytest."""
    return int(os.environ.get("NNX_TEST_SEED", "0") or 0)


def random_size(low: int = 2, high: int = 70_000, salt: int = 0) -> int:
    """A size drawn log-uniformly from [low, high] by the run seed: a different one each run (in the test ids, so
    NNX_TEST_SEED replays it), on both sides of the OpenMP threshold."""
    draw = np.random.default_rng([run_seed(), salt]).uniform(math.log(low), math.log(high + 1))
    return min(high, max(low, int(math.exp(draw))))


# 1 element, odd sizes, non-multiples of 16, one drawn per run, and one above the OpenMP threshold (32768).
EDGE_SIZES = (1, 3, 17, 250, random_size(), 40_003)  # [-1] stays the largest fixed one

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
