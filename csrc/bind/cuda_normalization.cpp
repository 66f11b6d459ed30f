// CUDA bindings for batch_norm and layer_norm (checks in normalization_binding.h), CUDA launchers.
#include "bind/normalization_binding.h"
#include "bind/cuda_registry.h"
#include "cuda/normalization.h"

namespace nnx::bind::cuda {

namespace {
struct CudaNormalization {
  template <class T>
  static void batch_norm_forward(T* out, T* save_mean, T* save_invstd, T* running_mean, T* running_var, const T* x,
                                 const T* weight, const T* bias, int64_t N, int64_t C, bool training, double momentum,
                                 double eps) {
    nnx::cuda::batch_norm_forward(out, save_mean, save_invstd, running_mean, running_var, x, weight, bias, N, C, training,
                            momentum, eps);
  }
  template <class T>
  static void batch_norm_backward(T* grad_input, T* grad_weight, T* grad_bias, const T* grad_out, const T* x,
                                  const T* weight, const T* save_mean, const T* save_invstd, int64_t N, int64_t C,
                                  bool training) {
    nnx::cuda::batch_norm_backward(grad_input, grad_weight, grad_bias, grad_out, x, weight, save_mean, save_invstd, N, C,
                             training);
  }
  template <class T>
  static void layer_norm_forward(T* out, T* mean, T* rstd, const T* x, const T* weight, const T* bias, int64_t N,
                                 int64_t D, double eps) {
    nnx::cuda::layer_norm_forward(out, mean, rstd, x, weight, bias, N, D, eps);
  }
  template <class T>
  static void layer_norm_backward(T* grad_input, T* grad_weight, T* grad_bias, const T* grad_out, const T* x,
                                  const T* weight, const T* mean, const T* rstd, int64_t N, int64_t D) {
    nnx::cuda::layer_norm_backward(grad_input, grad_weight, grad_bias, grad_out, x, weight, mean, rstd, N, D);
  }
};
}  // namespace

void bind_normalization(py::module_& m) { bind_normalization_family<CudaArrays, CudaNormalization>(m); }

}  // namespace nnx::bind::cuda
