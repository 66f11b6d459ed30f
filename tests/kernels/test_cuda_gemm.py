"""CUDA GEMM (cuBLAS, loaded at run time) against NumPy float64 references; GPU cases skip without a GPU."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from helpers import FLOAT_DTYPES, assert_close, poisoned, random_array
from nnx import native

cuda = native._cuda
pytestmark = pytest.mark.cuda
needs_module = pytest.mark.skipif(cuda is None, reason="nnx._cuda was not built (no nvcc)")
needs_gpu = pytest.mark.skipif(cuda is None or cuda.device_count() == 0, reason="needs an NVIDIA GPU")

SHAPES = [(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 1, 128), (130, 70, 257), (1, 300, 1), (257, 129, 65)]


def to_device(array):
    return cuda.DeviceArray.from_host(np.require(array, requirements="C"))  # keeps 0-d arrays 0-d


def to_host(device_array):
    out = np.empty(device_array.shape, device_array.dtype)
    device_array.to_host(out)
    return out


@pytest.fixture
def cublas():
    """Skips the test where cuBLAS is not installed (it is an optional extra: pip install 'nnx[cuda]')."""
    try:
        return cuda.cublas_path()
    except RuntimeError as error:
        pytest.skip(f"cuBLAS is not installed: {error}")


def gemm_reference(a, b, trans_a, trans_b):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return (a64.T if trans_a else a64) @ (b64.T if trans_b else b64)


@needs_gpu
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("M,N,K", SHAPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_matches_numpy(rng, cublas, dtype, M, N, K, trans_a, trans_b):
    a = random_array(rng, (K, M) if trans_a else (M, K), dtype)
    b = random_array(rng, (N, K) if trans_b else (K, N), dtype)
    out = to_device(poisoned((M, N), dtype))
    cuda.gemm(to_device(a), to_device(b), out, trans_a=trans_a, trans_b=trans_b)
    assert_close(to_host(out), gemm_reference(a, b, trans_a, trans_b), scale=max(1, K / 16))


@needs_gpu
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_alpha_beta_accumulates(rng, cublas, dtype):
    a, b = random_array(rng, (9, 11), dtype), random_array(rng, (11, 6), dtype)
    before = random_array(rng, (9, 6), dtype)
    out = to_device(before)
    cuda.gemm(to_device(a), to_device(b), out, alpha=-0.5, beta=2.0)
    assert_close(to_host(out), -0.5 * gemm_reference(a, b, False, False) + 2.0 * before.astype(np.float64))


@needs_gpu
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_matches_cpu_kernel(rng, cublas, dtype):
    a, b = random_array(rng, (40, 70), dtype), random_array(rng, (33, 70), dtype)
    expected = poisoned((40, 33), dtype)
    native._C.gemm(a, b, expected, trans_b=True)
    out = to_device(poisoned((40, 33), dtype))
    cuda.gemm(to_device(a), to_device(b), out, trans_b=True)
    assert_close(to_host(out), expected.astype(np.float64), scale=4)


@needs_gpu
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_empty_inner_dimension_scales_output(rng, dtype):
    # k == 0 never reaches cuBLAS: it runs without the library too.
    before = random_array(rng, (3, 4), dtype)
    out = to_device(before)
    empty_a, empty_b = to_device(np.zeros((3, 0), dtype)), to_device(np.zeros((0, 4), dtype))
    cuda.gemm(empty_a, empty_b, out, beta=3.0)
    assert_close(to_host(out), 3.0 * before.astype(np.float64))
    poison = to_device(poisoned((3, 4), dtype))
    cuda.gemm(empty_a, empty_b, poison)
    assert (to_host(poison) == 0).all()


@needs_gpu
def test_gemm_empty_output_is_a_no_op(rng):
    out = to_device(np.zeros((0, 5), np.float32))
    cuda.gemm(to_device(random_array(rng, (0, 3), np.float32)), to_device(random_array(rng, (3, 5), np.float32)), out)
    assert to_host(out).shape == (0, 5)


@needs_gpu
def test_tf32_is_off_by_default_and_switchable(rng, cublas):
    assert cuda.get_allow_tf32() is False
    a, b = random_array(rng, (64, 256), np.float32), random_array(rng, (256, 48), np.float32)
    out = to_device(poisoned((64, 48), np.float32))
    cuda.set_allow_tf32(True)
    try:
        assert cuda.get_allow_tf32() is True
        cuda.gemm(to_device(a), to_device(b), out)
    finally:
        cuda.set_allow_tf32(False)
    # TF32 keeps 10 mantissa bits: close to the float64 product, not to float32 precision.
    np.testing.assert_allclose(to_host(out), gemm_reference(a, b, False, False), rtol=2e-2, atol=2e-2)


@needs_gpu
def test_cublas_path_names_the_library(cublas):
    assert "cublas" in cublas


@needs_module
def test_missing_cublas_names_what_was_tried_and_how_to_install(monkeypatch):
    monkeypatch.setenv("NNX_CUBLAS_PATH", "/nonexistent/libcublas.so.13")
    try:
        path = cuda.cublas_path()
    except RuntimeError as error:
        message = str(error)
        assert "/nonexistent/libcublas.so.13" in message
        assert "libcublas.so.12" in message
        assert "pip install 'nnx[cuda]'" in message
    else:
        pytest.skip(f"cuBLAS is installed here ({path}), so loading cannot fail")


@needs_module
def test_loader_finds_the_wheel_layout_and_preloads_cublaslt(tmp_path):
    """A stand-in libcublas.so.13 in <sys.path entry>/nvidia/cu13/lib that needs libcublasLt.so.13 from its
    own directory (on no search path): the loader must find it and load libcublasLt first. In a fresh
    interpreter, since a loaded cuBLAS stays loaded."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("needs a C compiler to build a stand-in cuBLAS")
    lib = tmp_path / "site" / "nvidia" / "cu13" / "lib"
    lib.mkdir(parents=True)
    (tmp_path / "lt.c").write_text("int cublasLtStandIn(void) { return 0; }\n")
    entry_points = ["cublasCreate_v2", "cublasSetStream_v2", "cublasSetMathMode", "cublasSgemm_v2", "cublasDgemm_v2"]
    (tmp_path / "cublas.c").write_text("int cublasLtStandIn(void);\n" + "".join(
        f"int {name}(void) {{ return cublasLtStandIn(); }}\n" for name in entry_points))
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(lib / "libcublasLt.so.13"), "-Wl,-soname,libcublasLt.so.13",
                    str(tmp_path / "lt.c")], check=True)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(lib / "libcublas.so.13"), "-Wl,-soname,libcublas.so.13",
                    str(tmp_path / "cublas.c"), f"-L{lib}", "-l:libcublasLt.so.13"], check=True)
    script = "import sys; sys.path.insert(0, sys.argv[1]); from nnx import native; print(native._cuda.cublas_path())"
    environment = {key: value for key, value in os.environ.items() if key != "NNX_CUBLAS_PATH"}
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "site")], capture_output=True, text=True,
                            env=environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(lib / "libcublas.so.13")


