"""The fake device's runtime (module.cpp, runtime.cu, allocator.cu): one device, kernel errors recorded and raised at
the next synchronising call as on a GPU, and a caching allocator of host byte blocks with the real one's statistics."""
import numpy as np

DEVICE_COUNT = 1
BLOCK_BYTES = 512  # the caching allocator rounds every request up to a multiple of this

_pending_error = None  # (exception type, message) recorded by a kernel, raised at the next synchronisation
# How many times the host has waited for the device (every call that synchronises: to_host, synchronize,
# nonzero_count, from_dlpack, empty_cache): tests count them to show a training loop does not wait per batch.
synchronizations = 0


def record_error(error_type, message):
    global _pending_error
    if _pending_error is None:
        _pending_error = (error_type, message)


def raise_pending():
    """Every synchronising call passes here: counts the wait, then raises what the queued kernels recorded."""
    global _pending_error, synchronizations
    synchronizations += 1
    if _pending_error is not None:
        error_type, message = _pending_error
        _pending_error = None
        raise error_type(message)


def require_device(device, name, allow_all=False):
    if isinstance(device, bool) or not isinstance(device, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(device).__name__}")
    if allow_all and device == -1:
        return
    if device < 0:
        raise ValueError(f"{name} must be a CUDA device index >= 0, got {device}")
    if device >= DEVICE_COUNT:
        raise ValueError(f"{name} must be < {DEVICE_COUNT} (the visible CUDA devices), got {device}")


def device_count():
    return DEVICE_COUNT


def synchronize(device=-1):
    require_device(device, "device", allow_all=True)
    raise_pending()


def get_device_name(device=0):
    require_device(device, "device")
    return "Fake CUDA device (NumPy)"


def get_device_capability(device=0):
    require_device(device, "device")
    return (9, 0)


class Allocator:
    def __init__(self):
        self.allocated = 0  # bytes in live blocks
        self.reserved = 0  # bytes obtained from "cudaMalloc" (live + cached)
        self.mallocs = 0
        self.cache = {}  # rounded size -> list of free byte buffers

    def allocate(self, nbytes):
        rounded = max(BLOCK_BYTES, -(-nbytes // BLOCK_BYTES) * BLOCK_BYTES)
        free = self.cache.get(rounded)
        if free:
            buffer = free.pop()
        else:
            buffer = np.empty(rounded, dtype=np.uint8)
            self.mallocs += 1
            self.reserved += rounded
        buffer.fill(0xFF)  # uninitialised memory: NaN for floats, so unwritten outputs show up
        self.allocated += rounded
        return buffer

    def release(self, buffer):
        self.allocated -= buffer.nbytes
        self.cache.setdefault(buffer.nbytes, []).append(buffer)

    def empty_cache(self):
        for free in self.cache.values():
            self.reserved -= sum(buffer.nbytes for buffer in free)
        self.cache.clear()


allocator = Allocator()


def memory_allocated(device=0):
    require_device(device, "device")
    return allocator.allocated


def memory_reserved(device=0):
    require_device(device, "device")
    return allocator.reserved


def malloc_count(device=0):
    require_device(device, "device")
    return allocator.mallocs


def empty_cache():
    raise_pending()
    allocator.empty_cache()


def reset():
    """Test helper: forget recorded errors and cached blocks (a fresh 'device')."""
    global _pending_error
    _pending_error = None
    allocator.empty_cache()
