"""nnx.nn: modules, parameters, initialisers and the functional API, with PyTorch's names."""
from . import init, utils
from .module import Module
from .parameter import Parameter

__all__ = ["Module", "Parameter", "init", "utils"]
