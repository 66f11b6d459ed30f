"""Reverse-mode autograd: grad mode, the Function base class (one node per op) and the backward engine.

A Function's forward and backward work on the Tensors' arrays (NumPy on the CPU, a backend's device
array on a GPU); `apply` wraps the result in a Tensor whose `_ctx` is the Function instance itself, so the
node that made a Tensor is its context. Operands on two devices make the forward fail (a device array
refuses host arrays and the reverse); apply then names the devices with PyTorch's message. That check
runs only on failure, so the CPU path pays nothing for it.
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from typing import Any

import numpy as np

# Grad mode lives below the Tensor class (its in-place methods read it); nnx.autograd keeps its public names, and
# _GradMode, which nnx._functions.inference_mode builds on.
from ._grad_mode import _grad_state, _GradMode, enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from ._tensor_base import _write_clock
from .native.devices import device_of_array as _device_of_array
from .native.devices import is_device_array as _is_device_array
from .native.devices import move_array
from .native.host_memory import owns_memory as _owns_memory
from .tensor import Tensor

_numpy_scalar = np.generic  # NumPy ops on 0-d arrays return scalars; Tensors always hold arrays
# A Tensor's storage: a NumPy array on the CPU, a backend's device array on a GPU (no common type).
Array = Any


_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they have "
    "already been freed). Saved intermediate values of the graph are freed when you call .backward(). "
    "Specify retain_graph=True if you need to backward through the graph a second time.")


class Function:
    """One differentiable op. Subclasses define

        forward(ctx, *args) -> ndarray     args: the inputs' arrays (Tensors are unwrapped) and options
        backward(ctx, grad) -> one gradient (ndarray or None) per forward argument, in order

    as static methods (PyTorch style, `ctx` is the node) or plain methods (`self` is the node), and store
    on the node what backward needs. Call `MyFunction.apply(*args)`.
    """

    inputs = None  # the forward's arguments while the graph is alive; None once freed
    needs_input_grad = ()  # one bool per forward argument while recording; empty when no graph is recorded
    # What backward reads, so that an in-place write to it in between is caught (PyTorch's version check):
    # positions of the Tensor inputs it keeps (None: every input, the safe default for Functions that do
    # not say), and whether it keeps its output (None: unknown; an in-place op on the output then looks).
    saved_inputs = None
    saves_output = None
    is_view = False  # the output may alias the first input's storage (reshape, basic indexing ...)
    write_clock = 0  # tensor._write_clock when the node was recorded: kept inputs written later are refused
    output_version_counter = None  # the output's counter while backward needs the output unchanged
    output_version = 0

    def save_for_backward(self, *arrays: Array) -> None:
        """Keep arrays for backward, as ctx.saved_tensors."""
        self.saved_tensors = arrays

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        """Run forward on args (Tensors unwrapped to their arrays) and, when recording, make this node the output's."""
        ctx = cls.__new__(cls)
        arrays = []
        needs_grad = []
        for arg in args:
            if isinstance(arg, Tensor):
                arrays.append(arg._data)
                needs_grad.append(arg._requires_grad)
            else:
                arrays.append(arg)
                needs_grad.append(False)
        if not (_grad_state.enabled and True in needs_grad):
            try:
                out = cls.forward(ctx, *arrays, **kwargs)
            except Exception as error:
                raise_if_mixed_devices(arrays, error)
                raise
            result = Tensor._wrap(np.asarray(out) if isinstance(out, _numpy_scalar) else out)
            if cls.is_view:
                share_version_with_view(args[0], result)
            return result
        # Set before forward (as in PyTorch), so forward can skip work backward will not need.
        ctx.needs_input_grad = tuple(needs_grad)
        try:
            out = cls.forward(ctx, *arrays, **kwargs)
        except Exception as error:
            raise_if_mixed_devices(arrays, error)
            raise
        result = Tensor._wrap(np.asarray(out) if isinstance(out, _numpy_scalar) else out)
        ctx.inputs = args
        result._requires_grad = True
        result._ctx = ctx
        ctx.write_clock = _write_clock[0]
        if cls.saves_output:
            ctx.output_version_counter = result._version_counter = [0, False, 0, 0]
        elif cls.is_view:
            share_version_with_view(args[0], result)
        return result

    @staticmethod
    def forward(ctx: Function, *args: Any) -> Array:
        """The op's output array from its inputs' arrays and options; stores on ctx what backward needs."""
        raise NotImplementedError("a Function subclass must implement forward")

    @staticmethod
    def backward(ctx: Function, grad: Array) -> Array | tuple[Array | None, ...] | None:
        """The gradient of each forward argument (None where there is none) from the output's gradient."""
        raise NotImplementedError("a Function subclass must implement backward")


