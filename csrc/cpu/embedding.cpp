// Embedding kernels. The backward partitions the vocabulary between threads: each thread scans all
// indices but adds only into its own rows, so no two threads write one row and every row sums its
// contributions in index order (duplicates accumulate deterministically, without atomics). Both check
// every index they read (core/bad_index.h): a bad one is never used as an address.
#include "core/embedding.h"

#include <algorithm>
#include <cstring>

#include "core/parallel.h"

namespace nnx::cpu {

template <class T>
BadIndex embedding_forward(const T* weight, int64_t V, int64_t D, const int64_t* indices, int64_t n, T* out) {
  FirstBadIndex first_bad;
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(D, 1));
  parallel_for(n, grain, [&](int64_t begin, int64_t end) {
    BadIndex chunk_bad;
    for (int64_t i = begin; i < end; ++i) {
      const int64_t row = read_index_once(indices + i);
      if (row >= 0 && row < V) {
        std::memcpy(out + i * D, weight + row * D, static_cast<size_t>(D) * sizeof(T));
      } else {
        if (!chunk_bad) chunk_bad = BadIndex{i, row};
        std::fill(out + i * D, out + (i + 1) * D, T(0));
      }
    }
    first_bad.record(chunk_bad);
  });
  return first_bad.get();
}

template <class T>
BadIndex embedding_backward(const T* grad_out, const int64_t* indices, int64_t n, int64_t V, int64_t D,
                            T* grad_weight, int64_t padding_idx) {
  FirstBadIndex first_bad;
  const auto add_rows_in = [&](int64_t first_row, int64_t end_row) {
    BadIndex scan_bad;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t row = read_index_once(indices + i);
      if (row < first_row || row >= end_row || row == padding_idx) {
        if ((row < 0 || row >= V) && !scan_bad) scan_bad = BadIndex{i, row};
        continue;
      }
      T* destination = grad_weight + row * D;
      const T* source = grad_out + i * D;
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) destination[d] += source[d];
    }
    first_bad.record(scan_bad);
  };
  // The work is n * D additions, whatever the vocabulary size.
  if (n * D <= kParallelGrain)
    add_rows_in(0, V);
  else
    parallel_for(V, 1, add_rows_in);
  return first_bad.get();
}

template BadIndex embedding_forward<float>(const float*, int64_t, int64_t, const int64_t*, int64_t, float*);
template BadIndex embedding_forward<double>(const double*, int64_t, int64_t, const int64_t*, int64_t, double*);
template BadIndex embedding_backward<float>(const float*, const int64_t*, int64_t, int64_t, int64_t, float*,
                                             int64_t);
template BadIndex embedding_backward<double>(const double*, const int64_t*, int64_t, int64_t, int64_t, double*,
                                              int64_t);

}  // namespace nnx::cpu
