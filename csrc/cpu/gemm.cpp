// GEMM through BLAS: the only matrix-multiply code in the CPU core; linear layers call it too.
#include "cpu/gemm.h"

#include <cblas.h>

#include "core/parallel.h"

namespace nnx::cpu {
namespace {

// K == 0 leaves only the beta term, which BLAS would reject (lda must be >= 1).
template <class T>
void scale_output(int64_t count, T beta, T* C) {
  parallel_for(count, kParallelGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) C[i] = beta == T(0) ? T(0) : beta * C[i];
  });
}

}  // namespace

template <>
void gemm<float>(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 const float* B, float beta, float* C) {
  if (M == 0 || N == 0) return;
  if (K == 0) return scale_output(M * N, beta, C);
  scipy_cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A,
                    static_cast<int>(trans_a ? M : K), B, static_cast<int>(trans_b ? K : N), beta, C,
                    static_cast<int>(N));
}

template <>
void gemm<double>(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
                  const double* B, double beta, double* C) {
  if (M == 0 || N == 0) return;
  if (K == 0) return scale_output(M * N, beta, C);
  scipy_cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A,
                    static_cast<int>(trans_a ? M : K), B, static_cast<int>(trans_b ? K : N), beta, C,
                    static_cast<int>(N));
}

}  // namespace nnx::cpu
