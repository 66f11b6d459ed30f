// Row-wise kernels' building blocks (softmax.cu, losses.cu): a group of threads owns one row, either a
// warp (short rows: many rows per block) or a whole block (long rows), and reduces over it in a fixed
// order, so results do not depend on scheduling. Include only from .cu files.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "cuda/common.cuh"

namespace nnx::cuda {

constexpr int kWarpSize = 32;
static_assert(kBlock % kWarpSize == 0, "blocks are whole warps");

// Rows up to this length get one warp each; longer rows get a whole block.
constexpr int64_t kWarpRowLimit = 1024;

// Threads [k * kRowThreads, (k + 1) * kRowThreads) of a block own rows k, k + rows_per_block * gridDim.x,
// ... Every thread of a group runs the same iterations (the row loop's bounds are uniform over the
// group), which the reductions below rely on.
template <int kRowThreads>
struct RowGroup {
  static_assert(kRowThreads == kWarpSize || kRowThreads == kBlock, "a row belongs to a warp or a block");
  static constexpr int kRowsPerBlock = kBlock / kRowThreads;

  __device__ static int lane() { return static_cast<int>(threadIdx.x) % kRowThreads; }
  __device__ static int64_t first_row() {
    return static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + static_cast<int64_t>(threadIdx.x) / kRowThreads;
  }
  __device__ static int64_t row_stride() { return static_cast<int64_t>(gridDim.x) * kRowsPerBlock; }

  // Blocks for `rows` rows (launch with kBlock threads; the row loop strides past the cap).
  static unsigned blocks(int64_t rows) { return grid_for(rows * kRowThreads); }

  // combine(a, b) over the group; every thread of the group gets the result. The order of the
  // combination is fixed (butterfly within warps, then the warps' partials in warp order).
  template <class T, class Combine>
  __device__ static T reduce(T value, Combine combine) {
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2)
      value = combine(value, __shfl_xor_sync(0xffffffffu, value, offset));
    if constexpr (kRowThreads == kWarpSize) {
      return value;
    } else {
      __shared__ T partials[kBlock / kWarpSize];
      __syncthreads();  // every thread has read the partials of the previous reduction
      if (threadIdx.x % kWarpSize == 0) partials[threadIdx.x / kWarpSize] = value;
      __syncthreads();
      T total = partials[0];
      for (int w = 1; w < kBlock / kWarpSize; ++w) total = combine(total, partials[w]);
      return total;
    }
  }

  template <class T>
  __device__ static T sum(T value) {
    return reduce(value, [](T a, T b) { return a + b; });
  }

  // The largest non-NaN value (-inf for none): a NaN reaches the results through exp(NaN - max) instead.
  template <class T>
  __device__ static T max(T value) {
    return reduce(value, [](T a, T b) { return b > a ? b : a; });
  }
};

// A whole block reducing one value per thread (e.g. a grid-stride sum): the one-row-per-block group.
using BlockReduce = RowGroup<kBlock>;

// Calls launch(std::integral_constant<int, threads per row>) with the group size for rows of `cols`
// elements, so a launcher writes its <<<>>> once for both variants.
template <class Launch>
void with_row_threads(int64_t cols, Launch&& launch) {
  if (cols <= kWarpRowLimit)
    launch(std::integral_constant<int, kWarpSize>{});
  else
    launch(std::integral_constant<int, kBlock>{});
}

// The largest non-NaN element of row[0, cols) (-inf if there is none), for every thread of the group.
template <int kRowThreads, class T>
__device__ T row_max(const T* row, int64_t cols) {
  using Group = RowGroup<kRowThreads>;
  T largest = -INFINITY;
  for (int64_t j = Group::lane(); j < cols; j += kRowThreads) largest = row[j] > largest ? row[j] : largest;
  return Group::max(largest);
}

}  // namespace nnx::cuda
