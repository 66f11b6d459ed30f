"""fastai's Lookahead wrapper and ranger (Lookahead over RAdam)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Tensor, move_array
from .optimizer import Optimizer, ParamsT
from .radam import RAdam
from .validation import checked_real


class Lookahead(Optimizer):
    """fastai's Lookahead(opt, k=6, alpha=0.5): the wrapped optimizer takes the steps ("fast weights"); every
    k steps the slow weights move alpha of the way to the fast ones, slow += alpha (fast - slow), and the fast
    weights restart from them. The slow weights are copied from the parameters at the first step.

    param_groups, state and defaults are the wrapped optimizer's (LR schedulers and the Learner's one-cycle
    schedule drive it through them). state_dict() adds each parameter's slow weights as state['slow_param']
    and {'k', 'alpha', 'count'} under 'lookahead'. step() is thread-safe, as every nnx optimizer's."""

    def __init__(self, optimizer: Optimizer, k: int = 6, alpha: float = 0.5):
        if not isinstance(optimizer, Optimizer) or isinstance(optimizer, Lookahead):
            raise TypeError("optimizer must be an nnx.optim.Optimizer (not a Lookahead), got "
                            f"{type(optimizer).__name__}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"Invalid k value: {k!r} (k must be an integer >= 1)")
        self.optimizer, self.k = optimizer, int(k)
        self.alpha = checked_real(alpha, "alpha", 0.0, 1.0, True)
        self.count = 0
        self.slow_weights = None  # per group, per parameter: the slow weights' arrays (from the first step)
        self._lock = threading.Lock()

    # The wrapped optimizer's tables, so that schedulers and callers see one optimizer.
    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The wrapped optimizer's parameter groups."""
        return self.optimizer.param_groups

    @property
    def state(self) -> dict[Tensor, dict[str, Any]]:
        """The wrapped optimizer's per-parameter state."""
        return self.optimizer.state

    @property
    def defaults(self) -> dict[str, Any]:
        """The wrapped optimizer's default hyperparameters."""
        return self.optimizer.defaults

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        self.optimizer.add_param_group(param_group)
        if self.slow_weights is not None:
            self.slow_weights.append([_copy(p._data) for p in self.param_groups[-1]["params"]])

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """The wrapped optimizer's step, then every k steps the slow weights' update (fastai's order)."""
        loss = None
        if closure is not None:
            loss = closure()
        with self._lock:
            if self.slow_weights is None:
                self.slow_weights = [[_copy(p._data) for p in group["params"]] for group in self.param_groups]
            self.optimizer.step()
            self.count += 1
            if self.count % self.k == 0:
                self._pull()
        return loss

    def _pull(self):
        """slow += alpha (fast - slow); fast = slow (in place, on the parameters' devices)."""
        for slow_group, group in zip(self.slow_weights, self.param_groups):
            for slow, p in zip(slow_group, group["params"]):
                fast = p._data
                pulled = slow + self.alpha * (fast - slow)  # fastai: slow.add_(fast - slow, alpha=alpha)
                slow[...] = pulled  # item assignment: in place on every device's arrays
                fast[...] = pulled

    def state_dict(self) -> dict[str, Any]:
        saved = self.optimizer.state_dict()
        if self.slow_weights is not None:
            index = 0
            for slow_group in self.slow_weights:
                for slow in slow_group:
                    saved["state"].setdefault(index, {})["slow_param"] = Tensor._wrap(slow)
                    index += 1
        saved["lookahead"] = {"k": self.k, "alpha": self.alpha, "count": self.count}
        return saved

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not isinstance(state_dict, dict) or "state" not in state_dict:
            raise ValueError("state_dict must be a dict with 'state' and 'param_groups' entries")
        extra = state_dict.get("lookahead", {})
        state = {index: {name: value for name, value in entry.items() if name != "slow_param"}
                 for index, entry in state_dict["state"].items()}
        slow = {int(index): entry["slow_param"] for index, entry in state_dict["state"].items()
                if "slow_param" in entry}
        params = [p for group in self.param_groups for p in group["params"]]
        if slow and len(slow) != len(params):
            raise ValueError(f"loaded state dict has slow weights for {len(slow)} of {len(params)} parameters")
        loaded_slow = None
        if slow:
            loaded_slow, index = [], 0
            for group in self.param_groups:
                arrays = []
                for p in group["params"]:
                    arrays.append(_loaded_slow(slow[index], p, index))
                    index += 1
                loaded_slow.append(arrays)
        count = extra.get("count", 0)
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
            raise ValueError(f"loaded state dict's lookahead count is {count!r}, not an integer >= 0")
        self.optimizer.load_state_dict(dict(state_dict, state=state))
        self.slow_weights, self.count = loaded_slow, int(count)
        if "k" in extra:
            self.k = int(extra["k"])
        if "alpha" in extra:
            self.alpha = checked_real(extra["alpha"], "alpha", 0.0, 1.0, True)

    def _state_to_param_devices(self):
        self.optimizer._state_to_param_devices()
        if self.slow_weights is not None:
            self.slow_weights = [[move_array(slow, p.device) for slow, p in zip(slow_group, group["params"])]
                                 for slow_group, group in zip(self.slow_weights, self.param_groups)]

    def __getstate__(self):
        return {"optimizer": self.optimizer, "k": self.k, "alpha": self.alpha, "count": self.count,
                "slow_weights": self.slow_weights}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self):
        return f"Lookahead(k={self.k}, alpha={self.alpha}, optimizer={self.optimizer!r})"


def _copy(array):
    return array.copy()


def _loaded_slow(value, param, index):
    """A copy of a saved slow weight, shape-checked, with its parameter's dtype and on its device."""
    array = value._data if isinstance(value, Tensor) else np.asarray(value)
    if tuple(array.shape) != tuple(param.shape):
        raise ValueError(f"state 'slow_param' of parameter {index} has shape {tuple(array.shape)}, "
                         f"its parameter has {tuple(param.shape)}")
    return move_array(array, param.device).astype(param._data.dtype, copy=True)


def ranger(params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.95, 0.99), eps: float = 1e-6,
           weight_decay: float = 0.01, decoupled_weight_decay: bool = True, *, k: int = 6, alpha: float = 0.5,
           maximize: bool = False) -> Lookahead:
    """fastai's ranger: Lookahead(RAdam) with fastai's defaults, in PyTorch's spelling. fastai's
    ranger(params, lr, mom=0.95, sqr_mom=0.99, eps=1e-6, wd=0.01, beta=0., decouple_wd=True) is
    ranger(params, lr, betas=(mom, sqr_mom), eps=eps, weight_decay=wd, decoupled_weight_decay=decouple_wd).

    The wrapped optimizer is nnx's RAdam, i.e. PyTorch's update rule: eps is added to sqrt(v) before the
    bias correction (fastai adds it after: sqrt(v / (1 - beta2^t)) + eps), and fastai's softplus option
    (beta) does not exist. lr has a default (1e-3) so that ranger can be a Learner's opt_func."""
    return Lookahead(RAdam(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                           decoupled_weight_decay=decoupled_weight_decay, maximize=maximize), k=k, alpha=alpha)
