"""The optimizer's state table (opt.state) and each group's gathered layout (Bundle).

The state table is the truth, as in PyTorch: clearing it, deleting or replacing a parameter's entry, replacing a
buffer in an entry or loading a state dict takes effect on the next step. A Bundle (one group's state gathered into
the lists the native step takes) is reused while nothing was edited: every edit of a state table or entry bumps a
global edit count, so the usual step checks one integer; after an edit (or when the user put in plain dicts) the
bundle compares its entries by identity and is rebuilt if they differ.
"""
from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor, _device_of_array, fill_array
from .validation import refusal

__all__ = ["edits", "ParamState", "StateTable", "Bundle", "set_entry", "array_of"]


# Edits of any optimizer's state table or of a parameter's state entry since import: a group's cached
# bundle built at the current count is known current without looking at its entries.
edits = [0]


def _edited(method):
    """dict method `method`, counting an edit first."""
    def edit(self, *args: Any, **kwargs: Any) -> Any:
        edits[0] += 1
        return method(self, *args, **kwargs)
    edit.__name__ = method.__name__
    return edit


_MUTATING_METHODS = ("__setitem__", "__delitem__", "__ior__", "clear", "pop", "popitem", "setdefault", "update")


def counting_edits(cls):
    """cls with every mutating dict method of its base wrapped by _edited."""
    base = cls.__bases__[0]
    for name in _MUTATING_METHODS:
        setattr(cls, name, _edited(getattr(base, name)))
    return cls


@counting_edits
class ParamState(dict):
    """One parameter's state ('step', buffers ...): a dict whose edits are counted (see edits)."""

    __slots__ = ()


@counting_edits
class StateTable(defaultdict):
    """opt.state: parameter -> its ParamState (created empty on first access, as PyTorch's defaultdict),
    edits counted (see edits)."""

    def __init__(self, *args: Any):
        super().__init__(ParamState, *args)

    def __reduce__(self):  # pickled and copied as a StateTable, not as a defaultdict of its factory
        return (StateTable, (), None, None, iter(self.items()))


# What every array of a step must look like to pass the native checks unseen: class, shape, strides (contiguity,
# cheaply) and dtype.
LAYOUT = operator.attrgetter("__class__", "shape", "strides", "dtype")


class Bundle:
    """One group's per-parameter state gathered into lists: `states` (the state dicts), `buffers[name]`
    (the arrays of that buffer, one per parameter, created zero-filled on first use) and `fresh` (the
    indices whose first buffer was created here, until a step consumes it: SGD's first-step rule).

    State dicts and buffers created here are written into the optimizer's state table only by commit(),
    after the native call accepted them: a refused step leaves the state exactly as it was."""

    __slots__ = ("table", "params", "ids", "names", "states", "values", "buffers", "fresh", "pending", "layouts",
                 "devices", "epoch", "tracked")

    def __init__(self, table: dict[Tensor, dict[str, Any]], params: list[Tensor], ids: list[int], names: Sequence[str],
                 fills: dict[str, float] | None = None):
        self.table, self.params, self.ids, self.names = table, params, ids, names
        self.pending = []  # (param, state dict, buffer name or None, buffer) for commit() to record
        self.states = [self._state(table, p) for p in params]
        self.fresh = [i for i, state in enumerate(self.states) if names and state.get(names[0]) is None]
        fills = fills or {}
        # values: the state entries themselves (Tensors, or arrays a user put in), to tell a replaced one
        self.values = {name: [self._value(p, state, name, fills.get(name, 0)) for state, p in zip(self.states, params)]
                       for name in names}
        self.buffers = {name: [array_of(value) for value in values] for name, values in self.values.items()}
        # Edits counted by edits are all the edits there are when the table and every entry count them:
        # then the bundle is current while the count has not moved. Otherwise current() always looks.
        self.tracked = type(table) is StateTable and all(type(state) is ParamState for state in self.states)
        self.epoch = edits[0] if self.tracked else None
        # What every array of a step must look like (the parameters' layouts when the bundle was built),
        # or None when a state buffer already differs from its parameter (check() then always looks).
        # devices: the parameters' devices where they are not all NumPy arrays (several GPUs: the class
        # alone does not tell the device).
        arrays = [p._data for p in params]
        self.layouts = list(map(LAYOUT, arrays))
        self.devices = None if all(type(a) is np.ndarray for a in arrays) else list(map(_device_of_array, arrays))
        if any(list(map(LAYOUT, buffers)) != self.layouts for buffers in self.buffers.values()):
            self.layouts = None

    def current(self, table: dict[Tensor, dict[str, Any]]) -> bool:
        """Whether the state table still holds this bundle's entries: the table itself, each parameter's
        state dict and each buffer (by identity). One integer comparison when nothing was edited."""
        if table is not self.table:
            return False
        count = edits[0]
        if self.epoch == count:
            return True
        get = table.get
        for param, state in zip(self.params, self.states):
            if get(param) is not state and not any(entry[1] is state for entry in self.pending):
                return False
        for name, values in self.values.items():
            arrays = self.buffers[name]
            for state, value, array in zip(self.states, values, arrays):
                if state.get(name) is not value and not any(entry[3] is value for entry in self.pending):
                    return False
                if array_of(value) is not array:
                    return False
        if self.tracked:
            self.epoch = count
        return True

    def check(self, param_arrays: list[Any], grad_arrays: list[Any]) -> None:
        """The native call's refusal (its error and message), raised here before any group steps, of
        parameters, gradients or state buffers that changed layout (class, device, shape, strides, dtype)
        behind the setters' checks. Two list comparisons per step in the usual case (nothing changed)."""
        layouts = self.layouts
        if layouts is not None and list(map(LAYOUT, grad_arrays)) == layouts and \
                list(map(LAYOUT, param_arrays)) == layouts and (self.devices is None or (
                    list(map(_device_of_array, grad_arrays)) == self.devices ==
                    list(map(_device_of_array, param_arrays)))):
            return
        error = refusal(param_arrays, [("grads", grad_arrays)] + list(self.buffers.items()))
        if error is not None:
            raise error

    def _state(self, table, param):
        state = table.get(param)
        if state is None:
            state = ParamState()
            self.pending.append((param, state, None, None))
        return state

    def _value(self, param, state, name, fill):
        """The state buffer `name` of one parameter (a Tensor, or an array a user put in); a new one is
        a Tensor like the parameter, filled with `fill`."""
        buffer = state.get(name)
        if buffer is None:
            array = np.zeros_like(param._data)
            if fill != 0:
                fill_array(array, fill)
            buffer = Tensor._wrap(array)
            self.pending.append((param, state, name, buffer))
        return buffer

    def next_steps(self) -> list[int]:
        """The step number each parameter is about to take (1 for a new one); committed by commit()."""
        return [state.get("step", 0) + 1 for state in self.states]

    def commit(self, steps: list[int] | None = None) -> None:
        """After the native call returned: record the step numbers and the state created for this step."""
        # dict.__setitem__: the bundle's own writes are not edits (they would make it look stale).
        if steps is not None:
            for state, step in zip(self.states, steps):
                set_entry(state, "step", step)
        if self.pending:
            for param, state, name, buffer in self.pending:
                set_entry(self.table, param, state) if name is None else set_entry(state, name, buffer)
            self.pending, self.fresh = [], []


set_entry = dict.__setitem__


def array_of(value: Any) -> Any:
    """The array behind a state entry: a Tensor's data, or the array itself."""
    return value._data if isinstance(value, Tensor) else value

