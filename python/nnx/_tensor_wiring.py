"""Completes nnx.Tensor once the layers above it are imported: hands nnx.autograd, nnx.ops and nnx._math_ops to
the modules of its methods, and adds the methods written in those layers' terms (the composites, the in-place
variants, the stubs of PyTorch methods nnx lacks).

The Tensor class (nnx.tensor and the nnx._tensor_* modules of its methods) sits below autograd and the ops: their
Functions build Tensors, so those modules cannot import them without an import cycle. The methods call them at
run time through the module globals `_autograd`, `_ops` and `_math_ops`, declared (as None) at the top of each
module that uses them; this module sets them when it is imported, once, by nnx/__init__ right after nnx.tensor,
before any Tensor method can run. Nothing else assigns them, and a method pays nothing for the indirection (one
global lookup, as before the split).
"""
import sys

from . import (
    _composite,
    _math_ops,
    _not_provided,
    _tensor_arithmetic,
    _tensor_conversions,
    _tensor_factories,
    _tensor_indexing,
    _tensor_inplace,
    _tensor_reductions,
    _tensor_shape,
    autograd,
    ops,
)
from .tensor import Tensor

_LAYERS = {"_autograd": autograd, "_ops": ops, "_math_ops": _math_ops}
_USERS = (sys.modules[__package__ + ".tensor"],  # (the attribute nnx.tensor is the function)
          _tensor_arithmetic, _tensor_conversions, _tensor_factories, _tensor_indexing, _tensor_inplace,
          _tensor_reductions, _tensor_shape)


def _bind_layers():
    for module in _USERS:
        for name, layer in _LAYERS.items():
            if hasattr(module, name):
                setattr(module, name, layer)


def _add_methods():
    # torch.Tensor methods nnx deliberately lacks: stubs raising NotProvidedError with the alternative (a real
    # method, wherever it is defined, wins).
    for name, alternative in _not_provided.NOT_PROVIDED_METHODS.items():
        if not hasattr(Tensor, name):
            setattr(Tensor, name, _not_provided.method_stub(name, alternative))
    # torch.Tensor methods written as compositions of the ops (nnx._composite): atan2, kron, tile ...
    for name in _composite.METHODS:
        setattr(Tensor, name, getattr(_composite, name))
    for name, value in _composite.PROPERTIES.items():  # mT, mH, H
        setattr(Tensor, name, value)
    # ... and the in-place forms nnx has no own implementation of (exp_, sqrt_, masked_fill_ ...).
    for name in _composite.IN_PLACE:
        if not hasattr(Tensor, name + "_"):
            setattr(Tensor, name + "_", _composite.in_place_variant(name))
    Tensor.multiply_, Tensor.divide_, Tensor.true_divide_, Tensor.subtract_ = (  # torch's other names of
        Tensor.mul_, Tensor.div_, Tensor.div_, Tensor.sub_)                        # nnx's own in-place arithmetic


_bind_layers()
_add_methods()
