"""Loads the native modules: nnx._C (always) and nnx._cuda (when the build had nvcc).

The BLAS library from the scipy-openblas32 wheel is preloaded RTLD_LOCAL by path first. The extension's
RUNPATH finds it in a normal install; an editable build lives elsewhere and needs the preload.
`import scipy_openblas32` is avoided on purpose: it loads the library RTLD_GLOBAL, and its unprefixed
internal symbols would then capture NumPy's own OpenBLAS.

Nothing here touches process-wide state: no environment variable is set. (An earlier version lowered
GOMP_SPINCOUNT so idle OpenMP threads would not starve OpenBLAS's; BLAS now runs single-threaded inside
nnx's one OpenMP pool, and the low spin count made every parallel region wait for sleeping threads:
`a @ b` at n = 256-640 ran on one core. It also retuned every other OpenMP library in the process.)
"""
import ctypes
import importlib.util
import os


def _preload_openblas():
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None or not spec.submodule_search_locations:
        return
    lib_dir = os.path.join(list(spec.submodule_search_locations)[0], "lib")
    if not os.path.isdir(lib_dir):
        return
    for name in sorted(os.listdir(lib_dir)):
        if name.startswith("libscipy_openblas") and ".so" in name:
            ctypes.CDLL(os.path.join(lib_dir, name), mode=os.RTLD_LOCAL)
            return


_preload_openblas()

from .. import _C  # noqa: E402

try:
    from .. import _cuda  # noqa: E402
except ImportError:  # built without nvcc
    _cuda = None

__all__ = ["_C", "_cuda"]
