"""Reading and writing an optimizer's hyper-parameters per parameter group, under fastai's names.

'lr' is group['lr']; 'mom' is Adam's beta1 (group['betas'][0]) or SGD/RMSprop's group['momentum'];
'wd' is group['weight_decay']. A value is one number for every group, one per group, or a slice
spread over the groups (fastai's discriminative learning rates).
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from ..optim import Optimizer

__all__ = ["set_hyper", "check_hyper", "get_hyper", "spread_over_groups", "even_mults"]


def even_mults(start: float, stop: float, n: int) -> np.ndarray:
    """n values from start to stop in equal multiplicative steps (a geometric progression)."""
    if n == 1:
        return np.array([stop], dtype=np.float64)
    step = (stop / start) ** (1.0 / (n - 1))
    return np.array([start * step**i for i in range(n)], dtype=np.float64)


def spread_over_groups(value: float | slice | Sequence[float] | np.ndarray, n_groups: int,
                       name: str = "lr") -> list[float]:
    """One float per group: slice(lo, hi) geometric from lo to hi, slice(hi) gives hi/10 to all but the last."""
    if isinstance(value, slice):
        if value.stop is None or value.step is not None:
            raise ValueError(f"{name} as a slice must be slice(hi) or slice(lo, hi), got {value}")
        if value.start:
            return [float(v) for v in even_mults(value.start, value.stop, n_groups)]
        return [value.stop / 10] * (n_groups - 1) + [float(value.stop)]
    if isinstance(value, numbers.Real):
        return [float(value)] * n_groups
    try:
        values = [float(v) for v in np.asarray(value, dtype=np.float64).reshape(-1)]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, one number per parameter group or a slice, got {value!r}") from None
    if len(values) == 1:
        return values * n_groups
    if len(values) != n_groups:
        raise ValueError(f"{name} has {len(values)} values for {n_groups} parameter groups")
    return values


def set_hyper(opt: Optimizer, name: Literal["lr", "mom", "wd"],
              value: float | slice | Sequence[float] | np.ndarray) -> None:
    """Set hyper-parameter `name` ('lr', 'mom' or 'wd') on every parameter group of `opt`."""
    values = check_hyper(opt, name, value)
    for group, group_value in zip(opt.param_groups, values):
        _set_in_group(group, name, group_value)


def check_hyper(opt: Optimizer, name: Literal["lr", "mom", "wd"],
                value: float | slice | Sequence[float] | np.ndarray) -> list[float]:
    """The per-group values set_hyper would write, each checked first (so no group changes when one is bad)."""
    groups = opt.param_groups
    values = spread_over_groups(value, len(groups), name)
    for group, group_value in zip(groups, values):
        _check_value(group, name, group_value)
    return values


def _check_value(group, name, value):
    """ValueError for a value the optimizer would refuse at its next step, not half-way through a fit."""
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    if name == "mom" and "betas" in group and not value < 1:
        raise ValueError(f"mom (Adam's beta1) must be in [0, 1), got {value}")


def get_hyper(opt: Optimizer, name: Literal["lr", "mom", "wd"], group_index: int = -1) -> float | None:
    """The value of `name` in one group (the last by default); None when the optimizer has no such setting."""
    group = opt.param_groups[group_index]
    if name == "lr":
        return group["lr"]
    if name == "mom":
        if "betas" in group:
            return group["betas"][0]
        return group.get("momentum")
    if name == "wd":
        return group.get("weight_decay")
    raise ValueError(f"unknown hyper-parameter {name!r}: expected 'lr', 'mom' or 'wd'")


def _set_in_group(group, name, value):
    if name == "lr":
        group["lr"] = value
    elif name == "mom":
        if "betas" in group:
            group["betas"] = (value, group["betas"][1])
        elif "momentum" in group:
            group["momentum"] = value
        # an optimizer without momentum has nothing to schedule
    elif name == "wd":
        group["weight_decay"] = value
    else:
        raise ValueError(f"unknown hyper-parameter {name!r}: expected 'lr', 'mom' or 'wd'")
