"""Grad mode: whether new operations record the graph for backward, one flag per thread, and the context
managers that switch it (no_grad, enable_grad, set_grad_enabled, as PyTorch's).

Below nnx.tensor and nnx.autograd, which both read the flag (`_grad_state.enabled`) on every op.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

_F = TypeVar("_F", bound=Callable[..., Any])


class _GradState(threading.local):
    """Grad mode, one flag per thread as in PyTorch: a no_grad() validation in one thread must not switch
    off recording for a model training in another. Read as `_grad_state.enabled` by every op."""

    enabled = True


_grad_state = _GradState()

def is_grad_enabled() -> bool:
    """True when new operations record the graph for backward."""
    return _grad_state.enabled


class _GradMode:
    """Shared body of no_grad / enable_grad / set_grad_enabled: a context manager and a decorator."""

    mode = True

    def __enter__(self) -> None:
        self._previous = _grad_state.enabled
        _grad_state.enabled = self.mode

    def __exit__(self, *exc_info: object) -> bool:
        _grad_state.enabled = self._previous
        return False

    def __call__(self, function: _F) -> _F:
        mode = self.mode

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return function(*args, **kwargs)
        return wrapper


class _FixedGradMode(_GradMode):
    def __new__(cls, function: Callable[..., Any] | None = None) -> Any:
        if function is not None:  # used as a bare decorator: @nnx.no_grad
            return cls()(function)
        return super().__new__(cls)


class no_grad(_FixedGradMode):
    """Context manager and decorator that disables graph recording (as torch.no_grad)."""

    mode = False


class enable_grad(_FixedGradMode):
    """Context manager and decorator that enables graph recording (as torch.enable_grad)."""

    mode = True


class set_grad_enabled(_GradMode):
    """Sets grad mode on (True) or off (False); takes effect at once and, as a context manager, is undone
    on exit (as torch.set_grad_enabled)."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"mode must be a bool, got {type(mode).__name__}")
        self.mode = bool(mode)
        self._previous = _grad_state.enabled
        _grad_state.enabled = self.mode

    def __enter__(self) -> None:
        pass  # already set in __init__, like PyTorch

    def __call__(self, function: _F) -> _F:
        _grad_state.enabled = self._previous  # used as a decorator: undo the switch made by __init__
        return super().__call__(function)
