"""Parameter: a Tensor that a Module registers as trainable (requires_grad=True by default)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor, _is_device_array


class Parameter(Tensor):
    """A leaf Tensor registered by Module.__setattr__; shares memory with the data it is made from."""

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        elif isinstance(data, Tensor):
            data = data._data
        elif not isinstance(data, np.ndarray) and not _is_device_array(data):
            raise TypeError(f"Parameter data must be an nnx Tensor or a numpy.ndarray, got {type(data).__name__}")
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return type(self), (self._data, self.requires_grad)
