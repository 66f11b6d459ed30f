"""Optimizer base class: PyTorch's param_groups, per-parameter state and state_dict format.

Subclasses implement `_plan_group(group, check)`, which gathers the group's arrays and returns the
update (a callable making the one fused native call, the parameters' backend's *_step: nnx._C's or
nnx._cuda's, that updates every parameter of the group). Python only does bookkeeping. State buffers
live on their parameter's device. Hyperparameters are checked when a group is added and re-checked by
step() only when they changed (a scheduler or a user may set group['lr'] to anything); a refused step
changes nothing: every group is planned (and, when a step makes more than one native call, its arrays
checked) before any update runs, and step counts and new state buffers are committed only after the
native call returned.

The state table (`opt.state`) is the truth, as in PyTorch: clearing it, deleting or replacing a
parameter's entry, replacing a buffer in an entry or loading a state dict takes effect on the next step.
Each group's gathered layout (its _Bundle) is reused while nothing was edited: every edit of a state
table or entry bumps a global edit count, so the usual step checks one integer; after an edit (or when
the user put in plain dicts) the bundle compares its entries by identity and is rebuilt if they differ.

step() holds a per-optimizer lock: concurrent step() calls on one optimizer from several threads run
one after the other (no lost steps); the closure runs outside the lock.
"""
import copy
import functools
import math
import operator
import threading
from collections import defaultdict

import numpy as np

from .. import _C, backend
from ..tensor import Tensor, _device_of_array, fill_array, move_array

_REQUIRED = object()  # marks a default that every parameter group must supply itself (e.g. a required lr)

# Edits of any optimizer's state table or of a parameter's state entry since import: a group's cached
# bundle built at the current count is known current without looking at its entries.
_edits = [0]


def _edited(method):
    """dict method `method`, counting an edit first."""
    def edit(self, *args, **kwargs):
        _edits[0] += 1
        return method(self, *args, **kwargs)
    edit.__name__ = method.__name__
    return edit


_MUTATING_METHODS = ("__setitem__", "__delitem__", "__ior__", "clear", "pop", "popitem", "setdefault", "update")


def _counting_edits(cls):
    """cls with every mutating dict method of its base wrapped by _edited."""
    base = cls.__bases__[0]
    for name in _MUTATING_METHODS:
        setattr(cls, name, _edited(getattr(base, name)))
    return cls


@_counting_edits
class _ParamState(dict):
    """One parameter's state ('step', buffers ...): a dict whose edits are counted (see _edits)."""

    __slots__ = ()


@_counting_edits
class _StateTable(defaultdict):
    """opt.state: parameter -> its _ParamState (created empty on first access, as PyTorch's defaultdict),
    edits counted (see _edits)."""

    def __init__(self, *args):
        super().__init__(_ParamState, *args)

    def __reduce__(self):  # pickled and copied as a _StateTable, not as a defaultdict of its factory
        return (_StateTable, (), None, None, iter(self.items()))


