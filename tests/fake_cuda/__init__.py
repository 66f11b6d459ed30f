"""A NumPy stand-in for nnx._cuda (the whole _cuda.pyi contract) so the CUDA Python path runs without a GPU.

Assembled from csrc/families.txt: each family bound on the GPU contributes tests/fake_cuda/<family>.py where the fake
needs device code of its own (device_array, elementwise, reduce, index, gemm's TF32 switch); every other function of
_cuda.pyi is an op family bound on both devices from one csrc/bind/<family>.cpp, and runs nnx._C's kernel on the
DeviceArrays' host memory, so its argument checks and messages are the real binding's. runtime.py holds what is no
family's (devices, synchronisation, the caching allocator). Kernels write only into their outputs; bad device-side
indices are recorded and raised at the next synchronising call, as on a GPU. Differences, all forced by being on the
host: gemm is exact FP32/FP64, op-family index errors raise at once, DLPack capsules describe host memory.

Install it with nnx.native.cuda.use_native_module(fake_cuda) (the `device` fixture does that). Adding a family bound
on the GPU only means adding tests/fake_cuda/<family>.py; one bound on both devices needs nothing here.
"""
import importlib
import importlib.util
import inspect

import numpy as np

from fake_cuda import runtime, sources
from fake_cuda.checks import require_array, require_contiguous
from fake_cuda.device_array import DeviceArray
from fake_cuda.runtime import reset  # noqa: F401 (a test helper, not part of the contract)
from nnx.native import _C


def _kernel_argument(value, name):
    if isinstance(value, DeviceArray):
        require_contiguous(value, name)
        return value._numpy()
    if isinstance(value, np.ndarray):
        require_array(value, name)  # raises: host arrays are never copied implicitly
    if isinstance(value, (list, tuple)) and any(isinstance(item, (DeviceArray, np.ndarray)) for item in value):
        return [_kernel_argument(item, f"{name}[{i}]") for i, item in enumerate(value)]
    return value


def _host_kernel(name, parameters):
    """_C's kernel `name` on the DeviceArrays' memory, called with _cuda.pyi's parameters."""
    kernel = getattr(_C, name)

    def function(*args, **kwargs):
        if len(args) > len(parameters):
            raise TypeError(f"{name}() takes at most {len(parameters)} arguments, got {len(args)}")
        bound = dict(zip(parameters, args))
        for key, value in kwargs.items():
            if key not in parameters or key in bound:
                raise TypeError(f"{name}() got an unexpected or repeated argument {key!r}")
            bound[key] = value
        kernel(**{key: _kernel_argument(value, key) for key, value in bound.items()})

    function.__name__ = function.__qualname__ = name
    function.__signature__ = inspect.Signature([inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                                                for p in parameters])
    function.__doc__ = f"{name} of _cuda.pyi: nnx._C's kernel on fake device memory."
    return function


def _assemble():
    """{name: object} for every public name of _cuda.pyi."""
    modules = [runtime]
    for family, devices in sources.families().items():
        if "cuda" not in devices:
            continue
        if importlib.util.find_spec(f"fake_cuda.{family}") is not None:
            modules.append(importlib.import_module(f"fake_cuda.{family}"))
        elif "cpu" not in devices:
            raise ImportError(f"family {family} is bound on the GPU only: the fake needs tests/fake_cuda/{family}.py")
    names = {}
    for name, parameters in sources.stub_names().items():
        owner = next((module for module in modules if name in vars(module)), None)
        if owner is not None:
            names[name] = vars(owner)[name]
        elif parameters is not None and hasattr(_C, name):
            names[name] = _host_kernel(name, parameters)
        else:
            raise ImportError(f"_cuda.pyi declares {name}, which neither nnx._C nor a fake family module provides")
    return names


globals().update(_assemble())
__all__ = sorted(sources.stub_names())


def __getattr__(name):
    if name == "synchronizations":  # a counter runtime.py updates: read it there
        return runtime.synchronizations
    raise AttributeError(f"module 'fake_cuda' has no attribute {name!r}")
