"""nnx's seeded random numbers: one default generator (seed, counter) behind manual_seed.

Every consumer takes a fresh slice of one counter-based stream, so a seed fixes every result bit for
bit whatever the thread count: dropout gets a Philox4x32 offset for the native kernel, and init and
shuffling get a NumPy Philox generator keyed by the seed whose counter starts at that slice.
"""
from __future__ import annotations

import os

import numpy as np

_DEFAULT_SEED = 67280421310721  # PyTorch's default seed, so an unseeded run is still reproducible
_UINT64 = 1 << 64


class Generator:
    """A (seed, counter) pair; `counter` counts Philox blocks handed out so far."""

    def __init__(self, seed: int = _DEFAULT_SEED) -> None:
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from `seed` (negative seeds wrap modulo 2**64, as PyTorch's); returns self."""
        self._seed = _check_seed(seed)
        self._counter = 0
        return self

    def initial_seed(self) -> int:
        """The seed the stream started from."""
        return self._seed

    def seed(self) -> int:
        """Re-seed from the operating system's entropy and return the new seed (as torch.seed)."""
        self.manual_seed(int.from_bytes(os.urandom(8), "little") >> 1)
        return self._seed

    def get_state(self) -> dict[str, int]:
        """{'seed', 'counter'}: a picklable snapshot; set_state(it) replays the same numbers."""
        return {"seed": self._seed, "counter": self._counter}

    def set_state(self, state: dict[str, int]) -> None:
        """Restore a get_state() snapshot (ValueError for anything else)."""
        if not isinstance(state, dict) or set(state) != {"seed", "counter"}:
            raise ValueError("state must be a dict with keys 'seed' and 'counter' (from get_state()), "
                             f"got {state!r}")
        counter = state["counter"]
        if not isinstance(counter, (int, np.integer)) or not 0 <= counter < _UINT64:
            raise ValueError(f"state['counter'] must be an integer in [0, 2**64), got {counter!r}")
        self._seed = _check_seed(state["seed"])
        self._counter = int(counter)

    def dropout_seed_offset(self, numel: int) -> tuple[int, int]:
        """(seed, offset) for _C.dropout_forward over `numel` elements; offset counts 4-element blocks."""
        offset = self._counter
        self._counter = (offset + (int(numel) + 3) // 4) % _UINT64
        return self._seed, offset

    def numpy_generator(self) -> np.random.Generator:
        """A fresh np.random.Generator on its own slice of the stream (init, shuffling, rand/randn).

        The slice index sits in the third 64-bit word of NumPy's Philox4x64 counter, so each generator
        has 2**128 blocks to itself."""
        stream = self._counter
        self._counter = (stream + 1) % _UINT64
        return np.random.Generator(np.random.Philox(key=self._seed, counter=[0, 0, stream, 0]))


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    seed = int(seed)
    if not -(1 << 63) <= seed < _UINT64:
        raise RuntimeError(f"seed must be within the range [-0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff], got {seed}")
    return seed % _UINT64  # negative seeds wrap like PyTorch's


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed nnx's default generator (dropout, init, shuffling, rand/randn); returns the generator."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Re-seed the default generator from the operating system's entropy; returns the new seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The default generator's seed."""
    return default_generator.initial_seed()


def get_state() -> dict[str, int]:
    """A picklable dict; set_state(get_state()) replays the same random numbers."""
    return default_generator.get_state()


def set_state(state: dict[str, int]) -> None:
    """Restore the default generator from a get_state() snapshot."""
    default_generator.set_state(state)


def numpy_generator() -> np.random.Generator:
    """A fresh NumPy generator on the default stream's next slice (see Generator.numpy_generator)."""
    return default_generator.numpy_generator()


def dropout_seed_offset(numel: int) -> tuple[int, int]:
    """(seed, offset) of the default stream for a dropout mask over `numel` elements."""
    return default_generator.dropout_seed_offset(numel)
