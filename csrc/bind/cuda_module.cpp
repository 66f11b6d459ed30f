// The nnx._cuda module (built when nvcc is present): device queries and synchronisation, the error
// translation shared by every CUDA binding, then each family's bindings (cuda_registry.h).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <exception>
#include <string>

#include "bind/cuda_registry.h"
#include "cuda/runtime.h"

namespace py = pybind11;

namespace nnx::bind::cuda {
void require_device_ordinal(int device, const char* name);  // cuda_device_array.cpp
}  // namespace nnx::bind::cuda

namespace {

// A kernel recorded an out-of-range index; the synchronising call that found it raises IndexError,
// where PyTorch raises its device-side assert. CUDA errors (std::runtime_error) already become
// RuntimeError through pybind11's own translation.
void translate_bad_index(std::exception_ptr error) {
  try {
    if (error) std::rethrow_exception(error);
  } catch (const nnx::cuda::BadIndex& bad) {
    PyErr_SetString(PyExc_IndexError,
                    ("index " + std::to_string(bad.index) + " is out of bounds (found by a CUDA kernel)").c_str());
  }
}

void synchronize(int device) {
  if (device != -1) nnx::bind::cuda::require_device_ordinal(device, "device");
  py::gil_scoped_release release;
  nnx::cuda::synchronize(device);
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "nnx CUDA kernels (optional module). Every function writes into caller-provided outputs; see _cuda.pyi.";
  py::register_local_exception_translator(translate_bad_index);

  m.def("device_count", []() { return nnx::cuda::device_count(); },
        "Visible CUDA devices; 0 without a driver or device (never raises).");
  m.def("synchronize", &synchronize, py::arg("device") = -1,
        "Waits for nnx's stream on `device` (-1: every device nnx has used); raises what queued work raised.");
  m.def(
      "get_device_name",
      [](int device) {
        nnx::bind::cuda::require_device_ordinal(device, "device");
        return nnx::cuda::device_name(device);
      },
      py::arg("device") = 0);
  m.def(
      "get_device_capability",
      [](int device) {
        nnx::bind::cuda::require_device_ordinal(device, "device");
        return nnx::cuda::device_capability(device);
      },
      py::arg("device") = 0);

  namespace b = nnx::bind::cuda;
  b::bind_device_array(m);
  b::bind_elementwise(m);
  b::bind_reduce(m);
  b::bind_index(m);
  b::bind_gemm(m);
  b::bind_linear(m);
  b::bind_activations(m);
  b::bind_softmax(m);
  b::bind_losses(m);
  b::bind_dropout(m);
  b::bind_embedding(m);
  b::bind_optim(m);
  b::bind_normalization(m);
}
