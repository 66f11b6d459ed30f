// Bindings for dropout and the Philox uniform stream (checks in dropout_binding.h), CPU kernels.
#include "bind/dropout_binding.h"
#include "bind/registry.h"
#include "cpu/dropout.h"

namespace nnx::bind {

namespace {
struct CpuDropout {
  template <class T>
  static void forward(const T* x, int64_t n, double p, uint64_t seed, uint64_t offset, T* out, uint8_t* mask) {
    cpu::dropout_forward(x, n, p, seed, offset, out, mask);
  }
  template <class T>
  static void backward(const T* grad_out, const uint8_t* mask, int64_t n, double p, T* grad_in) {
    cpu::dropout_backward(grad_out, mask, n, p, grad_in);
  }
  template <class T>
  static void uniform(T* out, int64_t n, uint64_t seed, uint64_t offset) {
    cpu::philox_uniform(out, n, seed, offset);
  }
};
}  // namespace

void bind_dropout(py::module_& m) { bind_dropout_family<CpuArrays, CpuDropout>(m); }

}  // namespace nnx::bind
