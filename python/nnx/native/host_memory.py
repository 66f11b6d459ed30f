"""Host memory for the CPU kernels' large outputs, reused instead of returned to the operating system.

Why: a training step allocates the same large buffers every iteration (cross-entropy's 4096x1000 gradient is
16 MB). glibc serves such sizes with fresh mmap'd pages (or trims its heap back), so every step pays one page
fault per 4 KiB on first touch: 4,000 faults, about as long as the kernel itself. PyTorch keeps a caching
allocator on the GPU for the same reason; this is its host-side counterpart, kept small and exact.

How: a pooled array is a plain C-contiguous NumPy array whose memory is a `_Block` (a bytearray). The array's
base is its block, and every view of the array refers to the array, never to the block, so the block's
reference count says exactly whether any array still uses it: a block only the pool refers to is free. No
finalizers, no weak references; users get ordinary writeable arrays. Only buffers of at least
`POOLED_MIN_BYTES` are pooled (smaller ones come from malloc's own free lists without page faults), and at most
`max_cached_bytes()` are kept (`set_max_cached_bytes`); beyond that an allocation is a plain `np.empty`.
"""
from __future__ import annotations

import os
import sys
import threading

import numpy as np

__all__ = ["POOLED_MIN_BYTES", "cached_bytes", "copy", "empty", "empty_cache", "empty_like", "max_cached_bytes",
           "owns_memory", "set_max_cached_bytes", "zeros"]

POOLED_MIN_BYTES = 1 << 20
_PAGE = 4096
_ALIGNMENT = 64  # a cache line and an AVX-512 register: where the kernels' aligned loads want rows to start


class _Block(bytearray):
    """A pooled buffer; `offset` is where its 64-byte aligned data starts."""

    __slots__ = ("offset",)


def _references(block: _Block) -> int:
    return sys.getrefcount(block)


def _free_reference_count() -> int:
    """_references(name) of a block that one container and the caller's local `name` refer to, and nothing else:
    measured, not assumed, since how CPython counts a call's arguments changes between versions. Every check
    below calls _references the same way (one local name), so a block is free, or an array its block's sole
    user, exactly when the count is this."""
    holder = [_Block(1)]
    candidate = holder[0]
    return _references(candidate)


_FREE_REFS = _free_reference_count()


def _default_limit() -> int:
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not every platform reports its memory
        physical = 16 << 30
    return min(physical // 4, 4 << 30)


_lock = threading.Lock()
_free_by_size: dict[int, list[_Block]] = {}  # block size -> blocks of that size (in use or free)
_cached = 0
_limit = _default_limit()


def _block_size(nbytes: int) -> int:
    return -(-(nbytes + _ALIGNMENT) // _PAGE) * _PAGE


def _new_block(size: int) -> _Block:
    block = _Block(size)
    address = np.ndarray((1,), np.uint8, buffer=block).ctypes.data
    block.offset = -address % _ALIGNMENT
    return block


def _release_free_blocks(limit: int, needed: int = 0) -> None:
    """Drop free blocks (largest first) until `needed` more bytes fit under `limit`. Caller holds the lock."""
    global _cached
    for size in sorted(_free_by_size, reverse=True):
        if _cached + needed <= limit:
            return
        kept = []
        for candidate in _free_by_size[size]:
            if _references(candidate) > _FREE_REFS:
                kept.append(candidate)
            else:
                _cached -= size
        if kept:
            _free_by_size[size] = kept
        else:
            del _free_by_size[size]


def empty(shape: int | tuple[int, ...], dtype: np.dtype | type = np.float32, *, like: object = None) -> np.ndarray:
    """An uninitialised C-contiguous array, as np.empty (`like` as NumPy's, ignored: this is host memory); large
    ones reuse the memory of a dropped pooled array."""
    out = np.empty(shape, dtype)  # small: the answer; large: only address space, never touched, given back
    nbytes = out.nbytes
    if nbytes < POOLED_MIN_BYTES or _limit == 0:
        return out
    shape, dtype = out.shape, out.dtype
    del out
    global _cached
    size = _block_size(nbytes)
    with _lock:
        blocks = _free_by_size.get(size)
        block = None
        if blocks is not None:
            for candidate in blocks:
                if _references(candidate) <= _FREE_REFS:
                    block = candidate
                    break
        if block is None:
            if _cached + size > _limit:
                _release_free_blocks(_limit, size)
            if _cached + size > _limit:
                return np.empty(shape, dtype)  # the cache is full of blocks in use: not pooled
            block = _new_block(size)
            _free_by_size.setdefault(size, []).append(block)
            _cached += size
        return np.ndarray(shape, dtype, buffer=block, offset=block.offset)


def empty_like(array: np.ndarray) -> np.ndarray:
    """empty(array.shape, array.dtype): a C-contiguous output for a kernel reading `array` (whatever its layout).
    Small arrays go straight to NumPy: this is on every kernel call's path, relu of 16 elements included."""
    if array.nbytes < POOLED_MIN_BYTES:
        return np.empty(array.shape, array.dtype)
    return empty(array.shape, array.dtype)


def zeros(shape: int | tuple[int, ...], dtype: np.dtype | type = np.float32, *, like: object = None) -> np.ndarray:
    """An array of zeros, as np.zeros; large ones in reused memory, zeroed with one pass (np.zeros' fresh pages
    would fault one by one on first touch instead)."""
    out = empty(shape, dtype)
    out.fill(0)
    return out


def copy(array: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of `array` (as array.copy()), in pooled memory when large."""
    if array.nbytes < POOLED_MIN_BYTES:
        return array.copy()
    out = empty(array.shape, array.dtype)
    np.copyto(out, array)
    return out


def owns_memory(array: np.ndarray) -> bool:
    """Whether `array` is the root of its memory: a fresh np.empty result or a pooled array, not a view of
    another array. Whatever shares its memory then refers to `array` itself (a view, a memoryview, a Tensor), so
    the caller's check of the array's reference count finds it. Autograd adopts such a kernel output as a .grad
    without copying it."""
    base = array.base
    return base is None or type(base) is _Block


def cached_bytes() -> int:
    """Bytes the pool holds, in use or free (torch.cuda.memory_reserved's host counterpart)."""
    return _cached


def max_cached_bytes() -> int:
    """The most bytes the pool keeps (default: a quarter of the machine's memory, at most 4 GiB)."""
    return _limit


def set_max_cached_bytes(limit: int) -> None:
    """Keep at most `limit` bytes pooled (0 turns pooling off); free blocks over the new limit are released."""
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
        raise ValueError(f"set_max_cached_bytes: limit must be a non-negative integer of bytes, got {limit!r}")
    global _limit
    with _lock:
        _limit = int(limit)
        _release_free_blocks(_limit)


def empty_cache() -> None:
    """Release every free block to the operating system (torch.cuda.empty_cache's host counterpart)."""
    with _lock:
        _release_free_blocks(0)
