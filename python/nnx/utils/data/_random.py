"""The random source of samplers and random_split: the `generator=` argument as a NumPy Generator."""
from __future__ import annotations

from typing import Optional, Union

import numpy as np

from ... import random as nnx_random

# What a `generator=` argument accepts (None: nnx's default stream, seeded by nnx.manual_seed).
GeneratorLike = Optional[Union[nnx_random.Generator, np.random.Generator]]


def numpy_rng(generator: GeneratorLike, argument: str = "generator") -> np.random.Generator:
    """A NumPy Generator for one draw: a fresh slice of nnx's default stream when generator is None (so
    nnx.manual_seed fixes it), of an nnx.random.Generator's stream, or a NumPy Generator itself."""
    if generator is None:
        return nnx_random.numpy_generator()
    if isinstance(generator, nnx_random.Generator):
        return generator.numpy_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"{argument} must be None, an nnx.random.Generator or a numpy.random.Generator, "
                    f"got {type(generator).__name__}")
