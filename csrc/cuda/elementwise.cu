// Generic strided elementwise kernels (elementwise.h) with NumPy's semantics. One kernel per dtype and
// layout switches on the op at run time (the switch is uniform across threads), which keeps the number
// of instantiations small; the per-element math (elementwise_ops.cuh) is __host__ __device__ so it can be checked
// on a CPU.
#include <algorithm>
#include <climits>
#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "core/hd.h"
#include "cuda/common.cuh"
#include "cuda/elementwise.h"
#include "cuda/elementwise_ops.cuh"

namespace nnx::cuda {
namespace {

using namespace elementwise_ops;  // the per-element math (elementwise_ops.cuh)

// ---- Layout: the shared shape with each operand's strides, contiguous dimensions collapsed --------------

template <int N>  // N operands; operand 0 is the output
struct StridedIndexer {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};

  // Element offsets of each operand for C-order position `linear`. Index is the type of the position
  // arithmetic: 32-bit when every position fits (a 64-bit division costs several times more).
  template <class Index>
  NNX_HD void offsets(Index linear, int64_t (&offset)[N]) const {
    for (int k = 0; k < N; ++k) offset[k] = 0;
#pragma unroll
    for (int d = kMaxDims - 1; d >= 0; --d) {
      if (d >= ndim) continue;
      Index index = linear;
      if (d > 0) {  // the outermost dimension needs no division
        const Index extent = static_cast<Index>(shape[d]);
        const Index outer = linear / extent;
        index = linear - outer * extent;
        linear = outer;
      }
      for (int k = 0; k < N; ++k) offset[k] += static_cast<int64_t>(index) * strides[k][d];
    }
  }
};

template <int N>
struct Layout {
  int64_t count = 0;
  bool contiguous = false;  // every operand dense in C order: offsets equal the position
  StridedIndexer<N> indexer;
};

template <int N>
Layout<N> make_layout(const std::vector<int64_t>& shape, const std::array<const std::vector<int64_t>*, N>& strides) {
  for (const std::vector<int64_t>* s : strides)
    if (s->size() != shape.size()) throw std::invalid_argument("elementwise: strides do not match the shape");
  Layout<N> layout;
  layout.count = 1;
  for (int64_t extent : shape) layout.count *= extent;
  if (layout.count == 0) return layout;

  // Innermost first: drop extent-1 dimensions, merge a dimension into the inner one when every operand
  // steps over it exactly as if the two were one.
  std::vector<int64_t> extents;
  std::vector<std::array<int64_t, N>> steps;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    if (shape[d] == 1) continue;
    bool mergeable = !extents.empty();
    for (int k = 0; k < N && mergeable; ++k) mergeable = (*strides[k])[d] == steps.back()[k] * extents.back();
    if (mergeable) {
      extents.back() *= shape[d];
      continue;
    }
    extents.push_back(shape[d]);
    std::array<int64_t, N> step;
    for (int k = 0; k < N; ++k) step[k] = (*strides[k])[d];
    steps.push_back(step);
  }
  if (extents.size() > static_cast<size_t>(kMaxDims))
    throw std::invalid_argument("elementwise kernels support at most " + std::to_string(kMaxDims) +
                                " dimensions that cannot be merged, got " + std::to_string(extents.size()));
  layout.contiguous = extents.empty() ||
                      (extents.size() == 1 && std::all_of(steps[0].begin(), steps[0].end(), [](int64_t s) { return s == 1; }));
  const int ndim = static_cast<int>(extents.size());
  layout.indexer.ndim = ndim;
  for (int d = 0; d < ndim; ++d) {  // back to outermost first
    layout.indexer.shape[d] = extents[ndim - 1 - d];
    for (int k = 0; k < N; ++k) layout.indexer.strides[k][d] = steps[ndim - 1 - d][k];
  }
  return layout;
}

// ---- Kernels: a body gets each operand's element offset ---------------------------------------------------

template <int N, class Body>
__global__ void elementwise_contiguous_kernel(int64_t count, Body body) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t offset[N];
    for (int k = 0; k < N; ++k) offset[k] = i;
    body(offset);
  }
}

