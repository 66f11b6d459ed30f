// Reductions on the GPU: one tree-reduction kernel for every ReduceOp (a functor says how to load,
// combine and store), prefix sums, and the column_sum/row_argmax/squared_norm the training step uses.
#include "core/reduce.h"
#include "cuda/reduce_axis.h"

#include <cub/block/block_scan.cuh>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "cuda/common.cuh"

namespace nnx::cuda {
namespace {

// --- the ops: identity, load (value and its position on the axis), combine, store -----------------------
// combine must be commutative and associative: threads meet the axis in strided order.

template <class T>
using WideAcc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <class T>
constexpr T lowest_value() {
  if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::lowest();
}

template <class T>
constexpr T highest_value() {
  if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::max();
}

template <class T>
__device__ __forceinline__ bool is_nan(T v) { return v != v; }  // always false for integers

// Integer sums and products wrap like NumPy's int64: through uint64, since signed overflow is undefined
// behaviour in C++ (device code included). Floating-point values are added and multiplied as they are.
template <class T>
__host__ __device__ __forceinline__ T wrapping_add(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  else return a + b;
}
template <class T>
__host__ __device__ __forceinline__ T wrapping_mul(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  else return a * b;
}

// cub scan operator: an int64 running sum wraps instead of overflowing.
struct WrappingSum {
  template <class T>
  __device__ __forceinline__ T operator()(const T& a, const T& b) const { return wrapping_add(a, b); }
};

// sum (floats keep their dtype, integers give int64); accumulate adds the existing output (column_sum).
template <class In>
struct SumOp {
  using Acc = WideAcc<In>;
  using Out = std::conditional_t<std::is_floating_point_v<In>, In, int64_t>;
  bool accumulate = false;
  __device__ Acc identity() const { return Acc(0); }
  __device__ Acc load(In v, int64_t) const { return Acc(v); }
  __device__ Acc combine(Acc a, Acc b) const { return wrapping_add(a, b); }
  __device__ void store(Out* dst, Acc acc, int64_t) const { *dst = Out(accumulate ? wrapping_add(acc, Acc(*dst)) : acc); }
};

// mean of bool/integers is int64, truncated toward zero (the contract of _cuda.pyi; NumPy's float64 mean
// is the caller's cast to float64 first).
template <class In>
struct MeanOp {
  using Acc = WideAcc<In>;
  using Out = std::conditional_t<std::is_floating_point_v<In>, In, int64_t>;
  __device__ Acc identity() const { return Acc(0); }
  __device__ Acc load(In v, int64_t) const { return Acc(v); }
  __device__ Acc combine(Acc a, Acc b) const { return wrapping_add(a, b); }
  __device__ void store(Out* dst, Acc acc, int64_t length) const {
    if (std::is_floating_point_v<Out> || length > 0)  // 0 / 0 = NaN for floats, like NumPy; 0 for integers
      *dst = Out(static_cast<double>(acc) / static_cast<double>(length));
    else
      *dst = Out(0);
  }
};

// sum of squares, in double for floats (squared_norm).
template <class In>
struct SquareSumOp {
  using Acc = double;
  using Out = In;
  __device__ Acc identity() const { return 0.0; }
  __device__ Acc load(In v, int64_t) const { return static_cast<double>(v) * static_cast<double>(v); }
  __device__ Acc combine(Acc a, Acc b) const { return a + b; }
  __device__ void store(Out* dst, Acc acc, int64_t) const { *dst = Out(acc); }
};

template <class In>
struct ProdOp {
  using Acc = WideAcc<In>;
  using Out = std::conditional_t<std::is_floating_point_v<In>, In, int64_t>;
  __device__ Acc identity() const { return Acc(1); }
  __device__ Acc load(In v, int64_t) const { return Acc(v); }
  __device__ Acc combine(Acc a, Acc b) const { return wrapping_mul(a, b); }
  __device__ void store(Out* dst, Acc acc, int64_t) const { *dst = Out(acc); }
};

// max/min propagate NaN (the first operand that is NaN wins; any NaN gives NaN).
template <class In, bool kMax>
struct ExtremeOp {
  using Acc = In;
  using Out = In;
  __device__ Acc identity() const { return kMax ? lowest_value<In>() : highest_value<In>(); }
  __device__ Acc load(In v, int64_t) const { return v; }
  __device__ Acc combine(Acc a, Acc b) const {
    if (is_nan(a)) return a;
    if (is_nan(b)) return b;
    return kMax ? (a > b ? a : b) : (a < b ? a : b);
  }
  __device__ void store(Out* dst, Acc acc, int64_t) const { *dst = acc; }
};

template <class T>
struct ValueIndex {
  T value;
  int64_t index;
};

// argmax/argmin: the extreme value, NaN beating every number, ties going to the smaller index (so the
// result is the first occurrence whatever order the partials meet in). The identity's index is larger
// than any real one, so a real element always wins against it.
template <class In, bool kMax>
struct ArgExtremeOp {
  using Acc = ValueIndex<In>;
  using Out = int64_t;
  __device__ Acc identity() const {
    return {kMax ? lowest_value<In>() : highest_value<In>(), std::numeric_limits<int64_t>::max()};
  }
  __device__ Acc load(In v, int64_t index) const { return {v, index}; }
  __device__ Acc combine(Acc a, Acc b) const {
    const bool a_nan = is_nan(a.value), b_nan = is_nan(b.value);
    if (a_nan != b_nan) return a_nan ? a : b;
    if (!a_nan && a.value != b.value) return (kMax ? a.value > b.value : a.value < b.value) ? a : b;
    return a.index < b.index ? a : b;
  }
  __device__ void store(Out* dst, Acc acc, int64_t) const { *dst = acc.index; }
};

// any/all: an element is true when it is not zero (NaN is true, as in NumPy). Out is bool (one byte).
template <class In, bool kAny>
struct LogicalOp {
  using Acc = bool;
  using Out = uint8_t;
  __device__ Acc identity() const { return !kAny; }
  __device__ Acc load(In v, int64_t) const { return v != In(0); }
  __device__ Acc combine(Acc a, Acc b) const { return kAny ? (a || b) : (a && b); }
  __device__ void store(Out* dst, Acc acc, int64_t) const { *dst = acc ? 1 : 0; }
};

// Pass 2 of a split reduction: the partials are combined as they are (their positions are already inside them).
template <class Op>
struct CombinePartialsOp : Op {
  __device__ typename Op::Acc load(typename Op::Acc v, int64_t) const { return v; }
};

// --- the kernel ---------------------------------------------------------------------------------------
// x is viewed as (outer, chunks * chunk_length >= length, inner); output q = (o, c, i) reduces positions
// [c * chunk_length, min(length, (c + 1) * chunk_length)) of line (o, i). Thread (tx, ty) of a
// (bx, by) block serves output tile * bx + tx and walks its positions with stride by (tx runs along
// inner, so reads are coalesced when inner > 1); the by partials of each output then meet in a shared
// memory tree. Each result goes to out through op.store (store_length is the whole axis length: mean
// divides by it), or raw to `partials` when that is given (pass 1 of a split reduction).
template <class In, class Op>
__global__ void reduce_kernel(const In* x, typename Op::Out* out, typename Op::Acc* partials, int64_t outer,
                              int64_t length, int64_t inner, int64_t chunks, int64_t chunk_length,
                              int64_t store_length, Op op) {
  using Acc = typename Op::Acc;
  __shared__ Acc partial[kBlock];
  const int tx = threadIdx.x, ty = threadIdx.y, bx = blockDim.x, by = blockDim.y;
  const int64_t outputs = outer * chunks * inner;
  for (int64_t tile = blockIdx.x; tile * bx < outputs; tile += gridDim.x) {  // uniform across the block
    const int64_t q = tile * bx + tx;
    Acc acc = op.identity();
    if (q < outputs) {
      const int64_t o = q / (chunks * inner), c = q / inner % chunks, i = q % inner;
      const In* line = x + o * length * inner + i;
      const int64_t chunk_end = (c + 1) * chunk_length, end = chunk_end < length ? chunk_end : length;
      for (int64_t l = c * chunk_length + ty; l < end; l += by) acc = op.combine(acc, op.load(line[l * inner], l));
    }
    partial[ty * bx + tx] = acc;
    __syncthreads();
    for (int stride = by / 2; stride > 0; stride /= 2) {
      if (ty < stride) partial[ty * bx + tx] = op.combine(partial[ty * bx + tx], partial[(ty + stride) * bx + tx]);
      __syncthreads();
    }
    if (ty == 0 && q < outputs) {
      if (partials)
        partials[q] = partial[tx];
      else
        op.store(out + q, partial[tx], store_length);
    }
    __syncthreads();  // the next tile reuses `partial`
  }
}

int pow2_at_least(int64_t n, int cap) {
  int p = 1;
  while (p < cap && p < n) p *= 2;
  return p;
}

struct Shape2D {
  int bx, by;
};

// by threads share an axis, bx outputs share a block; up to 32 neighbours along inner for coalescing.
Shape2D block_shape(int64_t length, int64_t inner) {
  const int bx_min = inner > 1 ? pow2_at_least(inner, 32) : 1;
  const int by = pow2_at_least(std::max<int64_t>(length, 1), kBlock / bx_min);
  return {kBlock / by, by};
}

template <class In, class Op>
void launch_reduce(const In* x, typename Op::Out* out, typename Op::Acc* partials, int64_t outer, int64_t length,
                   int64_t inner, int64_t chunks, int64_t chunk_length, int64_t store_length, const Op& op) {
  const Shape2D shape = block_shape(chunk_length, inner);
  const int64_t tiles = (outer * chunks * inner + shape.bx - 1) / shape.bx;
  const unsigned grid = static_cast<unsigned>(std::min<int64_t>(tiles, 65535 * 8));
  reduce_kernel<In, Op><<<grid, dim3(shape.bx, shape.by), 0, current_stream()>>>(
      x, out, partials, outer, length, inner, chunks, chunk_length, store_length, op);
  check_launch("reduce_kernel");
}

// Blocks worth having in flight (a few per SM of the largest GPUs) before splitting an axis is not
// worth its second pass, and the fewest positions a split chunk gives each thread.
constexpr int64_t kTargetBlocks = 512;
constexpr int64_t kMinPositionsPerThread = 16;

template <class In, class Op>
void run_reduce(const Op& op, const In* x, typename Op::Out* out, int64_t outer, int64_t length, int64_t inner) {
  const int64_t outputs = outer * inner;
  if (outputs == 0) return;
  const Shape2D shape = block_shape(length, inner);
  const int64_t tiles = (outputs + shape.bx - 1) / shape.bx;
  int64_t chunks = std::min((kTargetBlocks + tiles - 1) / tiles,
                            length / (int64_t{shape.by} * kMinPositionsPerThread));
  if (chunks <= 1) return launch_reduce(x, out, nullptr, outer, length, inner, 1, length, length, op);
  // Few outputs over a long axis: pass 1 reduces `chunks` slices of the axis into (outer, chunks, inner)
  // partials, pass 2 reduces those. The scratch returns to the stream-ordered cache when this returns,
  // and is only reused by work queued after pass 2.
  const int64_t chunk_length = (length + chunks - 1) / chunks;
  chunks = (length + chunk_length - 1) / chunk_length;
  using Acc = typename Op::Acc;
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  auto scratch = Storage::allocate(outer * chunks * inner * static_cast<int64_t>(sizeof(Acc)), device);
  Acc* partials = static_cast<Acc*>(scratch->ptr());
  launch_reduce(x, out, partials, outer, length, inner, chunks, chunk_length, length, op);
  launch_reduce(partials, out, nullptr, outer, chunks, inner, 1, chunks, length, CombinePartialsOp<Op>{op});
}

template <class In>
void reduce_typed(ReduceOp op, const In* x, void* out, int64_t outer, int64_t length, int64_t inner) {
  auto run = [&](auto functor) {
    using Op = decltype(functor);
    run_reduce<In, Op>(functor, x, static_cast<typename Op::Out*>(out), outer, length, inner);
  };
  switch (op) {
    case ReduceOp::Sum: return run(SumOp<In>{});
    case ReduceOp::Prod: return run(ProdOp<In>{});
    case ReduceOp::Mean: return run(MeanOp<In>{});
    case ReduceOp::Max: return run(ExtremeOp<In, true>{});
    case ReduceOp::Min: return run(ExtremeOp<In, false>{});
    case ReduceOp::Argmax: return run(ArgExtremeOp<In, true>{});
    case ReduceOp::Argmin: return run(ArgExtremeOp<In, false>{});
    case ReduceOp::Any: return run(LogicalOp<In, true>{});
    case ReduceOp::All: return run(LogicalOp<In, false>{});
  }
  throw std::invalid_argument("reduce: unknown op");
}

// --- cumsum -------------------------------------------------------------------------------------------

// One thread per line: enough lines to fill the GPU, or lines too short to share.
template <class In, class Acc, class Out>
__global__ void cumsum_line_kernel(const In* x, Out* out, int64_t outer, int64_t length, int64_t inner) {
  const int64_t lines = outer * inner;
  for (int64_t line = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; line < lines;
       line += int64_t{gridDim.x} * blockDim.x) {
    const int64_t base = line / inner * length * inner + line % inner;
    Acc running = Acc(0);
    for (int64_t l = 0; l < length; ++l) {
      running = wrapping_add(running, Acc(x[base + l * inner]));
      out[base + l * inner] = Out(running);
    }
  }
}

// One block per line: the block scans kBlock positions at a time and carries the running total.
template <class In, class Acc, class Out>
__global__ void cumsum_block_kernel(const In* x, Out* out, int64_t outer, int64_t length, int64_t inner) {
  using BlockScan = cub::BlockScan<Acc, kBlock>;
  __shared__ typename BlockScan::TempStorage scan_storage;
  const int64_t lines = outer * inner;
  for (int64_t line = blockIdx.x; line < lines; line += gridDim.x) {
    const int64_t base = line / inner * length * inner + line % inner;
    Acc carry = Acc(0);
    for (int64_t start = 0; start < length; start += kBlock) {
      const int64_t l = start + threadIdx.x;
      Acc inclusive, block_total;
      BlockScan(scan_storage).InclusiveScan(l < length ? Acc(x[base + l * inner]) : Acc(0), inclusive, WrappingSum{},
                                            block_total);
      if (l < length) out[base + l * inner] = Out(wrapping_add(carry, inclusive));
      carry = wrapping_add(carry, block_total);
      __syncthreads();  // scan_storage is reused by the next chunk
    }
  }
}

constexpr int64_t kLinesForThreadPerLine = 8192;
constexpr int64_t kShortLine = 64;

// out has x's dtype (integers wrap like NumPy's); the running sum is double or int64.
template <class In>
void cumsum_typed(const In* x, void* out_raw, int64_t outer, int64_t length, int64_t inner) {
  using Acc = WideAcc<In>;
  using Out = In;
  Out* out = static_cast<Out*>(out_raw);
  const int64_t lines = outer * inner;
  if (lines == 0 || length == 0) return;
  cudaStream_t stream = current_stream();
  if (lines >= kLinesForThreadPerLine || length <= kShortLine) {
    cumsum_line_kernel<In, Acc, Out><<<grid_for(lines), kBlock, 0, stream>>>(x, out, outer, length, inner);
    check_launch("cumsum_line_kernel");
  } else {
    const unsigned grid = static_cast<unsigned>(std::min<int64_t>(lines, 65535 * 8));
    cumsum_block_kernel<In, Acc, Out><<<grid, kBlock, 0, stream>>>(x, out, outer, length, inner);
    check_launch("cumsum_block_kernel");
  }
}

// Bool and uint8 share one instantiation (NumPy's bool is one byte holding 0 or 1).
template <class F>
void dispatch_dtype(DType dtype, const void* x, F&& run) {
  switch (dtype) {
    case DType::Bool:
    case DType::UInt8: return run(static_cast<const uint8_t*>(x));
    case DType::Int32: return run(static_cast<const int32_t*>(x));
    case DType::Int64: return run(static_cast<const int64_t*>(x));
    case DType::Float32: return run(static_cast<const float*>(x));
    case DType::Float64: return run(static_cast<const double*>(x));
  }
  throw std::invalid_argument("reduce: unknown dtype");
}

}  // namespace

DType reduce_result_dtype(ReduceOp op, DType x_dtype) {
  const bool is_float = x_dtype == DType::Float32 || x_dtype == DType::Float64;
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Prod: return is_float ? x_dtype : DType::Int64;
    case ReduceOp::Mean: return is_float ? x_dtype : DType::Int64;
    case ReduceOp::Max:
    case ReduceOp::Min: return x_dtype;
    case ReduceOp::Argmax:
    case ReduceOp::Argmin: return DType::Int64;
    case ReduceOp::Any:
    case ReduceOp::All: return DType::Bool;
  }
  throw std::invalid_argument("reduce: unknown op");
}

