// Bindings for the dropout family (placeholder until its kernels land).
#include "bind/registry.h"

namespace nnx::bind {
void bind_dropout(pybind11::module_& m) {}
}  // namespace nnx::bind
