"""dropout family: inverted dropout with a Philox mask drawn from (seed, offset), so results do not depend on the
thread count."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import native
from ..autograd import Function
from ..random import dropout_seed_offset
from ._checks import apply_in_place, check_float
from ._common import Array

if TYPE_CHECKING:
    from ..tensor import Tensor


class DropoutFunction(Function):
    @staticmethod
    def forward(ctx: Any, x: Array, p: float) -> Array:
        seed, offset = dropout_seed_offset(x.size)
        out, mask = native.for_array(x).dropout_forward(x, p, seed, offset)
        ctx.mask, ctx.p = mask, p
        return out

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return native.for_array(grad).dropout_backward(grad, ctx.mask, ctx.p), None


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity when not training)."""
    check_float(input, "input", "dropout")
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
    if not training or p == 0.0:
        return input
    if inplace:
        return apply_in_place(input, lambda source: DropoutFunction.apply(source, float(p)), "dropout")
    return DropoutFunction.apply(input, float(p))
