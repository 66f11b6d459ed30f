"""The call-spec machinery shared by the op families in tests/ops: a Call (one valid call of a native kernel, its
arguments in the binding's positional order, which arrays it reads and writes, and the float64 reference value of
every output), random inputs, NaN poison, and the check of a completed call against its reference."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

REDUCTIONS = ("mean", "sum", "none")


@dataclass
class Call:
    kernel: str
    names: list  # positional argument names, in the binding's order
    args: list
    roles: dict  # array argument name -> "in", "out", "opt_in" or "opt_out" (the opt_ ones may be None)
    expected: dict = field(default_factory=dict)  # output name -> reference value after the call
    aliases_ok: set = field(default_factory=set)  # (output, input) pairs the kernel may share
    invalid_scalars: dict = field(default_factory=dict)  # scalar name -> values the binding must refuse
    scale: float = 1.0  # tolerance multiplier (sums over many terms)

    def arg(self, name: str) -> Any:
        return self.args[self.names.index(name)]


class Draw:
    """The builders' source of choices: a parameter named in `fixed` takes that value (the runners enumerate the
    family's AXES that way), any other is drawn by the generator (the fuzzer explores them that way)."""

    def __init__(self, rng: np.random.Generator, fixed: dict | None = None):
        self.rng, self.fixed = rng, dict(fixed or {})

    def __call__(self, name: str, options):
        if name in self.fixed:
            return self.fixed[name]
        value = options[int(self.rng.integers(len(options)))]
        return value.item() if isinstance(value, np.generic) else value


def values(rng, shape, dtype, special=False, low=-3.0, high=3.0):
    """Fresh uniform values; `special` sprinkles NaN, +inf and -inf in (when the array is not empty), or
    NaN alone when special == "nan" (upstream gradients: inf * 0 cancellations are implementation-defined)."""
    array = rng.uniform(low, high, size=shape)
    if special and array.size:
        flat = array.reshape(-1)
        for value in (np.nan,) if special == "nan" else (np.nan, np.inf, -np.inf):
            flat[rng.integers(0, flat.size)] = value
    return array.astype(dtype)


def upstream_special(special):
    """The `special` setting for an upstream gradient: NaN only."""
    return "nan" if special else False


def poison(shape, dtype):
    """An output buffer the kernel must overwrite: NaN, or the largest integer."""
    dtype = np.dtype(dtype)
    return np.full(shape, np.nan if dtype.kind == "f" else np.iinfo(dtype).max, dtype=dtype)


def shape_of(dims, rank):
    """The first `rank` of the drawn sizes, as a shape."""
    return tuple(dims[:rank])


# ---- checking a call's outputs against the reference ------------------------------------------------------------

def tolerance(dtype, scale):
    if np.dtype(dtype) == np.float32:
        return dict(rtol=5e-5 * scale ** 0.5 + 2e-5, atol=2e-5 * scale ** 0.5)
    return dict(rtol=1e-11 * scale + 1e-12, atol=1e-11 * scale)


def output(call: Call, name: str):
    """An output array by name, list entries as 'params[0]'."""
    if "[" in name:
        base, index = name[:-1].split("[")
        return call.arg(base)[int(index)]
    return call.arg(name)


def check(call: Call, dtype, run_philox: Callable, read=np.asarray) -> None:
    """Assert every output of a completed call equals its reference (NaN where the reference is NaN). `read` turns
    an output into a NumPy array (a device-to-host copy for the CUDA tier)."""
    for name, expected in call.expected.items():
        if name == "dropout":
            _check_dropout(call, *expected, run_philox=run_philox, read=read)
            continue
        if expected is None:
            continue
        got = read(output(call, name))
        expected = np.asarray(expected)
        assert got.shape == expected.shape, f"{call.kernel} {name}: shape {got.shape}, expected {expected.shape}"
        if got.dtype.kind in "iu":
            np.testing.assert_array_equal(got, expected, err_msg=f"{call.kernel} {name}")
            continue
        with np.errstate(invalid="ignore"):
            np.testing.assert_allclose(got.astype(np.float64), expected, equal_nan=True,
                                       err_msg=f"{call.kernel} {name}", **tolerance(dtype, call.scale))


def _check_dropout(call, x, p, seed, offset, run_philox, read):
    """Dropout's reference is its definition over the Philox stream: kept where uniform >= p, scaled by 1/(1-p)."""
    out, mask = read(call.arg("out")), read(call.arg("mask"))
    uniforms = np.empty(x.shape, x.dtype)
    run_philox(uniforms, seed, offset)
    kept = uniforms.astype(np.float64) >= p  # in float64: a float32 comparison would round p
    np.testing.assert_array_equal(mask, kept.astype(np.uint8) if p < 1 else np.zeros_like(mask))
    with np.errstate(all="ignore"):
        expected = x.astype(np.float64) * mask * (1 / (1 - p) if p < 1 else 0.0)
    np.testing.assert_allclose(out.astype(np.float64), np.where(mask == 1, expected, 0.0), equal_nan=True,
                               **tolerance(x.dtype, 1))
