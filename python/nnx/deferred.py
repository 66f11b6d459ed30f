"""Numbers a training loop computes on a GPU and reads on the host later, together: one transfer per epoch
instead of one per batch (each read makes the host wait until the GPU has caught up with everything queued,
so per-batch reads keep the CPU from running ahead of the GPU).

On the CPU nothing is deferred: callers keep their direct float path there (a host read costs nothing).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import native as _native

__all__ = ["is_device_array", "DeviceScalars", "DeviceBatches"]


def is_device_array(array: Any) -> bool:
    """True for an array in device memory (reading it waits for the device), False for a NumPy array."""
    return not isinstance(array, np.ndarray) and _native.for_array(array) is not _native.cpu


class DeviceScalars:
    """A queue of one-element device arrays (batch losses, norms ...) whose values read() returns together.

    The arrays are kept, not copied, so nothing is launched per append; every `compact_every` of them are
    gathered into one device array (a copy kernel each) so that a long epoch holds a few blocks, not one per
    batch. The values must not be written in place between append and read."""

    def __init__(self, compact_every: int = 512) -> None:
        self._pending: list[Any] = []
        self._chunks: list[Any] = []
        self._compact_every = compact_every

    def __len__(self):
        return len(self._pending) + sum(chunk.shape[0] for chunk in self._chunks)

    def __bool__(self):
        return bool(self._pending or self._chunks)

    def append(self, array: Any) -> None:
        """Queue a one-element device array (kept, not copied: do not write it in place before read)."""
        if array.size != 1:
            raise ValueError(f"DeviceScalars holds one-element arrays, got shape {array.shape}")
        self._pending.append(array.reshape(1))
        if len(self._pending) >= self._compact_every:
            self._compact()

    def _compact(self):
        if self._pending:
            self._chunks.append(np.concatenate(self._pending))
            self._pending = []

    def read(self) -> np.ndarray:
        """The values appended since the last read, in order, as a float64 NumPy array (one host transfer);
        the queue is empty after."""
        self._compact()
        if not self._chunks:
            return np.zeros(0)
        chunks, self._chunks = self._chunks, []
        whole = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        return _native.for_array(whole).to_numpy(whole).astype(np.float64)


class DeviceBatches:
    """Per-batch device arrays (a validation set's predictions, say) read to the host together: read() returns
    the host copies in order, through one transfer per `max_bytes` of data (arrays whose trailing shapes or
    dtypes differ are read one group at a time). NumPy arrays may be appended too: they are copied at once."""

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self._pending: list[Any] = []
        self._ready: list[np.ndarray] = []
        self._bytes, self._max_bytes = 0, max_bytes

    def __len__(self):
        return len(self._pending) + len(self._ready)

    def __bool__(self):
        return bool(self._pending or self._ready)

    def append(self, array: Any) -> None:
        """Queue a device array (read later with the others), or copy a NumPy array now."""
        if isinstance(array, np.ndarray):
            self._transfer()  # (the device batches before it come first)
            self._ready.append(np.array(array))
            return
        self._pending.append(array)
        self._bytes += array.nbytes
        if self._bytes >= self._max_bytes:
            self._transfer()

    def _transfer(self):
        pending, self._pending, self._bytes = self._pending, [], 0
        start = 0
        while start < len(pending):  # runs of arrays that concatenate: same trailing shape and dtype
            first = pending[start]
            stop = start + 1
            while stop < len(pending) and _concatenable(pending[stop], first):
                stop += 1
            self._ready.extend(_read_together(pending[start:stop]))
            start = stop

    def read(self) -> list[np.ndarray]:
        """The host copies (NumPy arrays) of every array appended since the last read, in order."""
        self._transfer()
        ready, self._ready = self._ready, []
        return ready


def _concatenable(array, first):
    return array.ndim == first.ndim and array.ndim > 0 and array.shape[1:] == first.shape[1:] \
        and array.dtype == first.dtype


def _read_together(arrays):
    if len(arrays) == 1 or arrays[0].ndim == 0:
        return [_native.for_array(a).to_numpy(a) for a in arrays]
    whole = np.concatenate(arrays)
    host = _native.for_array(whole).to_numpy(whole)
    bounds = np.cumsum([a.shape[0] for a in arrays])[:-1]
    return np.split(host, bounds)
