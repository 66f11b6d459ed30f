"""The cases the kernel runners enumerate from tests/ops: every kernel x the values of its family's AXES x its
family's SIZES, as pytest parameters with readable ids."""
import itertools

import pytest

import ops

PAD = 5  # builders read up to five sizes; the runner's shorter size tuples are padded with ones


def padded(dims) -> list:
    return list(dims) + [1] * (PAD - len(dims))


def _id(kernel, fixed, dims):
    parameters = "-".join(f"{name}={value}" for name, value in fixed.items())
    return "-".join(part for part in (kernel, parameters, "x".join(map(str, dims)) or "scalar") if part)


def kernel_cases(kernels=None) -> list:
    """pytest.param(kernel, fixed parameters, sizes) for each case; `fixed` includes the rank (len(sizes))."""
    cases = []
    for kernel in sorted(kernels or ops.BUILDERS):
        names, choices = zip(*ops.axes(kernel).items()) if ops.axes(kernel) else ((), ())
        for combination in itertools.product(*choices):
            fixed = dict(zip(names, combination))
            for dims in ops.sizes(kernel):
                cases.append(pytest.param(kernel, {"rank": len(dims), **fixed}, padded(dims),
                                          id=_id(kernel, fixed, dims)))
    return cases


# zeros, ones, an empty batch, empty columns, and odd sizes, with every other parameter drawn
SMALL_DIMS = {"zeros": (0, 0, 0, 0, 0), "ones": (1, 1, 1, 1, 1), "empty-rows": (0, 3, 2, 0, 1),
              "empty-columns": (3, 0, 2, 1, 2), "odd": (7, 5, 3, 2, 3)}
