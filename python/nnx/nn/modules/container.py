"""Sequential (with automatic Linear/Conv2d + activation fusion) and ModuleList.

Sequential builds an execution plan once per structure: a plain Linear immediately followed by
ReLU/LeakyReLU/Sigmoid/Tanh/GELU becomes one F.fused_linear call (matmul, bias and activation in
one native pass; backward likewise), a plain Conv2d followed by ReLU/LeakyReLU/Sigmoid/Tanh one
F.fused_conv2d call (the activation in the convolution's output pass), and a BatchNorm1d/2d followed by
ReLU one F.batch_norm pass with its fused relu. The plan is rebuilt only
when children are added, replaced or removed. Subclasses that override forward are never fused:
their code runs as written.
"""
from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Callable, TypeVar, Union

from .. import functional as F
from ..module import Module
from .activation import GELU, LeakyReLU, ReLU, Sigmoid, Tanh
from .conv import Conv2d
from .linear import Linear
from .normalization import BatchNorm1d, BatchNorm2d

if TYPE_CHECKING:
    from ...tensor import Tensor

_S = TypeVar("_S", bound="_ModuleSequence")
PlanStep = Union[Module, Callable[["Tensor"], "Tensor"]]


def _unless_hooked(fused_step, first, second, fuses):
    """fused_step, except while either module has hooks: then the two run as modules, so that their hooks fire
    exactly as in PyTorch (a hook sees the Linear's/Conv2d's/BatchNorm's own output). Read on every call: hooks
    come and go without the plan being rebuilt."""
    def step(input):
        if first._hooked or second._hooked:
            return second(first(input))
        return fused_step(input)
    step.fuses = fuses
    return step


def _fused(linear, activation, activation_name, slope_of=None):
    """One plan step: linear + activation as one F.fused_linear call, reading the modules' current
    parameters (and LeakyReLU's slope) on every call."""
    if slope_of is None:
        def step(input):
            return F.fused_linear(input, linear.weight, linear.bias, activation_name)
    else:
        def step(input):
            return F.fused_linear(input, linear.weight, linear.bias, activation_name, slope_of.negative_slope)
    return _unless_hooked(step, linear, activation, (linear, activation_name))


def _fused_gelu(linear, gelu):
    def step(input):
        activation = "gelu_tanh" if gelu.approximate == "tanh" else "gelu"
        return F.fused_linear(input, linear.weight, linear.bias, activation)
    return _unless_hooked(step, linear, gelu, (linear, "gelu"))


# Exact types only: a subclass may change forward, and then it must run as written.
_FUSERS = {
    ReLU: lambda linear, act: _fused(linear, act, "relu"),
    Sigmoid: lambda linear, act: _fused(linear, act, "sigmoid"),
    Tanh: lambda linear, act: _fused(linear, act, "tanh"),
    LeakyReLU: lambda linear, act: _fused(linear, act, "leaky_relu", slope_of=act),
    GELU: _fused_gelu,
}


def _fused_conv(conv, activation, activation_name):
    """One plan step: conv + activation as one F.fused_conv2d call, reading the modules' current parameters (and
    LeakyReLU's slope) on every call. A padding_mode other than 'zeros' (Conv2d pads first) or a negative slope (the
    fused backward reads the sign from the output) runs the two modules as written instead."""
    def step(input):
        slope = activation.negative_slope if activation_name == "leaky_relu" else 0.01
        if conv.padding_mode != "zeros" or slope < 0:
            return activation(conv(input))
        return F.fused_conv2d(input, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups,
                              activation_name, slope)
    return _unless_hooked(step, conv, activation, (conv, activation_name))


_CONV_FUSED = {ReLU: "relu", Sigmoid: "sigmoid", Tanh: "tanh", LeakyReLU: "leaky_relu"}


def _fused_batch_norm_relu(norm, relu):
    """One plan step: BatchNorm1d/2d + ReLU as one F.batch_norm pass with its fused relu (the layer's own
    statistics, momentum and running-buffer updates, as its forward)."""
    def step(input):
        return norm._normalize(input, "relu")
    return _unless_hooked(step, norm, relu, (norm, "relu"))


