// Bindings for softmax / log_softmax over the last axis (checks in softmax_binding.h), CPU kernels.
#include "bind/registry.h"
#include "bind/softmax_binding.h"
#include "cpu/softmax.h"

namespace nnx::bind {

namespace {
struct CpuSoftmax {
  template <class T>
  static void forward(T* out, const T* x, int64_t rows, int64_t cols, bool log) {
    cpu::softmax_forward(out, x, rows, cols, log);
  }
  template <class T>
  static void backward(T* grad_in, const T* grad_out, const T* out, int64_t rows, int64_t cols, bool log) {
    cpu::softmax_backward(grad_in, grad_out, out, rows, cols, log);
  }
};
}  // namespace

void bind_softmax(py::module_& m) { bind_softmax_family<CpuArrays, CpuSoftmax>(m); }

}  // namespace nnx::bind
