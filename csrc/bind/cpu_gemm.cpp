// Bindings for GEMM (checks in gemm_binding.h): the BLAS call with the GIL released.
#include "bind/gemm_binding.h"
#include "bind/registry.h"
#include "cpu/gemm.h"

namespace nnx::bind {

namespace {
struct CpuGemm {
  template <class T>
  static void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B,
                   T beta, T* C) {
    cpu::gemm<T>(trans_a, trans_b, M, N, K, alpha, A, B, beta, C);
  }
};
}  // namespace

void bind_gemm(py::module_& m) { bind_gemm_family<CpuArrays, CpuGemm>(m); }

}  // namespace nnx::bind
