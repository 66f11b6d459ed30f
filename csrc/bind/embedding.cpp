// Bindings of the embedding kernels (csrc/core/embedding.h): validation (dtypes, shapes,
// aliasing, index range), then the kernel with the GIL released. Compiled once per device (csrc/bind/device.h).
// The kernels check every index they read as well: on the CPU they return the first bad one (IndexError right after the
// kernel); on a GPU the index values are on the device, so only the kernels check them and a bad one
// raises IndexError at the next synchronising call.
#include <string>

#include "bind/device.h"
#include "core/embedding.h"

namespace nnx::bind {

namespace {

// rows(*indices.shape, D): what the forward's out and the backward's grad_out must look like.
template <class A>
void require_rows_shape(const A& a, const char* name, const A& indices, int64_t D) {
  const int64_t index_ndim = ndim_of(indices);
  bool ok = ndim_of(a) == index_ndim + 1 && extent(a, index_ndim) == D;
  for (int64_t d = 0; ok && d < index_ndim; ++d) ok = extent(a, d) == extent(indices, d);
  if (ok) return;
  std::string expected = "(";
  for (int64_t d = 0; d < index_ndim; ++d) expected += std::to_string(extent(indices, d)) + ", ";
  expected += std::to_string(D) + (index_ndim == 0 ? ",)" : ")");
  throw py::value_error(std::string(name) + " must have shape " + expected + " (indices.shape + (embedding_dim,)), got " +
                        shape_string(a));
}

inline std::string out_of_range_message(int64_t V, BadIndex bad) {
  return "indices must be in [0, " + std::to_string(V) + ") (the rows of the weight), got " +
         std::to_string(bad.value) + " at flat position " + std::to_string(bad.position);
}

#ifndef NNX_BIND_CUDA
// Host arrays only: the values are read here, before the kernel, so that a bad index leaves the outputs
// untouched (the backward adds into grad_weight).
inline void require_indices_in_range(const py::array& indices, int64_t V) {
  const int64_t* index = cptr<int64_t>(indices);
  for (py::ssize_t i = 0; i < indices.size(); ++i)
    if (index[i] < 0 || index[i] >= V) throw py::index_error(out_of_range_message(V, BadIndex{i, index[i]}));
}
#endif

// The check above cannot stop another Python thread from changing the indices once the GIL is released:
// the CPU kernels check every index they read and return the first bad one, raised here after the kernel
// (the outputs are then partly written). A CUDA kernel reports through the device's flag instead
// (IndexError at the next synchronisation) and returns no BadIndex.
inline void raise_if_kernel_found_bad(BadIndex bad, int64_t V) {
  if (bad) throw py::index_error(out_of_range_message(V, bad) + kChangedDuringCall);
}

}  // namespace

void bind_embedding(py::module_& m) {
  m.def(
      "embedding_forward",
      [](py::handle weight_obj, py::handle indices_obj, py::handle out_obj) {
        Device::Array weight = Device::input(weight_obj, "weight");
        Device::Array indices = Device::input(indices_obj, "indices");
        Device::Array out = Device::output(out_obj, "out");
        const Float dtype = require_float(weight, "weight");
        require_ndim(weight, "weight", 2);
        require_int64(indices, "indices");
        require_dtype_like(out, "out", weight, "weight");
        const int64_t V = extent(weight, 0), D = extent(weight, 1), n = size_of(indices);
        require_rows_shape(out, "out", indices, D);
        require_same_device(indices, "indices", weight, "weight");
        require_same_device(out, "out", weight, "weight");
        require_no_overlap(out, "out", weight, "weight");
        require_no_overlap(out, "out", indices, "indices");
#ifndef NNX_BIND_CUDA
        require_indices_in_range(indices, V);
#endif
        const int64_t* index = cptr<int64_t>(indices);
        BadIndex bad;
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* table = cptr<T>(weight);
          T* rows = ptr<T>(out);
          bad = launch_reading_indices(weight, [&] { return dev::embedding_forward(table, V, D, index, n, rows); });
        });
        raise_if_kernel_found_bad(bad, V);
      },
      py::arg("weight"), py::arg("indices"), py::arg("out"),
      Device::cuda ? "out(*indices.shape, D) = weight(V, D)[indices]; an index outside [0, V) raises IndexError at "
                     "the next synchronisation (its row is written as zeros)."
                   : "out(*indices.shape, D) = weight(V, D)[indices]; IndexError for an index outside [0, V).");
  m.def(
      "embedding_backward",
      [](py::handle grad_out_obj, py::handle indices_obj, py::handle grad_weight_obj, int64_t padding_idx) {
        Device::Array grad_out = Device::input(grad_out_obj, "grad_out");
        Device::Array indices = Device::input(indices_obj, "indices");
        Device::Array grad_weight = Device::output(grad_weight_obj, "grad_weight");
        const Float dtype = require_float(grad_out, "grad_out");
        require_int64(indices, "indices");
        require_dtype_like(grad_weight, "grad_weight", grad_out, "grad_out");
        require_ndim(grad_weight, "grad_weight", 2);
        const int64_t V = extent(grad_weight, 0), D = extent(grad_weight, 1), n = size_of(indices);
        require_rows_shape(grad_out, "grad_out", indices, D);
        require_same_device(indices, "indices", grad_out, "grad_out");
        require_same_device(grad_weight, "grad_weight", grad_out, "grad_out");
        require_no_overlap(grad_weight, "grad_weight", grad_out, "grad_out");
        require_no_overlap(grad_weight, "grad_weight", indices, "indices");
#ifndef NNX_BIND_CUDA
        require_indices_in_range(indices, V);
#endif
        const int64_t* index = cptr<int64_t>(indices);
        BadIndex bad;
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* upstream = cptr<T>(grad_out);
          T* table = ptr<T>(grad_weight);
          bad = launch_reading_indices(
              grad_out, [&] { return dev::embedding_backward(upstream, index, n, V, D, table, padding_idx); });
        });
        raise_if_kernel_found_bad(bad, V);
      },
      py::arg("grad_out"), py::arg("indices"), py::arg("grad_weight"), py::arg("padding_idx") = -1,
      Device::cuda ? "grad_weight(V, D)[indices[i]] += grad_out[i] with atomic adds (duplicates accumulate; the last "
                     "bits may vary between runs); rows whose index equals padding_idx are skipped. Adds into "
                     "grad_weight."
                   : "grad_weight(V, D)[indices[i]] += grad_out[i] in index order (duplicates accumulate, "
                     "deterministic); rows whose index equals padding_idx are skipped. Adds into grad_weight.");
}

}  // namespace nnx::bind
