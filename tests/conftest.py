"""Shared pytest setup: every test starts from the same seeds; CUDA cases skip without a GPU."""
import numpy as np
import pytest


@pytest.fixture
def rng(request):
    """A fresh NumPy generator per test, seeded from the test's name so failures reproduce."""
    seed = abs(hash(request.node.nodeid)) % (2**32)
    return np.random.default_rng(seed)
