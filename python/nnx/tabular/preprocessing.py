"""Tabular preprocessing with fastai's semantics: Categorify, FillMissing and Normalize, fitted on the
training rows and replayed at predict time. Works on NumPy arrays, dicts of columns and pandas DataFrames.

pandas is optional: it is never imported here; a DataFrame is recognised only when pandas is already loaded.
"""
from __future__ import annotations

import json
import numbers
import sys
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Union

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from pandas import DataFrame

    # What the tabular API takes as X: a DataFrame, a dict of columns or a 2-D array.
    Table = Union[DataFrame, Mapping[Hashable, ArrayLike], ArrayLike]

__all__ = ["TabularPreprocessor", "cont_cat_split", "take_rows", "n_rows"]

NA_LABEL = "#na#"  # fastai's name for category 0: missing or never seen in training


# --- reading columns out of DataFrames, dicts and 2-D arrays --------------------------------------
def _is_dataframe(X):
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(X, pandas.DataFrame)


def _column_names(X):
    """Every column's name: DataFrame labels, dict keys, or 0..n-1 for a 2-D array."""
    if _is_dataframe(X):
        return list(X.columns)
    if isinstance(X, dict):
        return list(X.keys())
    return list(range(_as_2d_array(X).shape[1]))


def _as_2d_array(X):
    if isinstance(X, (str, bytes)) or X is None or np.isscalar(X):
        raise TypeError(f"X must be a 2-D array, a dict of columns or a pandas DataFrame, got {type(X).__name__}")
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_rows, n_columns), got shape {X.shape}")
    return X


def _get_column(X, name):
    """One column as a 1-D NumPy array."""
    if _is_dataframe(X) or isinstance(X, dict):
        if name not in X:
            raise KeyError(f"column {name!r} not found in X (columns: {_column_names(X)})")
        column = np.asarray(X[name])
        if column.ndim != 1:
            raise ValueError(f"column {name!r} must be 1-D, got shape {column.shape}")
        return column
    X = _as_2d_array(X)
    if isinstance(name, (bool, np.bool_)) or not isinstance(name, numbers.Integral):
        raise TypeError(f"columns of a NumPy array are chosen by integer index, got {name!r}")
    if not -X.shape[1] <= name < X.shape[1]:
        raise IndexError(f"column index {name} out of range for X with {X.shape[1]} columns")
    return X[:, name]


def n_rows(X: Table) -> int:
    """Number of rows of a DataFrame, a dict of columns or a 2-D array."""
    if _is_dataframe(X):
        return len(X)
    if isinstance(X, dict):
        shapes = {name: np.shape(column) for name, column in X.items()}
        for name, shape in shapes.items():
            if len(shape) != 1:
                raise ValueError(f"column {name!r} must be 1-D, got shape {shape}")
        lengths = {shape[0] for shape in shapes.values()}
        if len(lengths) > 1:
            raise ValueError(f"the columns of X must all have the same length, got lengths {sorted(lengths)}")
        return lengths.pop() if lengths else 0
    return _as_2d_array(X).shape[0]


def take_rows(X: Table, index: ArrayLike) -> Table:
    """The rows `index` (an integer array) of a DataFrame, a dict of columns or a 2-D array."""
    if _is_dataframe(X):
        return X.iloc[index]
    if isinstance(X, dict):
        return {name: np.asarray(column)[index] for name, column in X.items()}
    return _as_2d_array(X)[index]


def cont_cat_split(X: Table, max_card: int = 20) -> tuple[list[Hashable], list[Hashable]]:
    """fastai's rule: float columns (and integer ones with more than max_card values) are continuous,
    everything else (strings, booleans, small integer codes, pandas categories) is categorical."""
    cat_names, cont_names = [], []
    for name in _column_names(X):
        column = _get_column(X, name)
        kind = column.dtype.kind
        if _is_dataframe(X):  # pandas' nullable Int64 comes out of np.asarray as float: use its own dtype
            kind = getattr(X[name].dtype, "kind", kind)
        if kind in "iu":
            is_cont = len(np.unique(column[column == column])) > max_card
        else:
            is_cont = kind == "f"
        (cont_names if is_cont else cat_names).append(name)
    return cat_names, cont_names


