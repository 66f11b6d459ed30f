// CUDA bindings for GEMM (cuBLAS): the validation of cpu_gemm.cpp on DeviceArrays, the TF32 switch, and
// where cuBLAS was found.
#include <limits>
#include <string>
#include <vector>

#include "bind/cuda_checks.h"
#include "bind/cuda_registry.h"
#include "cuda/gemm.h"

namespace nnx::bind::cuda {

namespace {

// cuBLAS takes 32-bit sizes: refuse anything larger instead of wrapping around.
void require_cublas_int(int64_t value, const char* name) {
  if (value > std::numeric_limits<int>::max())
    throw py::value_error(std::string(name) + " has an extent of " + std::to_string(value) +
                          ", above the cuBLAS limit of 2^31-1");
}

DeviceArray& require_contiguous_array(py::handle obj, const char* name) {
  DeviceArray& a = require_device_array(obj, name);
  require_contiguous(a, name);
  return a;
}

void gemm(py::handle a_obj, py::handle b_obj, py::handle out_obj, bool trans_a, bool trans_b, double alpha,
          double beta) {
  DeviceArray& a = require_contiguous_array(a_obj, "a");
  DeviceArray& b = require_contiguous_array(b_obj, "b");
  DeviceArray& out = require_contiguous_array(out_obj, "out");
  require_float(a, "a");
  require_dtype_like(b, "b", a, "a");
  require_dtype_like(out, "out", a, "a");
  require_ndim(a, "a", 2);
  require_ndim(b, "b", 2);
  require_ndim(out, "out", 2);
  const int64_t M = trans_a ? a.shape[1] : a.shape[0], K = trans_a ? a.shape[0] : a.shape[1];
  const int64_t K_b = trans_b ? b.shape[1] : b.shape[0], N = trans_b ? b.shape[0] : b.shape[1];
  if (K != K_b)
    throw py::value_error("a and b have incompatible inner dimensions: op(a) is (" + std::to_string(M) + ", " +
                          std::to_string(K) + "), op(b) is (" + std::to_string(K_b) + ", " + std::to_string(N) + ")");
  require_shape(out, "out", {M, N});
  require_same_device(b, "b", a, "a");
  require_same_device(out, "out", a, "a");
  require_no_overlap(out, "out", a, "a");
  require_no_overlap(out, "out", b, "b");
  require_cublas_int(M, "a");
  require_cublas_int(N, "b");
  require_cublas_int(K, "a");
  launch_on(a.device(), [&] {
    if (a.dtype == DType::Float32)
      nnx::cuda::gemm<float>(trans_a, trans_b, M, N, K, static_cast<float>(alpha), ptr<const float>(a),
                             ptr<const float>(b), static_cast<float>(beta), ptr<float>(out));
    else
      nnx::cuda::gemm<double>(trans_a, trans_b, M, N, K, alpha, ptr<const double>(a), ptr<const double>(b), beta,
                              ptr<double>(out));
  });
}

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
  nnx::cuda::set_cublas_search_dirs(wheel_lib_dirs());  // sys.path may have grown since import
  py::gil_scoped_release release;
  return nnx::cuda::cublas_path();
}

}  // namespace

void bind_gemm(py::module_& m) {
  // Registered at import so that launchers called from other families (linear) find the wheel too.
  nnx::cuda::set_cublas_search_dirs(wheel_lib_dirs());
  m.def("gemm", &gemm, py::arg("a"), py::arg("b"), py::arg("out"), py::arg("trans_a") = false,
        py::arg("trans_b") = false, py::arg("alpha") = 1.0, py::arg("beta") = 0.0,
        "out = alpha * op(a) @ op(b) + beta * out through cuBLAS, op transposing when trans_a/trans_b. "
        "All 2-D, C-contiguous, one float dtype, one device; out must not overlap a or b.");
  m.def("set_allow_tf32", &nnx::cuda::set_allow_tf32, py::arg("allow"),
        "Lets float32 GEMMs use TF32 tensor cores (like torch.backends.cuda.matmul.allow_tf32). Default False.");
  m.def("get_allow_tf32", &nnx::cuda::get_allow_tf32, "Whether float32 GEMMs may use TF32 tensor cores.");
  m.def("cublas_path", &cublas_path,
        "The libcublas in use (loaded on first use); RuntimeError naming what was tried when none is found.");
}

}  // namespace nnx::bind::cuda
