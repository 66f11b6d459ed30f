"""fastai's TabularModel and its building blocks (Embedding with a small truncated-normal init,
LinBnDrop, SigmoidRange), with fastai's module structure so its state-dict keys match fastai's; and the
collaborative-filtering models over (user, item) columns (EmbeddingDotBias, EmbeddingNN, re-exported by nnx.collab),
here so that the tabular export can rebuild them without importing nnx.collab.
"""
from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..tensor import Tensor, cat

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .preprocessing import TabularPreprocessor

__all__ = ["TabularModel", "Embedding", "LinBnDrop", "SigmoidRange", "emb_sz_rule", "get_emb_sz", "EmbeddingDotBias",
           "EmbeddingNN"]


def emb_sz_rule(n_cat: int) -> int:
    """fastai's rule of thumb for an embedding size given a number of categories."""
    return min(600, round(1.6 * n_cat**0.56))


def get_emb_sz(source: TabularPreprocessor | Sequence[int],
               sz_dict: Mapping[Hashable, int] | None = None) -> list[tuple[int, int]]:
    """[(n_categories, embedding_size)] per categorical column.

    source: a fitted TabularPreprocessor (or anything with `cardinalities` and `all_cat_names`), or a
    list of cardinalities. sz_dict maps a column name (or index, for a plain list) to a chosen size.
    """
    sz_dict = sz_dict or {}
    if hasattr(source, "cardinalities"):
        names, cardinalities = source.all_cat_names, source.cardinalities
    else:
        cardinalities = list(source)
        names = list(range(len(cardinalities)))
    for n_cat in cardinalities:
        if isinstance(n_cat, (bool, np.bool_)) or not isinstance(n_cat, (int, np.integer)) or n_cat < 1:
            raise ValueError(f"cardinalities must be positive integers, got {n_cat!r}")
    return [(int(n_cat), int(sz_dict.get(name, emb_sz_rule(n_cat)))) for name, n_cat in zip(names, cardinalities)]


def _as_tensor(x, dtype=None, device=None):
    """A Tensor as is; anything else (NumPy arrays, lists) converted once, here, to `dtype` when given, and
    put on `device` (the model's) when given."""
    if isinstance(x, Tensor):
        return x
    array = np.asarray(x)
    if dtype is not None and array.dtype.kind in "biuf":
        array = array.astype(dtype, copy=False)
    result = Tensor(np.ascontiguousarray(array))
    return result if device is None else result.to(device)


class Embedding(nn.Embedding):
    """nn.Embedding initialised like fastai's: N(0, std) truncated at two standard deviations."""

    def __init__(self, num_embeddings: int, embedding_dim: int, std: float = 0.01):
        super().__init__(num_embeddings, embedding_dim)
        with no_grad():
            weight = self.weight.data.numpy()
            nn.init.normal_(self.weight)
            weight[...] = np.fmod(weight, 2.0) * std


class SigmoidRange(nn.Module):
    """sigmoid(x) scaled to the open interval (low, high)."""

    def __init__(self, low: float, high: float):
        super().__init__()
        self.low, self.high = _check_range(low, high)

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid() * (self.high - self.low) + self.low

    def extra_repr(self) -> str:
        return f"low={self.low}, high={self.high}"


def _check_range(low, high):
    try:
        low, high = float(low), float(high)
    except (TypeError, ValueError):
        raise TypeError(f"y_range must be a pair of numbers (low, high), got ({low!r}, {high!r})") from None
    if not np.isfinite([low, high]).all() or not low < high:
        raise ValueError(f"y_range must be finite with low < high, got ({low}, {high})")
    return low, high


class LinBnDrop(nn.Sequential):
    """fastai's block: Linear (no bias when batch norm follows), activation, BatchNorm1d, Dropout
    (lin_first=True, the order TabularModel uses); or BatchNorm1d, Dropout, Linear, activation."""

    def __init__(self, n_in: int, n_out: int, bn: bool = True, p: float = 0.0, act: nn.Module | None = None,
                 lin_first: bool = False):
        norm_and_drop = [nn.BatchNorm1d(n_out if lin_first else n_in)] if bn else []
        if p != 0:
            norm_and_drop.append(nn.Dropout(p))
        linear = [nn.Linear(n_in, n_out, bias=not bn)] + ([act] if act is not None else [])
        super().__init__(*(linear + norm_and_drop if lin_first else norm_and_drop + linear))


def _activation(act_cls):
    """act_cls may be a Module class (instantiated once per block) or a ready Module instance."""
    if isinstance(act_cls, nn.Module):
        return act_cls
    if isinstance(act_cls, type) and issubclass(act_cls, nn.Module):
        return act_cls()
    raise TypeError(f"act_cls must be an nnx.nn.Module class such as nnx.nn.ReLU, got {act_cls!r}")


