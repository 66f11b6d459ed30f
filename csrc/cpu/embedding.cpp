// Embedding kernels. The backward partitions the vocabulary between threads: each thread scans all
// indices but adds only into its own rows, so no two threads write one row and every row sums its
// contributions in index order (duplicates accumulate deterministically, without atomics).
#include "cpu/embedding.h"

#include <algorithm>
#include <cstring>

#include "core/parallel.h"

namespace nnx::cpu {

template <class T>
void embedding_forward(const T* weight, int64_t V, int64_t D, const int64_t* indices, int64_t n, T* out) {
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(D, 1));
  parallel_for(n, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      std::memcpy(out + i * D, weight + indices[i] * D, static_cast<size_t>(D) * sizeof(T));
  });
}

template <class T>
void embedding_backward(const T* grad_out, const int64_t* indices, int64_t n, int64_t V, int64_t D,
                        T* grad_weight, int64_t padding_idx) {
  const auto add_rows_in = [&](int64_t first_row, int64_t end_row) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t row = indices[i];
      if (row < first_row || row >= end_row || row == padding_idx) continue;
      T* destination = grad_weight + row * D;
      const T* source = grad_out + i * D;
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) destination[d] += source[d];
    }
  };
  // The work is n * D additions, whatever the vocabulary size.
  if (n * D <= kParallelGrain)
    add_rows_in(0, V);
  else
    parallel_for(V, 1, add_rows_in);
}

template void embedding_forward<float>(const float*, int64_t, int64_t, const int64_t*, int64_t, float*);
template void embedding_forward<double>(const double*, int64_t, int64_t, const int64_t*, int64_t, double*);
template void embedding_backward<float>(const float*, const int64_t*, int64_t, int64_t, int64_t, float*, int64_t);
template void embedding_backward<double>(const double*, const int64_t*, int64_t, int64_t, int64_t, double*,
                                         int64_t);

}  // namespace nnx::cpu
