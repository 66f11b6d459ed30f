"""Shared pytest setup: every test starts from the same seeds; CUDA cases skip without a GPU."""
import zlib

import numpy as np
import pytest


@pytest.fixture
def rng(request):
    """A fresh NumPy generator per test, seeded from the test's name so failures reproduce."""
    seed = zlib.crc32(request.node.nodeid.encode())  # stable across runs (str hashes are salted)
    return np.random.default_rng(seed)
