"""Module hooks with torch.nn.Module's names and semantics: forward pre-hooks, forward hooks, full backward hooks
and backward pre-hooks, each registration returning a RemovableHandle.

Module.__call__ pays one attribute read for all of this (`_hooked`, False on the class); only a module that has
had a hook registered takes `_call_with_hooks`, which mirrors torch.nn.Module._call_impl step by step. Full
backward hooks work as torch.utils.hooks.BackwardHook: an identity autograd node wraps the module's tensor
inputs and another its tensor outputs; the output node's backward sees grad_output (and runs the backward
pre-hooks), the input node's backward sees grad_input, calls the hooks, and passes on what they return.
"""
from __future__ import annotations

import warnings
from collections import OrderedDict
from types import MappingProxyType
from typing import Any, Callable

from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor
from ..utils.hooks import RemovableHandle

_HOOK_DICTS = ("_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_forward_hooks", "_forward_hooks_with_kwargs",
               "_forward_hooks_always_called", "_backward_hooks", "_backward_pre_hooks")
_NO_HOOKS: MappingProxyType = MappingProxyType({})


class _BackwardHookIdentity(Function):
    """y = x, whose backward hands the incoming gradient to `on_grad` and returns what it gives back (the
    hook point of torch's BackwardHookFunction). The output aliases the input, as PyTorch's does."""

    is_view = True
    saved_inputs = ()
    saves_output = False

    @staticmethod
    def forward(ctx, x, on_grad):
        ctx.on_grad = on_grad
        return x

    @staticmethod
    def backward(ctx, grad):
        return ctx.on_grad(grad), None


def _wrap_tensors(values: tuple, on_grads: Callable[[tuple], tuple]) -> tuple[tuple, list[int] | None]:
    """(values with their grad-requiring tensors routed through one hook node, the positions of those tensors),
    or (values, None) when no tensor requires a gradient or grad mode is off (then no hook can fire).

    One tensor goes through _BackwardHookIdentity directly; several are flattened into one, which goes through
    it, and sliced back, so that the hook sees all their gradients at once as PyTorch's (multi-output) node does."""
    positions = [i for i, value in enumerate(values) if isinstance(value, Tensor) and value.requires_grad]
    if not positions or not is_grad_enabled():
        return values, None
    tensors = [values[i] for i in positions]
    if len(tensors) == 1:
        wrapped = [_BackwardHookIdentity.apply(tensors[0], lambda grad: _single(on_grads((_as_tensor(grad),))))]
    else:
        from .. import cat
        sizes = [t.numel() for t in tensors]

        def on_flat(grad):
            pieces, start = [], 0
            for size, tensor in zip(sizes, tensors):
                pieces.append(_as_tensor(grad[start:start + size].reshape(tensor.shape)))
                start += size
            replaced = on_grads(tuple(pieces))
            return cat([piece.reshape(-1) for piece in _zeros_for_none(replaced, tensors)])._data

        flat = _BackwardHookIdentity.apply(cat([t.reshape(-1) for t in tensors]), on_flat)
        wrapped, start = [], 0
        for size, tensor in zip(sizes, tensors):
            wrapped.append(flat[start:start + size].reshape(tensor.shape))
            start += size
    result = list(values)
    for position, tensor in zip(positions, wrapped):
        result[position] = tensor
    return tuple(result), positions


def _as_tensor(array):
    return None if array is None else Tensor._wrap(array)


def _single(grads):
    grad = grads[0]
    return grad._data if isinstance(grad, Tensor) else grad


def _zeros_for_none(grads, like):
    from .. import zeros_like
    return [zeros_like(t) if g is None else g for g, t in zip(grads, like)]


