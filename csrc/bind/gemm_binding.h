// GEMM, bound once for both devices: validation and m.def here, the BLAS / cuBLAS call from Kernels
// (cpu_gemm.cpp, cuda_gemm.cpp).
#pragma once
#include <string>

#include "bind/array_checks.h"

namespace nnx::bind {

// Kernels: template <class T> static gemm(trans_a, trans_b, M, N, K, alpha, A, B, beta, C), as csrc/cpu/gemm.h.
template <class Device, class Kernels>
void bind_gemm_family(py::module_& m) {
  m.def(
      "gemm",
      [](py::handle a_obj, py::handle b_obj, py::handle out_obj, bool trans_a, bool trans_b, double alpha,
         double beta) {
        typename Device::Array a = Device::input(a_obj, "a");
        typename Device::Array b = Device::input(b_obj, "b");
        typename Device::Array out = Device::output(out_obj, "out");
        const Float dtype = require_float(a, "a");
        require_dtype_like(b, "b", a, "a");
        require_dtype_like(out, "out", a, "a");
        require_ndim(a, "a", 2);
        require_ndim(b, "b", 2);
        require_ndim(out, "out", 2);
        const int64_t M = extent(a, trans_a ? 1 : 0), K = extent(a, trans_a ? 0 : 1);
        const int64_t K_b = extent(b, trans_b ? 1 : 0), N = extent(b, trans_b ? 0 : 1);
        if (K != K_b)
          throw py::value_error("a and b have incompatible inner dimensions: op(a) is (" + std::to_string(M) + ", " +
                                std::to_string(K) + "), op(b) is (" + std::to_string(K_b) + ", " + std::to_string(N) +
                                ")");
        require_shape(out, "out", {M, N});
        require_same_device(b, "b", a, "a");
        require_same_device(out, "out", a, "a");
        require_no_overlap(out, "out", a, "a");
        require_no_overlap(out, "out", b, "b");
        require_blas_int<Device>(M, "a");
        require_blas_int<Device>(N, "b");
        require_blas_int<Device>(K, "a");
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *A = cptr<T>(a), *B = cptr<T>(b);
          T* C = ptr<T>(out);
          Device::launch(a, [&] {
            Kernels::template gemm<T>(trans_a, trans_b, M, N, K, static_cast<T>(alpha), A, B, static_cast<T>(beta), C);
          });
        });
      },
      py::arg("a"), py::arg("b"), py::arg("out"), py::arg("trans_a") = false, py::arg("trans_b") = false,
      py::arg("alpha") = 1.0, py::arg("beta") = 0.0,
      Device::cuda ? "out = alpha * op(a) @ op(b) + beta * out through cuBLAS, op transposing when trans_a/trans_b. "
                     "All 2-D, C-contiguous, one float dtype, one device; out must not overlap a or b."
                   : "out = alpha * op(a) @ op(b) + beta * out, op transposing when trans_a/trans_b. "
                     "All 2-D, C-contiguous, one float dtype; out must not overlap a or b.");
}

}  // namespace nnx::bind
