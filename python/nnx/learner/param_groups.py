"""The Learner's parameter groups: the optimizer built over a splitter's groups, and freezing (freeze_to) that
switches whole groups off and back on without touching what the user froze by hand."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import nn

__all__ = ["trainable_params", "build_optimizer", "GroupFreezer"]


def trainable_params(model: Any) -> list[list[Any]]:
    """The default splitter: one group of every parameter that requires grad (ones the user froze stay out)."""
    return [[p for p in model.parameters() if p.requires_grad]]


def build_optimizer(opt_func: Callable, groups: list[list[Any]], lr: Any) -> Any:
    """opt_func over the parameter groups at the first learning rate of lr (a float, a slice or an array; set_hyper
    spreads it over the groups after)."""
    if not groups or any(len(group) == 0 for group in groups):
        raise ValueError("splitter(model) must return a non-empty list of non-empty parameter groups")
    # nnx's optimizers refuse parameters without requires_grad when built; PyTorch's take them.
    user_frozen = [p for group in groups for p in group if not p.requires_grad]
    for param in user_frozen:
        param.requires_grad = True
    try:
        return opt_func([{"params": group} for group in groups], lr=_first_lr(lr))
    finally:
        for param in user_frozen:
            param.requires_grad = False


class GroupFreezer:
    """Parameters of frozen groups get requires_grad=False and no gradient, so the optimizer skips them and leaves
    their state (moments, step count) untouched. Unfreezing switches back on only what freezing switched off:
    parameters the user froze by hand stay frozen. With train_bn (fastai's default) normalisation layers'
    parameters keep training in frozen groups."""

    def __init__(self) -> None:
        self.frozen_by_learner: dict[int, Any] = {}  # id -> parameter switched off (and switched on by unfreeze)

    def apply(self, opt: Any, frozen_idx: int, model: Any, train_bn: bool) -> None:
        """Groups before frozen_idx frozen, the others trainable."""
        norm_params = _norm_param_ids(model) if train_bn else set()
        for index, group in enumerate(opt.param_groups):
            frozen = index < frozen_idx
            for param in group["params"]:
                if frozen and param.requires_grad and id(param) not in norm_params:
                    param.requires_grad = False
                    param.grad = None
                    self.frozen_by_learner[id(param)] = param
                elif not frozen and id(param) in self.frozen_by_learner:
                    param.requires_grad = True
                    del self.frozen_by_learner[id(param)]

    def release(self) -> None:
        """Every parameter this freezer switched off switched back on (before a new optimizer is built)."""
        for param in self.frozen_by_learner.values():
            param.requires_grad = True
        self.frozen_by_learner.clear()


def _norm_param_ids(model: Any) -> set[int]:
    """ids of the parameters of the model's normalisation layers (fastai's norm_types), which train_bn keeps
    training in frozen groups: their statistics must follow the data the head now sees."""
    norm_types = tuple(getattr(nn, name) for name in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d",
                                                      "InstanceNorm2d", "InstanceNorm3d", "LayerNorm", "GroupNorm")
                       if isinstance(getattr(nn, name, None), type))
    modules = getattr(model, "modules", None)
    if modules is None or not norm_types:
        return set()
    return {id(param) for module in modules() if isinstance(module, norm_types)
            for param in module.parameters(recurse=False)}


def _first_lr(lr: Any) -> float:
    """A plain float for the optimizer's constructor."""
    if isinstance(lr, slice):
        return float(lr.stop)
    return float(np.asarray(lr, dtype=np.float64).reshape(-1)[-1])