constexpr int64_t kMaxNarrowCount = INT32_MAX;  // positions (and so every extent) fit in uint32_t

template <int N, class Body>
__global__ void elementwise_strided_kernel(int64_t count, StridedIndexer<N> indexer, Body body) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t offset[N];
    if (count <= kMaxNarrowCount) {
      indexer.offsets(static_cast<uint32_t>(i), offset);
    } else {
      indexer.offsets(i, offset);
    }
    body(offset);
  }
}

template <int N, class Body>
void launch(const char* name, const Layout<N>& layout, const Body& body) {
  if (layout.count == 0) return;
  cudaStream_t stream = current_stream();
  const unsigned blocks = grid_for(layout.count);
  if (layout.contiguous) {
    elementwise_contiguous_kernel<N><<<blocks, kBlock, 0, stream>>>(layout.count, body);
  } else {
    elementwise_strided_kernel<N><<<blocks, kBlock, 0, stream>>>(layout.count, layout.indexer, body);
  }
  check_launch(name);
}

// Calls f(T{}) with T the C++ type of `dtype`.
template <class F>
void dispatch(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Bool: f(bool{}); return;
    case DType::UInt8: f(uint8_t{}); return;
    case DType::Int32: f(int32_t{}); return;
    case DType::Int64: f(int64_t{}); return;
    case DType::Float32: f(float{}); return;
    case DType::Float64: f(double{}); return;
  }
}

// Calls f(U{}) with U the unsigned integer of the dtype's size: for kernels that only move bits.
template <class F>
void dispatch_bits(DType dtype, F&& f) {
  switch (itemsize(dtype)) {
    case 1: f(uint8_t{}); return;
    case 4: f(uint32_t{}); return;
    default: f(uint64_t{}); return;
  }
}

template <class T>
T scalar_as(Scalar s) {
  if constexpr (kIsBool<T>) return s.is_integer ? s.integer != 0 : s.real != 0.0;
  else if constexpr (kIsFloat<T>) return s.is_integer ? static_cast<T>(s.integer) : static_cast<T>(s.real);
  else return static_cast<T>(s.is_integer ? s.integer : static_cast<int64_t>(s.real));  // range checked by the caller
}

template <class T>
T* data_of(const StridedOperand& operand) { return static_cast<T*>(operand.data); }

// ---- Bodies ---------------------------------------------------------------------------------------------

template <class Src>
struct CopyBody {  // offsets: dst, src
  const Src* src;
  void* dst;
  DType dst_dtype;
  NNX_HD void operator()(const int64_t (&o)[2]) const {
    const Src value = src[o[1]];
    switch (dst_dtype) {
      case DType::Bool: static_cast<bool*>(dst)[o[0]] = cast_value<bool>(value); break;
      case DType::UInt8: static_cast<uint8_t*>(dst)[o[0]] = cast_value<uint8_t>(value); break;
      case DType::Int32: static_cast<int32_t*>(dst)[o[0]] = cast_value<int32_t>(value); break;
      case DType::Int64: static_cast<int64_t*>(dst)[o[0]] = cast_value<int64_t>(value); break;
      case DType::Float32: static_cast<float*>(dst)[o[0]] = cast_value<float>(value); break;
      case DType::Float64: static_cast<double*>(dst)[o[0]] = cast_value<double>(value); break;
    }
  }
};

template <class Bits>
struct FillBody {  // offsets: out
  Bits* out;
  Bits value;
  NNX_HD void operator()(const int64_t (&o)[1]) const { out[o[0]] = value; }
};

template <class T>
struct ArangeBody {  // offsets: out (contiguous, so the offset is the position)
  T* out;
  double start, step;
  NNX_HD void operator()(const int64_t (&o)[1]) const { out[o[0]] = cast_value<T>(start + static_cast<double>(o[0]) * step); }
};

