"""RemovableHandle: what every register_*_hook returns, as torch.utils.hooks.RemovableHandle."""
from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict
from typing import Any

_next_id = itertools.count()


class RemovableHandle:
    """Removes the hook it was made for from `hooks_dict` (and from each of `extra_dict`) on `.remove()` or at
    the end of a `with` block. The dicts are held by weak reference, as in PyTorch, so a handle does not keep
    a deleted module's hooks alive."""

    def __init__(self, hooks_dict: OrderedDict, *, extra_dict: OrderedDict | list[OrderedDict] | None = None) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = next(_next_id)
        extras = [] if extra_dict is None else (extra_dict if isinstance(extra_dict, list) else [extra_dict])
        self.extra_dict_ref = tuple(weakref.ref(extra) for extra in extras)

    def remove(self) -> None:
        """Take the hook out (a second call does nothing)."""
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            hooks = ref()
            if hooks is not None:
                hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<RemovableHandle id={self.id}>"
