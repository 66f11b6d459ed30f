"""Datasets as torch.utils.data's: Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset, random_split."""
from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ...tensor import Tensor, from_numpy
from ...tensor import tensor as as_new_tensor
from ._random import GeneratorLike, numpy_rng

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split"]


class Dataset:
    """A map-style dataset: subclasses define __getitem__(index) and (for the default samplers) __len__."""

    def __getitem__(self, index) -> Any:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define __iter__. With worker processes, each worker iterates its own
    copy; split the work with get_worker_info() (as in PyTorch), or every worker yields every sample."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        raise TypeError("IterableDatasets cannot be concatenated with +; chain their iterators instead")


class TensorDataset(Dataset):
    """Sample i is (t[i] for t in tensors), each a Tensor, as torch's. NumPy arrays (and other array-likes)
    are accepted too and become Tensors once, here, sharing memory with NumPy arrays."""

    def __init__(self, *tensors: Any) -> None:
        self.tensors = tuple(_as_tensor(t, f"tensors[{i}]") for i, t in enumerate(tensors))
        if self.tensors and any(len(t) != len(self.tensors[0]) for t in self.tensors):
            raise AssertionError("Size mismatch between tensors")  # PyTorch's exception and message

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0]) if self.tensors else 0


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        # torch's batched fetch: the parent's own __getitems__ when it has one, else sample by sample
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[idx] for idx in indices])
        return [self.dataset[self.indices[idx]] for idx in indices]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """The samples of several datasets one after the other; negative indices count from the end."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        if dataset_idx >= len(self.datasets):
            raise IndexError(f"index {idx} is out of range for a ConcatDataset of length {len(self)}")
        sample_idx = idx if dataset_idx == 0 else idx - self.cumulative_sizes[dataset_idx - 1]
        return self.datasets[dataset_idx][sample_idx]


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: GeneratorLike = None) -> list[Subset]:
    """Split `dataset` into non-overlapping Subsets of the given lengths, or of the given fractions (summing
    to 1; the remainder goes round-robin to the first splits), from one random permutation."""
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        lengths = _lengths_of_fractions(len(dataset), lengths)
    if any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0 for n in lengths):
        raise ValueError(f"lengths must be non-negative integers or fractions summing to 1, got {lengths}")
    if sum(lengths) != len(dataset):
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    indices = numpy_rng(generator).permutation(sum(lengths)).tolist()
    return [Subset(dataset, indices[offset - length:offset])
            for offset, length in zip(itertools.accumulate(lengths), lengths)]


def _lengths_of_fractions(n: int, fractions: list) -> list[int]:
    lengths = []
    for i, fraction in enumerate(fractions):
        if fraction < 0 or fraction > 1:
            raise ValueError(f"Fraction at index {i} is not between 0 and 1")
        lengths.append(math.floor(n * fraction))
    for i in range(n - sum(lengths)):
        lengths[i % len(lengths)] += 1
    for i, length in enumerate(lengths):
        if length == 0:
            warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                          stacklevel=3)
    return lengths


def _as_tensor(data, name: str) -> Tensor:
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray) and data.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension (one row per sample), got a scalar")
    try:
        if isinstance(data, np.ndarray):
            return from_numpy(data)  # shares memory, as torch.from_numpy; a dtype nnx lacks falls through
    except (TypeError, ValueError):
        pass
    try:
        return as_new_tensor(data)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a Tensor or an array-like of numbers, got {type(data).__name__}") from error
