"""Optimizer base class: PyTorch's param_groups, per-parameter state and state_dict format.

Subclasses implement `_step_group(group)`, which gathers the group's arrays and makes the one fused
native call (nnx._C.*_step) that updates every parameter of the group. Python only does bookkeeping.
"""
import copy
from collections import defaultdict

import numpy as np

from ..tensor import Tensor

_REQUIRED = object()  # marks a default that every parameter group must supply itself (e.g. a required lr)


class Optimizer:
    """Base class of the nnx optimizers, with torch.optim.Optimizer's interface."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)  # parameter -> its state dict ('step', moment buffers ...)
        self.param_groups = []
        self._bundles = {}  # id(group) -> _Bundle: the group's state gathered into lists, reused per step
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
    def add_param_group(self, param_group):
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
        """Raise ValueError naming a bad hyperparameter; subclasses check their own."""

    # --- gradients -------------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Drop every parameter's gradient (or zero it in place when set_to_none=False)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad._data.fill(0)

    def step(self, closure=None):
        """One update of every parameter that has a gradient. closure re-evaluates and returns the loss."""
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            self._step_group(group)
        return loss

    def _step_group(self, group):
        raise NotImplementedError

    def _gather(self, group, buffer_names):
        """(param arrays, grad arrays, bundle) for the group's parameters that have a gradient, or None.

        The bundle (each parameter's state dict and, per buffer name, the list of buffer arrays the
        native step takes) is built once and reused while the same parameters have gradients, the
        buffer names are the same and the state table has not been replaced (load_state_dict).
        Parameters without a gradient are skipped."""
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
        if bundle is None or bundle.ids != ids or bundle.names != buffer_names or bundle.table is not self.state:
            bundle = self._bundles[id(group)] = _Bundle(self.state, params, ids, buffer_names)
        return [p._data for p in params], grads, bundle

    # --- saving and resuming ---------------------------------------------------------------------
    def state_dict(self):
        """{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]} like PyTorch.

        Parameters are numbered in group order; state values are the live buffers (not copies),
        exactly as PyTorch returns them.
        """
        index_of, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
                packed["params"].append(index_of[id(p)])
            groups.append(packed)
        state = {index_of[id(p)]: s for p, s in self.state.items() if id(p) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
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
        new_state = defaultdict(dict)
        for index, saved_state in state_dict["state"].items():
            index = int(index)
            if index not in param_of:
                raise ValueError(f"loaded state dict has state for parameter index {index}, which no group holds")
            new_state[param_of[index]] = self._copy_state(param_of[index], saved_state)
        self.state = new_state
        self._bundles.clear()
        for group, saved in zip(self.param_groups, saved_groups):
            params = group["params"]
            group.clear()
            group.update(copy.deepcopy({k: v for k, v in saved.items() if k != "params"}))
            group["params"] = params

    @staticmethod
    def _copy_state(param, saved_state):
        """A copy of one parameter's saved state: buffers cast to the parameter's dtype and shape-checked."""
        copied = {}
        for name, value in saved_state.items():
            if name == "step":
                copied[name] = int(np.asarray(value.numpy() if isinstance(value, Tensor) else value))
            elif isinstance(value, (Tensor, np.ndarray)) or hasattr(value, "__array__"):
                array = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
                if array.shape != param.shape:
                    raise ValueError(f"state '{name}' has shape {array.shape}, its parameter has {param.shape}")
                copied[name] = Tensor._wrap(np.array(array, dtype=param.dtype, order="C", copy=True))
            else:
                copied[name] = copy.deepcopy(value)
        return copied

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._bundles = {}

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        lines.append(")")
        return "\n".join(lines)


def check_non_negative(group, *names):
    """ValueError naming the first hyperparameter of `names` that is negative."""
    for name in names:
        value = group[name]
        if not value >= 0.0:
            raise ValueError(f"Invalid {name} value: {value} (expected >= 0)")


class _Bundle:
    """One group's per-parameter state gathered into lists: `states` (the state dicts), `buffers[name]`
    (the arrays of that buffer, one per parameter, created zero-filled on first use) and `fresh` (the
    indices whose first buffer was created here, until a step consumes it: SGD's first-step rule)."""

    __slots__ = ("table", "ids", "names", "states", "buffers", "fresh")

    def __init__(self, table, params, ids, names):
        self.table, self.ids, self.names = table, ids, names
        self.states = [table[p] for p in params]
        self.fresh = [i for i, state in enumerate(self.states) if names and state.get(names[0]) is None]
        self.buffers = {name: [_buffer(state, name, p._data) for state, p in zip(self.states, params)]
                        for name in names}

    def take_fresh(self):
        fresh, self.fresh = self.fresh, []
        return fresh


def _buffer(state, name, like):
    """The state buffer `name` of one parameter, created zero-filled (same shape and dtype) on first use."""
    buffer = state.get(name)
    if buffer is None:
        buffer = state[name] = Tensor._wrap(np.zeros_like(like))
    return buffer._data


def advance_steps(states):
    """Count one more step in every state; [(step, None)] when all agree (one native call), else
    [(step, indices)] per distinct step, for parameters that joined or skipped updates at other times."""
    steps = []
    for state in states:
        step = state["step"] = state.get("step", 0) + 1
        steps.append(step)
    return group_by_step(steps)


def group_by_step(steps):
    """[(step, None)] when every parameter is at the same step (the usual case: one native call), else
    [(step, indices)] per distinct step, for parameters that joined or skipped updates at other times."""
    first = steps[0]
    if all(step == first for step in steps):
        return [(first, None)]
    members = {}
    for i, step in enumerate(steps):
        members.setdefault(step, []).append(i)
    return sorted(members.items())


def subset(arrays, indices):
    """arrays restricted to indices (all of them when indices is None); None stays None."""
    if arrays is None or indices is None:
        return arrays
    return [arrays[i] for i in indices]