class TabularModel(nn.Module):
    """fastai's model for tabular data: one embedding per categorical column (then embedding dropout),
    BatchNorm1d on the continuous columns, blocks of Linear + activation + BatchNorm1d + Dropout, and a
    final Linear to out_sz (through sigmoid scaled to y_range when given).

    forward(x_cat, x_cont): x_cat int64 (N, n_cat) category codes, x_cont float32 (N, n_cont). A single
    (x_cat, x_cont) tuple is accepted too, which is what a Learner passes as its `xb`.
    """

    def __init__(self, emb_szs: Sequence[tuple[int, int]], n_cont: int, out_sz: int, layers: Sequence[int],
                 ps: float | Sequence[float] | None = None, embed_p: float = 0.0,
                 y_range: tuple[float, float] | None = None, use_bn: bool = True, bn_final: bool = False,
                 bn_cont: bool = True, act_cls: type[nn.Module] | nn.Module = nn.ReLU, lin_first: bool = True):
        super().__init__()
        emb_szs, layers = [tuple(e) for e in emb_szs], list(layers)
        _check_arguments(emb_szs, n_cont, out_sz, layers)
        ps = [0.0] * len(layers) if ps is None else ps
        ps = list(ps) if isinstance(ps, (list, tuple)) else [ps] * len(layers)
        if len(ps) != len(layers):
            raise ValueError(f"ps must have one dropout probability per layer ({len(layers)}), got {len(ps)}")
        self.embeds = nn.ModuleList([Embedding(n_cat, size) for n_cat, size in emb_szs])
        self.emb_drop = nn.Dropout(embed_p)
        self.bn_cont = nn.BatchNorm1d(n_cont) if bn_cont and n_cont > 0 else None
        self.n_emb, self.n_cont = sum(size for _, size in emb_szs), n_cont
        self.cardinalities = [n_cat for n_cat, _ in emb_szs]
        sizes = [self.n_emb + n_cont] + layers + [out_sz]
        blocks = [LinBnDrop(sizes[i], sizes[i + 1], bn=use_bn and (i != len(layers) or bn_final), p=p,
                            act=_activation(act_cls) if i < len(layers) else None, lin_first=lin_first)
                  for i, p in enumerate(ps + [0.0])]
        if y_range is not None:
            blocks.append(SigmoidRange(*y_range))
        self.layers = nn.Sequential(*blocks)

    def forward(self, x_cat: Tensor | ArrayLike | tuple[Any, Any], x_cont: Tensor | ArrayLike | None = None) -> Tensor:
        if x_cont is None and isinstance(x_cat, (tuple, list)):
            if len(x_cat) != 2:
                raise ValueError(f"TabularModel takes (x_cat, x_cont), got a sequence of {len(x_cat)} items")
            x_cat, x_cont = x_cat
        x_cat, x_cont = self._check_inputs(x_cat, x_cont)
        parts = []
        if self.n_emb:
            embedded = cat([embed(x_cat[:, i]) for i, embed in enumerate(self.embeds)], 1)
            parts.append(self.emb_drop(embedded))
        if self.n_cont:
            parts.append(self.bn_cont(x_cont) if self.bn_cont is not None else x_cont)
        return self.layers(parts[0] if len(parts) == 1 else cat(parts, 1))

    def _float_dtype(self):
        parameter = next(iter(self.parameters()), None)
        return np.float32 if parameter is None else np.dtype(parameter.dtype)

    def _device(self):
        parameter = next(iter(self.parameters()), None)
        return None if parameter is None else parameter.device

    def _check_inputs(self, x_cat, x_cont):
        # NumPy inputs take the model's dtypes (int64 codes, the parameters' float type); Tensors are
        # used as given, like PyTorch, so a mismatch there is reported rather than hidden.
        device = self._device()
        x_cat = _as_tensor(x_cat, np.int64 if _is_integer(x_cat) else None, device) if len(self.embeds) else None
        x_cont = _as_tensor(x_cont, self._float_dtype(), device) if self.n_cont else None
        if x_cat is not None and (x_cat.ndim != 2 or x_cat.shape[1] != len(self.embeds)):
            raise ValueError(f"x_cat must have shape (N, {len(self.embeds)}), got {tuple(x_cat.shape)}")
        if x_cat is not None and np.dtype(x_cat.dtype).kind not in "iu":
            raise TypeError(f"x_cat must hold integer category codes, got dtype {x_cat.dtype}")
        if x_cont is not None and (x_cont.ndim != 2 or x_cont.shape[1] != self.n_cont):
            raise ValueError(f"x_cont must have shape (N, {self.n_cont}), got {tuple(x_cont.shape)}")
        if x_cat is not None and x_cont is not None and x_cat.shape[0] != x_cont.shape[0]:
            raise ValueError(f"x_cat and x_cont must have the same number of rows, got {x_cat.shape[0]} "
                             f"and {x_cont.shape[0]}")
        return x_cat, x_cont


def _is_integer(x):
    return np.asarray(x).dtype.kind in "biu" if not isinstance(x, Tensor) else False


def _is_count(value, minimum):
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer)) and value >= minimum


