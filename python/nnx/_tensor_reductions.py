"""Tensor reductions, scans and sorting: sum, mean, var, max(dim), argmax, prod, cumsum, logsumexp, norm, median,
sort, topk, unique. Every one accepts NumPy's axis=/keepdims= for dim=/keepdim=, as PyTorch does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._tensor_args import (
    MinMaxResult,
    _accepting_numpy_names,
    _as_array,
    _is_float,
    _normalize_dim,
    _normalize_dims,
    _variance_correction,
)
from ._tensor_base import TensorBase, wrap

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from numpy.typing import DTypeLike

    from ._tensor_base import Dims
    from .tensor import Tensor

# nnx.ops and nnx._math_ops sit above the Tensor class (their Functions build Tensors): nnx._tensor_wiring hands them
# to this module when it is imported, before any Tensor method can run.
_ops = _math_ops = None


class ReductionMixin:
    """Reductions, scans and sorting of nnx.Tensor."""

    __slots__ = ()

    def all(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """True where every element (along dim) is nonzero, as torch.Tensor.all."""
        return wrap(_as_array(np.all(self._data, axis=_normalize_dims(dim, self._data.ndim), keepdims=keepdim)))

    def any(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """True where some element (along dim) is nonzero, as torch.Tensor.any."""
        return wrap(_as_array(np.any(self._data, axis=_normalize_dims(dim, self._data.ndim), keepdims=keepdim)))

    def sum(self, dim: Dims = None, keepdim: bool = False, dtype: DTypeLike | None = None) -> Tensor:
        """Sum of the elements (over dim), as torch.Tensor.sum."""
        source = self if dtype is None else self.to(dtype)
        return _ops.Sum.apply(source, _normalize_dims(dim, self._data.ndim), keepdim)

    def mean(self, dim: Dims = None, keepdim: bool = False, dtype: DTypeLike | None = None) -> Tensor:
        """Mean of the elements (over dim) of a floating-point tensor, as torch.Tensor.mean."""
        source = self if dtype is None else self.to(dtype)
        if not _is_float(source._data.dtype):
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be floating point, got "
                               f"{source.dtype}")
        return _ops.Mean.apply(source, _normalize_dims(dim, self._data.ndim), keepdim)

    def var(self, dim: Dims = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = None) -> Tensor:
        """Variance (over dim), Bessel-corrected by default, as torch.Tensor.var."""
        correction = _variance_correction(unbiased, correction)
        return _ops.Var.apply(self, _normalize_dims(dim, self._data.ndim), correction, keepdim)

    def std(self, dim: Dims = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = None) -> Tensor:
        """Standard deviation (over dim), Bessel-corrected by default, as torch.Tensor.std."""
        correction = _variance_correction(unbiased, correction)
        return _ops.Std.apply(self, _normalize_dims(dim, self._data.ndim), correction, keepdim)

    def max(self, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | MinMaxResult:
        """max() -> the largest value; max(dim) -> (values, indices) like torch.max."""
        if isinstance(dim, TensorBase):
            return _ops.Maximum.apply(self, dim)
        return self._extreme(dim, keepdim, np.argmax, _ops.Amax)

    def min(self, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | MinMaxResult:
        """min() -> the smallest value; min(dim) -> (values, indices) like torch.min."""
        if isinstance(dim, TensorBase):
            return _ops.Minimum.apply(self, dim)
        return self._extreme(dim, keepdim, np.argmin, _ops.Amin)

    def _extreme(self, dim: int | None, keepdim: bool, arg_function: Callable[..., np.ndarray],
                 full_reduction: Any) -> Tensor | MinMaxResult:
        if dim is None:
            if self._data.size == 0:
                raise RuntimeError("max()/min() of an empty tensor: specify a dim with a non-zero size")
            return full_reduction.apply(self)
        axis = _normalize_dim(dim, self._data.ndim)
        if self._data.size == 0 and (self._data.ndim == 0 or self._data.shape[axis] == 0):
            name = "max" if arg_function is np.argmax else "min"
            raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")
        indices = np.expand_dims(arg_function(self._data, axis=axis), axis)
        values = _ops.TakeAlongDim.apply(self, indices, axis)
        if not keepdim:
            values = values.squeeze(axis)
            indices = np.squeeze(indices, axis)
        return MinMaxResult(values, wrap(indices))

    def amax(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """Largest value (over dim; gradient split between ties), as torch.Tensor.amax."""
        return _ops.Amax.apply(self, _normalize_dims(dim, self._data.ndim), keepdim)

    def amin(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """Smallest value (over dim; gradient split between ties), as torch.Tensor.amin."""
        return _ops.Amin.apply(self, _normalize_dims(dim, self._data.ndim), keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index of the largest value (of the flattened tensor, or along dim), as torch.Tensor.argmax."""
        return self._arg_extreme(np.argmax, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index of the smallest value (of the flattened tensor, or along dim), as torch.Tensor.argmin."""
        return self._arg_extreme(np.argmin, dim, keepdim)

    def _arg_extreme(self, arg_function: Callable[..., np.ndarray], dim: int | None, keepdim: bool) -> Tensor:
        if dim is None:
            return wrap(_as_array(arg_function(self._data), np.int64))
        axis = _normalize_dim(dim, self._data.ndim)
        return wrap(_as_array(arg_function(self._data, axis=axis, keepdims=keepdim), np.int64))

    def prod(self, dim: int | None = None, keepdim: bool = False, dtype: DTypeLike | None = None) -> Tensor:
        """Product of the elements (along dim), as torch.Tensor.prod."""
        source = self if dtype is None else self.to(dtype)
        axis = None if dim is None else _normalize_dim(dim, self._data.ndim)
        return _math_ops.Prod.apply(source, axis, keepdim)

    def cumsum(self, dim: int, dtype: DTypeLike | None = None) -> Tensor:
        """Cumulative sum along dim, as torch.Tensor.cumsum."""
        source = self if dtype is None else self.to(dtype)
        return _math_ops.Cumsum.apply(source, _normalize_dim(dim, self._data.ndim))

    def cumprod(self, dim: int, dtype: DTypeLike | None = None) -> Tensor:
        """Cumulative product along dim, as torch.Tensor.cumprod."""
        source = self if dtype is None else self.to(dtype)
        return _math_ops.Cumprod.apply(source, _normalize_dim(dim, self._data.ndim))

    def logsumexp(self, dim: Dims, keepdim: bool = False) -> Tensor:
        """log(sum(exp(x))) over dim, shifted by the (constant) max so that large inputs do not overflow."""
        dims = _normalize_dims(dim, self._data.ndim)
        shift = wrap(np.max(self._data, axis=dims, keepdims=True))
        shift = shift.where(shift.isfinite(), 0)  # all -inf (or an inf) rows: no shift, exp gives 0 or inf
        total = (self - shift).exp().sum(dims, keepdim=True).log() + shift
        return total if keepdim else total.squeeze(dims if dims is not None else None)

    def norm(self, p: float | str = "fro", dim: Dims = None, keepdim: bool = False,
             dtype: DTypeLike | None = None) -> Tensor:
        """The vector p-norm over dim (all elements by default); 'fro' is the 2-norm of the flattened values."""
        source = self if dtype is None else self.to(dtype)
        if p == "fro" or p == 2:
            return source.square().sum(dim, keepdim=keepdim).sqrt()
        if p in (float("inf"), "inf"):
            return source.abs().amax(dim, keepdim=keepdim)
        if p in (-float("inf"), "-inf"):
            return source.abs().amin(dim, keepdim=keepdim)
        if p == 0:
            return (source != 0).to(source.dtype).sum(dim, keepdim=keepdim)
        if not isinstance(p, (int, float)):
            raise ValueError(f"norm(): p must be a number, 'fro', inf or -inf, got {p!r}")
        if p == 1:
            return source.abs().sum(dim, keepdim=keepdim)
        return (source.abs() ** p).sum(dim, keepdim=keepdim) ** (1.0 / p)

    def count_nonzero(self, dim: Dims = None) -> Tensor:
        """Number of nonzero elements (over dim), as torch.Tensor.count_nonzero."""
        dims = _normalize_dims(dim, self._data.ndim)
        return wrap(_as_array(np.count_nonzero(self._data, axis=dims), np.int64))

    def median(self, dim: int | None = None, keepdim: bool = False) -> Tensor | MinMaxResult:
        """The lower of the two middle values (as torch.median); median(dim) -> (values, indices)."""
        if dim is None:
            flat = self.flatten()
            return flat.sort().values[(flat.numel() - 1) // 2]
        axis = _normalize_dim(dim, self._data.ndim)
        order = np.argsort(self._data, axis=axis, kind="stable")
        middle = np.take(order, [(self._data.shape[axis] - 1) // 2], axis=axis)
        return self._values_at(middle, axis, keepdim)

    def _values_at(self, indices: np.ndarray, axis: int, keepdim: bool) -> MinMaxResult:
        """(values, indices) of the elements at `indices` (one per slot along axis), differentiable."""
        values = _ops.TakeAlongDim.apply(self, indices, axis)
        if not keepdim:
            values, indices = values.squeeze(axis), np.squeeze(indices, axis)
        return MinMaxResult(values, wrap(indices.astype(np.int64, copy=False)))

    # --- sorting ------------------------------------------------------------------------------------------------
    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> MinMaxResult:
        """(values, indices) sorted along dim; ties keep their order (a stable sort, whatever `stable`)."""
        axis = _normalize_dim(dim, self._data.ndim)
        indices = _sorted_indices(self._data, axis, descending)
        return self._values_at(indices, axis, keepdim=True)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        """Indices that sort the tensor along dim (stable), as torch.Tensor.argsort."""
        axis = _normalize_dim(dim, self._data.ndim)
        return wrap(_sorted_indices(self._data, axis, descending).astype(np.int64, copy=False))

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> MinMaxResult:
        """(values, indices) of the k largest (smallest) elements along dim, largest first."""
        axis = _normalize_dim(dim, self._data.ndim)
        length = self._data.shape[axis] if self._data.ndim else 1
        if not 0 <= k <= length:
            raise RuntimeError(f"topk(): k ({k}) is out of range for dimension {dim} of size {length}")
        indices = np.take(_sorted_indices(self._data, axis, largest), np.arange(k), axis=axis)
        return self._values_at(indices, axis, keepdim=True)

    def unique(self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
               dim: int | None = None) -> Tensor | tuple[Tensor, ...]:
        """The distinct values, sorted (no gradient); optionally the inverse indices and the counts."""
        values, inverse, counts = np.unique(self._data, return_inverse=True, return_counts=True, axis=dim)
        result = [wrap(values)]
        if return_inverse:
            result.append(wrap(inverse.reshape(self._data.shape if dim is None else -1).astype(np.int64)))
        if return_counts:
            result.append(wrap(counts.astype(np.int64)))
        return result[0] if len(result) == 1 else tuple(result)

    # NumPy's spellings of dim/keepdim (axis/keepdims), accepted like PyTorch by every reduction and scan.
    (sum, mean, var, std, max, min, amax, amin, argmax, argmin, all, any, prod, cumsum, cumprod, logsumexp, norm,
     count_nonzero, median, sort, argsort, topk) = map(_accepting_numpy_names, (
        sum, mean, var, std, max, min, amax, amin, argmax, argmin, all, any, prod, cumsum, cumprod, logsumexp, norm,
        count_nonzero, median, sort, argsort, topk))


def _sorted_indices(array, axis, descending):
    """Stable sort order along axis; descending keeps equal elements in their original order too."""
    if not descending:
        return np.argsort(array, axis=axis, kind="stable")
    if array.dtype == np.bool_:
        array = array.astype(np.int8)
    flipped = np.flip(array, axis)
    order = np.argsort(flipped, axis=axis, kind="stable")  # ascending over the reversed array ...
    return np.flip(array.shape[axis] - 1 - order, axis)  # ... reversed back: descending, ties in order
