// Bindings for batch_norm and layer_norm (checks in normalization_binding.h), CPU kernels.
#include "bind/normalization_binding.h"
#include "bind/registry.h"
#include "cpu/normalization.h"

namespace nnx::bind {

namespace {
struct CpuNormalization {
  template <class T>
  static void batch_norm_forward(T* out, T* save_mean, T* save_invstd, T* running_mean, T* running_var, const T* x,
                                 const T* weight, const T* bias, int64_t N, int64_t C, bool training, double momentum,
                                 double eps) {
    cpu::batch_norm_forward(out, save_mean, save_invstd, running_mean, running_var, x, weight, bias, N, C, training,
                            momentum, eps);
  }
  template <class T>
  static void batch_norm_backward(T* grad_input, T* grad_weight, T* grad_bias, const T* grad_out, const T* x,
                                  const T* weight, const T* save_mean, const T* save_invstd, int64_t N, int64_t C,
                                  bool training) {
    cpu::batch_norm_backward(grad_input, grad_weight, grad_bias, grad_out, x, weight, save_mean, save_invstd, N, C,
                             training);
  }
  template <class T>
  static void layer_norm_forward(T* out, T* mean, T* rstd, const T* x, const T* weight, const T* bias, int64_t N,
                                 int64_t D, double eps) {
    cpu::layer_norm_forward(out, mean, rstd, x, weight, bias, N, D, eps);
  }
  template <class T>
  static void layer_norm_backward(T* grad_input, T* grad_weight, T* grad_bias, const T* grad_out, const T* x,
                                  const T* weight, const T* mean, const T* rstd, int64_t N, int64_t D) {
    cpu::layer_norm_backward(grad_input, grad_weight, grad_bias, grad_out, x, weight, mean, rstd, N, D);
  }
};
}  // namespace

void bind_normalization(py::module_& m) { bind_normalization_family<CpuArrays, CpuNormalization>(m); }

}  // namespace nnx::bind
