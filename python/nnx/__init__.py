"""nnx: neural networks on NumPy arrays with a fast native core (and CUDA devices when built with them)."""
from .native import _C
from .device import device
from .tensor import (Tensor, arange, cat, empty, empty_like, float32, float64, from_dlpack, from_numpy, full,
                     full_like, int64, ones, ones_like, rand, randn, stack, tensor, where, zeros, zeros_like)
from . import _tensor_wiring  # noqa: I001  (completes Tensor: autograd, ops and the composite methods)
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .random import initial_seed, manual_seed, seed
from .threads import get_num_threads, set_num_threads
from . import backends, cuda  # noqa: E402,I001  (device queries and switches)
from . import accelerator  # noqa: E402,I001  (torch.accelerator: device-agnostic queries over cuda)
from . import nn, optim, data  # noqa: E402,I001  (the layers above Tensor)
from . import datasets, learner, metrics  # noqa: E402,I001  (the training loop, above nn/optim/data)
from .learner import Learner  # noqa: E402
from .serialization import load, save  # noqa: E402  (torch.save / torch.load, without pickle)
from ._dtypes import (bfloat16, bool, double, float, float16, half, int, int8, int16, int32,  # noqa: E402,A004
                      long, short, uint8)
from . import _functions  # noqa: E402,I001
globals().update(_functions.namespace())  # torch's functions: nnx.exp, nnx.max(x, dim=1), nnx.linspace ...

from ._version import __version__  # noqa: E402
from ._config import show_config  # noqa: E402

__all__ = [
    "_C", "__version__", "show_config",
    "Tensor", "tensor", "from_numpy", "from_dlpack", "zeros", "ones", "empty", "full", "zeros_like", "ones_like",
    "empty_like", "full_like", "arange", "randn", "rand", "cat", "stack", "where", "float32", "float64", "int64",
    "device", "cuda", "backends", "accelerator",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "manual_seed", "seed", "initial_seed",
    "set_num_threads", "get_num_threads",
    "nn", "optim", "data", "datasets", "learner", "metrics", "Learner", "save", "load",
]
# The torch namespace's functions and dtypes, less those named like Python builtins (max, bool ...): a star
# import must not shadow them.
import builtins as _builtins  # noqa: E402
from . import _dtypes  # noqa: E402,I001
__all__ += sorted(name for name in {*_functions.namespace(), *_dtypes.DTYPE_NAMES}
                  if name not in __all__ and not hasattr(_builtins, name))

# Subpackages imported on first use (PEP 562), so `import nnx` stays fast while `nnx.tabular.…` works after it
# (nnx.sklearn imports scikit-learn, seconds). The rest of the public subpackages are imported above.
_LAZY_SUBMODULES = ("accelerator", "audio", "collab", "decomposition", "sklearn", "tabular", "text", "utils", "vision")


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        import importlib

        try:
            return importlib.import_module(f"{__name__}.{name}")  # (the import also sets it as an attribute)
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":  # a dependency it needs is missing: say which
                raise
    _functions.raise_if_not_provided(name)  # a PyTorch name nnx lacks: NotProvidedError naming the alternative
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))