template <class T, class Out>
struct UnaryBody {  // offsets: out, x
  const T* x;
  Out* out;
  UnaryOp op;
  bool gives_bool;
  NNX_HD void operator()(const int64_t (&o)[2]) const {
    if constexpr (kIsBool<Out> && !kIsBool<T>) {
      out[o[0]] = unary_predicate(op, x[o[1]]);
    } else if constexpr (kIsBool<Out>) {  // bool input: the predicates and the value ops share an output type
      out[o[0]] = gives_bool ? unary_predicate(op, x[o[1]]) : unary_value(op, x[o[1]]);
    } else {
      out[o[0]] = unary_value(op, x[o[1]]);
    }
  }
};

// The two inputs of a binary op: two arrays, or one array and a scalar on either side.
enum class ScalarSide : int8_t { none, right, left };

template <class T>
struct BinaryInputs {
  const T* a;
  const T* b;  // null when a scalar replaces it
  T scalar;
  ScalarSide side;
  NNX_HD void load(const int64_t (&o)[3], T* lhs, T* rhs) const {
    const T x = a[o[1]];
    switch (side) {
      case ScalarSide::none: *lhs = x; *rhs = b[o[2]]; break;
      case ScalarSide::right: *lhs = x; *rhs = scalar; break;
      case ScalarSide::left: *lhs = scalar; *rhs = x; break;
    }
  }
};

template <class T, class Out>
struct BinaryBody {  // offsets: out, a, b
  BinaryInputs<T> in;
  Out* out;
  BinaryOp op;
  bool gives_bool;
  NNX_HD void operator()(const int64_t (&o)[3]) const {
    T lhs, rhs;
    in.load(o, &lhs, &rhs);
    if constexpr (kIsBool<Out> && !kIsBool<T>) {
      out[o[0]] = binary_predicate(op, lhs, rhs);
    } else if constexpr (kIsBool<Out>) {
      out[o[0]] = gives_bool ? binary_predicate(op, lhs, rhs) : binary_value(op, lhs, rhs);
    } else {
      out[o[0]] = binary_value(op, lhs, rhs);
    }
  }
};

template <class Bits>
struct WhereBody {  // offsets: out, condition, a, b
  const bool* condition;
  const Bits* a;
  const Bits* b;
  Bits* out;
  NNX_HD void operator()(const int64_t (&o)[4]) const { out[o[0]] = condition[o[1]] ? a[o[2]] : b[o[3]]; }
};

// ---- Launcher checks (the bindings validate first; these keep a wrong call from computing garbage) ------

template <class Op>
void require_supported(Op op, DType input, DType output) {
  const OpInfo& info = op_info(op);
  if (!domain_accepts(info.domain, input))
    throw std::invalid_argument(std::string(info.name) + " needs " + domain_description(info.domain) + ", got " +
                                dtype_name(input));
  const DType expected = info.gives_bool ? DType::Bool : input;
  if (output != expected)
    throw std::invalid_argument(std::string(info.name) + " writes " + dtype_name(expected) + ", got an output of " +
                                dtype_name(output));
}

template <class T, class F>
void with_output_type(bool gives_bool, F&& f) {
  if (gives_bool) f(bool{});
  else f(T{});
}

const std::vector<int64_t>& zero_strides(size_t ndim) {
  thread_local std::vector<int64_t> zeros;
  zeros.assign(ndim, 0);
  return zeros;
}

void launch_binary(BinaryOp op, const StridedOperand& a, const StridedOperand* b, Scalar scalar, ScalarSide side,
                   const StridedOperand& out, const std::vector<int64_t>& shape) {
  require_supported(op, a.dtype, out.dtype);
  if (b && b->dtype != a.dtype) throw std::invalid_argument("binary: a and b must share a dtype");
  const std::vector<int64_t>& b_strides = b ? b->strides : zero_strides(shape.size());
  const auto layout = make_layout<3>(shape, {&out.strides, &a.strides, &b_strides});
  const bool gives_bool = op_info(op).gives_bool;
  dispatch(a.dtype, [&](auto input_tag) {
    using T = decltype(input_tag);
    const BinaryInputs<T> in{data_of<const T>(a), b ? data_of<const T>(*b) : nullptr, scalar_as<T>(scalar), side};
    with_output_type<T>(gives_bool, [&](auto output_tag) {
      using Out = decltype(output_tag);
      launch("binary", layout, BinaryBody<T, Out>{in, data_of<Out>(out), op, gives_bool});
    });
  });
}

}  // namespace

