// CUDA bindings for the fused linear layer (checks in linear_binding.h), CUDA launchers.
#include "bind/linear_binding.h"
#include "bind/cuda_registry.h"
#include "cuda/linear.h"

namespace nnx::bind::cuda {

namespace {
struct CudaLinear {
  template <class T>
  static void forward(T* out, T* preact, const T* x, const T* weight, const T* bias, int64_t N, int64_t K, int64_t M,
                      Activation activation, const ActivationParams<T>& params) {
    nnx::cuda::linear_forward(out, preact, x, weight, bias, N, K, M, activation, params);
  }
  template <class T>
  static void backward(T* grad_preact, T* grad_x, T* grad_weight, T* grad_bias, const T* grad_out, const T* x,
                       const T* weight, const T* saved, int64_t N, int64_t K, int64_t M, Activation activation,
                       const ActivationParams<T>& params, bool accumulate) {
    nnx::cuda::linear_backward(grad_preact, grad_x, grad_weight, grad_bias, grad_out, x, weight, saved, N, K, M, activation,
                         params, accumulate);
  }
};
}  // namespace

void bind_linear(py::module_& m) { bind_linear_family<CudaArrays, CudaLinear>(m); }

}  // namespace nnx::bind::cuda
