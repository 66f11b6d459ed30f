"""Optimizer base class: PyTorch's param_groups, per-parameter state and state_dict format.

Subclasses implement `_plan_group(group, check)`, which gathers the group's arrays and returns the
update (a callable making the one fused native call, the parameters' backend's *_step: nnx._C's or
nnx._cuda's, that updates every parameter of the group). Python only does bookkeeping. State buffers
live on their parameter's device. Hyperparameters are checked when a group is added and re-checked by
step() only when they changed (a scheduler or a user may set group['lr'] to anything); a refused step
changes nothing: every group is planned (and, when a step makes more than one native call, its arrays
checked) before any update runs, and step counts and new state buffers are committed only after the
native call returned.

The state table (`opt.state`) and each group's gathered layout are state.py; the argument checks (hyperparameters,
and the pre-flight of a step's arrays) validation.py; the helpers a subclass plans its native step with stepping.py.

step() holds a per-optimizer lock: concurrent step() calls on one optimizer from several threads run
one after the other (no lost steps); the closure runs outside the lock.
"""
from __future__ import annotations

import copy
import functools
import operator
import threading
from collections.abc import Callable, Iterable
from typing import Any, Union

import numpy as np

from ..tensor import Tensor, _device_of_array, fill_array, move_array
from .state import Bundle, ParamState, StateTable, edits
from .validation import non_negative

__all__ = ["Optimizer"]

# What an optimizer takes, as torch.optim's ParamsT: the parameters, or parameter groups (dicts with 'params').
ParamsT = Union[Iterable[Tensor], Iterable[dict[str, Any]]]

_REQUIRED = object()  # marks a default that every parameter group must supply itself (e.g. a required lr)

# Optimizers pickled before state.py existed name these classes here.
_ParamState, _StateTable = ParamState, StateTable


