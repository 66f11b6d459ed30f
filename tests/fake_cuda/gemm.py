"""gemm's CUDA-only functions: the TF32 switch (recorded only: the fake's float32 GEMM is exact FP32) and the path of
the cuBLAS the module loaded. gemm itself runs nnx._C's kernel."""
_allow_tf32 = False


def set_allow_tf32(allow):
    global _allow_tf32
    _allow_tf32 = bool(allow)


def get_allow_tf32():
    return _allow_tf32


def cublas_path():
    return "<fake_cuda: NumPy/BLAS on the host>"
