// CUDA bindings for the embedding kernels: the checks of cpu_embedding.cpp (dtypes, shapes, aliasing) on
// DeviceArrays. Index values are on the device, so their range is checked by the kernels instead: a bad
// index raises IndexError at the next synchronising call.
#include <string>

#include "bind/cuda_checks.h"
#include "bind/cuda_registry.h"
#include "cuda/embedding.h"

namespace nnx::bind::cuda {

namespace {

// An op-family array argument: a C-contiguous DeviceArray.
DeviceArray& require_array(py::handle obj, const char* name) {
  DeviceArray& a = require_device_array(obj, name);
  require_contiguous(a, name);
  return a;
}

// rows(*indices.shape, D): what the forward's out and the backward's grad_out must look like.
void require_rows_shape(const DeviceArray& a, const char* name, const DeviceArray& indices, int64_t D) {
  bool ok = a.ndim() == indices.ndim() + 1 && a.shape[indices.ndim()] == D;
  for (int64_t d = 0; ok && d < indices.ndim(); ++d) ok = a.shape[d] == indices.shape[d];
  if (ok) return;
  std::string expected = "(";
  for (int64_t d = 0; d < indices.ndim(); ++d) expected += std::to_string(indices.shape[d]) + ", ";
  expected += std::to_string(D) + (indices.ndim() == 0 ? ",)" : ")");
  throw py::value_error(std::string(name) + " must have shape " + expected + " (indices.shape + (embedding_dim,)), got " +
                        a.shape_string());
}

void embedding_forward(py::handle weight_obj, py::handle indices_obj, py::handle out_obj) {
  DeviceArray& weight = require_array(weight_obj, "weight");
  DeviceArray& indices = require_array(indices_obj, "indices");
  DeviceArray& out = require_array(out_obj, "out");
  require_float(weight, "weight");
  require_ndim(weight, "weight", 2);
  require_dtype(indices, "indices", DType::Int64);
  require_dtype_like(out, "out", weight, "weight");
  const int64_t V = weight.shape[0], D = weight.shape[1], n = indices.size();
  require_rows_shape(out, "out", indices, D);
  require_same_device(indices, "indices", weight, "weight");
  require_same_device(out, "out", weight, "weight");
  require_no_overlap(out, "out", weight, "weight");
  require_no_overlap(out, "out", indices, "indices");
  launch_on(weight.device(), [&] {
    const int64_t* index = ptr<const int64_t>(indices);
    if (weight.dtype == DType::Float32)
      nnx::cuda::embedding_forward(ptr<const float>(weight), V, D, index, n, ptr<float>(out));
    else
      nnx::cuda::embedding_forward(ptr<const double>(weight), V, D, index, n, ptr<double>(out));
  });
}

void embedding_backward(py::handle grad_out_obj, py::handle indices_obj, py::handle grad_weight_obj,
                        int64_t padding_idx) {
  DeviceArray& grad_out = require_array(grad_out_obj, "grad_out");
  DeviceArray& indices = require_array(indices_obj, "indices");
  DeviceArray& grad_weight = require_array(grad_weight_obj, "grad_weight");
  require_float(grad_out, "grad_out");
  require_dtype(indices, "indices", DType::Int64);
  require_dtype_like(grad_weight, "grad_weight", grad_out, "grad_out");
  require_ndim(grad_weight, "grad_weight", 2);
  const int64_t V = grad_weight.shape[0], D = grad_weight.shape[1], n = indices.size();
  require_rows_shape(grad_out, "grad_out", indices, D);
  require_same_device(indices, "indices", grad_out, "grad_out");
  require_same_device(grad_weight, "grad_weight", grad_out, "grad_out");
  require_no_overlap(grad_weight, "grad_weight", grad_out, "grad_out");
  require_no_overlap(grad_weight, "grad_weight", indices, "indices");
  launch_on(grad_out.device(), [&] {
    const int64_t* index = ptr<const int64_t>(indices);
    if (grad_out.dtype == DType::Float32)
      nnx::cuda::embedding_backward(ptr<const float>(grad_out), index, n, V, D, ptr<float>(grad_weight), padding_idx);
    else
      nnx::cuda::embedding_backward(ptr<const double>(grad_out), index, n, V, D, ptr<double>(grad_weight),
                                    padding_idx);
  });
}

}  // namespace

void bind_embedding(py::module_& m) {
  m.def("embedding_forward", &embedding_forward, py::arg("weight"), py::arg("indices"), py::arg("out"),
        "out(*indices.shape, D) = weight(V, D)[indices]; an index outside [0, V) raises IndexError at the next "
        "synchronisation (its row is written as zeros).");
  m.def("embedding_backward", &embedding_backward, py::arg("grad_out"), py::arg("indices"), py::arg("grad_weight"),
        py::arg("padding_idx") = -1,
        "grad_weight(V, D)[indices[i]] += grad_out[i] with atomic adds (duplicates accumulate; the last bits may "
        "vary between runs); rows whose index equals padding_idx are skipped. Adds into grad_weight.");
}

}  // namespace nnx::bind::cuda
