// The nnx._C module: threading controls plus every op family's bindings.
#include <omp.h>

#include "bind/registry.h"
#include "core/parallel.h"

namespace py = pybind11;

PYBIND11_MODULE(_C, m) {
  m.doc() = "nnx native CPU kernels. Every function writes into caller-provided outputs; see _C.pyi.";
  m.def("get_num_threads", []() { return nnx::max_threads(); }, "Threads the kernels use (OpenMP).");
  m.def(
      "set_num_threads",
      [](int n) {
        if (n < 1) throw py::value_error("n must be >= 1, got " + std::to_string(n));
        nnx::process_num_threads.store(n);
        omp_set_num_threads(n);
      },
      py::arg("n"), "Set the number of threads the kernels use, in every Python thread.");
  nnx::bind::bind_gemm(m);
  nnx::bind::bind_reduce(m);
  nnx::bind::bind_linear(m);
  nnx::bind::bind_activations(m);
  nnx::bind::bind_softmax(m);
  nnx::bind::bind_losses(m);
  nnx::bind::bind_dropout(m);
  nnx::bind::bind_embedding(m);
  nnx::bind::bind_optim(m);
  nnx::bind::bind_normalization(m);
}
