"""DataLoader as torch.utils.data's: a dataset, a sampler and a collate function, in the main process or in
num_workers worker processes. For whole arrays, nnx.data.DataLoader(X, y) is the faster path (no per-sample
Python at all); this one runs code written for torch unchanged.

Batches never alias the dataset's storage (default_collate stacks into fresh Tensors; the TensorDataset fast
path gathers), so in-place ops on a batch never reach the data, as with torch.
"""
from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ._random import GeneratorLike
from ._worker import MultiProcessingIter, WorkerInfo, get_worker_info
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "WorkerInfo"]

# Attributes fixed once a DataLoader is made, as in torch (changing them would desynchronise the samplers).
_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


class _InfiniteConstantSampler(Sampler):
    """The sampler of an IterableDataset: None for ever (the dataset decides when to stop)."""

    def __iter__(self) -> Iterator[None]:
        return itertools.repeat(None)


class _Fetcher:
    """Turns a sampler's output (an index, or a list of them) into a collated batch; runs in the main
    process or in a worker."""

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.is_iterable = isinstance(dataset, IterableDataset)
        self._iterator = iter(dataset) if self.is_iterable else None
        # A TensorDataset collated by default_collate: gather each column once per batch (a fresh copy)
        # instead of indexing sample by sample and stacking; the same Tensors, without per-sample Python.
        self._gather = (type(dataset) is TensorDataset and collate_fn is default_collate and auto_collation
                        and len(dataset.tensors) > 0)

    def fetch(self, index):
        if self.is_iterable:
            return self._fetch_iterable(index)
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        if self._gather:
            rows = np.asarray(index, dtype=np.int64)
            return [t[rows] for t in self.dataset.tensors]
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        return self.collate_fn(data)

    def _fetch_iterable(self, index):
        if not self.auto_collation:
            return self.collate_fn(next(self._iterator))
        data = list(itertools.islice(self._iterator, len(index)))
        if not data or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


def _make_fetcher(dataset, auto_collation, collate_fn, drop_last) -> _Fetcher:
    return _Fetcher(dataset, auto_collation, collate_fn, drop_last)


class DataLoader:
    """torch.utils.data.DataLoader: batches of `dataset` drawn by `sampler` (or shuffled, or in order),
    grouped by `batch_sampler` (or batch_size), collated by `collate_fn` (default_collate).

    num_workers > 0 loads batches in that many worker processes (fork on Linux), prefetch_factor batches
    ahead each, returned in sampler order. Each worker is seeded as in torch: base_seed + worker_id for nnx's
    generator and Python's random, and NumPy's global generator too; base_seed is drawn per epoch from
    `generator` (default: nnx's, fixed by nnx.manual_seed). worker_init_fn(worker_id) runs in each worker
    first. An exception in a worker is raised here with the worker's traceback; a worker that dies or a
    `timeout` (seconds, 0: none) raises RuntimeError. Workers stop when the epoch ends, on any error, or when
    the iterator is dropped; persistent_workers keeps them for the next epoch. pin_memory has nothing to pin
    on nnx's CPU tensors and is accepted (with torch's warning when no accelerator is present).
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable[Any] | None = None,
                 batch_sampler: Sampler | Iterable[list[Any]] | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False, drop_last: bool = False,
                 timeout: float = 0, worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: GeneratorLike = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        _check_workers(num_workers, timeout, prefetch_factor, persistent_workers)
        if isinstance(dataset, IterableDataset):
            _check_iterable_options(shuffle, sampler, batch_sampler)
        elif sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                             "drop_last")
        if sampler is None:
            if isinstance(dataset, IterableDataset):
                sampler = _InfiniteConstantSampler()
            else:
                sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.drop_last = drop_last
        self.num_workers = num_workers
        self.prefetch_factor = (2 if prefetch_factor is None else prefetch_factor) if num_workers else None
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order  # results always come back in order
        self.persistent_workers = persistent_workers
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if self._auto_collation else default_convert)
        self._iterator = None
        self._initialized = True

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_initialized", False) and name in _FROZEN:
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _fetcher_factory(self) -> Callable[[], _Fetcher]:
        """What a worker calls to make its fetcher (a partial, so that spawn can pickle it)."""
        return functools.partial(_make_fetcher, self.dataset, self._auto_collation, self.collate_fn,
                                 self.drop_last)

    def __iter__(self) -> Iterator:
        if self.pin_memory:
            _warn_pin_memory()
        if self.num_workers == 0:
            return self._single_process_iter()
        if not self.persistent_workers:
            return MultiProcessingIter(self)
        if self._iterator is None or self._iterator._shutdown:
            self._iterator = MultiProcessingIter(self)
        else:
            self._iterator._reset()
        return self._iterator

    def _single_process_iter(self) -> Iterator:
        fetcher = self._fetcher_factory()()
        for index in self._index_sampler:
            try:
                batch = fetcher.fetch(index)
            except StopIteration:  # an IterableDataset ended
                return
            yield batch

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            length = len(self.dataset)  # TypeError when the dataset has no length, as in torch
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else -(-length // self.batch_size)
            return length
        return len(self._index_sampler)

    def check_worker_number_rationality(self) -> None:
        """torch's hook; nnx does not warn about the worker count."""


def _check_workers(num_workers, timeout, prefetch_factor, persistent_workers) -> None:
    """torch's argument checks and messages for the worker options."""
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                         "to enable multiprocessing, otherwise set prefetch_factor to None.")
    if prefetch_factor is not None and (isinstance(prefetch_factor, bool) or not isinstance(prefetch_factor, int)
                                        or prefetch_factor < 0):
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")


def _check_iterable_options(shuffle, sampler, batch_sampler) -> None:
    if shuffle not in (False, None):
        raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                         f"shuffle={shuffle}")
    if sampler is not None:
        raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                         f"sampler={sampler}")
    if batch_sampler is not None:
        raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but got "
                         f"batch_sampler={batch_sampler}")


def _warn_pin_memory() -> None:
    from ... import accelerator
    if not accelerator.is_available():
        warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device pinned "
                      "memory won't be used.", UserWarning, stacklevel=3)
