"""interpolate family ("upsample" semantics): F.interpolate over (N, C, H, W) or (N, C, L) input with PyTorch's
modes nearest, nearest-exact and (bi)linear (align_corners; the source index from the scale factor when one is given,
unless recompute_scale_factor), forward and backward deterministic (the backward gathers per input element). Here are
PyTorch's argument checks and output size, the autograd Function and the functional; the index arithmetic is
csrc/core/interpolate.h's."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import native
from ..autograd import Function
from ..tensor import Tensor
from ._checks import check_float, check_tensor
from ._common import Array

if TYPE_CHECKING:
    from collections.abc import Sequence

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_LINEAR = {1: "linear", 2: "bilinear"}  # the interpolating mode of each spatial rank
_NATIVE = {"nearest": "nearest", "nearest-exact": "nearest-exact", "linear": "bilinear", "bilinear": "bilinear"}


class InterpolateFunction(Function):
    """interpolate over (N, C, H, W) arrays; scales (h, w) are the scale factors given, 0 where none was."""

    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx: Any, x: Array, output_hw: tuple[int, int], mode: str, align_corners: bool,
                scales: tuple[float, float]) -> Array:
        kernels = native.for_array(x)
        if not kernels.is_native_float(x):
            raise TypeError(f"interpolate(): input must have dtype float32 or float64, got {x.dtype}")
        out = kernels.interpolate_forward(x, output_hw, mode, align_corners, scales)
        if ctx.needs_input_grad:
            ctx.params = (tuple(x.shape), mode, align_corners, scales)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        return native.for_array(grad).interpolate_backward(grad, *ctx.params), None, None, None, None


def _per_axis(value: Any, argument: str, dim: int, kind: type) -> list:
    """An int/float or a sequence of `dim` of them, as a list; PyTorch's error for a length mismatch."""
    items = list(value) if isinstance(value, (tuple, list)) else [value] * dim
    if len(items) != dim:
        raise ValueError(f"interpolate(): Input and output must have the same number of spatial dimensions, but got "
                         f"input with spatial dimensions of {dim} and {argument} of {list(items)}. Please provide "
                         f"input tensor in (N, C, d1, d2, ...,dK) format and {argument} in (o1, o2, ...,oK) format.")
    for item in items:
        number = (int, np.integer) if kind is int else (int, float, np.integer, np.floating)
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, number):
            raise TypeError(f"interpolate(): argument '{argument}' must be "
                            f"{'ints' if kind is int else 'numbers'}, got {value!r}")
    return [kind(item) for item in items]


def interpolate(input: Tensor, size: int | Sequence[int] | None = None,
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resample input (N, C, H, W) or (N, C, L) to `size` or by `scale_factor` (exactly one given), as
    torch.nn.functional.interpolate: mode 'nearest' (source floor(dst * in / out)), 'nearest-exact' (floor((dst +
    0.5) * in / out)), 'bilinear' (4-D) or 'linear' (3-D) with align_corners (default False). A scale_factor also
    gives the source-index scale (1 / scale_factor) unless recompute_scale_factor=True; the output size is
    floor(input size * scale_factor). Other modes ('bicubic', 'trilinear', 'area') and antialias are not
    supported (NotImplementedError)."""
    function = "interpolate"
    check_tensor(input, "input", function)
    check_float(input, "input", function)
    if mode not in _MODES:
        raise ValueError(f"interpolate(): argument 'mode' must be one of {', '.join(_MODES)}, got {mode!r}")
    dim = input.ndim - 2
    if dim not in (1, 2):
        raise ValueError(f"interpolate(): argument 'input' must be 3-D (N, C, L) or 4-D (N, C, H, W) (nnx supports "
                         f"no other ranks), got shape {tuple(input.shape)}")
    if mode in ("linear", "bilinear", "trilinear", "bicubic") and mode != _LINEAR.get(dim) and mode != "bicubic":
        needs = {"linear": 3, "bilinear": 4, "trilinear": 5}[mode]
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {needs}D input")
    if mode not in _NATIVE or antialias:
        what = "antialias=True" if antialias else f"mode={mode!r}"
        raise NotImplementedError(f"interpolate(): {what} is not supported by nnx yet (modes: nearest, nearest-exact, "
                                  "linear, bilinear)")
    if mode in ("nearest", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                             "bicubic | trilinear")
        align_corners = False
    elif align_corners is None:
        align_corners = False
    elif not isinstance(align_corners, (bool, np.bool_)):
        raise TypeError(f"interpolate(): argument 'align_corners' must be a bool or None, got {align_corners!r}")
    spatial = tuple(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        output = _per_axis(size, "output size", dim, int)
        scales = [0.0] * dim
    else:
        factors = _per_axis(scale_factor, "scale_factor", dim, float)
        if any(not math.isfinite(f) or f <= 0 for f in factors):
            raise ValueError(f"interpolate(): argument 'scale_factor' must be finite and > 0, got {scale_factor!r}")
        output = [math.floor(float(n) * f) for n, f in zip(spatial, factors)]
        scales = [0.0] * dim if recompute_scale_factor else factors
    if min(spatial) < 1 or min(output) < 1:
        raise ValueError(f"interpolate(): Input and output sizes should be greater than 0, but got input "
                         f"{list(spatial)} and output {output}")
    if dim == 1:  # as a plane of one row
        batched = input.reshape(tuple(input.shape[:2]) + (1, spatial[0]))
        out = InterpolateFunction.apply(batched, (1, output[0]), _NATIVE[mode], bool(align_corners),
                                        (0.0, scales[0]))
        return out.reshape(tuple(input.shape[:2]) + (output[0],))
    return InterpolateFunction.apply(input, tuple(output), _NATIVE[mode], bool(align_corners), tuple(scales))
