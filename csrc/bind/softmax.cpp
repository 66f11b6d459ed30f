// Bindings of softmax / log_softmax over the last axis (csrc/core/softmax.h): checks, then the
// kernel with the GIL released. Compiled once per device (csrc/bind/device.h).
#include <string>

#include "bind/device.h"
#include "core/softmax.h"

namespace nnx::bind {
namespace {

// Rows of an array seen as rows of its last axis; `cols` receives the last extent.
template <class A>
int64_t softmax_rows(const A& a, const char* name, int64_t& cols) {
  if (ndim_of(a) < 1) throw py::value_error(std::string(name) + " must have at least 1 dimension, got shape ()");
  cols = extent(a, ndim_of(a) - 1);
  return cols == 0 ? 0 : size_of(a) / cols;
}

}  // namespace

void bind_softmax(py::module_& m) {
  m.def(
      "softmax_forward",
      [](py::handle x_obj, py::handle out_obj, bool log) {
        Device::Array x = Device::input(x_obj, "x");
        Device::Array out = Device::output(out_obj, "out");
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
          Device::launch(x, [&] { dev::softmax_forward(result, input, rows, cols, log); });
        });
      },
      py::arg("x"), py::arg("out"), py::arg("log") = false,
      "out = softmax(x) (log_softmax when log) over the last axis; x has ndim >= 1; out must not overlap x.");
  m.def(
      "softmax_backward",
      [](py::handle grad_out_obj, py::handle out_obj, py::handle grad_in_obj, bool log) {
        Device::Array grad_out = Device::input(grad_out_obj, "grad_out");
        Device::Array out = Device::input(out_obj, "out");
        Device::Array grad_in = Device::output(grad_in_obj, "grad_in");
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
          Device::launch(grad_out, [&] { dev::softmax_backward(result, g, y, rows, cols, log); });
        });
      },
      py::arg("grad_out"), py::arg("out"), py::arg("grad_in"), py::arg("log") = false,
      "grad_in from the forward's out: softmax: out * (g - sum(g * out)); log: g - exp(out) * sum(g).");
}

}  // namespace nnx::bind
