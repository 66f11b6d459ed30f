// CUDA bindings for dropout and the Philox uniform stream: the checks of cpu_dropout.cpp (dtypes, shapes,
// aliasing, p in [0, 1], seed and offset as unsigned 64-bit integers) on DeviceArrays, then the launcher.
#include <string>

#include "bind/cuda_checks.h"
#include "bind/cuda_registry.h"
#include "cuda/dropout.h"

namespace nnx::bind::cuda {

namespace {

// An op-family array argument: a C-contiguous DeviceArray.
DeviceArray& require_array(py::handle obj, const char* name) {
  DeviceArray& a = require_device_array(obj, name);
  require_contiguous(a, name);
  return a;
}

void require_probability(double p) {
  if (!(p >= 0.0 && p <= 1.0)) throw py::value_error("p must be a probability in [0, 1], got " + std::to_string(p));
}

// seed and offset: any Python integer (or NumPy integer) in [0, 2**64).
uint64_t require_uint64(py::handle obj, const char* name) {
  if (PyBool_Check(obj.ptr()) || !PyIndex_Check(obj.ptr()))
    throw py::type_error(std::string(name) + " must be an integer, got " +
                         py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  py::object value = py::reinterpret_steal<py::object>(PyNumber_Index(obj.ptr()));
  if (!value) throw py::error_already_set();
  const unsigned long long result = PyLong_AsUnsignedLongLong(value.ptr());
  if (result == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    throw py::value_error(std::string(name) + " must be an integer in [0, 2**64), got " +
                          py::str(value).cast<std::string>());
  }
  return static_cast<uint64_t>(result);
}

void dropout_forward(py::handle x_obj, py::handle out_obj, py::handle mask_obj, double p, py::handle seed_obj,
                     py::handle offset_obj) {
  DeviceArray& x = require_array(x_obj, "x");
  DeviceArray& out = require_array(out_obj, "out");
  DeviceArray& mask = require_array(mask_obj, "mask");
  require_float(x, "x");
  require_dtype_like(out, "out", x, "x");
  require_dtype(mask, "mask", DType::UInt8);
  require_same_shape(out, "out", x, "x");
  require_same_shape(mask, "mask", x, "x");
  require_same_device(out, "out", x, "x");
  require_same_device(mask, "mask", x, "x");
  require_no_overlap(out, "out", x, "x");
  require_no_overlap(mask, "mask", x, "x");
  require_no_overlap(mask, "mask", out, "out");
  require_probability(p);
  const uint64_t seed = require_uint64(seed_obj, "seed"), offset = require_uint64(offset_obj, "offset");
  const int64_t n = x.size();
  launch_on(x.device(), [&] {
    if (x.dtype == DType::Float32)
      nnx::cuda::dropout_forward(ptr<const float>(x), n, p, seed, offset, ptr<float>(out), ptr<uint8_t>(mask));
    else
      nnx::cuda::dropout_forward(ptr<const double>(x), n, p, seed, offset, ptr<double>(out), ptr<uint8_t>(mask));
  });
}

void dropout_backward(py::handle grad_out_obj, py::handle mask_obj, py::handle grad_in_obj, double p) {
  DeviceArray& grad_out = require_array(grad_out_obj, "grad_out");
  DeviceArray& mask = require_array(mask_obj, "mask");
  DeviceArray& grad_in = require_array(grad_in_obj, "grad_in");
  require_float(grad_out, "grad_out");
  require_dtype(mask, "mask", DType::UInt8);
  require_dtype_like(grad_in, "grad_in", grad_out, "grad_out");
  require_same_shape(mask, "mask", grad_out, "grad_out");
  require_same_shape(grad_in, "grad_in", grad_out, "grad_out");
  require_same_device(mask, "mask", grad_out, "grad_out");
  require_same_device(grad_in, "grad_in", grad_out, "grad_out");
  require_no_overlap(grad_in, "grad_in", grad_out, "grad_out");
  require_no_overlap(grad_in, "grad_in", mask, "mask");
  require_probability(p);
  const int64_t n = grad_out.size();
  launch_on(grad_out.device(), [&] {
    if (grad_out.dtype == DType::Float32)
      nnx::cuda::dropout_backward(ptr<const float>(grad_out), ptr<const uint8_t>(mask), n, p, ptr<float>(grad_in));
    else
      nnx::cuda::dropout_backward(ptr<const double>(grad_out), ptr<const uint8_t>(mask), n, p, ptr<double>(grad_in));
  });
}

void philox_uniform(py::handle out_obj, py::handle seed_obj, py::handle offset_obj) {
  DeviceArray& out = require_array(out_obj, "out");
  require_float(out, "out");
  const uint64_t seed = require_uint64(seed_obj, "seed"), offset = require_uint64(offset_obj, "offset");
  const int64_t n = out.size();
  launch_on(out.device(), [&] {
    if (out.dtype == DType::Float32)
      nnx::cuda::philox_uniform(ptr<float>(out), n, seed, offset);
    else
      nnx::cuda::philox_uniform(ptr<double>(out), n, seed, offset);
  });
}

}  // namespace

void bind_dropout(py::module_& m) {
  m.def("dropout_forward", &dropout_forward, py::arg("x"), py::arg("out"), py::arg("mask"), py::arg("p"),
        py::arg("seed"), py::arg("offset"),
        "Inverted dropout: mask(uint8) = 1 where kept (probability 1 - p), out = x * mask / (1 - p). Element i "
        "draws word i % 4 of Philox4x32-10(seed, counter = offset + i // 4), the CPU's stream.");
  m.def("dropout_backward", &dropout_backward, py::arg("grad_out"), py::arg("mask"), py::arg("grad_in"),
        py::arg("p"), "grad_in = grad_out * mask / (1 - p).");
  m.def("philox_uniform", &philox_uniform, py::arg("out"), py::arg("seed"), py::arg("offset"),
        "Fills out with the uniforms in [0, 1) that dropout draws from the same (seed, offset).");
}

}  // namespace nnx::bind::cuda
