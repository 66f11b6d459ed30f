"""Batches for tabular models: a DataLoader yielding ((x_cat, x_cont), y), and fastai's TabularDataLoaders
that fit the preprocessing on the training rows and apply it to the validation rows and to new data; and
CollabDataLoaders of (user, item) pairs and ratings (re-exported by nnx.collab, here for the tabular export).
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .. import random as nnx_random
from ..data import DataLoader, DataLoaders, TensorDataset
from .preprocessing import TabularPreprocessor, n_rows, take_rows

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from pandas import DataFrame

    from .preprocessing import Table

__all__ = ["TabularDataLoader", "TabularDataLoaders", "split_rows", "CollabDataLoaders"]


class TabularDataLoader(DataLoader):
    """Batches ((x_cat, x_cont), y) of Tensors, or ((x_cat, x_cont),) without targets, so that a
    Learner's xb is the (x_cat, x_cont) pair a TabularModel takes."""

    def __init__(self, x_cat: ArrayLike, x_cont: ArrayLike, y: ArrayLike | None = None, batch_size: int = 64,
                 shuffle: bool = False, drop_last: bool = False, seed: int | None = None):
        arrays = (x_cat, x_cont) if y is None else (x_cat, x_cont, y)
        super().__init__(TensorDataset(*arrays), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                         seed=seed)
        self.has_targets = y is not None

    def __iter__(self):
        for batch in super().__iter__():
            yield ((batch[0], batch[1]), batch[2]) if self.has_targets else ((batch[0], batch[1]),)


def split_rows(n_samples: int, valid_pct: float, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(train_index, valid_index): a random valid_pct of the rows for validation (fastai's RandomSplitter),
    drawn from `seed`, or from nnx's generator (nnx.manual_seed) when seed is None."""
    if not isinstance(valid_pct, (int, float)) or isinstance(valid_pct, bool) or not 0 <= valid_pct < 1:
        raise ValueError(f"valid_pct must be a number in [0, 1), got {valid_pct!r}")
    generator = np.random.default_rng(seed) if seed is not None else nnx_random.default_generator.numpy_generator()
    order = generator.permutation(n_samples)
    n_valid = int(valid_pct * n_samples)
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])


def _valid_index(n_samples, valid_idx, valid_pct, seed):
    if valid_idx is None:
        return split_rows(n_samples, valid_pct, seed)
    valid = np.unique(np.asarray(valid_idx, dtype=np.int64))
    if valid.size and (valid[0] < 0 or valid[-1] >= n_samples):
        raise IndexError(f"valid_idx must index rows in [0, {n_samples}), got values from {valid[0]} to {valid[-1]}")
    train = np.setdiff1d(np.arange(n_samples), valid)
    return train, valid