# --- categorical values: one homogeneous dtype per column, plus a missing mask ---------------------
def _object_missing(values):
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        return np.asarray(pandas.isna(values), dtype=bool)
    return np.fromiter((v is None or (isinstance(v, float) and v != v) for v in values), bool, len(values))


def _homogeneous(present):
    """An object array of present values as str, bool, int64 or float64; mixed types become str."""
    kinds = set(map(type, present))
    if all(issubclass(k, str) for k in kinds):
        return present.astype(str)
    if all(issubclass(k, (bool, np.bool_)) for k in kinds):
        return present.astype(bool)
    if all(issubclass(k, numbers.Integral) for k in kinds):  # int64, else uint64; never through float64
        for dtype in (np.int64, np.uint64):
            info = np.iinfo(dtype)
            if all(info.min <= int(v) <= info.max for v in present):
                return present.astype(dtype)
        raise ValueError("integer categories must all fit in int64 or all in uint64 (ids from "
                         f"{min(present)} to {max(present)} do not); pass them as strings")
    if all(issubclass(k, numbers.Real) for k in kinds):
        return present.astype(np.float64)
    return np.array([str(v) for v in present])


def _categorical_values(column):
    """(values of the present entries, missing mask). NaN and None count as missing."""
    column = np.asarray(column)
    if column.dtype.kind == "O":
        missing = _object_missing(column)
        return _homogeneous(column[~missing]), missing
    if column.dtype.kind == "f":
        missing = np.isnan(column)
        return column[~missing], missing
    if column.dtype.kind in "biuUS":
        return column, np.zeros(len(column), dtype=bool)
    raise TypeError(f"cannot use dtype {column.dtype} as categories")


def _encode(vocab, values, name):
    """1 + the index of each value in the sorted vocab, 0 where the value was never seen in training."""
    numeric = "biuf"
    if (vocab.dtype.kind in numeric) != (values.dtype.kind in numeric):
        raise TypeError(f"column {name!r} held {'numbers' if vocab.dtype.kind in numeric else 'strings'} "
                        f"when fitted but now holds {values.dtype}")
    if len(vocab) == 0:
        return np.zeros(len(values), dtype=np.int64)
    exact = np.ones(len(values), dtype=bool)
    if vocab.dtype.kind in numeric and values.dtype != vocab.dtype:
        values, exact = _as_vocab_dtype(vocab.dtype, values)
    position = np.minimum(np.searchsorted(vocab, values), len(vocab) - 1)
    return np.where(exact & (vocab[position] == values), position + 1, 0).astype(np.int64)


def _as_vocab_dtype(dtype, values):
    """(values converted to the vocabulary's dtype, mask of those that exist there exactly). Integers are
    never compared through float64, which merges ids above 2**53 (hashed and database ids are that big):
    an integer vocabulary takes integer values as they are and floats only when integral and in range."""
    if dtype.kind == "f" or dtype.kind == "b":  # a float vocabulary (an int column that had NaN), or booleans
        return values.astype(np.float64), np.ones(len(values), dtype=bool)
    info = np.iinfo(dtype)
    if values.dtype.kind in "biu":
        as_object = values.astype(object)  # Python ints: exact range check between int64 and uint64
        exact = np.fromiter((info.min <= int(v) <= info.max for v in as_object), bool, len(values))
        converted = np.where(exact, values, 0).astype(dtype) if values.dtype.kind != "b" else values.astype(dtype)
        return converted, exact
    with np.errstate(invalid="ignore"):
        exact = (np.floor(values) == values) & (values >= float(info.min)) & (values < -float(info.min) * (
            2 if dtype.kind == "u" else 1))
    return np.where(exact, values, 0).astype(dtype), exact


