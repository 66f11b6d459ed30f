// CUDA bindings for the loss kernels (checks in losses_binding.h), CUDA launchers.
#include "bind/losses_binding.h"
#include "bind/cuda_registry.h"
#include "cuda/losses.h"

namespace nnx::bind::cuda {

namespace {
struct CudaLosses {
  using Reduction = nnx::cuda::Reduction;
  template <class T>
  static BadIndex cross_entropy_forward(const T* logits, const int64_t* target, int64_t N, int64_t C, T* loss,
                                        T* logsumexp, T* grad_logits, Reduction reduction, int64_t ignore_index,
                                        double label_smoothing) {
    nnx::cuda::cross_entropy_forward(logits, target, N, C, loss, logsumexp, grad_logits, reduction, ignore_index,
                                     label_smoothing);
    return {};  // reported through the device's bad-index flag
  }
  template <class T>
  static void mse_forward(const T* input, const T* target, int64_t n, T* loss, Reduction reduction) {
    nnx::cuda::mse_loss_forward(input, target, n, loss, reduction);
  }
  template <class T>
  static void mse_backward(const T* grad_loss, const T* input, const T* target, int64_t n, T* grad_input,
                           Reduction reduction) {
    nnx::cuda::mse_loss_backward(grad_loss, input, target, n, grad_input, reduction);
  }
  template <class T>
  static void l1_forward(const T* input, const T* target, int64_t n, T* loss, Reduction reduction) {
    nnx::cuda::l1_loss_forward(input, target, n, loss, reduction);
  }
  template <class T>
  static void l1_backward(const T* grad_loss, const T* input, const T* target, int64_t n, T* grad_input,
                          Reduction reduction) {
    nnx::cuda::l1_loss_backward(grad_loss, input, target, n, grad_input, reduction);
  }
  template <class T>
  static void bce_forward(const T* input, const T* target, const T* pos_weight, int64_t n, int64_t C, T* loss,
                          Reduction reduction) {
    nnx::cuda::bce_with_logits_forward(input, target, pos_weight, n, C, loss, reduction);
  }
  template <class T>
  static void bce_backward(const T* grad_loss, const T* input, const T* target, const T* pos_weight, int64_t n,
                           int64_t C, T* grad_input, Reduction reduction) {
    nnx::cuda::bce_with_logits_backward(grad_loss, input, target, pos_weight, n, C, grad_input, reduction);
  }
};
}  // namespace

void bind_losses(py::module_& m) { bind_losses_family<CudaArrays, CudaLosses>(m); }

}  // namespace nnx::bind::cuda
