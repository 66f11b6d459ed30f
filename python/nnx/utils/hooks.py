"""RemovableHandle: what every register_*_hook returns, as torch.utils.hooks.RemovableHandle."""
from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any


class RemovableHandle:
    """Removes the hook it was made for from `hooks_dict` (and from each of `extra_dict`) on `.remove()` or at
    the end of a `with` block. The dicts are held by weak reference, as in PyTorch, so a handle does not keep
    a deleted module's hooks alive."""

    next_id: int = 0  # ids are unique across all handles (a hook is registered under its handle's id)

    def __init__(self, hooks_dict: OrderedDict, *, extra_dict: OrderedDict | list[OrderedDict] | None = None) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        extras = [] if extra_dict is None else (extra_dict if isinstance(extra_dict, list) else [extra_dict])
        self.extra_dict_ref = tuple(weakref.ref(extra) for extra in extras)

    def remove(self) -> None:
        """Take the hook out (a second call does nothing)."""
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            hooks = ref()
            if hooks is not None:
                hooks.pop(self.id, None)

    # Weak references neither pickle nor deep-copy: the state holds the dicts themselves (as PyTorch's), so that
    # copy.deepcopy of a hooked model gives a copy whose handles remove the copy's hooks.
    def __getstate__(self) -> tuple:
        return (self.hooks_dict_ref(), self.id, tuple(ref() for ref in self.extra_dict_ref))

    def __setstate__(self, state: tuple) -> None:
        hooks, self.id, extras = state
        self.hooks_dict_ref = weakref.ref(OrderedDict() if hooks is None else hooks)
        self.extra_dict_ref = tuple(weakref.ref(extra) for extra in extras if extra is not None)
        RemovableHandle.next_id = max(RemovableHandle.next_id, self.id + 1)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<RemovableHandle id={self.id}>"
