"""nnx: neural networks on NumPy arrays with a fast native core."""
from ._native import _C

__version__ = "0.1.0"
__all__ = ["_C", "__version__"]
