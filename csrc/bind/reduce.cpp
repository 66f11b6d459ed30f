// Bindings of the reductions: column_sum (bias gradients), row_argmax (predictions) and squared_norm (an L2
// penalty's value) on both devices
// (csrc/core/reduce.h); on CUDA also the generic reduce/cumsum over (outer, length, inner) views, which the CPU
// leaves to NumPy (csrc/cuda/reduce_axis.h). Checks, then the kernel with the GIL released. Compiled once per
// device (csrc/bind/device.h).
#include <string>
#include <utility>

#include "bind/device.h"
#include "core/reduce.h"
#ifdef NNX_BIND_CUDA
#include "cuda/reduce_axis.h"
#endif

namespace nnx::bind {

#ifdef NNX_BIND_CUDA
namespace {

using dev::ReduceOp;

struct NamedOp {
  const char* name;
  ReduceOp op;
};
constexpr NamedOp kReduceOps[] = {{"sum", ReduceOp::Sum},       {"prod", ReduceOp::Prod},     {"max", ReduceOp::Max},
                                  {"min", ReduceOp::Min},       {"argmax", ReduceOp::Argmax}, {"argmin", ReduceOp::Argmin},
                                  {"any", ReduceOp::Any},       {"all", ReduceOp::All},       {"mean", ReduceOp::Mean}};

ReduceOp require_reduce_op(const std::string& name) {
  std::string list;
  for (const NamedOp& entry : kReduceOps) {
    if (name == entry.name) return entry.op;
    list += (list.empty() ? "'" : ", '") + std::string(entry.name) + "'";
  }
  throw py::value_error("op must be one of " + list + ", got '" + name + "'");
}

void reduce(const std::string& op_name, py::handle x_obj, py::handle out_obj, int64_t outer, int64_t length,
            int64_t inner) {
  const ReduceOp op = require_reduce_op(op_name);
  DeviceArray& x = cuda::require_contiguous_array(x_obj, "x");
  DeviceArray& out = cuda::require_contiguous_array(out_obj, "out");
  cuda::require_dtype(out, "out", dev::reduce_result_dtype(op, x.dtype));
  cuda::require_size(x, "x", cuda::require_extents(outer, length, inner), "outer * length * inner");
  cuda::require_size(out, "out", outer * inner, "outer * inner");
  const bool needs_an_element =
      op == ReduceOp::Max || op == ReduceOp::Min || op == ReduceOp::Argmax || op == ReduceOp::Argmin;
  if (needs_an_element && length == 0)
    throw py::value_error("zero-size array to reduction operation " + op_name +
                          " which has no identity (length is 0)");
  require_same_device(out, "out", x, "x");
  require_no_overlap(out, "out", x, "x");
  cuda::launch_on(x.device(), [&] { dev::reduce(op, x.dtype, x.data(), out.data(), outer, length, inner); });
}

void cumsum(py::handle x_obj, py::handle out_obj, int64_t outer, int64_t length, int64_t inner) {
  DeviceArray& x = cuda::require_contiguous_array(x_obj, "x");
  DeviceArray& out = cuda::require_contiguous_array(out_obj, "out");
  if (x.dtype == dev::DType::Bool)
    throw py::type_error("x must not be bool: cast it to int64 first (numpy.cumsum of bool is int64)");
  require_dtype_like(out, "out", x, "x");
  cuda::require_size(x, "x", cuda::require_extents(outer, length, inner), "outer * length * inner");
  cuda::require_size(out, "out", x.size(), "outer * length * inner");
  require_same_device(out, "out", x, "x");
  require_no_overlap(out, "out", x, "x");
  cuda::launch_on(x.device(), [&] { dev::cumsum(x.dtype, x.data(), out.data(), outer, length, inner); });
}

}  // namespace
#endif

void bind_reduce(py::module_& m) {
#ifdef NNX_BIND_CUDA
  m.def("reduce", &reduce, py::arg("op"), py::arg("x"), py::arg("out"), py::arg("outer"), py::arg("length"),
        py::arg("inner"),
        "out(outer, inner) = op over the middle axis of the contiguous x(outer, length, inner). "
        "op: sum, prod, max, min, argmax, argmin, any, all, mean (NumPy semantics; see _cuda.pyi for dtypes).");
  m.def("cumsum", &cumsum, py::arg("x"), py::arg("out"), py::arg("outer"), py::arg("length"), py::arg("inner"),
        "Inclusive prefix sum along the middle axis of contiguous (outer, length, inner) views; "
        "out has x's dtype (not bool).");
#endif
  m.def(
      "column_sum",
      [](py::handle x_obj, py::handle out_obj, bool accumulate) {
        Device::Array x = Device::input(x_obj, "x");
        Device::Array out = Device::output(out_obj, "out");
        const Float dtype = require_float(x, "x");
        require_dtype_like(out, "out", x, "x");
        require_ndim(x, "x", 2);
        const int64_t N = extent(x, 0), M = extent(x, 1);
        require_shape(out, "out", {M});
        require_same_device(out, "out", x, "x");
        require_no_overlap(out, "out", x, "x");
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* input = cptr<T>(x);
          T* result = ptr<T>(out);
          Device::launch(x, [&] { dev::column_sum(input, N, M, result, accumulate); });
        });
      },
      py::arg("x"), py::arg("out"), py::arg("accumulate") = false,
      "out(M,) = x(N, M).sum(axis=0) (+ out when accumulate); float sums accumulate in double.");
  m.def(
      "row_argmax",
      [](py::handle x_obj, py::handle out_obj) {
        Device::Array x = Device::input(x_obj, "x");
        Device::Array out = Device::output(out_obj, "out");
        const Float dtype = require_float(x, "x");
        require_int64(out, "out");
        require_ndim(x, "x", 2);
        const int64_t N = extent(x, 0), M = extent(x, 1);
        if (M == 0 && N > 0)
          throw py::value_error("x must have at least one column to take an argmax, got shape " + shape_string(x));
        require_shape(out, "out", {N});
        require_same_device(out, "out", x, "x");
        require_no_overlap(out, "out", x, "x");  // the kernel would overwrite rows of x it has yet to read
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* input = cptr<T>(x);
          int64_t* result = ptr<int64_t>(out);
          Device::launch(x, [&] { dev::row_argmax(input, N, M, result); });
        });
      },
      py::arg("x"), py::arg("out"),
      "out(N,) int64 = x(N, M).argmax(axis=1); the first NaN of a row counts as its maximum, as in NumPy.");
  m.def(
      "squared_norm",
      [](py::handle x_obj, py::handle out_obj) {
        Device::Array x = Device::input(x_obj, "x");
        Device::Array out = Device::output(out_obj, "out");
        const Float dtype = require_float(x, "x");
        require_ndim(x, "x", 1);
        require_dtype_like(out, "out", x, "x");
        require_shape(out, "out", {});
        require_same_device(out, "out", x, "x");
        require_no_overlap(out, "out", x, "x");
        const int64_t n = size_of(x);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* input = cptr<T>(x);
          T* result = ptr<T>(out);
          Device::launch(x, [&] { dev::squared_norm(input, n, result); });
        });
      },
      py::arg("x"), py::arg("out"),
      "out() = (x ** 2).sum() of x(n,) (a flattened array), accumulated in double in an order fixed by n (not by "
      "the thread count).");
}

}  // namespace nnx::bind
