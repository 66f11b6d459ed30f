"""The Learner's constructor arguments checked and normalised: fastai's (dls, model) order or nnx's former (model,
dls), a (train, valid) pair as DataLoaders, the DataLoaders' default loss, and callbacks given one or many."""
from __future__ import annotations

from typing import Any, Callable

from .. import nn
from ..data import DataLoaders

__all__ = ["checked_arguments", "as_list"]


def checked_arguments(dls: Any, model: Any, loss_func: Callable | None, opt_func: Callable,
                      wd_bn_bias: bool) -> tuple[Any, Any, Callable]:
    """(dls as DataLoaders, model, loss_func) for Learner(dls, model, loss_func, opt_func, ..., wd_bn_bias), or the
    error that names what is wrong."""
    if _is_old_argument_order(dls, model):
        dls, model = model, dls
    if not callable(model):
        raise TypeError(f"model must be a callable Module, got {type(model).__name__}")
    dls = _as_dataloaders(dls)
    if loss_func is None:
        loss_func = getattr(dls, "loss_func", None)
        if loss_func is None:
            raise TypeError("loss_func is required (e.g. nnx.nn.CrossEntropyLoss()): these DataLoaders carry "
                            "no default loss")
    if not callable(loss_func):
        raise TypeError(f"loss_func must be callable (e.g. nnx.nn.CrossEntropyLoss()), got {loss_func!r}")
    if not callable(opt_func):
        raise TypeError(f"opt_func must be an optimizer class such as nnx.optim.Adam, got {opt_func!r}")
    if not wd_bn_bias:
        raise NotImplementedError("wd_bn_bias=False: nnx's optimizers decay whole parameter groups; give bias "
                                  "and normalisation parameters a group of their own (splitter) and set its "
                                  "weight_decay to 0 instead")
    return dls, model, loss_func


def as_list(cbs: Any) -> list:
    """Callbacks given as None, one callback, or a list or tuple of them, as a list."""
    if cbs is None:
        return []
    if isinstance(cbs, (list, tuple)):
        return list(cbs)
    return [cbs]


def _is_old_argument_order(dls: Any, model: Any) -> bool:
    """Whether Learner got nnx's former (model, dls) order: a Module first and DataLoaders (or a pair) second.
    DataLoaders are never Modules, so the two orders cannot be confused."""
    if isinstance(model, nn.Module) or not isinstance(dls, nn.Module):
        return False
    return (hasattr(model, "train") and hasattr(model, "valid")) or isinstance(model, (tuple, list)) or \
        not callable(model)


def _as_dataloaders(dls: Any) -> Any:
    if hasattr(dls, "train") and hasattr(dls, "valid"):
        return dls
    if isinstance(dls, (tuple, list)) and len(dls) == 2:
        return DataLoaders(*dls)
    raise TypeError(f"dls must be nnx.data.DataLoaders or a (train, valid) pair of DataLoaders, got {dls!r}")