def _devices_of(values: Iterable[Any]) -> list[Any]:
    """The distinct devices of the arrays and Tensors among values, in order of appearance."""
    found = []
    for value in values:
        if isinstance(value, Tensor):
            value = value._data
        if isinstance(value, np.ndarray) or _is_device_array(value):
            device = _device_of_array(value)
            if device not in found:
                found.append(device)
    return found


def _mixed_devices_error(devices: list[Any]) -> RuntimeError:
    return RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                        f"{devices[0]} and {devices[1]}!")


def raise_if_mixed_devices(values: Iterable[Any], error: BaseException) -> None:
    """After `error` in an op over values: PyTorch's RuntimeError when they live on two devices."""
    devices = _devices_of(values)
    if len(devices) > 1:
        raise _mixed_devices_error(devices) from error


def check_same_device(values: Iterable[Any]) -> None:
    """RuntimeError (PyTorch's message) when the arrays and Tensors among values live on two devices."""
    devices = _devices_of(values)
    if len(devices) > 1:
        raise _mixed_devices_error(devices)


def _graph_dependencies(root):
    """How many consumers inside the graph each node has (Kahn's algorithm needs it); iterative."""
    dependencies = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if node.inputs is None:
            raise RuntimeError(_FREED_MESSAGE)
        for arg, needs_grad in zip(node.inputs, node.needs_input_grad):
            if needs_grad and arg._ctx is not None:
                parent = arg._ctx
                if parent in dependencies:
                    dependencies[parent] += 1
                else:
                    dependencies[parent] = 1
                    stack.append(parent)
    return dependencies


def _as_input_gradient(grad, arg, node, inputs):
    """The gradient a backward returned for one input, checked and cast to that input's dtype."""
    data = arg._data
    if not isinstance(grad, np.ndarray) and not _is_device_array(grad):  # a Python or NumPy scalar
        grad = np.asarray(grad, dtype=data.dtype)
        if type(data) is not np.ndarray:
            grad = move_array(grad, _device_of_array(data))
    if grad.shape != data.shape:
        index = next(i for i, candidate in enumerate(inputs) if candidate is arg)
        raise RuntimeError(f"Function {type(node).__name__} returned an invalid gradient at index {index} - "
                           f"got {list(grad.shape)} but expected shape {list(data.shape)}")
    if type(grad) is not type(data) and _device_of_array(grad) != _device_of_array(data):
        if data.ndim == 0:  # a CPU scalar tensor met a CUDA one (PyTorch allows it): its gradient goes home
            return move_array(grad, _device_of_array(data)).astype(data.dtype, copy=False)
        index = next(i for i, candidate in enumerate(inputs) if candidate is arg)
        raise RuntimeError(f"Function {type(node).__name__} returned a gradient on {_device_of_array(grad)} at "
                           f"index {index} for an input on {_device_of_array(data)}")
    if grad.dtype != data.dtype:
        grad = grad.astype(data.dtype)
    return grad


def _refcount_held_by_the_engine():
    """References to a fresh gradient inside run_backward's loop: the tuple backward returned, zip's
    result tuple, the loop variable and getrefcount's argument (measured, as it varies by version)."""
    for _, _, item in zip((None,), (True,), (np.empty(1),)):
        return sys.getrefcount(item)


# More references than these means someone else holds the array too. Where the interpreter has no
# reference counts, leaves always copy.
_EXCLUSIVE_REFS = _refcount_held_by_the_engine() if hasattr(sys, "getrefcount") else -1


class _Seed(threading.local):
    """The all-ones device gradient that backward() of a scalar made, while its backward pass runs (per thread)."""

    ones = None


_seed = _Seed()


def is_one(grad: Array) -> bool:
    """True when an incoming gradient is known to be 1, so a backward may return its own gradient unscaled: its
    value on the CPU; on a device, only the all-ones gradient backward() made for a scalar output (checking a
    device value would make the host wait for the GPU; any other gradient is simply multiplied)."""
    if type(grad) is np.ndarray:
        return bool(grad == 1)
    return grad is _seed.ones


def run_backward_from_ones(root: Tensor, ones: Array, retain_graph: bool = False) -> None:
    """run_backward from the all-ones device gradient backward() made for a scalar output, which is_one then
    recognises without reading it."""
    previous, _seed.ones = _seed.ones, ones
    try:
        run_backward(root, ones, retain_graph)
    finally:
        _seed.ones = previous