class Optimizer:
    """Base class of the nnx optimizers, with torch.optim.Optimizer's interface."""

    # The group entries a step reads, in the order _pack_hyper takes them: step() re-validates a group
    # only when one of them is no longer equal to the values it last validated.
    _hyper_names = ()

    def __init__(self, params: ParamsT, defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        self.state = StateTable()  # parameter -> its state dict ('step', moment buffers ...)
        self.param_groups = []
        self._lock = threading.Lock()  # step() runs one call at a time
        self._bundles = {}  # id(group) -> Bundle: the group's state gathered into lists, reused per step
        self._init_hyper_cache()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {type(params).__name__}")
        if isinstance(params, (set, frozenset)):
            raise TypeError("params argument given to the optimizer should be an ordered iterable (a list), "
                            "not a set: the order of parameters must be reproducible")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # --- parameter groups ------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a dict with 'params' (and optionally its own hyperparameters); the rest from defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"] if "params" in param_group else None
        if params is None:
            raise ValueError("param_group must have a 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("param_group['params'] must be an ordered iterable (a list), not a set")
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.requires_grad:
                raise ValueError("optimizer can only optimize Tensors that require grad "
                                 "(a parameter has requires_grad=False)")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            if default is _REQUIRED and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        self._validate_group(group)
        seen = {id(p) for existing in self.param_groups for p in existing["params"]}
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter appears more than once in param_group['params']")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _validate_group(self, group):
        """TypeError/ValueError naming a bad or missing hyperparameter (when a group is added or loaded)."""
        for name in self._hyper_names:
            if name not in group:
                raise ValueError(f"parameter group has no '{name}' entry")
        if "lr" in group:
            non_negative(group["lr"], "lr")
        self._pack_hyper(self._read_hyper(group))

    def _pack_hyper(self, values):
        """Validate the values of _hyper_names (a tuple in that order) and return what the step passes
        to the native call (floats and bools); each optimizer checks its own."""
        return None

    def _frozen_hyper(self, values):
        """values as step() keeps them to compare with the next step's: an optimizer whose entries may
        be lists (Adam's betas) copies them, so that an in-place edit is seen as a change."""
        return values

    def _init_hyper_cache(self):
        names = self._hyper_names
        if len(names) > 1:
            self._read_hyper = operator.itemgetter(*names)
        else:
            self._read_hyper = lambda group: tuple(group[name] for name in names)
        self._checked = {}  # id(group) -> (hyperparameter values last validated, _pack_hyper's result)

    def _check_hyper(self, group):
        """_pack_hyper of the group's values, re-validated only when they changed since they were last
        validated: an itemgetter and a tuple comparison per step (~0.2 us), ~1 us when they changed."""
        try:
            values = self._read_hyper(group)
        except KeyError:
            self._validate_group(group)  # names the missing entry
            raise
        checked = self._checked.get(id(group))
        try:
            if checked is not None and checked[0] == values:
                return checked[1]
        except (TypeError, ValueError):  # an array compared elementwise, say: validated below
            pass
        packed = self._pack_hyper(values)
        self._checked[id(group)] = (self._frozen_hyper(values), packed)
        return packed

    # --- gradients -------------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (or zero it in place when set_to_none=False)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    fill_array(p.grad._data, 0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient. closure re-evaluates and returns the loss.

        Thread-safe: concurrent calls on one optimizer take turns (a lock: ~0.1-0.3 us a step, measured
        against a ~15 us tiny-model Adam step; PyTorch's optimizers are not thread-safe); each call is a
        whole step, none is lost. The closure runs before the lock is taken."""
        loss = None
        if closure is not None:
            loss = closure()
        lock = self._lock
        lock.acquire()  # acquire/release: half the cost of a with statement
        try:
            self._step_groups()
        finally:
            lock.release()
        return loss

    def _step_groups(self):
        groups = self.param_groups
        if len(groups) == 1:  # one group, one native call: the call itself refuses bad arrays before writing
            update = self._plan_group(groups[0], False)
            if update is not None:
                update()
            return
        # Every group's hyperparameters and arrays checked before any parameter moves: a gradient the
        # native call of a later group would refuse must not leave the earlier groups stepped.
        updates = [self._plan_group(group, True) for group in groups]
        for update in updates:
            if update is not None:
                update()

    def _plan_group(self, group, check):
        """The group's update (a callable running its native call(s) and committing its state), or None
        when no parameter has a gradient. Raises, changing nothing, for a bad hyperparameter and, with
        check (or when the update makes several native calls), for arrays its native call would refuse.
        A subclass written for the older interface implements _step_group(group) instead: it runs when
        the update does, so only its own native call's checks protect it."""
        return functools.partial(self._step_group, group)

    def _step_group(self, group):
        raise NotImplementedError

    def _gather(self, group, buffer_names, check=False, fills=None):
        """(param arrays, grad arrays, bundle) for the group's parameters that have a gradient, or None.

        The bundle (each parameter's state dict and, per buffer name, the list of buffer arrays the
        native step takes) is built once and reused while the same parameters have gradients, the
        buffer names are the same and the state table holds the same entries (see Bundle.current).
        Parameters without a gradient are skipped. fills: buffer name -> the value a new buffer starts
        at (0 when not named)."""
        params = group["params"]
        try:
            grads = [p.grad._data for p in params]
        except AttributeError:  # some parameters have no gradient this step
            params = [p for p in params if p.grad is not None]
            if not params:
                return None
            grads = [p.grad._data for p in params]
        ids = tuple(map(id, params))
        bundle = self._bundles.get(id(group))
        if bundle is None or bundle.ids != ids or bundle.names != buffer_names or bundle.table is not self.state or \
                (bundle.epoch != edits[0] and not bundle.current(self.state)):  # inlined: the usual step's test
            bundle = self._bundles[id(group)] = Bundle(self.state, params, ids, buffer_names, fills)
        param_arrays = [p._data for p in params]
        if check:
            bundle.check(param_arrays, grads)
        return param_arrays, grads, bundle

    # --- saving and resuming ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]} like PyTorch.

        Parameters are numbered in group order; state values are the live buffers (not copies),
        exactly as PyTorch returns them, in plain dicts.
        """
        index_of, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
                packed["params"].append(index_of[id(p)])
            groups.append(packed)
        state = {index_of[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from state_dict(): hyperparameters per group and every parameter's state, copied."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("state_dict must be a dict with 'state' and 'param_groups' entries")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"loaded state dict's parameter group {i} has {len(saved['params'])} parameters, "
                                 f"this optimizer's has {len(group['params'])}")
        param_of = {index: p for saved, group in zip(saved_groups, self.param_groups)
                    for index, p in zip(saved["params"], group["params"])}
        new_state = StateTable()
        for index, saved_state in state_dict["state"].items():
            index = int(index)
            if index not in param_of:
                raise ValueError(f"loaded state dict has state for parameter index {index}, which no group holds")
            new_state[param_of[index]] = ParamState(self._copy_state(param_of[index], saved_state))
        new_groups = []
        for saved in saved_groups:
            loaded = copy.deepcopy({k: v for k, v in saved.items() if k != "params"})
            for name, default in self.defaults.items():  # entries an older version did not save
                if default is not _REQUIRED:
                    loaded.setdefault(name, default)
            self._validate_group(loaded)  # a bad saved hyperparameter is refused before anything changes
            new_groups.append(loaded)
        self.state = new_state
        self._bundles.clear()
        for group, loaded in zip(self.param_groups, new_groups):
            params = group["params"]
            group.clear()
            group.update(loaded)
            group["params"] = params

    @staticmethod
    def _copy_state(param, saved_state):
        """A copy of one parameter's saved state: buffers shape-checked, cast to the parameter's dtype and
        put on its device (state saved on a GPU loads into a CPU optimizer and the reverse, as in PyTorch)."""
        copied = {}
        for name, value in saved_state.items():
            if name == "step":
                copied[name] = int(value.item() if isinstance(value, Tensor) else np.asarray(value))
            elif name in _SCALAR_STATES:
                copied[name] = float(value.item() if isinstance(value, Tensor) else np.asarray(value))
            elif isinstance(value, (Tensor, np.ndarray)) or hasattr(value, "__array__"):
                array = value._data if isinstance(value, Tensor) else np.asarray(value)
                if array.shape != param.shape:
                    raise ValueError(f"state '{name}' has shape {array.shape}, its parameter has {param.shape}")
                copied[name] = Tensor._wrap(_state_copy(array, param._data))
            else:
                copied[name] = copy.deepcopy(value)
        return copied

    def _state_to_param_devices(self):
        """Move state buffers to their parameter's device (after the model moved, e.g. by a Learner)."""
        moved = False
        for param, state in self.state.items():
            target = param.device
            for value in state.values():
                if isinstance(value, Tensor) and value.device != target:
                    value._data = move_array(value._data, target)
                    moved = True
        if moved:
            self._bundles.clear()  # they hold the old arrays

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        if type(self.state) is not StateTable:  # pickled by an older version: a defaultdict of dicts
            self.state = StateTable({p: ParamState(s) for p, s in self.state.items()})
        self._lock = threading.Lock()
        self._bundles = {}
        self._init_hyper_cache()

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        lines.append(")")
        return "\n".join(lines)


def _state_copy(array, param_array):
    """A new C-contiguous copy of array with param_array's dtype, on param_array's device."""
    if isinstance(array, np.ndarray) and isinstance(param_array, np.ndarray):
        return np.array(array, dtype=param_array.dtype, order="C", copy=True)
    moved = move_array(array, _device_of_array(param_array))
    if moved is array or moved.dtype != param_array.dtype:
        moved = moved.astype(param_array.dtype)  # astype copies, C-ordered
    return moved


# coefficients; PyTorch saves it as a 0-d tensor).
_SCALAR_STATES = ("mu_product",)
