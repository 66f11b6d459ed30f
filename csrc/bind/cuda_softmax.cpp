// CUDA bindings for softmax / log_softmax over the last axis: the checks of cpu_softmax.cpp (same messages,
// same order) on DeviceArrays, then the launcher on the arrays' device with the GIL released.
#include <string>
#include <utility>

#include "bind/cuda_checks.h"
#include "bind/cuda_registry.h"
#include "cuda/softmax.h"

namespace nnx::bind::cuda {

namespace {

// An op-family array argument: a C-contiguous DeviceArray.
DeviceArray& require_array(py::handle obj, const char* name) {
  DeviceArray& a = require_device_array(obj, name);
  require_contiguous(a, name);
  return a;
}

// (rows, cols) of an array seen as rows of its last axis.
std::pair<int64_t, int64_t> rows_and_cols(const DeviceArray& a, const char* name) {
  if (a.ndim() < 1) throw py::value_error(std::string(name) + " must have at least 1 dimension, got shape ()");
  const int64_t cols = a.shape.back();
  return {cols == 0 ? 0 : a.size() / cols, cols};
}

void softmax_forward(py::handle x_obj, py::handle out_obj, bool log) {
  DeviceArray& x = require_array(x_obj, "x");
  DeviceArray& out = require_array(out_obj, "out");
  require_float(x, "x");
  require_dtype_like(out, "out", x, "x");
  const auto [rows, cols] = rows_and_cols(x, "x");
  require_same_shape(out, "out", x, "x");
  require_same_device(out, "out", x, "x");
  require_no_overlap(out, "out", x, "x");
  launch_on(x.device(), [&, rows = rows, cols = cols] {
    if (x.dtype == DType::Float32)
      nnx::cuda::softmax_forward(ptr<float>(out), ptr<const float>(x), rows, cols, log);
    else
      nnx::cuda::softmax_forward(ptr<double>(out), ptr<const double>(x), rows, cols, log);
  });
}

void softmax_backward(py::handle grad_out_obj, py::handle out_obj, py::handle grad_in_obj, bool log) {
  DeviceArray& grad_out = require_array(grad_out_obj, "grad_out");
  DeviceArray& out = require_array(out_obj, "out");
  DeviceArray& grad_in = require_array(grad_in_obj, "grad_in");
  require_float(grad_out, "grad_out");
  require_dtype_like(out, "out", grad_out, "grad_out");
  require_dtype_like(grad_in, "grad_in", grad_out, "grad_out");
  const auto [rows, cols] = rows_and_cols(grad_out, "grad_out");
  require_same_shape(out, "out", grad_out, "grad_out");
  require_same_shape(grad_in, "grad_in", grad_out, "grad_out");
  require_same_device(out, "out", grad_out, "grad_out");
  require_same_device(grad_in, "grad_in", grad_out, "grad_out");
  require_no_overlap(grad_in, "grad_in", grad_out, "grad_out");
  require_no_overlap(grad_in, "grad_in", out, "out");
  launch_on(grad_out.device(), [&, rows = rows, cols = cols] {
    if (grad_out.dtype == DType::Float32)
      nnx::cuda::softmax_backward(ptr<float>(grad_in), ptr<const float>(grad_out), ptr<const float>(out), rows, cols,
                                  log);
    else
      nnx::cuda::softmax_backward(ptr<double>(grad_in), ptr<const double>(grad_out), ptr<const double>(out), rows,
                                  cols, log);
  });
}

}  // namespace

void bind_softmax(py::module_& m) {
  m.def("softmax_forward", &softmax_forward, py::arg("x"), py::arg("out"), py::arg("log") = false,
        "out = softmax(x) (log_softmax when log) over the last axis; x has ndim >= 1; out must not overlap x.");
  m.def("softmax_backward", &softmax_backward, py::arg("grad_out"), py::arg("out"), py::arg("grad_in"),
        py::arg("log") = false,
        "grad_in from the forward's out: softmax: out * (g - sum(g * out)); log: g - exp(out) * sum(g).");
}

}  // namespace nnx::bind::cuda
