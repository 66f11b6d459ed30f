// Bindings for the embedding kernels: validation (dtypes, shapes, aliasing, index range), then the
// kernel with the GIL released.
#include <string>

#include "bind/checks.h"
#include "bind/registry.h"
#include "cpu/embedding.h"

namespace nnx::bind {

namespace {

// rows(*indices.shape, D): what the forward's out and the backward's grad_out must look like.
void require_rows_shape(const py::array& a, const char* name, const py::array& indices, int64_t D) {
  bool ok = a.ndim() == indices.ndim() + 1 && a.shape(indices.ndim()) == D;
  for (py::ssize_t d = 0; ok && d < indices.ndim(); ++d) ok = a.shape(d) == indices.shape(d);
  if (ok) return;
  std::string expected = "(";
  for (py::ssize_t d = 0; d < indices.ndim(); ++d) expected += std::to_string(indices.shape(d)) + ", ";
  expected += std::to_string(D) + (indices.ndim() == 0 ? ",)" : ")");
  throw py::value_error(std::string(name) + " must have shape " + expected + " (indices.shape + (embedding_dim,)), got " +
                        shape_string(a));
}

void require_indices_in_range(const py::array& indices, int64_t V) {
  const int64_t* index = cptr<int64_t>(indices);
  for (py::ssize_t i = 0; i < indices.size(); ++i)
    if (index[i] < 0 || index[i] >= V)
      throw py::index_error("indices must be in [0, " + std::to_string(V) + ") (the rows of the weight), got " +
                            std::to_string(index[i]) + " at flat position " + std::to_string(i));
}

void embedding_forward(py::handle weight_obj, py::handle indices_obj, py::handle out_obj) {
  py::array weight = require_array(weight_obj, "weight");
  py::array indices = require_array(indices_obj, "indices");
  py::array out = require_output(out_obj, "out");
  const Float dtype = require_float(weight, "weight");
  require_ndim(weight, "weight", 2);
  require_int64(indices, "indices");
  require_dtype_like(out, "out", weight, "weight");
  const int64_t V = weight.shape(0), D = weight.shape(1), n = indices.size();
  require_rows_shape(out, "out", indices, D);
  require_no_overlap(out, "out", weight, "weight");
  require_no_overlap(out, "out", indices, "indices");
  require_indices_in_range(indices, V);
  const int64_t* index = cptr<int64_t>(indices);
  if (dtype == Float::f32) {
    const float* table = cptr<float>(weight);
    float* rows = ptr<float>(out);
    py::gil_scoped_release release;
    cpu::embedding_forward(table, V, D, index, n, rows);
  } else {
    const double* table = cptr<double>(weight);
    double* rows = ptr<double>(out);
    py::gil_scoped_release release;
    cpu::embedding_forward(table, V, D, index, n, rows);
  }
}

void embedding_backward(py::handle grad_out_obj, py::handle indices_obj, py::handle grad_weight_obj,
                        int64_t padding_idx) {
  py::array grad_out = require_array(grad_out_obj, "grad_out");
  py::array indices = require_array(indices_obj, "indices");
  py::array grad_weight = require_output(grad_weight_obj, "grad_weight");
  const Float dtype = require_float(grad_out, "grad_out");
  require_int64(indices, "indices");
  require_dtype_like(grad_weight, "grad_weight", grad_out, "grad_out");
  require_ndim(grad_weight, "grad_weight", 2);
  const int64_t V = grad_weight.shape(0), D = grad_weight.shape(1), n = indices.size();
  require_rows_shape(grad_out, "grad_out", indices, D);
  require_no_overlap(grad_weight, "grad_weight", grad_out, "grad_out");
  require_no_overlap(grad_weight, "grad_weight", indices, "indices");
  require_indices_in_range(indices, V);
  const int64_t* index = cptr<int64_t>(indices);
  if (dtype == Float::f32) {
    const float* upstream = cptr<float>(grad_out);
    float* table = ptr<float>(grad_weight);
    py::gil_scoped_release release;
    cpu::embedding_backward(upstream, index, n, V, D, table, padding_idx);
  } else {
    const double* upstream = cptr<double>(grad_out);
    double* table = ptr<double>(grad_weight);
    py::gil_scoped_release release;
    cpu::embedding_backward(upstream, index, n, V, D, table, padding_idx);
  }
}

}  // namespace

void bind_embedding(py::module_& m) {
  m.def("embedding_forward", &embedding_forward, py::arg("weight"), py::arg("indices"), py::arg("out"),
        "out(*indices.shape, D) = weight(V, D)[indices]; IndexError for an index outside [0, V).");
  m.def("embedding_backward", &embedding_backward, py::arg("grad_out"), py::arg("indices"), py::arg("grad_weight"),
        py::arg("padding_idx") = -1,
        "grad_weight(V, D)[indices[i]] += grad_out[i] in index order (duplicates accumulate, deterministic); "
        "rows whose index equals padding_idx are skipped. Adds into grad_weight.");
}

}  // namespace nnx::bind
