// GEMM, row-major, for float and double, declared once for the device a translation unit is compiled for
// (nnx::NNX_DEVICE: core/device_namespace.h). Host-compiler clean: bindings and other families' kernels include it.
// CPU: through BLAS (scipy-openblas32). CUDA: through cuBLAS, loaded with dlopen on first use (never linked), so the
// module imports without it; loading it and the TF32 switch are CUDA-only (cuda/cublas.h).
#pragma once
#include <cstdint>

#include "core/device_namespace.h"

namespace nnx::NNX_DEVICE {

// C(M,N) = alpha * op(A) @ op(B) + beta * C, all row-major and contiguous.
// op(A) is (M,K): A is (M,K), or (K,M) when trans_a. op(B) is (K,N): B is (K,N), or (N,K) when trans_b.
// beta == 0 overwrites C without reading it (NaN in C does not propagate).
// CUDA: sizes must fit in int (the binding checks); queued on current_stream(); throws std::runtime_error when
// cuBLAS cannot be loaded or fails.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta, T* C);

}  // namespace nnx::NNX_DEVICE
