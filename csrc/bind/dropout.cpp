// Bindings of dropout and the Philox uniform stream (csrc/core/dropout.h): validation (dtypes,
// shapes, aliasing, p in [0, 1], seed and offset as unsigned 64-bit integers), then the kernel with the GIL
// released. Compiled once per device (csrc/bind/device.h).
#include <string>

#include "bind/device.h"
#include "core/dropout.h"

namespace nnx::bind {

namespace {

inline void require_probability(double p) {
  if (!(p >= 0.0 && p <= 1.0)) throw py::value_error("p must be a probability in [0, 1], got " + std::to_string(p));
}

// seed and offset: any Python integer (or NumPy integer) in [0, 2**64).
inline uint64_t require_uint64(py::handle obj, const char* name) {
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

}  // namespace

void bind_dropout(py::module_& m) {
  static const std::string forward_doc =
      std::string(
          "Inverted dropout: mask(uint8) = 1 where kept (probability 1 - p), out = x * mask / (1 - p). Element i "
          "draws word i % 4 of Philox4x32-10(seed, counter = offset + i // 4)") +
      (Device::cuda ? ", the CPU's stream." : ".");
  m.def(
      "dropout_forward",
      [](py::handle x_obj, py::handle out_obj, py::handle mask_obj, double p, py::handle seed_obj,
         py::handle offset_obj) {
        Device::Array x = Device::input(x_obj, "x");
        Device::Array out = Device::output(out_obj, "out");
        Device::Array mask = Device::output(mask_obj, "mask");
        const Float dtype = require_float(x, "x");
        require_dtype_like(out, "out", x, "x");
        require_uint8(mask, "mask");
        require_same_shape(out, "out", x, "x");
        require_same_shape(mask, "mask", x, "x");
        require_same_device(out, "out", x, "x");
        require_same_device(mask, "mask", x, "x");
        require_no_overlap(out, "out", x, "x");
        require_no_overlap(mask, "mask", x, "x");
        require_no_overlap(mask, "mask", out, "out");
        require_probability(p);
        const uint64_t seed = require_uint64(seed_obj, "seed"), offset = require_uint64(offset_obj, "offset");
        const int64_t n = size_of(x);
        uint8_t* keep = ptr<uint8_t>(mask);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* input = cptr<T>(x);
          T* output = ptr<T>(out);
          Device::launch(x, [&] { dev::dropout_forward(input, n, p, seed, offset, output, keep); });
        });
      },
      py::arg("x"), py::arg("out"), py::arg("mask"), py::arg("p"), py::arg("seed"), py::arg("offset"),
      forward_doc.c_str());
  m.def(
      "dropout_backward",
      [](py::handle grad_out_obj, py::handle mask_obj, py::handle grad_in_obj, double p) {
        Device::Array grad_out = Device::input(grad_out_obj, "grad_out");
        Device::Array mask = Device::input(mask_obj, "mask");
        Device::Array grad_in = Device::output(grad_in_obj, "grad_in");
        const Float dtype = require_float(grad_out, "grad_out");
        require_uint8(mask, "mask");
        require_dtype_like(grad_in, "grad_in", grad_out, "grad_out");
        require_same_shape(mask, "mask", grad_out, "grad_out");
        require_same_shape(grad_in, "grad_in", grad_out, "grad_out");
        require_same_device(mask, "mask", grad_out, "grad_out");
        require_same_device(grad_in, "grad_in", grad_out, "grad_out");
        require_no_overlap(grad_in, "grad_in", grad_out, "grad_out");
        require_no_overlap(grad_in, "grad_in", mask, "mask");
        require_probability(p);
        const int64_t n = size_of(grad_out);
        const uint8_t* keep = cptr<uint8_t>(mask);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* upstream = cptr<T>(grad_out);
          T* output = ptr<T>(grad_in);
          Device::launch(grad_out, [&] { dev::dropout_backward(upstream, keep, n, p, output); });
        });
      },
      py::arg("grad_out"), py::arg("mask"), py::arg("grad_in"), py::arg("p"), "grad_in = grad_out * mask / (1 - p).");
  m.def(
      "philox_uniform",
      [](py::handle out_obj, py::handle seed_obj, py::handle offset_obj) {
        Device::Array out = Device::output(out_obj, "out");
        const Float dtype = require_float(out, "out");
        const uint64_t seed = require_uint64(seed_obj, "seed"), offset = require_uint64(offset_obj, "offset");
        const int64_t n = size_of(out);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          T* output = ptr<T>(out);
          Device::launch(out, [&] { dev::philox_uniform(output, n, seed, offset); });
        });
      },
      py::arg("out"), py::arg("seed"), py::arg("offset"),
      "Fills out with the uniforms in [0, 1) that dropout draws from the same (seed, offset).");
}

}  // namespace nnx::bind