def _check_arguments(emb_szs, n_cont, out_sz, layers):
    for entry in emb_szs:
        if len(entry) != 2 or not all(_is_count(v, 1) for v in entry):
            raise ValueError(f"emb_szs must be (n_categories, size) pairs of positive integers, got {entry!r}")
    if not _is_count(n_cont, 0):
        raise ValueError(f"n_cont must be a non-negative integer, got {n_cont!r}")
    if not _is_count(out_sz, 1):
        raise ValueError(f"out_sz must be a positive integer, got {out_sz!r}")
    if not all(_is_count(v, 1) for v in layers):
        raise ValueError(f"layers must be a list of positive integers, got {layers!r}")
    if not emb_szs and n_cont == 0:
        raise ValueError("TabularModel needs at least one categorical (emb_szs) or continuous (n_cont) input")


# ---- collaborative filtering (nnx.collab) ----

class EmbeddingDotBias(nn.Module):
    """rating = u_weight[user] . i_weight[item] + u_bias[user] + i_bias[item], through sigmoid scaled to
    y_range when given. forward(x) takes x int64 (N, 2) of (user, item) indices and returns (N,)."""

    def __init__(self, n_factors: int, n_users: int, n_items: int, y_range: tuple[float, float] | None = None):
        super().__init__()
        for name, value in (("n_factors", n_factors), ("n_users", n_users), ("n_items", n_items)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.y_range = None if y_range is None else _check_range(*y_range)
        self.u_weight, self.i_weight = Embedding(n_users, n_factors), Embedding(n_items, n_factors)
        self.u_bias, self.i_bias = Embedding(n_users, 1), Embedding(n_items, 1)
        self.classes = self.user = self.item = None

    @classmethod
    def from_classes(cls, n_factors: int, classes: Mapping[Hashable, Sequence[Any]], user: Hashable | None = None,
                     item: Hashable | None = None, y_range: tuple[float, float] | None = None) -> EmbeddingDotBias:
        """Sizes from `classes` ({column: ['#na#', ids...]}); weight()/bias() then take raw ids."""
        names = list(classes)
        user = names[0] if user is None else user
        item = names[1] if item is None else item
        model = cls(n_factors, len(classes[user]), len(classes[item]), y_range=y_range)
        model.classes, model.user, model.item = classes, user, item
        return model

    def forward(self, x: Tensor | ArrayLike) -> Tensor:
        x = _check_pairs(x, self.u_weight.weight.device)
        users, items = x[:, 0], x[:, 1]
        dot = (self.u_weight(users) * self.i_weight(items)).sum(1)
        result = dot + self.u_bias(users).reshape(-1) + self.i_bias(items).reshape(-1)
        if self.y_range is None:
            return result
        low, high = self.y_range
        return result.sigmoid() * (high - low) + low

    def _get_idx(self, ids, is_item=True):
        """Embedding rows of user or item ids (raw ids with from_classes, row indices otherwise)."""
        table = self.i_weight if is_item else self.u_weight
        if self.classes is None:
            index = np.asarray(ids, dtype=np.int64).reshape(-1)
            if index.size and (index.min() < 0 or index.max() >= table.num_embeddings):
                raise IndexError(f"{'item' if is_item else 'user'} indices must be in [0, {table.num_embeddings})")
            return index
        classes = self.classes[self.item if is_item else self.user]
        position = {value: i for i, value in enumerate(classes)}
        wanted = np.asarray(ids).reshape(-1).tolist()
        missing = [v for v in wanted if v not in position]
        if missing:
            raise KeyError(f"{'items' if is_item else 'users'} {missing[:5]} are not in the training data")
        return np.array([position[v] for v in wanted], dtype=np.int64)

    def bias(self, ids: ArrayLike, is_item: bool = True) -> np.ndarray:
        """The learned bias of each item (or user, is_item=False), as a NumPy array (N,)."""
        layer = self.i_bias if is_item else self.u_bias
        return layer.weight.detach().cpu().numpy()[self._get_idx(ids, is_item), 0].copy()

    def weight(self, ids: ArrayLike, is_item: bool = True) -> np.ndarray:
        """The learned latent factors of each item (or user), as a NumPy array (N, n_factors)."""
        layer = self.i_weight if is_item else self.u_weight
        return layer.weight.detach().cpu().numpy()[self._get_idx(ids, is_item)].copy()


class EmbeddingNN(TabularModel):
    """A TabularModel over the (user, item) embeddings only: concatenated, then MLP layers to one output."""

    def __init__(self, emb_szs: Sequence[tuple[int, int]], layers: Sequence[int], **kwargs: Any):
        super().__init__(emb_szs=emb_szs, n_cont=0, out_sz=1, layers=layers, **kwargs)

    def forward(self, x_cat: Tensor | ArrayLike, x_cont: None = None) -> Tensor:
        return super().forward(_check_pairs(x_cat, self._device()), None)


def _check_pairs(x, device=None):
    x = _as_tensor(x, np.int64 if _is_integer(x) else None, device)
    if x.ndim != 2 or x.shape[1] != 2 or np.dtype(x.dtype).kind not in "iu":
        raise ValueError(f"x must be an integer array of (user, item) pairs with shape (N, 2), "
                         f"got shape {tuple(x.shape)} and dtype {x.dtype}")
    return x
