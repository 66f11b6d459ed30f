// Column sums, row argmax and squared norms, parallel over the axis (or blocks) that keep each thread's writes private.
#include "core/reduce.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"

namespace nnx::cpu {

template <class T>
void column_sum(const T* x, int64_t N, int64_t M, T* out, bool accumulate) {
  // Threads own disjoint column blocks; each walks all rows of its block (row-major, cache friendly
  // once the block is wide enough). Accumulating in double keeps float sums exact to the last bit
  // for the row counts a batch has.
  const int64_t grain = std::max<int64_t>(16, kParallelGrain / std::max<int64_t>(N, 1));
  parallel_for(M, grain, [&](int64_t begin, int64_t end) {
    constexpr int64_t kBlock = 256;
    double acc[kBlock];
    for (int64_t j0 = begin; j0 < end; j0 += kBlock) {
      const int64_t width = std::min(kBlock, end - j0);
      for (int64_t j = 0; j < width; ++j) acc[j] = accumulate ? static_cast<double>(out[j0 + j]) : 0.0;
      for (int64_t i = 0; i < N; ++i) {
        const T* row = x + i * M + j0;
#pragma omp simd
        for (int64_t j = 0; j < width; ++j) acc[j] += static_cast<double>(row[j]);
      }
      for (int64_t j = 0; j < width; ++j) out[j0 + j] = static_cast<T>(acc[j]);
    }
  });
}

template <class T>
void row_argmax(const T* x, int64_t N, int64_t M, int64_t* out) {
  parallel_for(N, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(M, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const T* row = x + i * M;
      int64_t best = 0;
      for (int64_t j = 0; j < M; ++j) {
        if (std::isnan(row[j])) { best = j; break; }
        if (row[j] > row[best]) best = j;
      }
      out[i] = best;
    }
  });
}

template <class T>
void squared_norm(const T* x, int64_t n, T* out) {
  const int64_t blocks = (n + kSquaredNormBlock - 1) / kSquaredNormBlock;
  std::vector<double> block_sums(static_cast<size_t>(blocks));
  parallel_for(blocks, std::max<int64_t>(1, kParallelGrain / kSquaredNormBlock), [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const T* block = x + b * kSquaredNormBlock;
      const int64_t length = std::min(kSquaredNormBlock, n - b * kSquaredNormBlock);
      // 32 running sums (8 vector registers of doubles) so the additions do not wait on each other's latency.
      constexpr int64_t kLanes = 32;
      double lanes[kLanes] = {};
      int64_t i = 0;
      for (; i + kLanes <= length; i += kLanes) {
#pragma omp simd
        for (int64_t j = 0; j < kLanes; ++j)
          lanes[j] += static_cast<double>(block[i + j]) * static_cast<double>(block[i + j]);
      }
      double acc = 0.0;
      for (int64_t j = 0; j < kLanes; ++j) acc += lanes[j];
      for (; i < length; ++i) acc += static_cast<double>(block[i]) * static_cast<double>(block[i]);
      block_sums[static_cast<size_t>(b)] = acc;
    }
  });
  double total = 0.0;
  for (double block_sum : block_sums) total += block_sum;
  *out = static_cast<T>(total);
}

template void column_sum<float>(const float*, int64_t, int64_t, float*, bool);
template void column_sum<double>(const double*, int64_t, int64_t, double*, bool);
template void row_argmax<float>(const float*, int64_t, int64_t, int64_t*);
template void row_argmax<double>(const double*, int64_t, int64_t, int64_t*);
template void squared_norm<float>(const float*, int64_t, float*);
template void squared_norm<double>(const double*, int64_t, double*);

}  // namespace nnx::cpu
