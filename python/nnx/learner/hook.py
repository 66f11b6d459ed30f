"""fastai's hook helpers (fastai.callback.hook): Hook and Hooks keep what a function of each hooked module's
(input, output) returns; hook_output(s) keep the activations (or, grad=True, the output gradients); dummy_eval
and model_sizes run a small random batch through a model to read its activation shapes (how DynamicUnet finds
where an encoder changes its spatial size)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Callable

import numpy as np

from .. import nn
from .._grad_mode import no_grad
from ..tensor import Tensor

__all__ = ["Hook", "Hooks", "hook_output", "hook_outputs", "dummy_eval", "model_sizes", "in_channels"]


def _detach(value: Any, cpu: bool) -> Any:
    """fastai's to_detach: tensors (also inside tuples and lists) detached, and moved to the CPU when cpu."""
    if isinstance(value, Tensor):
        value = value.detach()
        return value.cpu() if cpu else value
    if isinstance(value, (tuple, list)):
        return type(value)(_detach(v, cpu) for v in value)
    return value


class Hook:
    """A hook on module `m` calling hook_func(module, input, output) on every forward (is_forward=False: every
    backward, with (grad_input, grad_output)), keeping the result in `.stored`. detach (the default) detaches
    input and output first, cpu also moves them to the CPU. Removable, and a context manager, as fastai's."""

    def __init__(self, m: nn.Module, hook_func: Callable[[nn.Module, Any, Any], Any], is_forward: bool = True,
                 detach: bool = True, cpu: bool = False, gather: bool = False) -> None:
        self.hook_func, self.detach, self.cpu, self.gather = hook_func, detach, cpu, gather
        register = m.register_forward_hook if is_forward else m.register_full_backward_hook
        self.hook = register(self.hook_fn)
        self.stored, self.removed = None, False

    def hook_fn(self, module: nn.Module, input: Any, output: Any) -> None:
        """Applies `hook_func` to `module`, `input`, `output` (detached first when self.detach)."""
        if self.detach:
            input, output = _detach(input, self.cpu), _detach(output, self.cpu)
        self.stored = self.hook_func(module, input, output)

    def remove(self) -> None:
        """Remove the hook from the model (once)."""
        if not self.removed:
            self.hook.remove()
            self.removed = True

    def __enter__(self, *args: Any) -> Hook:
        return self

    def __exit__(self, *args: Any) -> None:
        self.remove()


def _hook_inner(m, i, o):
    return o if isinstance(o, (Tensor, list, tuple)) else list(o)


def hook_output(module: nn.Module, detach: bool = True, cpu: bool = False, grad: bool = False) -> Hook:
    """A Hook storing the activations of `module` (grad=True: the gradients of its outputs) in `.stored`."""
    return Hook(module, _hook_inner, detach=detach, cpu=cpu, is_forward=not grad)


class Hooks:
    """Hook(m, hook_func, ...) on each module of `ms`; indexable, iterable, removable, a context manager."""

    def __init__(self, ms: Iterable[nn.Module], hook_func: Callable[[nn.Module, Any, Any], Any],
                 is_forward: bool = True, detach: bool = True, cpu: bool = False) -> None:
        self.hooks = [Hook(m, hook_func, is_forward, detach, cpu) for m in ms]

    def __getitem__(self, i: int) -> Hook:
        return self.hooks[i]

    def __len__(self) -> int:
        return len(self.hooks)

    def __iter__(self) -> Iterator[Hook]:
        return iter(self.hooks)

    @property
    def stored(self) -> list[Any]:
        """What each hook kept."""
        return [hook.stored for hook in self]

    def remove(self) -> None:
        """Remove the hooks from the model."""
        for hook in self.hooks:
            hook.remove()

    def __enter__(self, *args: Any) -> Hooks:
        return self

    def __exit__(self, *args: Any) -> None:
        self.remove()


def hook_outputs(modules: Iterable[nn.Module], detach: bool = True, cpu: bool = False, grad: bool = False) -> Hooks:
    """Hooks storing the activations (grad=True: output gradients) of every module of `modules` in `.stored`."""
    return Hooks(modules, _hook_inner, detach=detach, cpu=cpu, is_forward=not grad)


def in_channels(m: nn.Module) -> int:
    """The input channels of the first layer of m with a 4-d weight (a Conv2d), as fastai's in_channels."""
    for module in m.modules():
        weight = getattr(module, "weight", None)
        if isinstance(weight, Tensor) and weight.ndim == 4:
            return int(weight.shape[1])
    raise ValueError("in_channels: the model has no layer with a 4-d weight (no convolution)")


def dummy_eval(m: nn.Module, size: tuple[int, int] = (64, 64)) -> Any:
    """m's output, in eval mode (m is left there, as fastai leaves it) and without gradients, for one random
    image of `size` (uniform in [-1, 1], m's parameter dtype and device, in_channels(m) channels)."""
    param = next(m.parameters())
    x = np.random.uniform(-1.0, 1.0, (1, in_channels(m), *size)).astype(param.dtype)
    x = Tensor._wrap(x).to(param.device)
    with no_grad():
        return m.eval()(x)


def model_sizes(m: nn.Module, size: tuple[int, int] = (64, 64)) -> list[tuple[int, ...]]:
    """The output shape of each child of m (m iterable: a Sequential) for one dummy image of `size`."""
    with hook_outputs(m) as hooks:
        dummy_eval(m, size=size)
        return [tuple(hook.stored.shape) for hook in hooks]