class TabularDataLoaders(DataLoaders):
    """Training and validation loaders over preprocessed tabular data; `proc` is the fitted
    TabularPreprocessor, `test_dl(X)` applies it to new rows."""

    def __init__(self, train: TabularDataLoader, valid: TabularDataLoader | None, proc: TabularPreprocessor,
                 bs: int = 64):
        super().__init__(train, valid)
        self.proc, self.bs = proc, bs

    @classmethod
    def from_arrays(cls, X: Table, y: ArrayLike, X_valid: Table | None = None, y_valid: ArrayLike | None = None,
                    bs: int = 64, cat_names: Sequence[Hashable] | None = None,
                    cont_names: Sequence[Hashable] | None = None, valid_idx: ArrayLike | None = None,
                    valid_pct: float = 0.2, seed: int | None = None,
                    y_kind: Literal["regression", "classification"] | None = None, fill_missing: bool = True,
                    normalize: bool = True) -> TabularDataLoaders:
        """Loaders from X (a dict of columns, a 2-D array or a DataFrame) and targets y.

        The validation rows are X_valid/y_valid when given, else the rows valid_idx, else a random
        valid_pct of X (from `seed`). Categorical and continuous columns are cat_names and cont_names
        (names for dicts and DataFrames, indices for arrays; inferred from dtypes when both are None).
        The training loader shuffles and drops its last partial batch (BatchNorm needs two rows or more).
        """
        if y is None:
            raise ValueError("y must hold the targets, got None")
        y = np.asarray(y)
        if X_valid is None:
            if y_valid is not None:
                raise ValueError("y_valid was given without X_valid")
            train_index, valid_index = _valid_index(n_rows(X), valid_idx, valid_pct, seed)
            X, X_valid = take_rows(X, train_index), take_rows(X, valid_index)
            y, y_valid = y[train_index], y[valid_index]
        elif y_valid is None:
            raise ValueError("X_valid was given without y_valid")
        proc = TabularPreprocessor(cat_names, cont_names, fill_missing=fill_missing, normalize=normalize,
                                   y_kind=y_kind).fit(X, y)
        train = TabularDataLoader(*proc.transform(X), proc.transform_y(y), batch_size=bs, shuffle=True,
                                  drop_last=n_rows(X) > bs, seed=seed)
        valid = None
        if n_rows(X_valid) > 0:
            valid = TabularDataLoader(*proc.transform(X_valid), proc.transform_y(y_valid), batch_size=2 * bs)
        return cls(train, valid, proc, bs)

    @classmethod
    def from_df(cls, df: DataFrame, cat_names: Sequence[Hashable] | None = None,
                cont_names: Sequence[Hashable] | None = None, y_names: Hashable | list[Hashable] | None = None,
                valid_idx: ArrayLike | None = None, valid_pct: float = 0.2, seed: int | None = None, bs: int = 64,
                y_kind: Literal["regression", "classification"] | None = None, fill_missing: bool = True,
                normalize: bool = True) -> TabularDataLoaders:
        """fastai's TabularDataLoaders.from_df: the target is the column (or list of columns) y_names."""
        if y_names is None:
            raise ValueError("y_names must name the target column(s) of df")
        y = np.asarray(df[y_names])
        if cat_names is None and cont_names is None:
            columns = [c for c in df.columns if c not in (y_names if isinstance(y_names, list) else [y_names])]
            df = df[columns]
        return cls.from_arrays(df, y, bs=bs, cat_names=cat_names, cont_names=cont_names, valid_idx=valid_idx,
                               valid_pct=valid_pct, seed=seed, y_kind=y_kind, fill_missing=fill_missing,
                               normalize=normalize)

    @classmethod
    def for_inference(cls, proc: TabularPreprocessor, bs: int = 64) -> TabularDataLoaders:
        """Loaders with no rows (an exported Learner's): only test_dl and the preprocessing are used."""
        empty = TabularDataLoader(np.zeros((0, len(proc.cardinalities)), np.int64),
                                  np.zeros((0, len(proc.cont_names)), np.float32), batch_size=bs)
        return cls(empty, None, proc, bs)

    @property
    def cat_names(self) -> list[Hashable]:
        """The categorical columns the model sees: cat_names, then the '_na' indicators."""
        return self.proc.all_cat_names

    @property
    def cont_names(self) -> list[Hashable]:
        """The continuous columns."""
        return self.proc.cont_names

    @property
    def classes(self) -> dict[Hashable, list[Any]]:
        """Per categorical column, '#na#' followed by its training categories."""
        return self.proc.classes

    @property
    def c(self) -> int:
        """Number of model outputs the targets need: classes, or regression targets."""
        if self.proc.y_kind_ == "classification":
            return len(self.proc.y_classes)
        return int(np.prod(self.train.dataset.arrays[2].shape[1:])) if self.train.has_targets else 1

    def test_dl(self, X: Table, bs: int | None = None) -> TabularDataLoader:
        """A loader over new rows X, preprocessed with the training statistics (no targets)."""
        return TabularDataLoader(*self.proc.transform(X), batch_size=bs or 2 * self.bs)


