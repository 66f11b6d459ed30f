// Softmax cross-entropy is not here: it is a loss (cuda/losses.cu, fused softmax + loss + gradient per row).
// softmax / log_softmax kernels: one warp per row for rows up to kWarpRowLimit, one block per longer row.
// Each row: max, sum of exps (accumulated in double, like the CPU), then one pass that writes the row.
#include "core/softmax.h"

#include "core/activations.h"
#include "cuda/common.cuh"
#include "cuda/row_group.cuh"

namespace nnx::cuda {
namespace {

using Math = LibmMath;

template <int kRowThreads, class T>
__global__ void softmax_forward_kernel(T* out, const T* x, int64_t rows, int64_t cols, bool log) {
  using Group = RowGroup<kRowThreads>;
  for (int64_t row = Group::first_row(); row < rows; row += Group::row_stride()) {
    const T* in = x + row * cols;
    T* result = out + row * cols;
    const T max = row_max<kRowThreads>(in, cols);
    // exp(x - max) <= 1; a row of only -inf has max = -inf and becomes NaN (-inf - -inf), as in PyTorch.
    double partial = 0.0;
    for (int64_t j = Group::lane(); j < cols; j += kRowThreads) {
      const T e = Math::exp(in[j] - max);
      if (!log) result[j] = e;  // rescaled below by the thread that wrote it
      partial += static_cast<double>(e);
    }
    const double sum = Group::sum(partial);
    if (log) {
      // (x - max) - log_sum, not x - (max + log_sum): x - max is exact near the max even for |x| ~ 1e4.
      const T log_sum = static_cast<T>(::log(sum));
      for (int64_t j = Group::lane(); j < cols; j += kRowThreads) result[j] = (in[j] - max) - log_sum;
    } else {
      const T inverse_sum = static_cast<T>(1.0 / sum);
      for (int64_t j = Group::lane(); j < cols; j += kRowThreads) result[j] *= inverse_sum;
    }
  }
}

template <int kRowThreads, class T>
__global__ void softmax_backward_kernel(T* grad_in, const T* grad_out, const T* out, int64_t rows, int64_t cols,
                                        bool log) {
  using Group = RowGroup<kRowThreads>;
  for (int64_t row = Group::first_row(); row < rows; row += Group::row_stride()) {
    const int64_t offset = row * cols;
    const T* g = grad_out + offset;
    const T* y = out + offset;
    T* result = grad_in + offset;
    double partial = 0.0;  // log: sum(g); softmax: sum(g * out)
    for (int64_t j = Group::lane(); j < cols; j += kRowThreads)
      partial += log ? static_cast<double>(g[j]) : static_cast<double>(g[j]) * static_cast<double>(y[j]);
    const T total = static_cast<T>(Group::sum(partial));
    if (log) {
      for (int64_t j = Group::lane(); j < cols; j += kRowThreads) result[j] = g[j] - Math::exp(y[j]) * total;
    } else {
      for (int64_t j = Group::lane(); j < cols; j += kRowThreads) result[j] = y[j] * (g[j] - total);
    }
  }
}

}  // namespace

template <class T>
void softmax_forward(T* out, const T* x, int64_t rows, int64_t cols, bool log) {
  if (rows == 0 || cols == 0) return;
  with_row_threads(cols, [&](auto row_threads) {
    constexpr int kRowThreads = decltype(row_threads)::value;
    softmax_forward_kernel<kRowThreads, T>
        <<<RowGroup<kRowThreads>::blocks(rows), kBlock, 0, current_stream()>>>(out, x, rows, cols, log);
  });
  check_launch("softmax_forward_kernel");
}

template <class T>
void softmax_backward(T* grad_in, const T* grad_out, const T* out, int64_t rows, int64_t cols, bool log) {
  if (rows == 0 || cols == 0) return;
  with_row_threads(cols, [&](auto row_threads) {
    constexpr int kRowThreads = decltype(row_threads)::value;
    softmax_backward_kernel<kRowThreads, T>
        <<<RowGroup<kRowThreads>::blocks(rows), kBlock, 0, current_stream()>>>(grad_in, grad_out, out, rows, cols, log);
  });
  check_launch("softmax_backward_kernel");
}

template void softmax_forward<float>(float*, const float*, int64_t, int64_t, bool);
template void softmax_forward<double>(double*, const double*, int64_t, int64_t, bool);
template void softmax_backward<float>(float*, const float*, const float*, int64_t, int64_t, bool);
template void softmax_backward<double>(double*, const double*, const double*, int64_t, int64_t, bool);

}  // namespace nnx::cuda
