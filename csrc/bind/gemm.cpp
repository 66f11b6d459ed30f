// Bindings of GEMM (csrc/core/gemm.h: BLAS on the CPU, cuBLAS on CUDA): checks, then the call with the GIL released;
// on CUDA also the TF32 switch and where cuBLAS was found. Compiled once per device (csrc/bind/device.h).
#include <string>
#include <vector>

#include "bind/device.h"
#include "core/gemm.h"
#ifdef NNX_BIND_CUDA
#include "cuda/cublas.h"
#endif

namespace nnx::bind {

#ifdef NNX_BIND_CUDA
namespace {

// The lib directories of the nvidia-cublas wheel under every sys.path entry: nvidia/cu13/lib (CUDA 13
// wheels) and nvidia/cublas/lib (CUDA 12 wheels). The loader skips those that do not exist.
std::vector<std::string> wheel_lib_dirs() {
  std::vector<std::string> dirs;
  for (py::handle entry : py::module_::import("sys").attr("path")) {
    if (!py::isinstance<py::str>(entry)) continue;
    std::string root = entry.cast<std::string>();
    if (root.empty()) continue;  // the current directory: never a place nnx looks for libraries
    dirs.push_back(root + "/nvidia/cu13/lib");
    dirs.push_back(root + "/nvidia/cublas/lib");
  }
  return dirs;
}

std::string cublas_path() {
  dev::set_cublas_search_dirs(wheel_lib_dirs());  // sys.path may have grown since import
  py::gil_scoped_release release;
  return dev::cublas_path();
}

}  // namespace
#endif

void bind_gemm(py::module_& m) {
#ifdef NNX_BIND_CUDA
  // Registered at import so that launchers called from other families (linear) find the wheel too.
  dev::set_cublas_search_dirs(wheel_lib_dirs());
#endif
  m.def(
      "gemm",
      [](py::handle a_obj, py::handle b_obj, py::handle out_obj, bool trans_a, bool trans_b, double alpha,
         double beta) {
        Device::Array a = Device::input(a_obj, "a");
        Device::Array b = Device::input(b_obj, "b");
        Device::Array out = Device::output(out_obj, "out");
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
            dev::gemm<T>(trans_a, trans_b, M, N, K, static_cast<T>(alpha), A, B, static_cast<T>(beta), C);
          });
        });
      },
      py::arg("a"), py::arg("b"), py::arg("out"), py::arg("trans_a") = false, py::arg("trans_b") = false,
      py::arg("alpha") = 1.0, py::arg("beta") = 0.0,
      Device::cuda ? "out = alpha * op(a) @ op(b) + beta * out through cuBLAS, op transposing when trans_a/trans_b. "
                     "All 2-D, C-contiguous, one float dtype, one device; out must not overlap a or b."
                   : "out = alpha * op(a) @ op(b) + beta * out, op transposing when trans_a/trans_b. "
                     "All 2-D, C-contiguous, one float dtype; out must not overlap a or b.");
#ifdef NNX_BIND_CUDA
  m.def("set_allow_tf32", &dev::set_allow_tf32, py::arg("allow"),
        "Lets float32 GEMMs use TF32 tensor cores (like torch.backends.cuda.matmul.allow_tf32). Default False.");
  m.def("get_allow_tf32", &dev::get_allow_tf32, "Whether float32 GEMMs may use TF32 tensor cores.");
  m.def("cublas_path", &cublas_path,
        "The libcublas in use (loaded on first use); RuntimeError naming what was tried when none is found.");
#endif
}

}  // namespace nnx::bind
