// Column sums and row argmax, parallel over the axis that keeps each thread's writes private.
#include "core/reduce.h"

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

template void column_sum<float>(const float*, int64_t, int64_t, float*, bool);
template void column_sum<double>(const double*, int64_t, int64_t, double*, bool);
template void row_argmax<float>(const float*, int64_t, int64_t, int64_t*);
template void row_argmax<double>(const double*, int64_t, int64_t, int64_t*);

}  // namespace nnx::cpu
