// GEMM through BLAS (scipy-openblas32), row-major, for float and double.
#pragma once
#include <cstdint>

namespace nnx::cpu {

// C(M,N) = alpha * op(A) @ op(B) + beta * C, all row-major and contiguous.
// op(A) is (M,K): A is (M,K), or (K,M) when trans_a. op(B) is (K,N): B is (K,N), or (N,K) when trans_b.
// beta == 0 overwrites C without reading it (NaN in C does not propagate).
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta, T* C);

}  // namespace nnx::cpu
