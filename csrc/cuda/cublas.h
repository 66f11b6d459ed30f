// CUDA-only parts of the gemm family (the kernels' declaration is core/gemm.h): loading cuBLAS, which gemm.cu opens
// with dlopen on first use (never linked, so the module imports without it), and the TF32 switch. The CPU's BLAS is
// linked and has neither. Host-compiler clean: the binding includes this.
#pragma once
#include <string>
#include <vector>

namespace nnx::cuda {

// float32 GEMMs may use TF32 tensor cores (CUBLAS_TF32_TENSOR_OP_MATH) when allowed; default false.
void set_allow_tf32(bool allow);
bool get_allow_tf32();

// Directories to search for libcublas after NNX_CUBLAS_PATH and before the loader's default paths (the
// binding passes the nvidia-cublas wheel's lib directories found on sys.path).
void set_cublas_search_dirs(std::vector<std::string> dirs);

// Loads cuBLAS if it is not loaded yet and returns the path of the library in use; throws
// std::runtime_error naming every candidate tried and how to install cuBLAS.
std::string cublas_path();

}  // namespace nnx::cuda
