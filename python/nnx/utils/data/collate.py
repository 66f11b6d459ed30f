"""default_collate / default_convert as torch.utils.data's: samples -> one batch of Tensors, recursively."""
from __future__ import annotations

import collections.abc
import copy
import re
from typing import Any

import numpy as np

from ...tensor import Tensor, float64, from_numpy, stack
from ...tensor import tensor as new_tensor

__all__ = ["default_collate", "default_convert"]

_STRING_OR_OBJECT_DTYPE = re.compile(r"[SaUO]")
_COLLATE_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, as torch's default_collate: Tensors and NumPy arrays are stacked
    along a new first dimension (a fresh Tensor), Python floats become a float64 Tensor, ints an int64 one
    (bools a bool one), strings stay a list; dicts, namedtuples and lists are collated field by field (a
    tuple gives a list, as in torch)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray) and not isinstance(elem, np.str_):
        if _STRING_OR_OBJECT_DTYPE.search(elem.dtype.str) is not None:
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return _array_tensor(np.stack(batch))
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return _array_tensor(np.array(batch))
    if isinstance(elem, float):
        return new_tensor(batch, dtype=float64)
    if isinstance(elem, int):
        return new_tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        return _same_mapping_type(elem, collated)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [default_collate(list(samples)) for samples in zip(*batch)]
        return columns if isinstance(elem, tuple) else _same_sequence_type(elem, columns)
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """NumPy arrays and scalars -> Tensors (arrays shared, as torch.as_tensor), recursively through dicts,
    namedtuples and sequences; everything else unchanged. The collate_fn of a loader with batch_size=None."""
    if isinstance(data, np.ndarray):
        if _STRING_OR_OBJECT_DTYPE.search(data.dtype.str) is not None:
            return data
        return _array_tensor(data)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return _array_tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _same_mapping_type(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # torch's choice
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _same_sequence_type(data, [default_convert(d) for d in data])
    return data


def _array_tensor(array: np.ndarray) -> Tensor:
    """A Tensor sharing `array` (fresh already when collated); a dtype nnx cannot share is converted."""
    try:
        return from_numpy(array)
    except (TypeError, ValueError):
        return new_tensor(array)


def _same_mapping_type(elem, collated: dict):
    if isinstance(elem, collections.abc.MutableMapping):
        clone = copy.copy(elem)  # keeps the mapping's type and extra attributes (torch does the same)
        clone.update(collated)
        return clone
    try:
        return type(elem)(collated)
    except TypeError:
        return collated


def _same_sequence_type(elem, columns: list):
    if isinstance(elem, collections.abc.MutableSequence):
        clone = copy.copy(elem)
        clone[:] = columns
        return clone
    try:
        return type(elem)(columns)
    except TypeError:
        return columns