class CollabDataLoaders(DataLoaders):
    """Loaders of ((user, item) int64 (B, 2), rating float32 (B,)) batches; `proc` maps raw ids to rows."""

    def __init__(self, train: DataLoader, valid: DataLoader | None, proc: TabularPreprocessor, bs: int = 64):
        super().__init__(train, valid)
        self.proc, self.bs = proc, bs

    @classmethod
    def from_arrays(cls, users: ArrayLike, items: ArrayLike, ratings: ArrayLike, valid_pct: float = 0.2,
                    seed: int | None = None, bs: int = 64, user_name: Hashable = "user",
                    item_name: Hashable = "item") -> CollabDataLoaders:
        """Loaders from three 1-D arrays of equal length; a random valid_pct of the ratings validate."""
        users, items, ratings = (np.asarray(a) for a in (users, items, ratings))
        for name, array in (("users", users), ("items", items), ("ratings", ratings)):
            if array.ndim != 1 or len(array) != len(users):
                raise ValueError(f"users, items and ratings must be 1-D of the same length, got {name} "
                                 f"with shape {array.shape} (users has {users.shape})")
        if ratings.dtype.kind not in "biuf":
            raise TypeError(f"ratings must hold numbers, got dtype {ratings.dtype}")
        columns = {user_name: users, item_name: items}
        train_index, valid_index = split_rows(len(users), valid_pct, seed)
        proc = TabularPreprocessor([user_name, item_name], [], y_kind="regression")
        proc.fit(take_rows(columns, train_index), ratings[train_index])

        def loader(index, **options):
            x_cat, _ = proc.transform(take_rows(columns, index))
            return DataLoader(x_cat, proc.transform_y(ratings[index])[:, 0], **options)
        # fastai's training loader drops the last partial batch (as the tabular one above): a batch of one row
        # would stop a model with BatchNorm (EmbeddingNN's) with 'Expected more than 1 value per channel'.
        train = loader(train_index, batch_size=bs, shuffle=True, drop_last=len(train_index) > bs, seed=seed)
        valid = loader(valid_index, batch_size=2 * bs) if len(valid_index) else None
        return cls(train, valid, proc, bs)

    @classmethod
    def from_df(cls, ratings: DataFrame, valid_pct: float = 0.2, user_name: Hashable | None = None,
                item_name: Hashable | None = None, rating_name: Hashable | None = None, seed: int | None = None,
                bs: int = 64) -> CollabDataLoaders:
        """fastai's from_df: user, item and rating are the first three columns unless named."""
        columns = list(ratings.columns)
        user_name = columns[0] if user_name is None else user_name
        item_name = columns[1] if item_name is None else item_name
        rating_name = columns[2] if rating_name is None else rating_name
        return cls.from_arrays(ratings[user_name].to_numpy(), ratings[item_name].to_numpy(),
                               ratings[rating_name].to_numpy(), valid_pct=valid_pct, seed=seed, bs=bs,
                               user_name=user_name, item_name=item_name)

    @classmethod
    def for_inference(cls, proc: TabularPreprocessor, bs: int = 64) -> CollabDataLoaders:
        """Loaders with no rows (an exported Learner's): only test_dl and the id mapping are used."""
        empty = DataLoader(np.zeros((0, 2), dtype=np.int64), batch_size=bs)
        return cls(empty, None, proc, bs)

    @property
    def classes(self) -> dict[Hashable, list[Any]]:
        """Per column (user, item), '#na#' followed by the training ids."""
        return self.proc.classes

    def test_dl(self, X: ArrayLike | Table, bs: int | None = None) -> DataLoader:
        """A loader over (user, item) pairs of raw ids: an (N, 2) array, or a dict/DataFrame with the
        user and item columns."""
        if not isinstance(X, dict) and not hasattr(X, "columns"):
            pairs = np.asarray(X)
            if pairs.ndim != 2 or pairs.shape[1] != 2:
                raise ValueError(f"X must hold (user, item) pairs with shape (N, 2), got shape {pairs.shape}")
            X = dict(zip(self.proc.cat_names, (pairs[:, 0], pairs[:, 1])))
        x_cat, _ = self.proc.transform(X)
        return DataLoader(x_cat, batch_size=bs or 2 * self.bs)
