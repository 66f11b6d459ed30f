// Bindings for the linear family (placeholder until its kernels land).
#include "bind/registry.h"

namespace nnx::bind {
void bind_linear(pybind11::module_& m) {}
}  // namespace nnx::bind
