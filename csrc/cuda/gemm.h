// GEMM on the GPU through cuBLAS, which is loaded with dlopen on first use (never linked), so the module
// imports without it. Host-compiler clean: bindings and other families' launchers include this.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nnx::cuda {

// C(m,n) = alpha * op(A) @ op(B) + beta * C, all row-major and contiguous, exactly like nnx::cpu::gemm:
// op(A) is (m,k): A is (m,k), or (k,m) when trans_a. op(B) is (k,n): B is (k,n), or (n,k) when trans_b.
// beta == 0 overwrites C without reading it. Sizes must fit in int (the binding checks). Queued on
// current_stream(); throws std::runtime_error when cuBLAS cannot be loaded or fails.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, const T* b, T beta, T* c);

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