def build_plan(modules: list[Module]) -> tuple[PlanStep, ...]:
    """The callables a Sequential runs in order: fused Linear/Conv2d + activation pairs, other modules as is."""
    plan, i = [], 0
    while i < len(modules):
        module = modules[i]
        following = modules[i + 1] if i + 1 < len(modules) else None
        if type(module) is Linear and "forward" not in module.__dict__ and type(following) in _FUSERS \
                and "forward" not in following.__dict__:
            plan.append(_FUSERS[type(following)](module, following))
            i += 2
        elif type(module) is Conv2d and "forward" not in module.__dict__ and type(following) in _CONV_FUSED \
                and "forward" not in following.__dict__:
            plan.append(_fused_conv(module, following, _CONV_FUSED[type(following)]))
            i += 2
        elif type(module) in (BatchNorm1d, BatchNorm2d) and "forward" not in module.__dict__ \
                and type(following) is ReLU and "forward" not in following.__dict__:
            plan.append(_fused_batch_norm_relu(module, following))
            i += 2
        else:
            plan.append(module)
            i += 1
    return tuple(plan)


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: positions, length, iteration, append, delete and renumbering."""

    _container_name = "Module"  # named in the IndexError of a position out of range

    def _index(self, idx):
        size = len(self._modules)
        idx = operator.index(idx)
        if not -size <= idx < size:
            raise IndexError(f"index {idx} is out of range for a {self._container_name} of length {size}")
        return idx % size

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self: _S, module: Module) -> _S:
        """Add `module` at the end (key str(len(self))); returns self."""
        self.add_module(str(len(self)), module)
        return self

    def __delitem__(self, idx):
        modules = list(self._modules.values())
        del modules[idx if isinstance(idx, slice) else self._index(idx)]
        self._replace_children(modules)

    def _replace_children(self, modules):
        """The children become `modules`, keyed "0", "1", ... like PyTorch's (state-dict keys follow positions)."""
        for key in list(self._modules):
            delattr(self, key)
        for position, module in enumerate(modules):
            self.add_module(str(position), module)


class Sequential(_ModuleSequence):
    """Runs its modules in order; Sequential(m1, m2, ...) or Sequential(OrderedDict(name=module))."""

    _container_name = "Sequential"

    def __init__(self, *args: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        object.__setattr__(self, "_plan", None)
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(args):
                self.add_module(str(index), module)

    def _children_changed(self):
        object.__setattr__(self, "_plan", None)

    def __getstate__(self):
        # The plan holds closures (not picklable) over this instance's children: rebuilt after loading.
        return dict(self.__dict__, _plan=None)

    def plan(self) -> tuple[PlanStep, ...]:
        """The execution plan (built on first use after a structural change)."""
        if self._plan is None:
            object.__setattr__(self, "_plan", build_plan([m for m in self._modules.values() if m is not None]))
        return self._plan

    def forward(self, input: Tensor) -> Tensor:
        plan = self._plan if self._plan is not None else self.plan()
        for step in plan:
            input = step(input)
        return input

    # --- container protocol (positions, length, iteration, append and delete: _ModuleSequence) ----------
    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[self._index(idx)]

    def __setitem__(self, idx, module):
        key = list(self._modules)[self._index(idx)]
        setattr(self, key, module)

    def extend(self, modules: Iterable[Module]) -> Sequential:
        """Append each of `modules`; returns self."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Put `module` at position `index` (the later ones move up one key); returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"module should be of type Module, got {type(module).__name__}")
        size = len(self)
        if not -size <= index <= size:
            raise IndexError(f"Index out of range: {index}")
        modules = list(self._modules.values())
        modules.insert(index + size if index < 0 else index, module)
        self._replace_children(modules)
        return self

    def pop(self, index: int = -1) -> Module:
        """Remove and return the module at `index` (the last by default)."""
        module = self[index]
        del self[index]
        return module


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered (keys "0", "1", ...); no forward of its own."""

    _container_name = "ModuleList"

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(self._index(idx))]

    def __setitem__(self, idx, module):
        setattr(self, str(self._index(idx)), module)

    def __iadd__(self, modules):
        return self.extend(modules)

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each of `modules`; returns self."""
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError(f"ModuleList.extend should be called with an iterable, got {type(modules).__name__}")
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put `module` at position `index` (list.insert's semantics)."""
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._replace_children(modules)
