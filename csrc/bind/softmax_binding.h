// softmax / log_softmax over the last axis, bound once for both devices: the checks and m.def live here,
// the kernels come from Kernels (cpu_softmax.cpp, cuda_softmax.cpp).
#pragma once
#include <string>

#include "bind/array_checks.h"

namespace nnx::bind {

// Rows of an array seen as rows of its last axis; `cols` receives the last extent.
template <class A>
int64_t softmax_rows(const A& a, const char* name, int64_t& cols) {
  if (ndim_of(a) < 1) throw py::value_error(std::string(name) + " must have at least 1 dimension, got shape ()");
  cols = extent(a, ndim_of(a) - 1);
  return cols == 0 ? 0 : size_of(a) / cols;
}

// Kernels: template <class T> static forward(T* out, const T* x, rows, cols, log) and
// backward(T* grad_in, const T* grad_out, const T* out, rows, cols, log).
template <class Device, class Kernels>
void bind_softmax_family(py::module_& m) {
  m.def(
      "softmax_forward",
      [](py::handle x_obj, py::handle out_obj, bool log) {
        typename Device::Array x = Device::input(x_obj, "x");
        typename Device::Array out = Device::output(out_obj, "out");
        const Float dtype = require_float(x, "x");
        require_dtype_like(out, "out", x, "x");
        int64_t cols = 0;
        const int64_t rows = softmax_rows(x, "x", cols);
        require_same_shape(out, "out", x, "x");
        require_same_device(out, "out", x, "x");
        require_no_overlap(out, "out", x, "x");
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* input = cptr<T>(x);
          T* result = ptr<T>(out);
          Device::launch(x, [&] { Kernels::forward(result, input, rows, cols, log); });
        });
      },
      py::arg("x"), py::arg("out"), py::arg("log") = false,
      "out = softmax(x) (log_softmax when log) over the last axis; x has ndim >= 1; out must not overlap x.");
  m.def(
      "softmax_backward",
      [](py::handle grad_out_obj, py::handle out_obj, py::handle grad_in_obj, bool log) {
        typename Device::Array grad_out = Device::input(grad_out_obj, "grad_out");
        typename Device::Array out = Device::input(out_obj, "out");
        typename Device::Array grad_in = Device::output(grad_in_obj, "grad_in");
        const Float dtype = require_float(grad_out, "grad_out");
        require_dtype_like(out, "out", grad_out, "grad_out");
        require_dtype_like(grad_in, "grad_in", grad_out, "grad_out");
        int64_t cols = 0;
        const int64_t rows = softmax_rows(grad_out, "grad_out", cols);
        require_same_shape(out, "out", grad_out, "grad_out");
        require_same_shape(grad_in, "grad_in", grad_out, "grad_out");
        require_same_device(out, "out", grad_out, "grad_out");
        require_same_device(grad_in, "grad_in", grad_out, "grad_out");
        require_no_overlap(grad_in, "grad_in", grad_out, "grad_out");
        require_no_overlap(grad_in, "grad_in", out, "out");
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* g = cptr<T>(grad_out);
          const T* y = cptr<T>(out);
          T* result = ptr<T>(grad_in);
          Device::launch(grad_out, [&] { Kernels::backward(result, g, y, rows, cols, log); });
        });
      },
      py::arg("grad_out"), py::arg("out"), py::arg("grad_in"), py::arg("log") = false,
      "grad_in from the forward's out: softmax: out * (g - sum(g * out)); log: g - exp(out) * sum(g).");
}

}  // namespace nnx::bind
