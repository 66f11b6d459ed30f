// Threading helpers: OpenMP only when the work pays for a parallel region (a region costs microseconds).
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <omp.h>

namespace nnx {

// Below this many elements an elementwise kernel runs on the calling thread.
constexpr int64_t kParallelGrain = 32768;

// The thread count set by nnx._C.set_num_threads, for the whole process (0: OpenMP's default).
// omp_set_num_threads alone would only change the calling thread's setting, and a model trained in
// another Python thread would silently run at a different thread count.
inline std::atomic<int> process_num_threads{0};

// Threads a kernel may use: nnx's process-wide setting, capped by the calling thread's OpenMP setting, so
// that threadpoolctl's `threadpool_limits(n)` (which sets libgomp's limit) and omp_set_num_threads are
// obeyed too. set_num_threads raises the caller's OpenMP setting with its own, so a limit above the core
// count holds in that thread.
inline int max_threads() {
  const int openmp_limit = omp_get_max_threads();
  const int n = process_num_threads.load(std::memory_order_relaxed);
  return n > 0 && n < openmp_limit ? n : openmp_limit;
}

// Calls body(begin, end) over [0, n) split into one contiguous chunk per thread.
// Chunks are static so a kernel's result never depends on scheduling.
template <class Body>
inline void parallel_for(int64_t n, int64_t grain, Body&& body) {
  if (n <= 0) return;
  if (n <= grain || omp_in_parallel() || max_threads() == 1) {
    body(int64_t{0}, n);
    return;
  }
  const int64_t max_chunks = (n + grain - 1) / grain;
  const int threads = static_cast<int>(std::min<int64_t>(max_threads(), max_chunks));
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t chunk = (n + nt - 1) / nt;
    const int64_t begin = t * chunk, end = std::min(n, begin + chunk);
    if (begin < end) body(begin, end);
  }
}

}  // namespace nnx
