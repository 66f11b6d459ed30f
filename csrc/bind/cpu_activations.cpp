// Bindings for the elementwise activations (checks in activations_binding.h), CPU kernels.
#include "bind/activations_binding.h"
#include "bind/registry.h"
#include "cpu/activations.h"

namespace nnx::bind {

namespace {
struct CpuActivations {
  template <class T>
  static void forward(T* out, const T* x, int64_t n, Activation kind, const ActivationParams<T>& params) {
    cpu::activation_forward(out, x, n, kind, params);
  }
  template <class T>
  static void backward(T* grad_in, const T* grad_out, const T* x, const T* out, int64_t n, Activation kind,
                       const ActivationParams<T>& params) {
    cpu::activation_backward(grad_in, grad_out, x, out, n, kind, params);
  }
};
}  // namespace

void bind_activations(py::module_& m) { bind_activations_family<CpuArrays, CpuActivations>(m); }

}  // namespace nnx::bind
