// CUDA bindings for GEMM (cuBLAS; checks in gemm_binding.h), the TF32 switch, and where cuBLAS was found.
#include <string>
#include <vector>

#include "bind/cuda_registry.h"
#include "bind/gemm_binding.h"
#include "cuda/gemm.h"

namespace nnx::bind::cuda {

namespace {

struct CudaGemm {
  template <class T>
  static void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B,
                   T beta, T* C) {
    nnx::cuda::gemm<T>(trans_a, trans_b, M, N, K, alpha, A, B, beta, C);
  }
};

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
  bind_gemm_family<CudaArrays, CudaGemm>(m);
  m.def("set_allow_tf32", &nnx::cuda::set_allow_tf32, py::arg("allow"),
        "Lets float32 GEMMs use TF32 tensor cores (like torch.backends.cuda.matmul.allow_tf32). Default False.");
  m.def("get_allow_tf32", &nnx::cuda::get_allow_tf32, "Whether float32 GEMMs may use TF32 tensor cores.");
  m.def("cublas_path", &cublas_path,
        "The libcublas in use (loaded on first use); RuntimeError naming what was tried when none is found.");
}

}  // namespace nnx::bind::cuda