class Optimizer:
    """Base class of the nnx optimizers, with torch.optim.Optimizer's interface."""

    # The group entries a step reads, in the order _pack_hyper takes them: step() re-validates a group
    # only when one of them is no longer equal to the values it last validated.
    _hyper_names = ()

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = _StateTable()  # parameter -> its state dict ('step', moment buffers ...)
        self.param_groups = []
        self._lock = threading.Lock()  # step() runs one call at a time
        self._bundles = {}  # id(group) -> _Bundle: the group's state gathered into lists, reused per step
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
    def zero_grad(self, set_to_none=True):
        """Drop every parameter's gradient (or zero it in place when set_to_none=False)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    fill_array(p.grad._data, 0)

    def step(self, closure=None):
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
        buffer names are the same and the state table holds the same entries (see _Bundle.current).
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
                (bundle.epoch != _edits[0] and not bundle.current(self.state)):  # inlined: the usual step's test
            bundle = self._bundles[id(group)] = _Bundle(self.state, params, ids, buffer_names, fills)
        param_arrays = [p._data for p in params]
        if check:
            bundle.check(param_arrays, grads)
        return param_arrays, grads, bundle

    # --- saving and resuming ---------------------------------------------------------------------
    def state_dict(self):
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
        new_state = _StateTable()
        for index, saved_state in state_dict["state"].items():
            index = int(index)
            if index not in param_of:
                raise ValueError(f"loaded state dict has state for parameter index {index}, which no group holds")
            new_state[param_of[index]] = _ParamState(self._copy_state(param_of[index], saved_state))
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
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
        if type(self.state) is not _StateTable:  # pickled by an older version: a defaultdict of dicts
            self.state = _StateTable({p: _ParamState(s) for p, s in self.state.items()})
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


def native_steps(cpu_module, array):
    """What holds the fused *_step functions for parameters like `array`: cpu_module (nnx._C, whose functions
    the CPU backend's steps are) for NumPy arrays, else the array's backend (nnx._cuda's steps)."""
    return cpu_module if type(array) is np.ndarray else backend.for_array(array)


def _state_copy(array, param_array):
    """A new C-contiguous copy of array with param_array's dtype, on param_array's device."""
    if isinstance(array, np.ndarray) and isinstance(param_array, np.ndarray):
        return np.array(array, dtype=param_array.dtype, order="C", copy=True)
    moved = move_array(array, _device_of_array(param_array))
    if moved is array or moved.dtype != param_array.dtype:
        moved = moved.astype(param_array.dtype)  # astype copies, C-ordered
    return moved


_INF = math.inf
_REAL_TYPES = (float, int, np.floating, np.integer)


def non_negative(value, name):
    """value as a finite float >= 0, or TypeError/ValueError naming it (lr, eps, weight_decay ...)."""
    kind = type(value)
    if (kind is float or kind is int) and 0.0 <= value < _INF:  # the usual case, in a few tens of ns
        return float(value)
    return checked_real(value, name, 0.0, _INF)


def fraction(value, name, one_allowed=True):
    """value as a float in [0, 1] (or [0, 1) without one_allowed), or TypeError/ValueError naming it."""
    kind = type(value)
    if (kind is float or kind is int) and 0.0 <= value < 1.0:
        return float(value)
    return checked_real(value, name, 0.0, 1.0, one_allowed)


def checked_real(value, name, minimum, maximum, maximum_allowed=False):
    """value as a float in [minimum, maximum) ([minimum, maximum] with maximum_allowed), finite; a
    TypeError (not a real number) or ValueError (NaN, inf, out of range) naming it otherwise."""
    value = as_real(value, name)
    below_top = value <= maximum if maximum_allowed else value < maximum
    if not (minimum <= value and below_top and value < _INF):  # NaN fails every comparison
        if maximum == _INF:
            bound = f">= {minimum:g}"
        else:
            bound = f"in [{minimum:g}, {maximum:g}{']' if maximum_allowed else ')'}"
        raise ValueError(f"Invalid {name} value: {value} ({name} must be a finite number {bound})")
    return value


def as_real(value, name):
    """value as a float, or TypeError naming it: Python and NumPy reals only (no bool, str, None, array)."""
    if isinstance(value, _REAL_TYPES) and not isinstance(value, bool):
        return float(value)
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    raise TypeError(f"{name} must be a number (a finite float), got {type(value).__name__} {shown}")


def flag(value, name):
    """value as a bool: True, False, or the integers 0 and 1; TypeError naming it otherwise."""
    if value is True or value is False:
        return value
    if isinstance(value, np.bool_) or (isinstance(value, (int, np.integer)) and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")


_LAYOUT = operator.attrgetter("__class__", "shape", "strides", "dtype")  # strides: contiguity, cheaply


def refusal(param_arrays, lists):
    """The error the native *_step call raises for these arrays, by its checks and with its messages, or
    None when these checks find nothing (the native call still has the last word). lists: (name, arrays)
    pairs, one array per parameter each; the state buffers' names are the native argument's, plural."""
    first = param_arrays[0]
    for i, array in enumerate(param_arrays):
        error = _array_refusal(array, f"params[{i}]", first, "params[0]", written=True, shaped=False)
        if error is not None:
            return error
    for name, arrays in lists:
        native_name = "grads" if name == "grads" else _NATIVE_LIST_NAMES.get(name, name + "s")
        for i, (array, param) in enumerate(zip(arrays, param_arrays)):
            error = _array_refusal(array, f"{native_name}[{i}]", param, f"params[{i}]", written=name != "grads")
            if error is not None:
                return error
    return None


_NATIVE_LIST_NAMES = {"momentum_buffer": "momentum_buffers", "sum": "state_sums"}

# Per-parameter state entries that are numbers, not buffers like the parameter (NAdam's product of momentum
# coefficients; PyTorch saves it as a 0-d tensor).
_SCALAR_STATES = ("mu_product",)


def _array_refusal(array, name, ref, ref_name, written, shaped=True):
    """The first native check (array_checks.h's order) that `array` fails against `ref`, as an exception."""
    if type(array) is not type(ref) and not (isinstance(ref, np.ndarray) and isinstance(array, np.ndarray)):
        expected = "numpy.ndarray" if isinstance(ref, np.ndarray) else type(ref).__name__
        return TypeError(f"{name} must be a {expected}, got {type(array).__name__}")
    if not array.flags.c_contiguous:
        return ValueError(f"{name} must be C-contiguous (use numpy.ascontiguousarray)")
    if written and isinstance(array, np.ndarray) and not array.flags.writeable:
        return ValueError(f"{name} must be writeable")
    if array is ref and array.dtype not in _FLOAT_DTYPES:  # params[0]: the others must match its dtype
        return TypeError(f"{name} must have dtype float32 or float64, got {array.dtype}")
    if array.dtype != ref.dtype:
        return TypeError(f"{name} must have the dtype of {ref_name} ({ref.dtype}), got {array.dtype}")
    if shaped and array.shape != ref.shape:
        return ValueError(f"{name} must have the shape of {ref_name} {_shape(ref.shape)}, got {_shape(array.shape)}")
    if _device_of_array(array) != _device_of_array(ref):
        return ValueError(f"{name} is on {_device_of_array(array)} but {ref_name} is on {_device_of_array(ref)}")
    return None


_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _shape(shape):
    """A shape as the native messages write it: (3,) (2, 3) ()."""
    return str(tuple(shape))


class _Bundle:
    """One group's per-parameter state gathered into lists: `states` (the state dicts), `buffers[name]`
    (the arrays of that buffer, one per parameter, created zero-filled on first use) and `fresh` (the
    indices whose first buffer was created here, until a step consumes it: SGD's first-step rule).

    State dicts and buffers created here are written into the optimizer's state table only by commit(),
    after the native call accepted them: a refused step leaves the state exactly as it was."""

    __slots__ = ("table", "params", "ids", "names", "states", "values", "buffers", "fresh", "pending", "layouts",
                 "devices", "epoch", "tracked")

    def __init__(self, table, params, ids, names, fills=None):
        self.table, self.params, self.ids, self.names = table, params, ids, names
        self.pending = []  # (param, state dict, buffer name or None, buffer) for commit() to record
        self.states = [self._state(table, p) for p in params]
        self.fresh = [i for i, state in enumerate(self.states) if names and state.get(names[0]) is None]
        fills = fills or {}
        # values: the state entries themselves (Tensors, or arrays a user put in), to tell a replaced one
        self.values = {name: [self._value(p, state, name, fills.get(name, 0)) for state, p in zip(self.states, params)]
                       for name in names}
        self.buffers = {name: [_array_of(value) for value in values] for name, values in self.values.items()}
        # Edits counted by _edits are all the edits there are when the table and every entry count them:
        # then the bundle is current while the count has not moved. Otherwise current() always looks.
        self.tracked = type(table) is _StateTable and all(type(state) is _ParamState for state in self.states)
        self.epoch = _edits[0] if self.tracked else None
        # What every array of a step must look like (the parameters' layouts when the bundle was built),
        # or None when a state buffer already differs from its parameter (check() then always looks).
        # devices: the parameters' devices where they are not all NumPy arrays (several GPUs: the class
        # alone does not tell the device).
        arrays = [p._data for p in params]
        self.layouts = list(map(_LAYOUT, arrays))
        self.devices = None if all(type(a) is np.ndarray for a in arrays) else list(map(_device_of_array, arrays))
        if any(list(map(_LAYOUT, buffers)) != self.layouts for buffers in self.buffers.values()):
            self.layouts = None

    def current(self, table):
        """Whether the state table still holds this bundle's entries: the table itself, each parameter's
        state dict and each buffer (by identity). One integer comparison when nothing was edited."""
        if table is not self.table:
            return False
        edits = _edits[0]
        if self.epoch == edits:
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
                if _array_of(value) is not array:
                    return False
        if self.tracked:
            self.epoch = edits
        return True

    def check(self, param_arrays, grad_arrays):
        """The native call's refusal (its error and message), raised here before any group steps, of
        parameters, gradients or state buffers that changed layout (class, device, shape, strides, dtype)
        behind the setters' checks. Two list comparisons per step in the usual case (nothing changed)."""
        layouts = self.layouts
        if layouts is not None and list(map(_LAYOUT, grad_arrays)) == layouts and \
                list(map(_LAYOUT, param_arrays)) == layouts and (self.devices is None or (
                    list(map(_device_of_array, grad_arrays)) == self.devices ==
                    list(map(_device_of_array, param_arrays)))):
            return
        error = refusal(param_arrays, [("grads", grad_arrays)] + list(self.buffers.items()))
        if error is not None:
            raise error

    def _state(self, table, param):
        state = table.get(param)
        if state is None:
            state = _ParamState()
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

    def next_steps(self):
        """The step number each parameter is about to take (1 for a new one); committed by commit()."""
        return [state.get("step", 0) + 1 for state in self.states]

    def commit(self, steps=None):
        """After the native call returned: record the step numbers and the state created for this step."""
        # dict.__setitem__: the bundle's own writes are not edits (they would make it look stale).
        if steps is not None:
            for state, step in zip(self.states, steps):
                _set(state, "step", step)
        if self.pending:
            for param, state, name, buffer in self.pending:
                _set(self.table, param, state) if name is None else _set(state, name, buffer)
            self.pending, self.fresh = [], []


_set = dict.__setitem__


def _array_of(value):
    """The array behind a state entry: a Tensor's data, or the array itself."""
    return value._data if isinstance(value, Tensor) else value


def group_by_step(steps):
    """[(step, None)] when every parameter is at the same step (the usual case: one native call), else
    [(step, indices)] per distinct step, for parameters that joined or skipped updates at other times."""
    first = steps[0]
    if steps.count(first) == len(steps):
        return [(first, None)]
    members = {}
    for i, step in enumerate(steps):
        members.setdefault(step, []).append(i)
    return sorted(members.items())


def stepped_update(bundle, param_arrays, grad_arrays, lists, check, call, keys=None, after=None):
    """The update of a group whose native step takes the step number: call(params, grads, *lists, key) once
    per distinct key among the parameters (keys[i], or the step each is about to take; one call in the
    usual case), then the step counts committed and after() run. With several calls, every array is
    checked before the first (a refused call must not leave part of the group stepped)."""
    steps = bundle.next_steps()
    calls = group_by_step(steps if keys is None else keys(steps))
    if not check and len(calls) > 1:
        bundle.check(param_arrays, grad_arrays)

    def update():
        for key, members in calls:
            call(subset(param_arrays, members), subset(grad_arrays, members),
                 *[subset(arrays, members) for arrays in lists], key)
        bundle.commit(steps)  # only now: a refused call leaves the step counts and the new buffers unrecorded
        if after is not None:
            after(steps)
    return update


def plan_stepped(optimizer, group, check, kernel_name, buffer_names, hyper, fills=None):
    """The usual _plan_group of an optimizer whose native step is kernel(params, grads, *buffers, step, *hyper):
    the group's arrays gathered (None when no parameter has a gradient) and its stepped_update."""
    gathered = optimizer._gather(group, buffer_names, check, fills=fills)
    if gathered is None:
        return None
    param_arrays, grad_arrays, bundle = gathered
    kernel = getattr(native_steps(_C, param_arrays[0]), kernel_name)

    def call(*arrays_and_step):
        kernel(*arrays_and_step, *hyper)
    lists = [bundle.buffers[name] for name in buffer_names]
    return stepped_update(bundle, param_arrays, grad_arrays, lists, check, call)


def subset(arrays, indices):
    """arrays restricted to indices (all of them when indices is None); None stays None."""
    if arrays is None or indices is None:
        return arrays
    return [arrays[i] for i in indices]
