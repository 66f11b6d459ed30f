"""The root of nnx.Tensor and what every module of its methods shares: TensorBase (isinstance checks below
nnx.tensor), `wrap` (a Tensor around an array, no copy) and the process-wide write clock of version counters.

nnx.tensor registers the Tensor class here when it is defined (as PyTorch's C core is handed torch.Tensor), so
the method modules, the factories and the argument helpers build Tensors without importing nnx.tensor, which
imports them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names the annotations of Tensor's methods use (never evaluated: no import at run time)
    from collections.abc import Sequence

    import numpy as np
    from numpy.typing import ArrayLike, DTypeLike  # noqa: F401

    from .device import device
    from .tensor import Tensor

    Number = int | float | bool
    Operand = Tensor | Number | np.ndarray | Sequence[Any]  # the other operand of arithmetic and comparisons
    Dims = int | tuple[int, ...] | list[int] | None  # one dim, several, or all (None)
    DeviceLike = device | str | int  # a device, "cuda:0", or a CUDA index
    Size = int | Sequence[int]  # one of the sizes given as *varargs, or all of them as one sequence

_new_object = object.__new__
_tensor_class = None  # nnx.Tensor, set by register_tensor_class

# A version counter counts the in-place writes of a storage, shared by every tensor aliasing it (views,
# detach()), as PyTorch's. It is a list [version, graph_views, last_write, previous_write] (a list costs a
# quarter of an object, and views make one on the hot path): graph_views says a view of the storage is part of
# a recorded graph; the writes are _write_clock values (0: none). A node of the graph records only the clock
# when it is made (one read, instead of a version per kept tensor), and its backward refuses a kept tensor
# written after that. A tensor gets a counter on its first in-place write or alias; until then its version is 0.
_write_clock = [0]  # counts in-place writes process-wide


class TensorBase:
    """The first base of nnx.Tensor: `isinstance(x, TensorBase)` recognises a tensor in the modules below
    nnx.tensor (those of its methods, the factories, the argument helpers)."""

    __slots__ = ()


def register_tensor_class(tensor_class: type) -> None:
    """Called once by nnx.tensor: the class `wrap` makes."""
    global _tensor_class
    _tensor_class = tensor_class


def wrap(array: Any) -> Any:
    """A Tensor around `array` itself (internal constructor: no checks, no copy)."""
    tensor = _new_object(_tensor_class)
    tensor._data = array
    tensor._requires_grad = False
    tensor._grad = None
    tensor._ctx = None
    tensor._version_counter = None
    return tensor
