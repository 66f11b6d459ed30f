// CUDA bindings for dropout and the Philox uniform stream (checks in dropout_binding.h), CUDA launchers.
#include "bind/dropout_binding.h"
#include "bind/cuda_registry.h"
#include "cuda/dropout.h"

namespace nnx::bind::cuda {

namespace {
struct CudaDropout {
  template <class T>
  static void forward(const T* x, int64_t n, double p, uint64_t seed, uint64_t offset, T* out, uint8_t* mask) {
    nnx::cuda::dropout_forward(x, n, p, seed, offset, out, mask);
  }
  template <class T>
  static void backward(const T* grad_out, const uint8_t* mask, int64_t n, double p, T* grad_in) {
    nnx::cuda::dropout_backward(grad_out, mask, n, p, grad_in);
  }
  template <class T>
  static void uniform(T* out, int64_t n, uint64_t seed, uint64_t offset) {
    nnx::cuda::philox_uniform(out, n, seed, offset);
  }
};
}  // namespace

void bind_dropout(py::module_& m) { bind_dropout_family<CudaArrays, CudaDropout>(m); }

}  // namespace nnx::bind::cuda
