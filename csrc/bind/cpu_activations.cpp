// Bindings for the activations family (placeholder until its kernels land).
#include "bind/registry.h"

namespace nnx::bind {
void bind_activations(pybind11::module_& m) {}
}  // namespace nnx::bind
