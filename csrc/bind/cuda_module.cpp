// The nnx._cuda module: present only in builds with nvcc; its kernels arrive with the CUDA backend.
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "cuda/runtime.h"

namespace py = pybind11;

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "nnx CUDA kernels (optional module).";
  m.def("device_count", []() { return nnx::cuda::device_count(); }, "Number of visible CUDA devices (0 without a driver).");
  m.def("synchronize", []() {
    const char* error = nullptr;
    {
      py::gil_scoped_release release;
      error = nnx::cuda::synchronize();
    }
    if (error) throw std::runtime_error(std::string("CUDA synchronize failed: ") + error);
  });
}
