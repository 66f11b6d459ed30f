"""nnx.nn: modules, parameters, initialisers and the functional API, with PyTorch's names."""
from . import functional, init, modules, utils
from .module import Module
from .modules import *  # noqa: F403  (the layers: nn/modules/__init__.py's __all__ is the one list of them)
from .parameter import Parameter

__all__ = ["Module", "Parameter", "functional", "init", "utils", *modules.__all__]
