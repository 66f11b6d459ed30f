"""Loads the PyTorch outputs recorded by tools/record_golden.py (tests/golden/*.json) for the torch-free twins of
the parity tests."""
import functools
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


@functools.cache
def load(name: str) -> dict:
    """The recorded file tests/golden/<name>.json (inputs, PyTorch's outputs, the PyTorch version)."""
    with open(os.path.join(HERE, f"{name}.json")) as file:
        return json.load(file)


def array(values, shape=None, dtype=np.float64) -> np.ndarray:
    """A stored nested list as an array of the given shape (needed for empty and 0-d arrays)."""
    result = np.array(values, dtype=np.float64)
    if shape is not None:
        result = result.reshape(shape)
    return result.astype(dtype)


def case_id(case: dict, *keys: str) -> str:
    return "-".join(str(case[key]) for key in keys)
