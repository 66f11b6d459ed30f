// Bindings for the normalization family (placeholder until its kernels land).
#include "bind/registry.h"

namespace nnx::bind {
void bind_normalization(pybind11::module_& m) {}
}  // namespace nnx::bind