// ---- Launchers ---------------------------------------------------------------------------------------------

void copy(const StridedOperand& src, const StridedOperand& dst, const std::vector<int64_t>& shape) {
  const auto layout = make_layout<2>(shape, {&dst.strides, &src.strides});
  if (layout.count > 0 && layout.contiguous && src.dtype == dst.dtype) {  // a plain device-to-device copy
    check(cudaMemcpyAsync(dst.data, src.data, static_cast<size_t>(layout.count * itemsize(src.dtype)),
                          cudaMemcpyDeviceToDevice, current_stream()),
          "cudaMemcpyAsync (device to device)");
    return;
  }
  dispatch(src.dtype, [&](auto tag) {
    using Src = decltype(tag);
    launch("copy", layout, CopyBody<Src>{data_of<const Src>(src), dst.data, dst.dtype});
  });
}

void fill(const StridedOperand& out, Scalar value, const std::vector<int64_t>& shape) {
  const auto layout = make_layout<1>(shape, {&out.strides});
  dispatch(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T typed = scalar_as<T>(value);
    dispatch_bits(out.dtype, [&](auto bits_tag) {
      using Bits = decltype(bits_tag);
      Bits bits = 0;
      std::memcpy(&bits, &typed, sizeof(T));  // bool is one byte, like uint8_t
      launch("fill", layout, FillBody<Bits>{data_of<Bits>(out), bits});
    });
  });
}

void arange(void* out, DType dtype, int64_t n, double start, double step) {
  Layout<1> layout;
  layout.count = n;
  layout.contiguous = true;
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    launch("arange", layout, ArangeBody<T>{static_cast<T*>(out), start, step});
  });
}

void unary(UnaryOp op, const StridedOperand& x, const StridedOperand& out, const std::vector<int64_t>& shape) {
  require_supported(op, x.dtype, out.dtype);
  const auto layout = make_layout<2>(shape, {&out.strides, &x.strides});
  const bool gives_bool = op_info(op).gives_bool;
  dispatch(x.dtype, [&](auto input_tag) {
    using T = decltype(input_tag);
    with_output_type<T>(gives_bool, [&](auto output_tag) {
      using Out = decltype(output_tag);
      launch("unary", layout, UnaryBody<T, Out>{data_of<const T>(x), data_of<Out>(out), op, gives_bool});
    });
  });
}

void binary(BinaryOp op, const StridedOperand& a, const StridedOperand& b, const StridedOperand& out,
            const std::vector<int64_t>& shape) {
  launch_binary(op, a, &b, Scalar{}, ScalarSide::none, out, shape);
}

void binary_scalar(BinaryOp op, const StridedOperand& a, Scalar scalar, bool scalar_first, const StridedOperand& out,
                   const std::vector<int64_t>& shape) {
  launch_binary(op, a, nullptr, scalar, scalar_first ? ScalarSide::left : ScalarSide::right, out, shape);
}

void where(const StridedOperand& condition, const StridedOperand& a, const StridedOperand& b, const StridedOperand& out,
           const std::vector<int64_t>& shape) {
  if (condition.dtype != DType::Bool || a.dtype != out.dtype || b.dtype != out.dtype)
    throw std::invalid_argument("where: condition must be bool and a, b, out of one dtype");
  const auto layout = make_layout<4>(shape, {&out.strides, &condition.strides, &a.strides, &b.strides});
  dispatch_bits(out.dtype, [&](auto tag) {
    using Bits = decltype(tag);
    launch("where", layout,
           WhereBody<Bits>{data_of<const bool>(condition), data_of<const Bits>(a), data_of<const Bits>(b), data_of<Bits>(out)});
  });
}

}  // namespace nnx::cuda