class _BackwardHookState:
    """One forward call's full-backward-hook bookkeeping, as torch.utils.hooks.BackwardHook: the output node
    stores grad_output (after the pre-hooks), the input node then calls the hooks with both."""

    def __init__(self, module, hooks, pre_hooks):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs = None
        self.n_inputs = self.n_outputs = -1
        self.input_positions = self.output_positions = None

    def setup_input_hook(self, args: tuple) -> tuple:
        args, self.input_positions = _wrap_tensors(args, self._on_grad_inputs)
        self.n_inputs = len(args)
        return args

    def setup_output_hook(self, result: Any) -> Any:
        is_tuple = isinstance(result, tuple)
        outputs, self.output_positions = _wrap_tensors(result if is_tuple else (result,), self._on_grad_outputs)
        self.n_outputs = len(outputs)
        return outputs if is_tuple else outputs[0]

    def _on_grad_outputs(self, grads):
        self.grad_outputs = _pack(self.output_positions, grads, self.n_outputs)
        for hook in self.pre_hooks:
            replaced = hook(self.module, self.grad_outputs)
            if replaced is None:
                continue
            if len(replaced) != len(self.grad_outputs):
                raise RuntimeError("Backward pre hook returned an invalid number of grad_output, "
                                   f"got {len(replaced)}, but expected {len(self.grad_outputs)}")
            self.grad_outputs = replaced
        grad_outputs = self.grad_outputs
        if self.input_positions is None:  # no input requires a gradient: the hooks fire here, as in PyTorch
            warnings.warn("Full backward hook is firing when gradients are computed with respect to module outputs "
                          "since no inputs require gradients. See https://docs.pytorch.org/docs/main/generated/"
                          "torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more details.",
                          stacklevel=2)
            grad_inputs = (None,) * self.n_inputs
            for hook in self.hooks:
                result = hook(self.module, grad_inputs, self.grad_outputs)
                if result is not None and not (isinstance(result, tuple) and all(el is None for el in result)):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
            self.grad_outputs = None
        return tuple(grad_outputs[i] for i in self.output_positions)

    def _on_grad_inputs(self, grads):
        if self.grad_outputs is None:  # the gradient reached the inputs without passing through the outputs
            return grads
        grad_inputs = _pack(self.input_positions, grads, self.n_inputs)
        for hook in self.hooks:
            replaced = hook(self.module, grad_inputs, self.grad_outputs)
            if replaced is None:
                continue
            if len(replaced) != len(grad_inputs):
                raise RuntimeError("Backward hook returned an invalid number of grad_input, "
                                   f"got {len(replaced)}, but expected {len(grad_inputs)}")
            grad_inputs = replaced
        self.grad_outputs = None
        return tuple(grad_inputs[i] for i in self.input_positions)


def _pack(positions, values, size):
    packed = [None] * size
    for position, value in zip(positions, values):
        packed[position] = value
    return tuple(packed)


