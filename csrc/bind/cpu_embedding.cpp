// Bindings for the embedding kernels (checks in embedding_binding.h), CPU kernels.
#include "bind/embedding_binding.h"
#include "bind/registry.h"
#include "cpu/embedding.h"

namespace nnx::bind {

namespace {
struct CpuEmbedding {
  template <class T>
  static BadIndex forward(const T* weight, int64_t V, int64_t D, const int64_t* indices, int64_t n, T* out) {
    return cpu::embedding_forward(weight, V, D, indices, n, out);
  }
  template <class T>
  static BadIndex backward(const T* grad_out, const int64_t* indices, int64_t n, int64_t V, int64_t D,
                           T* grad_weight, int64_t padding_idx) {
    return cpu::embedding_backward(grad_out, indices, n, V, D, grad_weight, padding_idx);
  }
};
}  // namespace

void bind_embedding(py::module_& m) { bind_embedding_family<CpuArrays, CpuEmbedding>(m); }

}  // namespace nnx::bind