void reduce(ReduceOp op, DType x_dtype, const void* x, void* out, int64_t outer, int64_t length, int64_t inner) {
  dispatch_dtype(x_dtype, x, [&](auto typed) { reduce_typed(op, typed, out, outer, length, inner); });
}

void cumsum(DType x_dtype, const void* x, void* out, int64_t outer, int64_t length, int64_t inner) {
  dispatch_dtype(x_dtype, x, [&](auto typed) { cumsum_typed(typed, out, outer, length, inner); });
}

template <class T>
void column_sum(const T* x, int64_t rows, int64_t cols, T* out, bool accumulate) {
  SumOp<T> op;
  op.accumulate = accumulate;
  run_reduce<T>(op, x, out, 1, rows, cols);
}

template <class T>
void row_argmax(const T* x, int64_t rows, int64_t cols, int64_t* out) {
  run_reduce<T>(ArgExtremeOp<T, true>{}, x, out, rows, cols, 1);
}

template <class T>
void squared_norm(const T* x, int64_t n, T* out) {
  run_reduce<T>(SquareSumOp<T>{}, x, out, 1, n, 1);
}

template void column_sum<float>(const float*, int64_t, int64_t, float*, bool);
template void column_sum<double>(const double*, int64_t, int64_t, double*, bool);
template void row_argmax<float>(const float*, int64_t, int64_t, int64_t*);
template void row_argmax<double>(const double*, int64_t, int64_t, int64_t*);
template void squared_norm<float>(const float*, int64_t, float*);
template void squared_norm<double>(const double*, int64_t, double*);

}  // namespace nnx::cuda
