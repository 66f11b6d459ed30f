// One registration function per op family; each lives in csrc/bind/cpu_<family>.cpp.
#pragma once
#include <pybind11/pybind11.h>

namespace nnx::bind {
void bind_gemm(pybind11::module_& m);
void bind_reduce(pybind11::module_& m);
void bind_linear(pybind11::module_& m);
void bind_activations(pybind11::module_& m);
void bind_softmax(pybind11::module_& m);
void bind_losses(pybind11::module_& m);
void bind_dropout(pybind11::module_& m);
void bind_embedding(pybind11::module_& m);
void bind_optim(pybind11::module_& m);
void bind_normalization(pybind11::module_& m);
}  // namespace nnx::bind
