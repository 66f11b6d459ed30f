"""torch functions that are short compositions of nnx's differentiable ops (so their gradients are those
ops' gradients), plus a few value-only ones (bincount, isin ...): the elementwise and reducing ones in
nnx._composite_math, the shape and linear-algebra ones in nnx._composite_shape. Names in METHODS are also Tensor
methods, PROPERTIES Tensor properties and IN_PLACE the in-place forms (attached by nnx._tensor_wiring); every name in
FUNCTIONS is a function nnx.<name> (nnx._functions).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ._composite_math import (  # noqa: F401  (nnx.<name> for each, through FUNCTIONS)
    aminmax,
    arctan2,
    atan2,
    bincount,
    bucketize,
    copysign,
    cummax,
    cummin,
    deg2rad,
    diff,
    dist,
    float_power,
    fmax,
    fmin,
    gcd,
    heaviside,
    histc,
    hypot,
    is_complex,
    is_nonzero,
    is_storage,
    isin,
    lcm,
    ldexp,
    logaddexp,
    logaddexp2,
    logcumsumexp,
    logit,
    msort,
    nan_to_num,
    positive,
    rad2deg,
    searchsorted,
    std_mean,
    trapezoid,
    trapz,
    unique_consecutive,
    var_mean,
    xlogy,
)
from ._composite_shape import (  # noqa: F401  (nnx.<name> for each, through FUNCTIONS)
    atleast_1d,
    atleast_2d,
    atleast_3d,
    bernoulli,
    block_diag,
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
    cartesian_prod,
    cdist,
    chain_matmul,
    column_stack,
    cosine_similarity,
    cross,
    diagflat,
    dsplit,
    dstack,
    fliplr,
    flipud,
    hsplit,
    hstack,
    inner,
    is_same_size,
    is_signed,
    kron,
    kthvalue,
    masked_select,
    matrix_power,
    pairwise_distance,
    ravel,
    rot90,
    row_stack,
    split_with_sizes,
    sum_to_size,
    take,
    take_along_dim,
    tensor_split,
    tensordot,
    tile,
    tril_indices,
    triu_indices,
    unbind,
    vdot,
    vsplit,
    vstack,
)
from .autograd import no_grad

if TYPE_CHECKING:
    from .tensor import Tensor

# Properties of torch.Tensor (real tensors: the conjugate transposes are the transposes).
def _matrix_transpose(self: Tensor) -> Tensor:
    """The last two dimensions transposed (for real tensors, also the conjugate transpose)."""
    return self.transpose(-2, -1)


def _conjugate_transpose(self: Tensor) -> Tensor:
    """The 2-D tensor transposed (for real tensors, also the conjugate transpose)."""
    return self.t()


PROPERTIES = {"mT": property(_matrix_transpose), "mH": property(_matrix_transpose), "H": property(_conjugate_transpose)}


# Tensor has these as methods too (as torch.Tensor does).
METHODS = ("atan2", "arctan2", "hypot", "logaddexp", "logaddexp2", "xlogy", "fmax", "fmin", "copysign", "deg2rad",
           "rad2deg", "positive", "float_power", "ldexp", "nan_to_num", "logit", "heaviside", "gcd", "lcm", "aminmax",
           "logcumsumexp", "cummax", "cummin", "msort", "diff", "dist", "ravel", "tile", "unbind", "take",
           "take_along_dim", "masked_select", "tensor_split", "hsplit", "vsplit", "dsplit", "fliplr", "flipud", "rot90",
           "inner", "vdot", "kron", "cross", "matrix_power", "bincount", "histc", "is_nonzero", "is_complex",
           "unique_consecutive", "broadcast_to", "bernoulli", "kthvalue", "diagflat", "sum_to_size",
           "split_with_sizes", "is_signed", "is_same_size")
FUNCTIONS = METHODS + (
    "std_mean", "var_mean", "trapezoid", "trapz", "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack",
    "row_stack", "dstack", "column_stack", "broadcast_shapes", "broadcast_tensors", "block_diag", "cartesian_prod",
    "tril_indices", "triu_indices", "tensordot", "chain_matmul", "cdist", "cosine_similarity", "pairwise_distance",
    "isin", "searchsorted", "bucketize", "is_storage")


# --- in-place variants: x.exp_() writes x.exp() into x --------------------------------------------------------------
def in_place_variant(name: str) -> Callable[..., Tensor]:
    """Tensor.<name>_: the out-of-place method's result written into this tensor's storage, in its dtype.
    Not recorded by autograd: refused (PyTorch's leaf error, or nnx's graph error) for a tensor that requires
    grad while grad mode is on, as nnx's other unrecorded in-place ops."""
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        self._check_inplace(f"{name}_")  # (also counts the write as a new version)
        with no_grad():
            result = getattr(self, name)(*args, **kwargs)
        if result.shape != self.shape:
            raise RuntimeError(f"{name}_(): the result's shape {list(result.shape)} differs from the tensor's "
                               f"{list(self.shape)}")
        try:
            np.copyto(self._data, result._data, casting="same_kind")
        except TypeError:
            raise RuntimeError(f"{name}_(): result type {result.dtype} can't be cast to the desired output type "
                               f"{self.dtype}") from None
        return self
    method.__name__ = method.__qualname__ = f"{name}_"
    method.__doc__ = f"In-place {name}: x.{name}_(...) writes x.{name}(...) into x."
    return method


# The in-place forms of the elementwise ops of nnx._composite_* and of nnx.Tensor (shape-preserving ones only).
IN_PLACE = (
    "abs", "absolute", "neg", "negative", "exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt",
    "square", "sin", "cos", "tan", "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh", "asinh",
    "acosh", "atanh", "arcsinh", "arccosh", "arctanh", "sigmoid", "tanh", "relu", "reciprocal", "sign", "sgn", "floor",
    "ceil", "trunc", "fix", "frac", "round", "clamp_min", "clamp_max", "clip", "remainder", "fmod", "floor_divide",
    "atan2", "arctan2", "hypot", "copysign", "xlogy", "ldexp", "logit", "nan_to_num", "deg2rad", "rad2deg", "gcd",
    "lcm", "heaviside", "cumsum", "cumprod", "tril", "triu", "masked_fill", "logical_not", "logical_and",
    "logical_or", "logical_xor", "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor", "eq", "ne", "lt", "le",
    "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal",
)
