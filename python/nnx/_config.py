"""nnx.show_config(): how this nnx was built and what it runs on, as numpy.show_config() and
torch.__config__.show() report theirs: the version, the native kernels' compiler and instruction sets against the
CPU's, OpenMP threads, the BLAS library and the kernel it chose for this CPU, and CUDA (module built, devices,
cuBLAS found)."""
from __future__ import annotations

import importlib.util
import platform
import sys
from typing import Any

import numpy as np

from ._version import __version__
from .native import _C
from .threads import get_num_threads

__all__ = ["show_config"]


def _kernel_variant(build: dict) -> str:
    """Which instruction sets the kernels use, said as a user reads it."""
    flags = "-march=native" if build["march_native"] else "the compiler's baseline (NNX_NATIVE=OFF)"
    isa = " ".join(build["isa"]) or "none beyond the baseline"
    return f"{isa} (compiled with {flags})"


def _cuda_section() -> dict[str, Any]:
    from .native import cuda as cuda_backend  # imported on first use, as nnx.cuda does
    section: dict[str, Any] = {"module built": importlib.util.find_spec("nnx._cuda") is not None}
    reason = cuda_backend.unavailable_reason()
    section["available"] = reason is None
    if reason is not None:
        section["why not"] = reason
        return section
    native = cuda_backend._native
    section["devices"] = []
    for index in range(native.device_count()):
        major, minor = native.get_device_capability(index)
        section["devices"].append(f"{native.get_device_name(index)} (compute capability {major}.{minor})")
    try:
        section["cuBLAS"] = native.cublas_path()
    except RuntimeError as error:
        section["cuBLAS"] = f"not found: {error}"
    return section


def _config() -> dict[str, dict[str, Any]]:
    build = _C.build_config()
    missing = [isa for isa in build["isa"] if isa not in build["cpu_features"] and build["cpu_features"]]
    return {
        "nnx": {"version": __version__, "python": sys.version.split()[0], "numpy": np.__version__,
                "platform": platform.platform()},
        "build": {"compiler": build["compiler"], "kernel instruction sets": _kernel_variant(build),
                  "OpenMP": build["openmp"]},
        "cpu": {"machine": platform.machine(), "features": " ".join(build["cpu_features"]) or "unknown",
                "kernels run": "no: missing " + " ".join(missing) if missing else "yes",
                "threads (nnx.get_num_threads)": get_num_threads()},
        "blas": {"library": "OpenBLAS from the scipy-openblas32 wheel", "config": build["blas_config"],
                 "kernel for this CPU": build["blas_corename"],
                 "threads": f"1 inside nnx's kernels, which split GEMMs over nnx's own OpenMP threads "
                            f"(OpenBLAS's own setting, used by its other callers: {build['blas_threads']})"},
        "cuda": _cuda_section(),
    }


def show_config(mode: str = "stdout") -> dict[str, dict[str, Any]] | None:
    """Print how nnx was built and what it runs on (mode='stdout'), or return it as nested dicts (mode='dicts'),
    as numpy.show_config does."""
    if mode not in ("stdout", "dicts"):
        raise ValueError(f"show_config(): mode must be 'stdout' or 'dicts', got {mode!r}")
    config = _config()
    if mode == "dicts":
        return config
    for section, values in config.items():
        print(f"{section}:")
        for key, value in values.items():
            if isinstance(value, list):
                print(f"  {key}:")
                for item in value or ["none"]:
                    print(f"    - {item}")
            else:
                print(f"  {key}: {value}")
    return None
