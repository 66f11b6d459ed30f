// CUDA bindings for the reductions: the generic reduce/cumsum over (outer, length, inner) views, and
// column_sum/row_argmax (checks in reduce_binding.h, shared with cpu_reduce.cpp).
#include <string>
#include <utility>

#include "bind/cuda_checks.h"
#include "bind/cuda_registry.h"
#include "bind/reduce_binding.h"
#include "cuda/reduce.h"

namespace nnx::bind::cuda {

namespace {

using nnx::cuda::ReduceOp;

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
  DeviceArray& x = require_contiguous_array(x_obj, "x");
  DeviceArray& out = require_contiguous_array(out_obj, "out");
  require_dtype(out, "out", nnx::cuda::reduce_result_dtype(op, x.dtype));
  require_size(x, "x", require_extents(outer, length, inner), "outer * length * inner");
  require_size(out, "out", outer * inner, "outer * inner");
  const bool needs_an_element =
      op == ReduceOp::Max || op == ReduceOp::Min || op == ReduceOp::Argmax || op == ReduceOp::Argmin;
  if (needs_an_element && length == 0)
    throw py::value_error("zero-size array to reduction operation " + op_name +
                          " which has no identity (length is 0)");
  require_same_device(out, "out", x, "x");
  require_no_overlap(out, "out", x, "x");
  launch_on(x.device(), [&] { nnx::cuda::reduce(op, x.dtype, x.data(), out.data(), outer, length, inner); });
}

void cumsum(py::handle x_obj, py::handle out_obj, int64_t outer, int64_t length, int64_t inner) {
  DeviceArray& x = require_contiguous_array(x_obj, "x");
  DeviceArray& out = require_contiguous_array(out_obj, "out");
  if (x.dtype == DType::Bool)
    throw py::type_error("x must not be bool: cast it to int64 first (numpy.cumsum of bool is int64)");
  require_dtype_like(out, "out", x, "x");
  require_size(x, "x", require_extents(outer, length, inner), "outer * length * inner");
  require_size(out, "out", x.size(), "outer * length * inner");
  require_same_device(out, "out", x, "x");
  require_no_overlap(out, "out", x, "x");
  launch_on(x.device(), [&] { nnx::cuda::cumsum(x.dtype, x.data(), out.data(), outer, length, inner); });
}

// column_sum / row_argmax: the launchers take (x, out, rows, cols); the shared checks pass (x, N, M, out).
struct CudaReduce {
  template <class T>
  static void column_sum(const T* x, int64_t N, int64_t M, T* out, bool accumulate) {
    nnx::cuda::column_sum(x, out, N, M, accumulate);
  }
  template <class T>
  static void row_argmax(const T* x, int64_t N, int64_t M, int64_t* out) {
    nnx::cuda::row_argmax(x, out, N, M);
  }
};

}  // namespace

void bind_reduce(py::module_& m) {
  m.def("reduce", &reduce, py::arg("op"), py::arg("x"), py::arg("out"), py::arg("outer"), py::arg("length"),
        py::arg("inner"),
        "out(outer, inner) = op over the middle axis of the contiguous x(outer, length, inner). "
        "op: sum, prod, max, min, argmax, argmin, any, all, mean (NumPy semantics; see _cuda.pyi for dtypes).");
  m.def("cumsum", &cumsum, py::arg("x"), py::arg("out"), py::arg("outer"), py::arg("length"), py::arg("inner"),
        "Inclusive prefix sum along the middle axis of contiguous (outer, length, inner) views; "
        "out has x's dtype (not bool).");
  bind_reduce_family<CudaArrays, CudaReduce>(m);
}

}  // namespace nnx::bind::cuda
