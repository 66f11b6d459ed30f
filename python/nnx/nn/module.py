"""Module: the base class of every layer, with torch.nn.Module's registration, traversal and state dicts.

Parameters, buffers and submodules are kept in the ordered dicts `_parameters`, `_buffers`, `_modules`
(the order and names PyTorch uses for state-dict keys) and mirrored in the instance __dict__, so that
`self.weight` in a forward is a plain attribute read, not a __getattr__ fallback.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import numpy as np

from .. import native
from ..tensor import Tensor, _device_of_array, _target_device, fill_array, move_array
from .hooks import ModuleHooks
from .parameter import Parameter

_M = TypeVar("_M", bound="Module")


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """load_state_dict's result: (missing_keys, unexpected_keys), printed like PyTorch's."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


class Module(ModuleHooks):
    """Base class of all layers: subclass it, assign parameters and submodules in __init__, define forward.
    Hooks (register_forward_hook ...) come from ModuleHooks (hooks.py)."""

    training: bool = True
    # Set in __init__ through object.__setattr__ (declared here for type checkers; annotations cost nothing).
    _parameters: OrderedDict[str, Parameter | None]
    _buffers: OrderedDict[str, Tensor | None]
    _non_persistent_buffers: set[str]
    _modules: OrderedDict[str, Module | None]

    if TYPE_CHECKING:  # registered parameters, buffers and submodules are instance attributes set at run time
        def __getattr__(self, name: str) -> Any: ...

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; every subclass defines it. Call the module (`module(x)`), not forward."""
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._hooked:  # the one check an unhooked call pays
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    # --- registration ----------------------------------------------------------------------------
    def __setattr__(self, name, value):
        registries = self.__dict__
        parameters, buffers, modules = (registries.get("_parameters"), registries.get("_buffers"),
                                        registries.get("_modules"))
        if isinstance(value, Parameter):
            if parameters is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep=parameters)
            parameters[name] = value
        elif parameters is not None and name in parameters:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(nnx.nn.Parameter or None expected)")
            parameters[name] = None
        elif isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep=modules)
            modules[name] = value
            self._children_changed()
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(nnx.nn.Module or None expected)")
            modules[name] = None
            self._children_changed()
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(nnx.Tensor or None expected)")
            buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        had_child = name in self._modules
        self._forget(name)
        object.__delattr__(self, name)
        if had_child:
            self._children_changed()

    def _forget(self, name, keep=None):
        """Remove `name` from every registry but `keep` (where a replacement keeps its position, as in
        PyTorch: state-dict order and Sequential order must not change when a value is replaced)."""
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)
        if keep is not self._buffers:
            self._non_persistent_buffers.discard(name)

    def _check_new_name(self, name, kind):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f'{kind} name can\'t be empty or contain ".", got "{name}"')
        registered = name in self._parameters or name in self._buffers or name in self._modules
        if name in self.__dict__ and not registered:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None, a declared but absent one like a Linear's bias=False)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_new_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(nnx.nn.Parameter or None required)")
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | np.ndarray | None, persistent: bool = True) -> None:
        """Add state that is not a parameter (running statistics); persistent buffers go in the state dict."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_new_name(name, "buffer")
        if isinstance(tensor, np.ndarray):
            tensor = Tensor._wrap(tensor)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(nnx.Tensor, numpy.ndarray or None required)")
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under `name` (its parameters get the prefix `name.`)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_new_name(name, "module")
        self._forget(name, keep=self._modules)
        self._modules[name] = module
        object.__setattr__(self, name, module)
        self._children_changed()

    register_module = add_module

    def _children_changed(self):
        """Called when a child module is added, replaced or removed (Sequential rebuilds its plan)."""

    # --- traversal -------------------------------------------------------------------------------
    def named_modules(self, memo: set[int] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """(name, module) for this module and every descendant, depth first, each module once."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            child_prefix = f"{prefix}.{name}" if prefix else name
            yield from module.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, depth first, each module once."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for the direct children, each module once."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct child modules, each once."""
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        seen = set()
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs in registration order; shared parameters once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every Parameter (of the descendants too unless recurse=False), shared ones once: an optimizer's input."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) pairs in registration order; shared buffers once."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer (running statistics ...), of the descendants too unless recurse=False."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target: str) -> Module:
        """The descendant at the dotted path `target` ('' is this module)."""
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule `{part}` (looking up '{target}')")
            module = child
        return module

    # --- modes and gradients ---------------------------------------------------------------------
    def train(self: _M, mode: bool = True) -> _M:
        """Set training mode on this module and every descendant; returns self."""
        if not isinstance(mode, (bool, np.bool_)):
            raise ValueError(f"training mode is expected to be boolean, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self: _M) -> _M:
        """Evaluation mode (Dropout off, BatchNorm uses running statistics); returns self."""
        return self.train(False)

    def requires_grad_(self: _M, requires_grad: bool = True) -> _M:
        """Turn gradient recording for every parameter on or off (freezing); returns self."""
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (or zero it in place when set_to_none=False)."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                fill_array(param.grad._data, 0)

    def apply(self: _M, fn: Callable[[Module], object]) -> _M:
        """Call fn on every descendant (children first) and on self, e.g. a custom initialisation; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # --- dtype and device --------------------------------------------------------------------------
    def to(self: _M, *args: Any, dtype: Any = None, device: Any = None, non_blocking: bool = False) -> _M:
        """Move parameters and buffers to a device and/or cast the floating-point ones to a dtype, in
        place, as torch.nn.Module.to: `to('cuda')`, `to(np.float64)`, `to('cuda', np.float64)`,
        `to(tensor)` (its device and dtype). Parameters stay the same objects (an optimizer built
        before keeps working); gradients move with them (and are dropped by a dtype change).
        Returns self."""
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, (arg.dtype if arg.dtype.kind == "f" else dtype)
            elif _is_device_argument(arg):
                device = arg
            else:
                dtype = arg
        target = _target_device(device)  # RuntimeError for an unknown or unavailable device, as PyTorch
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype.kind != "f":
                raise TypeError(f"Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        if dtype is None and target is None:
            return self
        for module in self.modules():
            for registry in (module._parameters, module._buffers):
                for value in registry.values():
                    if value is not None:
                        _move_in_place(value, target, dtype)
        return self

    def cuda(self: _M, device: int | str | None = None) -> _M:
        """Move every parameter and buffer to a CUDA device (cuda:0 by default), in place; returns self."""
        if isinstance(device, int) and not isinstance(device, bool):
            device = f"cuda:{device}"
        return self.to("cuda" if device is None else device)

    def cpu(self: _M) -> _M:
        """Move every parameter and buffer to host memory, in place; returns self."""
        return self.to("cpu")

    def float(self: _M) -> _M:
        """Cast the floating-point parameters and buffers to float32, in place; returns self."""
        return self.to(np.float32)

    def double(self: _M) -> _M:
        """Cast the floating-point parameters and buffers to float64, in place; returns self."""
        return self.to(np.float64)

    # --- state dicts -----------------------------------------------------------------------------
    def state_dict(self, destination: dict[str, Any] | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Any]:
        """OrderedDict of parameters and persistent buffers under PyTorch's dotted keys.

        Values are detached Tensors sharing memory with the module (keep_vars=True gives the Parameters).
        """
        if destination is None:
            destination = OrderedDict()
        for name, module in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            module_prefix = f"{name}." if name else ""
            for key, param in module._parameters.items():
                if param is not None:
                    destination[module_prefix + key] = param if keep_vars else param.detach()
            for key, buffer in module._buffers.items():
                if buffer is not None and key not in module._non_persistent_buffers:
                    destination[module_prefix + key] = buffer if keep_vars else buffer.detach()
        return destination

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> _IncompatibleKeys:
        """Copy values into this module's parameters and buffers by key.

        Values may be nnx Tensors, NumPy arrays (e.g. a PyTorch state dict converted with
        {k: v.numpy() for k, v in sd.items()}), torch tensors or anything np.asarray accepts; they are cast
        to the existing dtype. Every value is checked before anything is written, so on any error the
        module is untouched: values that are not real numbers (strings, objects, complex: the imaginary
        part is never dropped silently) raise TypeError naming their keys; a shape mismatch, or a value
        the existing dtype cannot hold, always raises RuntimeError; with strict=True missing or
        unexpected keys do too, with strict=False they are only reported.
        Returns (missing_keys, unexpected_keys), like PyTorch.
        """
        if not hasattr(state_dict, "items") or not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        own = self.state_dict(keep_vars=True)
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        values = {key: _as_numpy(state_dict[key], key) for key in own if key in state_dict}
        _refuse_non_real_values(values, type(self).__name__)
        errors, copies = [], []
        for key, value in values.items():
            target = own[key]._data
            if value.shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape {value.shape} from "
                              f"checkpoint, the shape in current model is {target.shape}.")
                continue
            converted, problem = _cast_for(value, target.dtype, key)
            if problem:
                errors.append(problem)
            else:
                copies.append((target, converted))
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        # Nothing was written until every key checked out; these copies have equal shapes and dtypes: they cannot fail.
        for target, converted in copies:
            target[...] = move_array(converted, _device_of_array(target))
        return _IncompatibleKeys(missing, unexpected)

    # --- printing --------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr (its constructor arguments)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): {_indent(repr(module), 2)}" for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        if len(extra_lines) == 1 and not child_lines:
            return f"{self._get_name()}({extra_lines[0]})"
        if not lines:
            return f"{self._get_name()}()"
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"


def _is_device_argument(value):
    """A device for Module.to: 'cpu...'/'cuda...' strings (other strings are dtype names), an int (a CUDA
    index), an nnx.device or torch.device (anything with a string .type that is not a dtype)."""
    if isinstance(value, str):
        return value.startswith(("cpu", "cuda"))
    if isinstance(value, int) and not isinstance(value, bool):
        return True
    return isinstance(getattr(value, "type", None), str) and not isinstance(value, np.dtype)


def _move_in_place(tensor, target, dtype):
    """tensor's array replaced by one on `target` (None: where it is) cast to `dtype` (None, or for a
    non-float tensor: its own). The gradient follows a move and is dropped by a cast, as in PyTorch."""
    data = tensor._data
    if dtype is not None and data.dtype.kind == "f" and data.dtype != dtype:
        data = data.astype(dtype)
        tensor.grad = None
    if target is not None:
        data = move_array(data, target)
        grad = tensor._grad
        if grad is not None:
            grad._data = move_array(grad._data, target)
    tensor._data = data


def _indent(text, spaces):
    lines = text.split("\n")
    return "\n".join([lines[0]] + [" " * spaces + line for line in lines[1:]])


def _as_numpy(value, key):
    """A state-dict value as an ndarray: nnx Tensors (a CUDA one is read back: checking its values needs
    them on the host), NumPy arrays, torch tensors, numbers."""
    if isinstance(value, Tensor):
        data = value._data
        return data if isinstance(data, np.ndarray) else native.for_array(data).to_numpy(data)
    if isinstance(value, np.ndarray):
        return value
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except Exception as error:  # noqa: BLE001 - reported with the key that failed
        raise TypeError(f"state_dict['{key}'] is a {type(value).__name__}, which cannot be read as an array") from error


def _refuse_non_real_values(values, module_name):
    """TypeError naming every key whose value is not real numbers (strings, objects, complex, dates)."""
    bad = [f"state_dict['{key}'] has dtype {value.dtype}" for key, value in values.items()
           if value.dtype.kind not in "fiub"]
    if bad:
        raise TypeError(f"Error(s) in loading state_dict for {module_name}: " + "; ".join(bad) + ". Expected real "
                        "numbers (floating point, integer or bool); complex values are refused rather than cast, "
                        "which would drop their imaginary part.")


def _cast_for(value, dtype, key):
    """(value cast to dtype, None), or (None, a message naming key) when dtype cannot hold the values:
    float overflow (1e300 into float32), or non-integral or non-finite values into an integer buffer."""
    if value.dtype == dtype:
        return value, None
    if dtype.kind in "iu" and value.dtype.kind == "f":
        if not np.all(np.isfinite(value)) or not np.all(value == np.round(value)):
            return None, f"value of {key} has non-integral or non-finite entries, its {dtype} buffer holds integers."
    if dtype.kind in "iu" and value.dtype.kind in "iu" and value.size:  # integer casts wrap silently
        limits = np.iinfo(dtype)
        if int(value.min()) < limits.min or int(value.max()) > limits.max:
            return None, f"value of {key} does not fit in the current model's {dtype} (overflow)."
    try:
        with np.errstate(over="raise", invalid="raise"):
            return np.asarray(value, dtype=dtype), None
    except (FloatingPointError, OverflowError, ValueError):
        return None, f"value of {key} does not fit in the current model's {dtype} (overflow)."