class ModuleHooks:
    """The hook half of nnx.nn.Module (mixed into it): registration and the hooked call."""

    _hooked = False  # True once a hook is registered on this instance; Module.__call__ reads only this
    # Empty read-only defaults, so that `module._forward_hooks` reads as in PyTorch before any registration.
    _forward_pre_hooks = _forward_pre_hooks_with_kwargs = _forward_hooks = _NO_HOOKS
    _forward_hooks_with_kwargs = _forward_hooks_always_called = _backward_hooks = _backward_pre_hooks = _NO_HOOKS

    def _hook_dicts(self) -> None:
        """Give this instance its own hook dicts (on first registration) and mark it hooked."""
        if "_forward_hooks" not in self.__dict__:
            for name in _HOOK_DICTS:
                object.__setattr__(self, name, OrderedDict())
        object.__setattr__(self, "_hooked", True)

    def _register(self, name, hook, prepend, extra=()):
        self._hook_dicts()
        hooks = getattr(self, name)
        handle = RemovableHandle(hooks, extra_dict=[getattr(self, extra_name) for extra_name in extra])
        hooks[handle.id] = hook
        for extra_name in extra:
            getattr(self, extra_name)[handle.id] = True
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """hook(module, args) -> None or new args (a non-tuple is wrapped in one), called before forward; with
        with_kwargs=True hook(module, args, kwargs) -> None or (new_args, new_kwargs). prepend=True: runs first."""
        return self._register("_forward_pre_hooks", hook, prepend,
                              ("_forward_pre_hooks_with_kwargs",) if with_kwargs else ())

    def register_forward_hook(self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """hook(module, args, output) -> None or a replacement output, called after forward (with with_kwargs=True
        hook(module, args, kwargs, output)); always_call=True: called even when forward raises."""
        extra = (("_forward_hooks_with_kwargs",) if with_kwargs else ()) + \
            (("_forward_hooks_always_called",) if always_call else ())
        return self._register("_forward_hooks", hook, prepend, extra)

    def register_full_backward_hook(self, hook: Callable[..., Any], prepend: bool = False) -> RemovableHandle:
        """hook(module, grad_input, grad_output) -> None or a tuple replacing grad_input, called when the
        gradients with respect to the module's (positional, tensor) inputs are computed; tuples hold None
        where an input is not a tensor or does not require a gradient."""
        return self._register("_backward_hooks", hook, prepend)

    def register_full_backward_pre_hook(self, hook: Callable[..., Any], prepend: bool = False) -> RemovableHandle:
        """hook(module, grad_output) -> None or a tuple replacing grad_output, called when the gradients with
        respect to the module's outputs arrive, before the module's own backward."""
        return self._register("_backward_pre_hooks", hook, prepend)

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        """torch.nn.Module._call_impl with hooks (no global hooks): pre-hooks, backward setup, forward, forward
        hooks, output backward setup; always_call hooks run when forward raised."""
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks):
            object.__setattr__(self, "_hooked", False)  # every hook was removed: back to the plain call (and fusion)
            return self.forward(*args, **kwargs)
        called = set()
        result = None
        try:
            backward_hooks, backward_pre_hooks = list(self._backward_hooks.values()), \
                list(self._backward_pre_hooks.values())
            for hook_id, hook in list(self._forward_pre_hooks.items()):
                if hook_id in self._forward_pre_hooks_with_kwargs:
                    new = hook(self, args, kwargs)
                    if new is not None:
                        if not (isinstance(new, tuple) and len(new) == 2):
                            raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, "
                                               f"new_kwargs), but got {new}.")
                        args, kwargs = new
                else:
                    new = hook(self, args)
                    if new is not None:
                        args = new if isinstance(new, tuple) else (new,)
            state = None
            if backward_hooks or backward_pre_hooks:
                state = _BackwardHookState(self, backward_hooks, backward_pre_hooks)
                args = state.setup_input_hook(args)
            result = self.forward(*args, **kwargs)
            for hook_id, hook in list(self._forward_hooks.items()):
                if hook_id in self._forward_hooks_always_called:
                    called.add(hook_id)
                if hook_id in self._forward_hooks_with_kwargs:
                    new = hook(self, args, kwargs, result)
                else:
                    new = hook(self, args, result)
                if new is not None:
                    result = new
            if state is not None:
                if not isinstance(result, (Tensor, tuple)):
                    warnings.warn("For backward hooks to be called, module output should be a Tensor or a tuple of "
                                  f"Tensors but received {type(result)}", stacklevel=2)
                result = state.setup_output_hook(result)
            return result
        except Exception:
            self._run_always_called(args, kwargs, result, called)
            raise

    def _run_always_called(self, args, kwargs, result, called):
        for hook_id, hook in list(self._forward_hooks.items()):
            if hook_id not in self._forward_hooks_always_called or hook_id in called:
                continue
            try:
                if hook_id in self._forward_hooks_with_kwargs:
                    new = hook(self, args, kwargs, result)
                else:
                    new = hook(self, args, result)
                if new is not None:
                    result = new
            except Exception as error:  # noqa: BLE001 - PyTorch silences it too, the forward's error wins
                warnings.warn("module forward hook with ``always_call=True`` raised an exception that was silenced "
                              f"as another error was raised in forward: {error}", stacklevel=2)
