// Bindings for the embedding family (placeholder until its kernels land).
#include "bind/registry.h"

namespace nnx::bind {
void bind_embedding(pybind11::module_& m) {}
}  // namespace nnx::bind
