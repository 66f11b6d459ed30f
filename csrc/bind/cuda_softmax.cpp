// CUDA bindings for softmax / log_softmax over the last axis (checks in softmax_binding.h), CUDA launchers.
#include "bind/cuda_registry.h"
#include "bind/softmax_binding.h"
#include "cuda/softmax.h"

namespace nnx::bind::cuda {

namespace {
struct CudaSoftmax {
  template <class T>
  static void forward(T* out, const T* x, int64_t rows, int64_t cols, bool log) {
    nnx::cuda::softmax_forward(out, x, rows, cols, log);
  }
  template <class T>
  static void backward(T* grad_in, const T* grad_out, const T* out, int64_t rows, int64_t cols, bool log) {
    nnx::cuda::softmax_backward(grad_in, grad_out, out, rows, cols, log);
  }
};
}  // namespace

void bind_softmax(py::module_& m) { bind_softmax_family<CudaArrays, CudaSoftmax>(m); }

}  // namespace nnx::bind::cuda