class TabularPreprocessor:
    """Categorify + FillMissing + Normalize, fitted on training rows (fastai's procs).

    - Categorify: each categorical column's vocabulary is the sorted set of its training values; a value
      becomes 1 + its index, and missing or unseen values become 0 ('#na#').
    - FillMissing: a continuous column with missing values in training gets its training median filled in
      and a '<name>_na' categorical indicator column (False/True). Values missing at predict time in a
      column that had none in training are filled with the median too (no indicator exists for them).
    - Normalize: continuous columns become (x - mean) / std with the training statistics (std with
      ddof=0, plus 1e-7, like fastai).

    transform(X) returns (x_cat int64 (N, n_cat), x_cont float32 (N, n_cont)). The target is encoded too:
    floats are a regression target (float32, (N, n_targets)), anything else a classification target
    (int64 codes into `y_classes`); pass y_kind='regression' or 'classification' to choose explicitly.
    """

    def __init__(self, cat_names: Sequence[Hashable] | None = None, cont_names: Sequence[Hashable] | None = None,
                 fill_missing: bool = True, normalize: bool = True,
                 y_kind: Literal["regression", "classification"] | None = None):
        if y_kind not in (None, "regression", "classification"):
            raise ValueError(f"y_kind must be None, 'regression' or 'classification', got {y_kind!r}")
        self.cat_names = None if cat_names is None else list(cat_names)
        self.cont_names = None if cont_names is None else list(cont_names)
        self.fill_missing = fill_missing
        self.normalize = normalize
        self.y_kind = y_kind

    def __repr__(self):
        return f"TabularPreprocessor(cat_names={self.cat_names!r}, cont_names={self.cont_names!r})"

    @property
    def is_fitted(self) -> bool:
        """Whether fit() has run."""
        return hasattr(self, "vocab_")

    # --- fitting ---------------------------------------------------------------------------------
    def fit(self, X: Table, y: ArrayLike | None = None) -> TabularPreprocessor:
        """Learn the vocabularies, medians and normalisation statistics from the training rows X (and the
        target's kind and classes from y); returns self."""
        if self.cat_names is None and self.cont_names is None:
            self.cat_names, self.cont_names = cont_cat_split(X)
        self.cat_names = list(self.cat_names or [])
        self.cont_names = list(self.cont_names or [])
        overlap = set(self.cat_names) & set(self.cont_names)
        if overlap:
            raise ValueError(f"columns {sorted(overlap, key=str)} are in both cat_names and cont_names")
        if n_rows(X) < 1:
            raise ValueError("X must have at least one row to fit the preprocessing")
        self.vocab_ = {name: np.unique(_categorical_values(_get_column(X, name))[0]) for name in self.cat_names}
        conts = self._continuous(X)
        missing = np.isnan(conts)
        self.na_names_ = [name for name, has_na in zip(self.cont_names, missing.any(0)) if has_na and self.fill_missing]
        self.medians_ = np.array([_median(column) for column in conts.T], dtype=np.float64)
        filled = np.where(missing, self.medians_, conts)
        self.means_, self.stds_ = _mean_std(filled) if self.normalize else (
            np.zeros(len(self.cont_names)), np.ones(len(self.cont_names)))
        self.stds_ = self.stds_ + 1e-7 if self.normalize else self.stds_
        self._fit_target(y, n_rows(X))
        return self

    def _continuous(self, X):
        """The continuous columns as float64 (N, n_cont), NaN where missing."""
        columns = []
        for name in self.cont_names:
            column = _get_column(X, name)
            if column.dtype.kind == "O":
                column = np.where(_object_missing(column), np.nan, column)
            try:
                column = column.astype(np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"continuous column {name!r} must hold numbers, got dtype {column.dtype}") from None
            if np.isinf(column).any():  # NaN is a missing value (FillMissing); inf is no value to learn from
                raise ValueError(f"continuous column {name!r} contains infinity (or a value too large for "
                                 "float64); NaN marks a missing value, inf is refused")
            columns.append(column)
        return np.stack(columns, 1) if columns else np.zeros((n_rows(X), 0))

    def _fit_target(self, y, n_samples):
        self.y_kind_, self.y_classes = None, None
        if y is None:
            return
        y = np.asarray(y)
        if y.ndim == 0 or len(y) != n_samples:
            raise ValueError(f"y must have one entry per row of X ({n_samples}), got shape {y.shape}")
        kind = self.y_kind or ("regression" if y.dtype.kind == "f" else "classification")
        if kind == "regression":
            self.y_kind_ = "regression"
            if y.dtype.kind not in "biuf":
                raise TypeError(f"a regression target y must hold numbers, got dtype {y.dtype}")
            _check_regression_target(y)
        else:
            self.y_kind_ = "classification"
            if y.ndim != 1:
                raise ValueError(f"a classification target y must be 1-D, got shape {y.shape}")
            labels, missing = _categorical_values(y)
            if missing.any():
                raise ValueError("y contains missing labels (NaN or None)")
            self.y_classes = np.unique(labels)

    # --- transforming ----------------------------------------------------------------------------
    @property
    def all_cat_names(self) -> list[Hashable]:
        """The categorical columns the model sees, in order: cat_names then the '_na' indicators."""
        return self.cat_names + [f"{name}_na" for name in self.na_names_]

    @property
    def cardinalities(self) -> list[int]:
        """Number of embedding rows per categorical column (vocabulary + the '#na#' row)."""
        return [len(self.vocab_[name]) + 1 for name in self.cat_names] + [3] * len(self.na_names_)

    @property
    def classes(self) -> dict[Hashable, list[Any]]:
        """fastai's `to.classes`: per categorical column, '#na#' followed by the training categories."""
        classes = {name: [NA_LABEL] + self.vocab_[name].tolist() for name in self.cat_names}
        classes.update({f"{name}_na": [NA_LABEL, False, True] for name in self.na_names_})
        return classes

    def transform(self, X: Table) -> tuple[np.ndarray, np.ndarray]:
        """(x_cat int64 (N, n_cat), x_cont float32 (N, n_cont)) with the fitted statistics."""
        if not self.is_fitted:
            raise RuntimeError("TabularPreprocessor is not fitted yet: call fit(X) first")
        n_samples = n_rows(X)
        codes = []
        for name in self.cat_names:
            values, missing = _categorical_values(_get_column(X, name))
            column = np.zeros(n_samples, dtype=np.int64)
            column[~missing] = _encode(self.vocab_[name], values, name)
            codes.append(column)
        conts = self._continuous(X)
        missing = np.isnan(conts)
        for name in self.na_names_:
            codes.append(1 + missing[:, self.cont_names.index(name)].astype(np.int64))
        filled = np.where(missing, self.medians_, conts)
        x_cont = _to_float32((filled - self.means_) / self.stds_, self.cont_names)  # normalised in float64
        x_cat = np.stack(codes, 1) if codes else np.zeros((n_samples, 0), dtype=np.int64)
        return x_cat, x_cont

    def fit_transform(self, X: Table, y: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
        """fit(X, y), then transform(X)."""
        return self.fit(X, y).transform(X)

    def transform_y(self, y: ArrayLike) -> np.ndarray:
        """Regression: float32 (N, n_targets). Classification: int64 codes; an unknown label raises."""
        if self.y_kind_ is None:
            raise RuntimeError("the preprocessor was fitted without y")
        y = np.asarray(y)
        if self.y_kind_ == "regression":
            _check_regression_target(y)
            y = y.astype(np.float64)
            return _to_float32(y.reshape(-1, 1) if y.ndim == 1 else y, None)
        values, missing = _categorical_values(y)
        codes = _encode(self.y_classes, values, "y") - 1
        if missing.any() or (codes < 0).any():
            raise ValueError("y holds labels that were not in the training targets (or missing labels)")
        return codes

    def decode_y(self, codes: ArrayLike) -> np.ndarray:
        """Class indices -> the original labels."""
        return self.y_classes[np.asarray(codes)]

    # --- saving: plain arrays only, so np.savez/np.load work with allow_pickle=False ----------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted state as plain arrays (np.savez saves it and np.load reads it without pickle)."""
        if not self.is_fitted:
            raise RuntimeError("TabularPreprocessor is not fitted yet: call fit(X) first")
        config = dict(cat_names=self.cat_names, cont_names=self.cont_names, na_names=self.na_names_,
                      fill_missing=self.fill_missing, normalize=self.normalize, y_kind=self.y_kind,
                      fitted_y_kind=self.y_kind_)
        state = {"config": np.array(json.dumps(_jsonable(config))), "medians": self.medians_,
                 "means": self.means_, "stds": self.stds_}
        state.update({f"vocab.{i}": vocab for i, vocab in enumerate(self.vocab_.values())})
        if self.y_classes is not None:
            state["y_classes"] = self.y_classes
        return state

    @classmethod
    def from_state_dict(cls, state: Mapping[str, np.ndarray]) -> TabularPreprocessor:
        """A fitted preprocessor rebuilt from state_dict()."""
        config = json.loads(str(state["config"]))
        proc = cls(config["cat_names"], config["cont_names"], config["fill_missing"], config["normalize"],
                   config["y_kind"])
        proc.vocab_ = {name: np.asarray(state[f"vocab.{i}"]) for i, name in enumerate(proc.cat_names)}
        proc.na_names_ = config["na_names"]
        proc.medians_, proc.means_, proc.stds_ = (np.asarray(state[k]) for k in ("medians", "means", "stds"))
        proc.y_kind_ = config["fitted_y_kind"]
        proc.y_classes = np.asarray(state["y_classes"]) if "y_classes" in state else None
        return proc


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _mean_std(filled):
    """Per-column mean and std (ddof=0) in float64, scaled by each column's largest magnitude first so that
    values near 1e300 do not overflow when squared (std of [1e300, -1e300] is 1e300, not inf)."""
    scale = np.abs(filled).max(0) if len(filled) else np.ones(filled.shape[1])
    scale = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
    scaled = filled / scale
    return scaled.mean(0) * scale, scaled.std(0) * scale


def _to_float32(values, names):
    """values (float64) as float32; a value beyond float32's range raises ValueError naming its column
    (names: the columns; None: the regression target) instead of silently becoming inf."""
    with np.errstate(over="ignore"):
        converted = values.astype(np.float32)
    overflow = np.isinf(converted) & np.isfinite(values)
    if overflow.any():
        column = int(np.nonzero(overflow.any(0))[0][0])
        what = "the regression target y" if names is None else f"continuous column {names[column]!r}"
        raise ValueError(f"{what} holds {values[overflow][0]!r}{' after normalisation' if names else ''}, "
                         f"beyond float32's range (|x| <= {_FLOAT32_MAX:.4g}): rescale it (e.g. log) first")
    return converted


def _check_regression_target(y):
    """A regression target must hold finite numbers: NaN or inf would make every loss NaN."""
    values = y.astype(np.float64)
    if np.isnan(values).any():
        raise ValueError("the regression target y contains NaN")
    if np.isinf(values).any():
        raise ValueError("the regression target y contains infinity (or a value too large for float64)")


def _median(column):
    present = column[~np.isnan(column)]
    return float(np.median(present)) if len(present) else 0.0


def _jsonable(value):
    """Column names from NumPy arrays are NumPy integers; JSON needs Python ones."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    return value
