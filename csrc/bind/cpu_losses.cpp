// Bindings for the losses family (placeholder until its kernels land).
#include "bind/registry.h"

namespace nnx::bind {
void bind_losses(pybind11::module_& m) {}
}  // namespace nnx::bind
