"""Loads the native modules: nnx._C (always) and nnx._cuda (when the build had nvcc).

Two things must happen before the extension loads:
- libgomp's idle threads spin for a long time after each parallel region and starve OpenBLAS's own
  threads (a 512^3 sgemm measured 8.0 ms instead of 1.4 ms right after a tiny OpenMP loop), so the
  spin count is lowered unless the user set it.
- The BLAS library from the scipy-openblas32 wheel is preloaded RTLD_LOCAL by path. The extension's
  RUNPATH finds it in a normal install; an editable build lives elsewhere and needs the preload.
  `import scipy_openblas32` is avoided on purpose: it loads the library RTLD_GLOBAL, and its unprefixed
  internal symbols would then capture NumPy's own OpenBLAS.
"""
import ctypes
import importlib.util
import os

os.environ.setdefault("GOMP_SPINCOUNT", "1000")


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

from . import _C  # noqa: E402

try:
    from . import _cuda  # noqa: E402
except ImportError:  # built without nvcc
    _cuda = None

__all__ = ["_C", "_cuda"]
