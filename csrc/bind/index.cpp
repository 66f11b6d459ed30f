// CUDA bindings for the gathers and scatters along one axis of (outer, length, inner) views, and nonzero.
// Index values live on the device: the kernels check them (IndexError at the next synchronisation); the
// binding checks everything it can see on the host.
#ifndef NNX_BIND_CUDA
#error "bound on cuda only (csrc/families.txt): compiled with NNX_BIND_CUDA"
#endif
#include <string>
#include <utility>

#include "bind/device.h"
#include "cuda/index.h"

namespace nnx::bind {
namespace cuda {

namespace {

// The middle extent m of an (outer, m, inner) array (0 when outer * inner is 0, where every size is 0).
int64_t middle_extent(const DeviceArray& a, const char* name, int64_t outer, int64_t inner) {
  const int64_t lines = outer * inner;
  if (lines == 0) {
    require_size(a, name, 0, "outer * inner * m");
    return 0;
  }
  if (a.size() % lines != 0)
    throw py::value_error(std::string(name) + " must have a multiple of outer * inner = " + std::to_string(lines) +
                          " elements, got shape " + a.shape_string());
  return a.size() / lines;
}

DeviceArray& require_index_array(py::handle obj, const char* name) {
  DeviceArray& indices = require_contiguous_array(obj, name);
  require_dtype(indices, name, DType::Int64);
  return indices;
}

// Every index is out of range on an empty axis: say so now rather than at the next synchronisation.
void require_nonempty_axis(int64_t length, int64_t picked) {
  if (length == 0 && picked > 0)
    throw py::index_error("indices: index out of range for an axis of size 0 (length is 0)");
}

void index_select(py::handle src_obj, py::handle indices_obj, py::handle out_obj, int64_t outer, int64_t length,
                  int64_t inner) {
  DeviceArray& indices = require_index_array(indices_obj, "indices");
  require_ndim(indices, "indices", 1);
  DeviceArray& src = require_contiguous_array(src_obj, "src");
  DeviceArray& out = require_contiguous_array(out_obj, "out");
  const int64_t count = indices.shape[0];
  require_size(src, "src", require_extents(outer, length, inner), "outer * length * inner");
  require_size(out, "out", outer * count * inner, "outer * indices.size * inner");
  require_dtype_like(out, "out", src, "src");
  require_same_device(indices, "indices", src, "src");
  require_same_device(out, "out", src, "src");
  require_no_overlap(out, "out", src, "src");
  require_no_overlap(out, "out", indices, "indices");
  require_nonempty_axis(length, out.size());
  launch_on(src.device(), [&] {
    nnx::cuda::index_select(src.dtype, src.data(), ptr<const int64_t>(indices), out.data(), outer, length, inner,
                            count);
  });
}

void index_add(py::handle grad_obj, py::handle indices_obj, py::handle out_obj, int64_t outer, int64_t length,
               int64_t inner) {
  DeviceArray& indices = require_index_array(indices_obj, "indices");
  require_ndim(indices, "indices", 1);
  DeviceArray& grad = require_contiguous_array(grad_obj, "grad");
  DeviceArray& out = require_contiguous_array(out_obj, "out");
  const int64_t count = indices.shape[0];
  require_size(out, "out", require_extents(outer, length, inner), "outer * length * inner");
  require_size(grad, "grad", outer * count * inner, "outer * indices.size * inner");
  require_dtype_like(grad, "grad", out, "out");
  require_same_device(indices, "indices", out, "out");
  require_same_device(grad, "grad", out, "out");
  require_no_overlap(out, "out", grad, "grad");
  require_no_overlap(out, "out", indices, "indices");
  require_nonempty_axis(length, grad.size());
  launch_on(out.device(), [&] {
    nnx::cuda::index_add(out.dtype, grad.data(), ptr<const int64_t>(indices), out.data(), outer, length, inner, count);
  });
}

void take_along(py::handle src_obj, py::handle indices_obj, py::handle out_obj, int64_t outer, int64_t length,
                int64_t inner) {
  DeviceArray& src = require_contiguous_array(src_obj, "src");
  DeviceArray& indices = require_index_array(indices_obj, "indices");
  DeviceArray& out = require_contiguous_array(out_obj, "out");
  require_size(src, "src", require_extents(outer, length, inner), "outer * length * inner");
  const int64_t count = middle_extent(out, "out", outer, inner);
  require_size(indices, "indices", out.size(), "out.size");
  require_dtype_like(out, "out", src, "src");
  require_same_device(indices, "indices", src, "src");
  require_same_device(out, "out", src, "src");
  require_no_overlap(out, "out", src, "src");
  require_no_overlap(out, "out", indices, "indices");
  require_nonempty_axis(length, out.size());
  launch_on(src.device(), [&] {
    nnx::cuda::take_along(src.dtype, src.data(), ptr<const int64_t>(indices), out.data(), outer, length, inner, count);
  });
}

void put_along(py::handle values_obj, py::handle indices_obj, py::handle out_obj, int64_t outer, int64_t length,
               int64_t inner, bool accumulate) {
  DeviceArray& values = require_contiguous_array(values_obj, "values");
  DeviceArray& indices = require_index_array(indices_obj, "indices");
  DeviceArray& out = require_contiguous_array(out_obj, "out");
  require_size(out, "out", require_extents(outer, length, inner), "outer * length * inner");
  const int64_t count = middle_extent(values, "values", outer, inner);
  require_size(indices, "indices", values.size(), "values.size");
  require_dtype_like(values, "values", out, "out");
  require_same_device(indices, "indices", out, "out");
  require_same_device(values, "values", out, "out");
  require_no_overlap(out, "out", values, "values");
  require_no_overlap(out, "out", indices, "indices");
  require_nonempty_axis(length, values.size());
  launch_on(out.device(), [&] {
    nnx::cuda::put_along(out.dtype, values.data(), ptr<const int64_t>(indices), out.data(), outer, length, inner,
                         count, accumulate);
  });
}

DeviceArray& require_mask(py::handle obj) {
  DeviceArray& mask = require_contiguous_array(obj, "mask");
  require_dtype(mask, "mask", DType::Bool);
  return mask;
}

int64_t nonzero_count(py::handle mask_obj) {
  DeviceArray& mask = require_mask(mask_obj);
  int64_t count = 0;
  launch_on(mask.device(), [&] { count = nnx::cuda::nonzero_count(ptr<const uint8_t>(mask), mask.size()); });
  return count;
}

void nonzero(py::handle mask_obj, py::handle out_obj) {
  DeviceArray& mask = require_mask(mask_obj);
  if (mask.ndim() > nnx::cuda::kMaxNonzeroDims)
    throw py::value_error("mask must have at most " + std::to_string(nnx::cuda::kMaxNonzeroDims) +
                          " dimensions, got " + std::to_string(mask.ndim()));
  DeviceArray& out = require_contiguous_array(out_obj, "out");
  require_dtype(out, "out", DType::Int64);
  require_shape(out, "out", {-1, mask.ndim()});
  require_same_device(out, "out", mask, "mask");
  require_no_overlap(out, "out", mask, "mask");
  launch_on(mask.device(), [&] {
    nnx::cuda::nonzero(ptr<const uint8_t>(mask), mask.shape, ptr<int64_t>(out), out.shape[0]);
  });
}

}  // namespace

}  // namespace cuda

void bind_index(py::module_& m) {
  using namespace cuda;  // the helpers above
  m.def("index_select", &index_select, py::arg("src"), py::arg("indices"), py::arg("out"), py::arg("outer"),
        py::arg("length"), py::arg("inner"),
        "out(outer, m, inner) = src(outer, length, inner)[:, indices, :]; indices int64 (m,), negative ones "
        "counting from the end; a bad index raises IndexError at the next synchronisation.");
  m.def("index_add", &index_add, py::arg("grad"), py::arg("indices"), py::arg("out"), py::arg("outer"),
        py::arg("length"), py::arg("inner"),
        "out(outer, length, inner)[:, indices, :] += grad(outer, m, inner); duplicates accumulate (atomics).");
  m.def("take_along", &take_along, py::arg("src"), py::arg("indices"), py::arg("out"), py::arg("outer"),
        py::arg("length"), py::arg("inner"),
        "numpy.take_along_axis: out[o, j, i] = src[o, indices[o, j, i], i], indices and out (outer, m, inner).");
  m.def("put_along", &put_along, py::arg("values"), py::arg("indices"), py::arg("out"), py::arg("outer"),
        py::arg("length"), py::arg("inner"), py::arg("accumulate") = false,
        "out[o, indices[o, j, i], i] = values[o, j, i] (+= atomically when accumulate).");
  m.def("nonzero_count", &nonzero_count, py::arg("mask"),
        "Number of true elements of a contiguous bool array. Synchronises.");
  m.def("nonzero", &nonzero, py::arg("mask"), py::arg("out"),
        "out(count, mask.ndim) int64 = the C-order coordinates of mask's true elements (count from nonzero_count).");
}

}  // namespace nnx::bind