def run_backward(root: Tensor, gradient: Array, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) * gradient into every leaf's .grad, visiting nodes in topological order.

    A leaf without a .grad takes the gradient array itself when nothing else references it (a fresh,
    C-contiguous array that is no view); otherwise it takes a copy, so accumulating in place into one
    .grad later can never change another array.
    """
    if root._ctx is None:
        _accumulate_leaf(root, gradient.copy())
        return
    dependencies = _graph_dependencies(root._ctx)
    grads = {root._ctx: gradient}
    del gradient
    ready = [root._ctx]
    while ready:
        node = ready.pop()
        inputs = node.inputs
        grad = grads.pop(node, None)
        if grad is None:  # no consumer sent a gradient: the node still releases its parents
            input_grads = (None,) * len(inputs)
        else:
            check_saved_versions(node)
            input_grads = type(node).backward(node, grad)
            del grad
            if type(input_grads) is not tuple:
                input_grads = tuple(input_grads) if isinstance(input_grads, list) else (input_grads,)
            if len(input_grads) < len(inputs):
                input_grads += (None,) * (len(inputs) - len(input_grads))
        needs_input_grad = node.needs_input_grad
        if not retain_graph:
            # Free what the node saved before its gradients reach the leaves: a gradient its backward kept
            # (cross-entropy's dlogits, written by the forward) is then adopted by .grad instead of copied.
            node.__dict__.clear()  # `inputs` falls back to None
        for arg, needs_grad, input_grad in zip(inputs, needs_input_grad, input_grads):
            if not needs_grad:
                continue
            if input_grad is not None:
                data = arg._data
                if (type(input_grad) is not type(data) or input_grad.shape != data.shape
                        or input_grad.dtype != data.dtype):
                    input_grad = _as_input_gradient(input_grad, arg, node, inputs)
            parent = arg._ctx
            if parent is None:
                if input_grad is None:
                    continue
                existing = arg._grad
                if existing is not None:
                    existing._data += input_grad
                    continue
                if (sys.getrefcount(input_grad) > _EXCLUSIVE_REFS or not _owns_memory(input_grad)
                        or not input_grad.flags.c_contiguous or not input_grad.flags.writeable):
                    input_grad = input_grad.copy()
                arg._grad = Tensor._wrap(input_grad)
                continue
            if input_grad is not None:
                previous = grads.get(parent)
                if previous is not None:
                    input_grad = previous + input_grad
                    if isinstance(input_grad, _numpy_scalar):  # 0-d + 0-d gives a NumPy scalar
                        input_grad = np.asarray(input_grad)
                grads[parent] = input_grad
            dependencies[parent] -= 1
            if dependencies[parent] == 0:
                ready.append(parent)


def share_version_with_view(x: Tensor, view: Tensor) -> None:
    """After a view op: when `view` really aliases x's storage (NumPy's base; a copying reshape does not),
    the two share one version counter, so an in-place write through either is seen through both."""
    out, data = view._data, x._data
    base = getattr(out, "base", None)
    if out is data or (base is not None and (base is data or base is getattr(data, "base", None))):
        counter = x._version_counter
        if counter is None:
            counter = x._version_counter = [0, False, 0, 0]  # a version counter (see tensor.py)
        view._version_counter = counter
        if view._requires_grad:
            counter[1] = True  # graph views: an in-place op on either would leave the other's history stale


def check_saved_versions(node: Function) -> None:
    """PyTorch's RuntimeError when a tensor the node's backward reads was written in place after the forward
    (through the tensor itself or any alias: a view, detach(), .data), instead of a silently wrong gradient."""
    positions = type(node).saved_inputs
    inputs = node.inputs
    clock = node.write_clock
    for position in range(len(inputs)) if positions is None else positions:
        counter = getattr(inputs[position], "_version_counter", None)
        if counter is not None and counter[2] > clock:  # written after the node was recorded
            one_write = counter[3] <= clock
            _raise_modified(node, inputs[position], "an input", counter[0],
                            counter[0] - 1 if one_write else f"{counter[0] - 2} or lower")
    counter = node.output_version_counter
    if counter is not None and counter[0] != node.output_version:
        _raise_modified(node, None, "output 0", counter[0], node.output_version)


def mark_output_written(tensor: Tensor) -> None:
    """Before an in-place write to `tensor`, the output of a recorded node: when the node's class does not say
    whether its backward reads its output, look whether the node keeps that storage; if so, backward will
    check the output's version (as it does for Functions that declare saves_output)."""
    node = tensor._ctx
    if node is None or type(node).saves_output is not None or node.output_version_counter is not None:
        return
    data = tensor._data
    for value in node.__dict__.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if item is data or (type(item) is np.ndarray and type(data) is np.ndarray
                                and np.may_share_memory(item, data)):
                counter = tensor._shared_version_counter()
                node.output_version_counter, node.output_version = counter, counter[0]
                return


def _raise_modified(node, tensor, role, version, expected):
    name = type(node).__name__.removesuffix("Function")
    what = "" if tensor is None else f"[nnx.{tensor.dtype} {list(tensor.shape)}], "
    raise RuntimeError(f"one of the variables needed for gradient computation has been modified by an inplace "
                       f"operation: {what}which is {role} of {name}Backward, is at version {version}; expected "
                       f"version {expected} instead. Hint: keep the value with .clone() before writing in place, "
                       f"or write out of place")


def _accumulate_leaf(leaf, grad):
    if leaf._grad is None:
        leaf._grad = Tensor._wrap(grad)
    else:
        leaf._grad._data += grad
