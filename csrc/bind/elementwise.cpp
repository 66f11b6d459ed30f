// Bindings of the generic strided kernels (cuda/elementwise.h): copy, fill, arange, unary, binary,
// binary_scalar, where. Validates op names, dtypes, shapes, devices and output aliasing, then launches.
#ifndef NNX_BIND_CUDA
#error "bound on cuda only (csrc/families.txt): compiled with NNX_BIND_CUDA"
#endif
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bind/device.h"
#include "cuda/elementwise.h"

namespace nnx::bind {
namespace cuda {
namespace {

using nnx::cuda::BinaryOp;
using nnx::cuda::OpInfo;
using nnx::cuda::Scalar;
using nnx::cuda::StridedOperand;
using nnx::cuda::UnaryOp;

// ---- op names ---------------------------------------------------------------------------------------------

template <class Op, size_t N>
Op parse_op(py::handle obj, const OpInfo (&table)[N]) {
  if (!py::isinstance<py::str>(obj))
    throw py::type_error("op must be a str, got " + py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  const std::string name = obj.cast<std::string>();
  for (size_t i = 0; i < N; ++i)
    if (table[i].name == name) return static_cast<Op>(i);
  std::string choices;
  for (size_t i = 0; i < N; ++i) choices += (i ? ", '" : "'") + std::string(table[i].name) + "'";
  throw py::value_error("op must be one of " + choices + ", got '" + name + "'");
}

template <class Op>
void require_op_accepts(Op op, const DeviceArray& input, const char* name) {
  const OpInfo& info = nnx::cuda::op_info(op);
  if (!nnx::cuda::domain_accepts(info.domain, input.dtype))
    throw py::type_error(std::string(name) + " must have " + nnx::cuda::domain_description(info.domain) + " for '" +
                         std::string(info.name) + "', got " + nnx::cuda::dtype_name(input.dtype));
}

template <class Op>
void require_op_output(Op op, const DeviceArray& out, DType input_dtype) {
  require_dtype(out, "out", nnx::cuda::op_info(op).gives_bool ? DType::Bool : input_dtype);
}

// ---- outputs and aliasing ---------------------------------------------------------------------------------

// Every element of `out` is a distinct location: no broadcast (zero) strides and no self-overlap.
// Sufficient test: sorted by stride, each stride steps past everything the smaller ones reach.
void require_writable_layout(const DeviceArray& out, const char* name) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (|stride|, extent) of the dimensions that vary
  for (int64_t d = 0; d < out.ndim(); ++d)
    if (out.shape[d] > 1) dims.emplace_back(out.strides[d] < 0 ? -out.strides[d] : out.strides[d], out.shape[d]);
  std::sort(dims.begin(), dims.end());
  int64_t reach = 0;  // the largest offset the smaller dimensions span
  for (const auto& [stride, extent] : dims) {
    if (stride <= reach)
      throw py::value_error(std::string(name) + " must not have overlapping elements (zero or overlapping strides " +
                            out.shape_string() + "): a broadcast view cannot be written");
    reach += (extent - 1) * stride;
  }
}

// Same elements in the same order: an elementwise kernel may then read and write them in place.
bool same_elements(const DeviceArray& a, const DeviceArray& b) {
  return a.data() == b.data() && a.shape == b.shape && a.strides == b.strides &&
         nnx::cuda::itemsize(a.dtype) == nnx::cuda::itemsize(b.dtype);
}

void require_no_partial_overlap(const DeviceArray& out, const DeviceArray& in, const char* in_name) {
  if (may_overlap(out, in) && !same_elements(out, in))
    throw py::value_error(std::string("out must not share memory with ") + in_name + " unless it is exactly " + in_name);
}

// An input of out's shape on out's device.
void require_input_like_out(const DeviceArray& in, const char* name, const DeviceArray& out, const char* out_name) {
  require_same_shape(in, name, out, out_name);
  require_same_device(in, name, out, out_name);
}

StridedOperand operand(const DeviceArray& a) { return {a.data(), a.dtype, a.strides}; }

// ---- host scalars ------------------------------------------------------------------------------------------

// A Python number, exact for ints (fill(int64_array, 2**62 + 1) must not round through a double).
Scalar parse_scalar(py::handle obj, const char* name) {
  Scalar s;
  py::object index;
  if (PyIndex_Check(obj.ptr())) {
    index = py::reinterpret_steal<py::object>(PyNumber_Index(obj.ptr()));
    if (!index) PyErr_Clear();  // numpy.bool_ has the slot but refuses: it converts as a float below
  }
  if (index) {
    int overflow = 0;
    const long long value = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
    if (overflow) throw py::value_error(std::string(name) + " " + py::repr(obj).cast<std::string>() + " does not fit in int64");
    if (value == -1 && PyErr_Occurred()) throw py::error_already_set();
    s.is_integer = true;
    s.integer = value;
    return s;
  }
  const double value = PyFloat_AsDouble(obj.ptr());
  if (value == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    throw py::type_error(std::string(name) + " must be a real number, got " +
                         py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  }
  s.real = value;
  return s;
}

// The scalar must convert to `dtype` without wrapping: integers in range, floats finite and in range
// after truncation. Floats and bools take anything (bool is != 0, as NumPy's cast).
void require_scalar_fits(const Scalar& s, DType dtype, const char* name) {
  double lowest, highest;  // exact bounds of the integer dtype; highest is exclusive
  switch (dtype) {
    case DType::UInt8: lowest = 0.0, highest = 256.0; break;
    case DType::Int32: lowest = -2147483648.0, highest = 2147483648.0; break;
    case DType::Int64: lowest = -9223372036854775808.0, highest = 9223372036854775808.0; break;
    default: return;
  }
  const std::string shown = s.is_integer ? std::to_string(s.integer) : py::repr(py::float_(s.real)).cast<std::string>();
  bool fits;
  if (s.is_integer) {
    fits = dtype == DType::Int64 || (static_cast<double>(s.integer) >= lowest && static_cast<double>(s.integer) < highest);
  } else {
    const double truncated = std::trunc(s.real);
    fits = std::isfinite(s.real) && truncated >= lowest && truncated < highest;
  }
  if (!fits)
    throw py::value_error(std::string(name) + " " + shown + " does not fit in " + nnx::cuda::dtype_name(dtype));
}

// ---- the functions -----------------------------------------------------------------------------------------

void copy(py::handle src_obj, py::handle dst_obj) {
  const DeviceArray& src = require_device_array(src_obj, "src");
  const DeviceArray& dst = require_device_array(dst_obj, "dst");
  require_input_like_out(src, "src", dst, "dst");
  require_writable_layout(dst, "dst");
  if (may_overlap(dst, src) && !same_elements(dst, src))
    throw py::value_error("dst must not share memory with src unless it is exactly src");
  launch_on(dst.device(), [&] { nnx::cuda::copy(operand(src), operand(dst), dst.shape); });
}

void fill(py::handle out_obj, py::handle value_obj) {
  const DeviceArray& out = require_device_array(out_obj, "out");
  const Scalar value = parse_scalar(value_obj, "value");
  require_scalar_fits(value, out.dtype, "value");
  require_writable_layout(out, "out");
  launch_on(out.device(), [&] { nnx::cuda::fill(operand(out), value, out.shape); });
}

void arange(py::handle out_obj, double start, double step) {
  const DeviceArray& out = require_device_array(out_obj, "out");
  require_ndim(out, "out", 1);
  require_contiguous(out, "out");
  if (out.dtype == DType::Bool) throw py::type_error("out must have a numeric dtype (not bool), got bool");
  launch_on(out.device(), [&] { nnx::cuda::arange(out.data(), out.dtype, out.size(), start, step); });
}

void unary(py::handle op_name, py::handle x_obj, py::handle out_obj) {
  const UnaryOp op = parse_op<UnaryOp>(op_name, nnx::cuda::kUnaryOps);
  const DeviceArray& x = require_device_array(x_obj, "x");
  const DeviceArray& out = require_device_array(out_obj, "out");
  require_op_accepts(op, x, "x");
  require_op_output(op, out, x.dtype);
  require_input_like_out(x, "x", out, "out");
  require_writable_layout(out, "out");
  require_no_partial_overlap(out, x, "x");
  launch_on(out.device(), [&] { nnx::cuda::unary(op, operand(x), operand(out), out.shape); });
}

void binary(py::handle op_name, py::handle a_obj, py::handle b_obj, py::handle out_obj) {
  const BinaryOp op = parse_op<BinaryOp>(op_name, nnx::cuda::kBinaryOps);
  const DeviceArray& a = require_device_array(a_obj, "a");
  const DeviceArray& b = require_device_array(b_obj, "b");
  const DeviceArray& out = require_device_array(out_obj, "out");
  require_op_accepts(op, a, "a");
  require_dtype_like(b, "b", a, "a");
  require_op_output(op, out, a.dtype);
  require_input_like_out(a, "a", out, "out");
  require_input_like_out(b, "b", out, "out");
  require_writable_layout(out, "out");
  require_no_partial_overlap(out, a, "a");
  require_no_partial_overlap(out, b, "b");
  launch_on(out.device(), [&] { nnx::cuda::binary(op, operand(a), operand(b), operand(out), out.shape); });
}

void binary_scalar(py::handle op_name, py::handle a_obj, py::handle scalar_obj, py::handle out_obj,
                   bool scalar_first) {
  const BinaryOp op = parse_op<BinaryOp>(op_name, nnx::cuda::kBinaryOps);
  const DeviceArray& a = require_device_array(a_obj, "a");
  const Scalar scalar = parse_scalar(scalar_obj, "scalar");
  const DeviceArray& out = require_device_array(out_obj, "out");
  require_op_accepts(op, a, "a");
  require_scalar_fits(scalar, a.dtype, "scalar");
  const bool integer_dtype = a.dtype == DType::UInt8 || a.dtype == DType::Int32 || a.dtype == DType::Int64;
  if (op == BinaryOp::power && integer_dtype && !scalar_first &&
      (scalar.is_integer ? scalar.integer < 0 : std::trunc(scalar.real) < 0))
    throw py::value_error("scalar: integers to negative integer powers are not allowed");  // NumPy's rule
  require_op_output(op, out, a.dtype);
  require_input_like_out(a, "a", out, "out");
  require_writable_layout(out, "out");
  require_no_partial_overlap(out, a, "a");
  launch_on(out.device(), [&] { nnx::cuda::binary_scalar(op, operand(a), scalar, scalar_first, operand(out), out.shape); });
}

void where(py::handle condition_obj, py::handle a_obj, py::handle b_obj, py::handle out_obj) {
  const DeviceArray& condition = require_device_array(condition_obj, "condition");
  const DeviceArray& a = require_device_array(a_obj, "a");
  const DeviceArray& b = require_device_array(b_obj, "b");
  const DeviceArray& out = require_device_array(out_obj, "out");
  require_dtype(condition, "condition", DType::Bool);
  require_dtype_like(a, "a", out, "out");
  require_dtype_like(b, "b", out, "out");
  require_input_like_out(condition, "condition", out, "out");
  require_input_like_out(a, "a", out, "out");
  require_input_like_out(b, "b", out, "out");
  require_writable_layout(out, "out");
  require_no_partial_overlap(out, condition, "condition");
  require_no_partial_overlap(out, a, "a");
  require_no_partial_overlap(out, b, "b");
  launch_on(out.device(),
            [&] { nnx::cuda::where(operand(condition), operand(a), operand(b), operand(out), out.shape); });
}

}  // namespace

}  // namespace cuda

void bind_elementwise(py::module_& m) {
  using namespace cuda;  // the helpers above
  m.def("copy", &copy, py::arg("src"), py::arg("dst"),
        "dst[...] = src with dtype cast; both may be strided; dst may be exactly src but not overlap it otherwise.");
  m.def("fill", &fill, py::arg("out"), py::arg("value"), "out[...] = value cast to out's dtype (out may be strided).");
  m.def("arange", &arange, py::arg("out"), py::arg("start"), py::arg("step"),
        "out[i] = start + i * step for a contiguous 1-D out (computed in double, cast).");
  m.def("unary", &unary, py::arg("op"), py::arg("x"), py::arg("out"),
        "out = op(x) with NumPy's semantics; x any strided view of out's shape.");
  m.def("binary", &binary, py::arg("op"), py::arg("a"), py::arg("b"), py::arg("out"),
        "out = op(a, b) with NumPy's semantics; a and b share one dtype and out's shape; out may be exactly a or b.");
  m.def("binary_scalar", &binary_scalar, py::arg("op"), py::arg("a"), py::arg("scalar"), py::arg("out"),
        py::arg("scalar_first") = false, "out = op(a, scalar), or op(scalar, a) when scalar_first.");
  m.def("where", &where, py::arg("condition"), py::arg("a"), py::arg("b"), py::arg("out"),
        "out = condition ? a : b; condition bool, a/b of out's dtype, all views of out's shape.");
}

}  // namespace nnx::bind
