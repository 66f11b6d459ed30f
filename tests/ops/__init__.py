"""One spec per op family, run by every test tier: tests/ops/<family>.py holds the family's float64 NumPy references
(forward and backward) and its call specs (a builder per native kernel, the parameter AXES the runners enumerate and
the SIZES they use). Runners: test_native_kernels.py (nnx._C), test_cuda_kernels.py (nnx._cuda on a GPU or the
emulator); the bad-input battery and the fuzzer (tests/reliability) mutate the same calls.

Adding a family: write tests/ops/<family>.py with SPECS, AXES and SIZES; csrc/families.txt's line makes it run."""
from __future__ import annotations

import importlib
import os

import numpy as np

from ops.spec import Call, check

FAMILIES_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "csrc", "families.txt")


def native_families(path: str = FAMILIES_FILE) -> list | None:
    """The families csrc/families.txt binds on the CPU, or None where the file does not exist."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as file:
        rows = [line.split("#")[0].split() for line in file]
    return [row[0] for row in rows if row and "cpu" in row[1:]]


def _spec_modules() -> list:
    """The family specs in this folder (a module with SPECS), for a test tree without csrc/ beside it."""
    here = os.path.dirname(__file__)
    names = sorted(name[:-3] for name in os.listdir(here) if name.endswith(".py") and not name.startswith("_"))
    return [name for name in names if not name.startswith("test_")
            and hasattr(importlib.import_module(f"ops.{name}"), "SPECS")]


# The families of the native core that nnx._C binds, in csrc/families.txt's order: each needs its spec here (the
# import below fails without it). The CUDA-only families (device_array, elementwise, index) have their own tests in
# tests/kernels.
FAMILIES = tuple(native_families() or _spec_modules())

MODULES = {family: importlib.import_module(f"ops.{family}") for family in FAMILIES}
BUILDERS = {kernel: builder for module in MODULES.values() for kernel, builder in module.SPECS.items()}
FAMILY_OF = {kernel: family for family, module in MODULES.items() for kernel in module.SPECS}


def build(kernel: str, rng: np.random.Generator, dtype, dims, special=False, fixed: dict | None = None) -> Call:
    """A valid call of `kernel` with fresh inputs of `dtype` and sizes from `dims`; parameters named in `fixed`
    take those values, the others are drawn by `rng`; `special` sprinkles NaN/inf into the inputs."""
    with np.errstate(all="ignore"):  # references of NaN/inf inputs
        return BUILDERS[kernel](rng, np.dtype(dtype), list(dims), special, fixed)


def sizes(kernel: str) -> list:
    """The sizes the runners call `kernel` at: its family's SIZES (a list, or a dict by kernel)."""
    table = MODULES[FAMILY_OF[kernel]].SIZES
    return table[kernel] if isinstance(table, dict) else table


def axes(kernel: str) -> dict:
    """{parameter: values} the runners enumerate for `kernel` (every other parameter is drawn per run)."""
    return MODULES[FAMILY_OF[kernel]].AXES.get(kernel, {})


__all__ = ["BUILDERS", "FAMILIES", "FAMILY_OF", "Call", "axes", "build", "check", "native_families", "sizes"]
