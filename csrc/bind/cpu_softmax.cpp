// Bindings for softmax / log_softmax over the last axis: validation, then the kernel with the GIL released.
#include <utility>

#include "bind/checks.h"
#include "bind/registry.h"
#include "cpu/softmax.h"

namespace nnx::bind {

namespace {

// (rows, cols) of an array seen as rows of its last axis.
std::pair<int64_t, int64_t> rows_and_cols(const py::array& a, const char* name) {
  if (a.ndim() < 1) throw py::value_error(std::string(name) + " must have at least 1 dimension, got shape ()");
  const int64_t cols = a.shape(a.ndim() - 1);
  return {cols == 0 ? 0 : a.size() / cols, cols};
}

template <class T>
void run_forward(py::array& x, py::array& out, int64_t rows, int64_t cols, bool log) {
  const T* input = cptr<T>(x);
  T* result = ptr<T>(out);
  py::gil_scoped_release release;
  cpu::softmax_forward(result, input, rows, cols, log);
}

void softmax_forward(py::handle x_obj, py::handle out_obj, bool log) {
  py::array x = require_array(x_obj, "x");
  py::array out = require_output(out_obj, "out");
  const Float dtype = require_float(x, "x");
  require_dtype_like(out, "out", x, "x");
  const auto [rows, cols] = rows_and_cols(x, "x");
  require_same_shape(out, "out", x, "x");
  require_no_overlap(out, "out", x, "x");
  if (dtype == Float::f32)
    run_forward<float>(x, out, rows, cols, log);
  else
    run_forward<double>(x, out, rows, cols, log);
}

template <class T>
void run_backward(py::array& grad_out, py::array& out, py::array& grad_in, int64_t rows, int64_t cols, bool log) {
  const T* g = cptr<T>(grad_out);
  const T* y = cptr<T>(out);
  T* result = ptr<T>(grad_in);
  py::gil_scoped_release release;
  cpu::softmax_backward(result, g, y, rows, cols, log);
}

void softmax_backward(py::handle grad_out_obj, py::handle out_obj, py::handle grad_in_obj, bool log) {
  py::array grad_out = require_array(grad_out_obj, "grad_out");
  py::array out = require_array(out_obj, "out");
  py::array grad_in = require_output(grad_in_obj, "grad_in");
  const Float dtype = require_float(grad_out, "grad_out");
  require_dtype_like(out, "out", grad_out, "grad_out");
  require_dtype_like(grad_in, "grad_in", grad_out, "grad_out");
  const auto [rows, cols] = rows_and_cols(grad_out, "grad_out");
  require_same_shape(out, "out", grad_out, "grad_out");
  require_same_shape(grad_in, "grad_in", grad_out, "grad_out");
  require_no_overlap(grad_in, "grad_in", grad_out, "grad_out");
  require_no_overlap(grad_in, "grad_in", out, "out");
  if (dtype == Float::f32)
    run_backward<float>(grad_out, out, grad_in, rows, cols, log);
  else
    run_backward<double>(grad_out, out, grad_in, rows, cols, log);
}

}  // namespace

void bind_softmax(py::module_& m) {
  m.def("softmax_forward", &softmax_forward, py::arg("x"), py::arg("out"), py::arg("log") = false,
        "out = softmax(x) (log_softmax when log) over the last axis; x has ndim >= 1; out must not overlap x.");
  m.def("softmax_backward", &softmax_backward, py::arg("grad_out"), py::arg("out"), py::arg("grad_in"),
        py::arg("log") = false,
        "grad_in from the forward's out: softmax: out * (g - sum(g * out)); log: g - exp(out) * sum(g).");
}

}  // namespace nnx::bind
