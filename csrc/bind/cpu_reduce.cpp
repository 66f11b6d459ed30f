// Bindings for the reductions: column_sum (bias gradients) and row_argmax (predictions).
#include "bind/checks.h"
#include "bind/registry.h"
#include "cpu/reduce.h"

namespace nnx::bind {

namespace {

void column_sum(py::handle x_obj, py::handle out_obj, bool accumulate) {
  py::array x = require_array(x_obj, "x");
  py::array out = require_output(out_obj, "out");
  const Float dtype = require_float(x, "x");
  require_dtype_like(out, "out", x, "x");
  require_ndim(x, "x", 2);
  const int64_t N = x.shape(0), M = x.shape(1);
  require_shape(out, "out", {M});
  require_no_overlap(out, "out", x, "x");
  py::gil_scoped_release release;
  if (dtype == Float::f32)
    cpu::column_sum(cptr<float>(x), N, M, ptr<float>(out), accumulate);
  else
    cpu::column_sum(cptr<double>(x), N, M, ptr<double>(out), accumulate);
}

void row_argmax(py::handle x_obj, py::handle out_obj) {
  py::array x = require_array(x_obj, "x");
  py::array out = require_output(out_obj, "out");
  const Float dtype = require_float(x, "x");
  require_int64(out, "out");
  require_ndim(x, "x", 2);
  const int64_t N = x.shape(0), M = x.shape(1);
  if (M == 0 && N > 0) throw py::value_error("x must have at least one column to take an argmax, got shape " + shape_string(x));
  require_shape(out, "out", {N});
  py::gil_scoped_release release;
  if (dtype == Float::f32)
    cpu::row_argmax(cptr<float>(x), N, M, ptr<int64_t>(out));
  else
    cpu::row_argmax(cptr<double>(x), N, M, ptr<int64_t>(out));
}

}  // namespace

void bind_reduce(py::module_& m) {
  m.def("column_sum", &column_sum, py::arg("x"), py::arg("out"), py::arg("accumulate") = false,
        "out(M,) = x(N, M).sum(axis=0) (+ out when accumulate); float sums accumulate in double.");
  m.def("row_argmax", &row_argmax, py::arg("x"), py::arg("out"),
        "out(N,) int64 = x(N, M).argmax(axis=1); the first NaN of a row counts as its maximum, as in NumPy.");
}

}  // namespace nnx::bind
