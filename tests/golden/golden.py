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


def model_weights(keys_and_shapes, seed) -> dict:
    """Deterministic float64 weights for a state dict's (key, shape) list, drawn only with PCG64's random()
    doubles (a stream NumPy keeps stable across releases), so a recording tool and a test draw the same:
    convolution and linear weights uniform with variance 1/fan_in, BatchNorm weights in [0.5, 1.5], biases and
    running means in [-0.1, 0.1], running variances in [0.5, 1.5], num_batches_tracked 0."""
    rng = np.random.default_rng(seed)
    weights = {}
    for key, shape in keys_and_shapes:
        shape = tuple(shape)
        if key.endswith("num_batches_tracked"):
            weights[key] = np.zeros(shape, np.int64)
            continue
        u = rng.random(shape)
        if key.endswith("running_var") or (key.endswith("weight") and len(shape) == 1):
            weights[key] = 0.5 + u
        elif key.endswith(("bias", "running_mean")):
            weights[key] = (u - 0.5) * 0.2
        else:
            fan_in = int(np.prod(shape[1:]))
            weights[key] = (u - 0.5) * 2 * np.sqrt(3.0 / fan_in)
    return weights


def model_input(shape, seed) -> np.ndarray:
    """A float64 input uniform in [-1, 1) drawn from PCG64's random() doubles (see model_weights)."""
    return np.random.default_rng(seed).random(tuple(shape)) * 2 - 1
