// The module nnx._C (CPU) or, compiled with NNX_BIND_CUDA, nnx._cuda: its module-level functions, then the op
// families that csrc/families.txt binds on this device, in the file's order (families.inc is generated from it by
// CMakeLists.txt and tools/cuda_emu/build.py: one NNX_FAMILY(name) line per family).
#include <pybind11/pybind11.h>

#include <string>

#include "bind/device.h"

namespace nnx::bind {
#define NNX_FAMILY(name) void bind_##name(py::module_& m);
#include "families.inc"
#undef NNX_FAMILY
}  // namespace nnx::bind

#ifdef NNX_BIND_CUDA
#include <exception>

#include "cuda/runtime.h"

namespace nnx::bind {
namespace cuda {
void require_device_ordinal(int device, const char* name);  // device_array.cpp
}  // namespace cuda

namespace {

// A kernel recorded an out-of-range index; the synchronising call that found it raises IndexError,
// where PyTorch raises its device-side assert. CUDA errors (std::runtime_error) already become
// RuntimeError through pybind11's own translation.
void translate_bad_index(std::exception_ptr error) {
  try {
    if (error) std::rethrow_exception(error);
  } catch (const ::nnx::cuda::BadIndex& bad) {
    PyErr_SetString(PyExc_IndexError,
                    ("index " + std::to_string(bad.index) + " is out of bounds (found by a CUDA kernel)").c_str());
  }
}

void synchronize(int device) {
  if (device != -1) cuda::require_device_ordinal(device, "device");
  py::gil_scoped_release release;
  ::nnx::cuda::synchronize(device);
}

// Device queries and synchronisation, and the error translation shared by every CUDA binding.
void bind_module(py::module_& m) {
  m.doc() = "nnx CUDA kernels (optional module). Every function writes into caller-provided outputs; see _cuda.pyi.";
  py::register_local_exception_translator(translate_bad_index);

  m.def("device_count", []() { return ::nnx::cuda::device_count(); },
        "Visible CUDA devices; 0 without a driver or device (never raises).");
  m.def("synchronize", &synchronize, py::arg("device") = -1,
        "Waits for nnx's stream on `device` (-1: every device nnx has used); raises what queued work raised.");
  m.def(
      "get_device_name",
      [](int device) {
        cuda::require_device_ordinal(device, "device");
        return ::nnx::cuda::device_name(device);
      },
      py::arg("device") = 0);
  m.def(
      "get_device_capability",
      [](int device) {
        cuda::require_device_ordinal(device, "device");
        return ::nnx::cuda::device_capability(device);
      },
      py::arg("device") = 0);
}

}  // namespace
}  // namespace nnx::bind

#else
#include <cblas.h>
#include <omp.h>
#include <pybind11/stl.h>

#include "core/build_info.h"
#include "core/parallel.h"

namespace nnx::bind {
namespace {

// Threading controls: the kernels' OpenMP pool.
void bind_module(py::module_& m) {
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
  m.def(
      "build_config",
      []() {
        const nnx::cpu::BuildInfo info = nnx::cpu::build_info();
        py::dict config;
        config["compiler"] = info.compiler;
        config["march_native"] = info.march_native;
        config["isa"] = info.isa;
        config["openmp"] = info.openmp;
        config["cpu_features"] = nnx::cpu::cpu_features();
        config["blas_config"] = std::string(scipy_openblas_get_config());
        config["blas_corename"] = std::string(scipy_openblas_get_corename());
        config["blas_threads"] = scipy_openblas_get_num_threads();
        return config;
      },
      "What the kernels were built with and what they run on (nnx.show_config): compiler, march_native, isa (the "
      "instruction sets the kernels were compiled to use), openmp (_OPENMP), cpu_features (this CPU's, among "
      "those), blas_config, blas_corename (the OpenBLAS kernel chosen for this CPU), blas_threads.");
}

}  // namespace
}  // namespace nnx::bind
#endif

#ifdef NNX_BIND_CUDA
PYBIND11_MODULE(_cuda, m) {
#else
PYBIND11_MODULE(_C, m) {
#endif
  nnx::bind::bind_module(m);
#define NNX_FAMILY(name) nnx::bind::bind_##name(m);
#include "families.inc"
}
