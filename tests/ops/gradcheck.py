"""Finite-difference gradient check of a functional wrapper against its family's float64 reference: the forward
value, then every differentiable input's gradient against central differences of the reference (float64)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import nnx


@dataclass
class Functional:
    """One functional wrapper of a family: `function` takes nnx tensors (the differentiable inputs, then any
    fixed arguments); `reference` takes the same values as float64 NumPy arrays."""
    name: str
    function: Callable
    reference: Callable
    shapes: tuple  # of the differentiable inputs
    fixed: tuple = ()  # further arguments, passed unchanged to both
    low: float = -2.0
    high: float = 2.0


def _numerical(reference, arrays, fixed, weights, position, step=1e-6):
    array = arrays[position]
    grad = np.zeros_like(array)
    flat, flat_grad = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + step
        plus = np.sum(np.asarray(reference(*arrays, *fixed)) * weights)
        flat[i] = saved - step
        minus = np.sum(np.asarray(reference(*arrays, *fixed)) * weights)
        flat[i] = saved
        flat_grad[i] = (plus - minus) / (2 * step)
    return grad


def check(case: Functional, rng: np.random.Generator) -> None:
    arrays = [rng.uniform(case.low, case.high, size=shape) for shape in case.shapes]
    tensors = [nnx.tensor(array, requires_grad=True) for array in arrays]
    out = case.function(*tensors, *case.fixed)
    expected = np.asarray(case.reference(*arrays, *case.fixed), dtype=np.float64)
    assert out.shape == expected.shape, f"shape {out.shape}, expected {expected.shape}"
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)
    weights = rng.uniform(0.5, 1.5, size=expected.shape) * rng.choice([-1.0, 1.0], size=expected.shape)
    out.backward(nnx.tensor(weights))
    for position, tensor in enumerate(tensors):
        assert tensor.grad is not None, f"{case.name}: input {position} got no gradient"
        np.testing.assert_allclose(tensor.grad.numpy(), _numerical(case.reference, arrays, case.fixed, weights,
                                                                   position),
                                   rtol=1e-6, atol=1e-7, err_msg=f"{case.name}: gradient of input {position}")
