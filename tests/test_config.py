"""nnx.__version__ (one source) and nnx.show_config() (issue 19's introspection)."""
import importlib.metadata
import platform

import pytest

import nnx
from nnx import _C


def test_version_is_the_installed_distributions():
    assert nnx.__version__ == importlib.metadata.version("nnx")


def test_show_config_dicts_name_the_build_and_the_machine():
    config = nnx.show_config(mode="dicts")
    assert set(config) == {"nnx", "build", "cpu", "blas", "cuda"}
    assert config["nnx"]["version"] == nnx.__version__
    assert config["cpu"]["threads (nnx.get_num_threads)"] == nnx.get_num_threads()
    assert config["blas"]["kernel for this CPU"] == _C.build_config()["blas_corename"]
    assert isinstance(config["cuda"]["module built"], bool)


def test_show_config_prints_every_section(capsys):
    assert nnx.show_config() is None
    printed = capsys.readouterr().out
    for section in ("nnx:", "build:", "cpu:", "blas:", "cuda:"):
        assert section in printed.splitlines()
    assert f"version: {nnx.__version__}" in printed


def test_show_config_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="mode must be 'stdout' or 'dicts'"):
        nnx.show_config(mode="json")


def test_build_config_reports_what_the_kernels_use_and_the_cpu_has():
    build = _C.build_config()
    assert build["compiler"] and build["blas_corename"] and "OpenBLAS" in build["blas_config"]
    assert build["openmp"] >= 201107  # OpenMP 3.1 or later: the kernels' pragmas need it
    if platform.machine() in ("x86_64", "AMD64"):
        # The kernels are running, so the CPU has every instruction set they were compiled to use.
        assert set(build["isa"]) <= set(build["cpu_features"])
        assert "sse4.2" in build["cpu_features"]


def test_show_config_lists_the_cuda_devices_and_cublas(fake_cuda_module):
    cuda = nnx.show_config(mode="dicts")["cuda"]
    assert cuda["available"] is True
    name = fake_cuda_module.get_device_name(0)
    major, minor = fake_cuda_module.get_device_capability(0)
    assert cuda["devices"][0] == f"{name} (compute capability {major}.{minor})"
    assert len(cuda["devices"]) == fake_cuda_module.device_count()
    assert cuda["cuBLAS"] == fake_cuda_module.cublas_path()
