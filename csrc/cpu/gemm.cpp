// GEMM through BLAS: the only matrix-multiply code in the CPU core; linear layers call it too.
//
// Threading: BLAS runs single-threaded and nnx splits the output across its own OpenMP threads. Two
// thread pools (OpenBLAS's pthreads and libgomp's) on the same cores fight: each spins while waiting
// for work, and a training loop that alternates GEMMs with OpenMP elementwise kernels measured 70x
// slower (9.3 s against 0.13 s for the digits demo on 2 cores). One pool removes that.
#include "core/gemm.h"

#include <cblas.h>

#include <mutex>

#include "core/parallel.h"

namespace nnx::cpu {
namespace {

// Below this many multiply-adds (about 40 µs of one core) a GEMM runs on the calling thread: waking a
// sleeping OpenMP thread costs about as much as it would save (digits-sized MLPs measured slower split).
constexpr int64_t kGemmParallelWork = int64_t{1} << 21;
// Smallest slice of the split dimension a thread gets, so each BLAS call keeps a useful panel width.
constexpr int64_t kGemmMinSlice = 32;

void use_single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { scipy_openblas_set_num_threads(1); });
}

inline void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                      const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  scipy_cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda),
                    B, static_cast<int>(ldb), beta, C, static_cast<int>(ldc));
}

inline void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
                      const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  scipy_cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda),
                    B, static_cast<int>(ldb), beta, C, static_cast<int>(ldc));
}

// K == 0 leaves only the beta term, which BLAS would reject (lda must be >= 1).
template <class T>
void scale_output(int64_t count, T beta, T* C) {
  parallel_for(count, kParallelGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) C[i] = beta == T(0) ? T(0) : beta * C[i];
  });
}

template <class T>
void gemm_impl(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta,
               T* C) {
  if (M == 0 || N == 0) return;
  if (K == 0) return scale_output(M * N, beta, C);
  use_single_threaded_blas();
  const int64_t lda = trans_a ? M : K, ldb = trans_b ? K : N, ldc = N;
  const int64_t work = M * N * K;
  const bool split_rows = M >= N;
  const int64_t split_extent = split_rows ? M : N;
  if (work < kGemmParallelWork || split_extent < 2 * kGemmMinSlice) {
    blas_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // Each thread computes a block of rows (or columns) of C with one single-threaded BLAS call.
  parallel_for(split_extent, kGemmMinSlice, [&](int64_t begin, int64_t end) {
    const int64_t count = end - begin;
    if (split_rows) {
      const T* A_rows = trans_a ? A + begin : A + begin * lda;
      blas_gemm(trans_a, trans_b, count, N, K, alpha, A_rows, lda, B, ldb, beta, C + begin * ldc, ldc);
    } else {
      const T* B_cols = trans_b ? B + begin * ldb : B + begin;
      blas_gemm(trans_a, trans_b, M, count, K, alpha, A, lda, B_cols, ldb, beta, C + begin, ldc);
    }
  });
}

}  // namespace

template <>
void gemm<float>(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 const float* B, float beta, float* C) {
  gemm_impl(trans_a, trans_b, M, N, K, alpha, A, B, beta, C);
}

template <>
void gemm<double>(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
                  const double* B, double beta, double* C) {
  gemm_impl(trans_a, trans_b, M, N, K, alpha, A, B, beta, C);
}

}  // namespace nnx::cpu
