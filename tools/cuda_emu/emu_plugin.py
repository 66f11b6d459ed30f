"""pytest plugin (-p emu_plugin) for the CUDA-on-CPU emulator: installs the emulated nnx._cuda (built by
tools/cuda_emu/build.py, path in NNX_EMU_MODULE) before nnx is imported, so nnx.native.loader._cuda is the
emulated module and the CUDA tests run on the host. The installed package and build/ are left alone."""
import importlib.util
import os
import sys

_path = os.environ["NNX_EMU_MODULE"]
_spec = importlib.util.spec_from_file_location("nnx._cuda", _path)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
sys.modules["nnx._cuda"] = _module

import nnx.native.loader  # noqa: E402

if nnx.native.loader._cuda is not _module:
    raise RuntimeError("nnx was imported before the emulator plugin: nnx.native.loader._cuda is "
                       f"{nnx.native.loader._cuda!r}")


def pytest_report_header(config):
    order = os.environ.get("NNX_EMU_ORDER", "forward")
    return f"nnx._cuda: CUDA-on-CPU emulator ({_path}), thread order {order}"
