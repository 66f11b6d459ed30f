// CUDA bindings for the embedding kernels (checks in embedding_binding.h), CUDA launchers.
#include "bind/embedding_binding.h"
#include "bind/cuda_registry.h"
#include "cuda/embedding.h"

namespace nnx::bind::cuda {

namespace {
struct CudaEmbedding {
  template <class T>
  static BadIndex forward(const T* weight, int64_t V, int64_t D, const int64_t* indices, int64_t n, T* out) {
    nnx::cuda::embedding_forward(weight, V, D, indices, n, out);
    return {};  // reported through the device's bad-index flag
  }
  template <class T>
  static BadIndex backward(const T* grad_out, const int64_t* indices, int64_t n, int64_t V, int64_t D,
                           T* grad_weight, int64_t padding_idx) {
    nnx::cuda::embedding_backward(grad_out, indices, n, V, D, grad_weight, padding_idx);
    return {};  // reported through the device's bad-index flag
  }
};
}  // namespace

void bind_embedding(py::module_& m) { bind_embedding_family<CudaArrays, CudaEmbedding>(m); }

}  // namespace nnx::bind::cuda
