// Bindings for GEMM: validation, then the BLAS call with the GIL released.
#include "bind/checks.h"
#include "bind/registry.h"
#include "cpu/gemm.h"

namespace nnx::bind {

namespace {

template <class T>
void run_gemm(py::array& a, py::array& b, py::array& out, bool trans_a, bool trans_b, double alpha, double beta,
              int64_t M, int64_t N, int64_t K) {
  const T* A = cptr<T>(a);
  const T* B = cptr<T>(b);
  T* C = ptr<T>(out);
  py::gil_scoped_release release;
  cpu::gemm<T>(trans_a, trans_b, M, N, K, static_cast<T>(alpha), A, B, static_cast<T>(beta), C);
}

void gemm(py::handle a_obj, py::handle b_obj, py::handle out_obj, bool trans_a, bool trans_b, double alpha,
          double beta) {
  py::array a = require_array(a_obj, "a");
  py::array b = require_array(b_obj, "b");
  py::array out = require_output(out_obj, "out");
  const Float dtype = require_float(a, "a");
  require_dtype_like(b, "b", a, "a");
  require_dtype_like(out, "out", a, "a");
  require_ndim(a, "a", 2);
  require_ndim(b, "b", 2);
  require_ndim(out, "out", 2);
  const int64_t M = trans_a ? a.shape(1) : a.shape(0), K = trans_a ? a.shape(0) : a.shape(1);
  const int64_t K_b = trans_b ? b.shape(1) : b.shape(0), N = trans_b ? b.shape(0) : b.shape(1);
  if (K != K_b)
    throw py::value_error("a and b have incompatible inner dimensions: op(a) is (" + std::to_string(M) + ", " +
                          std::to_string(K) + "), op(b) is (" + std::to_string(K_b) + ", " + std::to_string(N) + ")");
  require_shape(out, "out", {M, N});
  require_no_overlap(out, "out", a, "a");
  require_no_overlap(out, "out", b, "b");
  blas_int(M, "a");
  blas_int(N, "b");
  blas_int(K, "a");
  if (dtype == Float::f32)
    run_gemm<float>(a, b, out, trans_a, trans_b, alpha, beta, M, N, K);
  else
    run_gemm<double>(a, b, out, trans_a, trans_b, alpha, beta, M, N, K);
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def("gemm", &gemm, py::arg("a"), py::arg("b"), py::arg("out"), py::arg("trans_a") = false,
        py::arg("trans_b") = false, py::arg("alpha") = 1.0, py::arg("beta") = 0.0,
        "out = alpha * op(a) @ op(b) + beta * out, op transposing when trans_a/trans_b. "
        "All 2-D, C-contiguous, one float dtype; out must not overlap a or b.");
}

}  // namespace nnx::bind
