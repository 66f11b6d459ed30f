// Bindings for the softmax family (placeholder until its kernels land).
#include "bind/registry.h"

namespace nnx::bind {
void bind_softmax(pybind11::module_& m) {}
}  // namespace nnx::bind
