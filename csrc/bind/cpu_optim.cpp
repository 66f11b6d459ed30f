// Bindings for the optim family (placeholder until its kernels land).
#include "bind/registry.h"

namespace nnx::bind {
void bind_optim(pybind11::module_& m) {}
}  // namespace nnx::bind