class TestBadInput:
    @needs_module
    def test_numpy_array_is_refused_by_name(self):
        with pytest.raises(TypeError, match="a must be an nnx._cuda.DeviceArray"):
            cuda.gemm(np.ones((1, 1), np.float32), np.ones((1, 1), np.float32), np.ones((1, 1), np.float32))

    @needs_gpu
    def test_integer_dtype(self):
        ones = to_device(np.ones((2, 2), np.int32))
        with pytest.raises(TypeError, match="a must have dtype float32 or float64"):
            cuda.gemm(ones, ones, to_device(np.ones((2, 2), np.int32)))

    @needs_gpu
    def test_mixed_dtypes(self):
        with pytest.raises(TypeError, match="b must have the dtype of a"):
            cuda.gemm(to_device(np.ones((2, 2), np.float32)), to_device(np.ones((2, 2), np.float64)),
                      to_device(np.ones((2, 2), np.float32)))

    @needs_gpu
    def test_inner_dimensions_must_agree(self):
        with pytest.raises(ValueError, match="incompatible inner dimensions"):
            cuda.gemm(to_device(np.ones((2, 3), np.float32)), to_device(np.ones((4, 2), np.float32)),
                      to_device(np.ones((2, 2), np.float32)))

    @needs_gpu
    def test_output_shape(self):
        with pytest.raises(ValueError, match=r"out must have shape \(2, 5\)"):
            cuda.gemm(to_device(np.ones((2, 3), np.float32)), to_device(np.ones((3, 5), np.float32)),
                      to_device(np.ones((5, 2), np.float32)))

    @needs_gpu
    def test_non_contiguous_is_refused(self):
        a = to_device(np.ones((4, 6), np.float32)).view((4, 3), (6, 2), 0)
        with pytest.raises(ValueError, match="a must be C-contiguous"):
            cuda.gemm(a, to_device(np.ones((3, 2), np.float32)), to_device(np.ones((4, 2), np.float32)))

    @needs_gpu
    def test_output_may_not_alias_an_input(self):
        a = to_device(np.ones((3, 3), np.float32))
        with pytest.raises(ValueError, match="out must not share memory with a"):
            cuda.gemm(a, to_device(np.ones((3, 3), np.float32)), a)
