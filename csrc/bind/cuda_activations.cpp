// CUDA bindings for the elementwise activations (checks in activations_binding.h), CUDA launchers.
#include "bind/activations_binding.h"
#include "bind/cuda_registry.h"
#include "cuda/activations.h"

namespace nnx::bind::cuda {

namespace {
struct CudaActivations {
  template <class T>
  static void forward(T* out, const T* x, int64_t n, Activation kind, const ActivationParams<T>& params) {
    nnx::cuda::activation_forward(out, x, n, kind, params);
  }
  template <class T>
  static void backward(T* grad_in, const T* grad_out, const T* x, const T* out, int64_t n, Activation kind,
                       const ActivationParams<T>& params) {
    nnx::cuda::activation_backward(grad_in, grad_out, x, out, n, kind, params);
  }
};
}  // namespace

void bind_activations(py::module_& m) { bind_activations_family<CudaArrays, CudaActivations>(m); }

}  // namespace nnx::bind::cuda
