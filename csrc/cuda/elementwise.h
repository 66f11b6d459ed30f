// Generic strided elementwise kernels (elementwise.cu) that nnx.backend.cuda_array builds NumPy's
// semantics on: dtype-casting copy, fill, arange, unary and binary ops, where. Host-compiler clean.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "cuda/device_array.h"

namespace nnx::cuda {

// The dtypes an op accepts (the caller promotes first, so each op sees one dtype).
enum class OpDomain : int8_t {
  Float,     // float32, float64
  Numeric,   // every dtype but bool
  Any,       // every dtype
  Integral,  // bool and the integers
};

inline bool domain_accepts(OpDomain domain, DType dtype) {
  const bool is_float = dtype == DType::Float32 || dtype == DType::Float64;
  switch (domain) {
    case OpDomain::Float: return is_float;
    case OpDomain::Numeric: return dtype != DType::Bool;
    case OpDomain::Any: return true;
    case OpDomain::Integral: return !is_float;
  }
  return false;
}

inline const char* domain_description(OpDomain domain) {
  switch (domain) {
    case OpDomain::Float: return "float32 or float64";
    case OpDomain::Numeric: return "a numeric dtype (not bool)";
    case OpDomain::Any: return "any dtype";
    case OpDomain::Integral: return "bool or an integer dtype";
  }
  return "";
}

struct OpInfo {
  std::string_view name;  // NumPy's ufunc name
  OpDomain domain;
  bool gives_bool;  // the output is bool instead of the input's dtype
};

enum class UnaryOp : int {
  negative, abs, exp, expm1, log, log1p, log2, log10, sqrt, square, reciprocal, sign, sin, cos, tan, tanh,
  arctan, floor, ceil, rint, trunc, isnan, isinf, isfinite, logical_not, invert, sigmoid, erf,
};

// In UnaryOp order.
inline constexpr OpInfo kUnaryOps[] = {
    {"negative", OpDomain::Numeric, false}, {"abs", OpDomain::Any, false},
    {"exp", OpDomain::Float, false},        {"expm1", OpDomain::Float, false},
    {"log", OpDomain::Float, false},        {"log1p", OpDomain::Float, false},
    {"log2", OpDomain::Float, false},       {"log10", OpDomain::Float, false},
    {"sqrt", OpDomain::Float, false},       {"square", OpDomain::Numeric, false},
    {"reciprocal", OpDomain::Float, false}, {"sign", OpDomain::Numeric, false},
    {"sin", OpDomain::Float, false},        {"cos", OpDomain::Float, false},
    {"tan", OpDomain::Float, false},        {"tanh", OpDomain::Float, false},
    {"arctan", OpDomain::Float, false},     {"floor", OpDomain::Numeric, false},
    {"ceil", OpDomain::Numeric, false},     {"rint", OpDomain::Numeric, false},
    {"trunc", OpDomain::Numeric, false},    {"isnan", OpDomain::Any, true},
    {"isinf", OpDomain::Any, true},         {"isfinite", OpDomain::Any, true},
    {"logical_not", OpDomain::Any, true},   {"invert", OpDomain::Integral, false},
    {"sigmoid", OpDomain::Float, false},    {"erf", OpDomain::Float, false},
};

enum class BinaryOp : int {
  add, subtract, multiply, true_divide, floor_divide, remainder, power, maximum, minimum, fmax, fmin, arctan2,
  copysign, equal, not_equal, less, less_equal, greater, greater_equal, logical_and, logical_or, logical_xor,
  bitwise_and, bitwise_or, bitwise_xor,
};

// In BinaryOp order. add/multiply/maximum/minimum of bools are or/and, as in NumPy.
inline constexpr OpInfo kBinaryOps[] = {
    {"add", OpDomain::Any, false},          {"subtract", OpDomain::Numeric, false},
    {"multiply", OpDomain::Any, false},     {"true_divide", OpDomain::Float, false},
    {"floor_divide", OpDomain::Numeric, false}, {"remainder", OpDomain::Numeric, false},
    {"power", OpDomain::Numeric, false},    {"maximum", OpDomain::Any, false},
    {"minimum", OpDomain::Any, false},      {"fmax", OpDomain::Any, false},
    {"fmin", OpDomain::Any, false},         {"arctan2", OpDomain::Float, false},
    {"copysign", OpDomain::Float, false},   {"equal", OpDomain::Any, true},
    {"not_equal", OpDomain::Any, true},     {"less", OpDomain::Any, true},
    {"less_equal", OpDomain::Any, true},    {"greater", OpDomain::Any, true},
    {"greater_equal", OpDomain::Any, true}, {"logical_and", OpDomain::Any, true},
    {"logical_or", OpDomain::Any, true},    {"logical_xor", OpDomain::Any, true},
    {"bitwise_and", OpDomain::Integral, false}, {"bitwise_or", OpDomain::Integral, false},
    {"bitwise_xor", OpDomain::Integral, false},
};

inline const OpInfo& op_info(UnaryOp op) { return kUnaryOps[static_cast<int>(op)]; }
inline const OpInfo& op_info(BinaryOp op) { return kBinaryOps[static_cast<int>(op)]; }

// One operand of a strided kernel: element 0's address, its dtype, and its strides in elements, one per
// dimension of the shape all operands share (0 for broadcast dimensions).
struct StridedOperand {
  void* data;
  DType dtype;
  std::vector<int64_t> strides;
};

// A host scalar, exact for Python ints: cast to the kernel's dtype on the host (the binding has checked
// that it fits: integers in range, floats finite when the dtype is an integer).
struct Scalar {
  bool is_integer = false;
  int64_t integer = 0;
  double real = 0.0;
};

// All launchers queue on nnx's stream of the current device, never synchronise, and accept any shape
// (zero-size shapes launch nothing). Dimensions that cannot be collapsed may number at most kMaxDims.
constexpr int kMaxDims = 8;

// dst = src cast to dst's dtype (float -> int truncates toward zero, -> bool is != 0).
void copy(const StridedOperand& src, const StridedOperand& dst, const std::vector<int64_t>& shape);
void fill(const StridedOperand& out, Scalar value, const std::vector<int64_t>& shape);
// out[i] = start + i * step for a contiguous out of n elements, computed in double and cast.
void arange(void* out, DType dtype, int64_t n, double start, double step);
// out = op(x); out has x's dtype, or bool when op_info(op).gives_bool.
void unary(UnaryOp op, const StridedOperand& x, const StridedOperand& out, const std::vector<int64_t>& shape);
// out = op(a, b); a and b share a dtype; out has it, or bool when op_info(op).gives_bool.
void binary(BinaryOp op, const StridedOperand& a, const StridedOperand& b, const StridedOperand& out,
            const std::vector<int64_t>& shape);
// out = op(a, scalar), or op(scalar, a) when scalar_first; the scalar is cast to a's dtype.
void binary_scalar(BinaryOp op, const StridedOperand& a, Scalar scalar, bool scalar_first, const StridedOperand& out,
                   const std::vector<int64_t>& shape);
// out = condition ? a : b; condition bool, a, b and out of one dtype.
void where(const StridedOperand& condition, const StridedOperand& a, const StridedOperand& b, const StridedOperand& out,
           const std::vector<int64_t>& shape);

}  // namespace nnx::cuda
