"""Unflatten (PyTorch's flatten.py; nnx's Flatten lives in linear.py): one dimension split into several, a reshape
of the Tensor, so autograd runs through it; no parameters or buffers."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..module import Module

if TYPE_CHECKING:
    from ...tensor import Tensor


class Unflatten(Module):
    """Splits dimension `dim` of the input into unflattened_size (a tuple or list of ints, one of them may be -1),
    as torch.nn.Unflatten with an int dim (named dimensions do not exist in nnx)."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise TypeError(f"invalid argument type for dim parameter: Unflatten takes an int dim, got "
                            f"{type(dim).__name__}")
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        for position, size in enumerate(unflattened_size):
            if isinstance(size, bool) or not isinstance(size, int):
                raise TypeError(f"unflattened_size must be tuple of ints, but found element of type "
                                f"{type(size).__name__} at pos {position}")
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
