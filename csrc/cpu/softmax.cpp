// Softmax cross-entropy is not here: it is a loss (cpu/losses.cpp, fused softmax + loss + gradient per row).
// softmax / log_softmax kernels: vectorised passes per row (max, exp, sum, scale), rows split
// over threads above the OpenMP threshold. Float sums accumulate in double.
#include "core/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.h"
#include "cpu/cpu_math.h"

namespace nnx::cpu {
namespace {

// NaN is not picked as the maximum here; it reaches the output through exp(NaN - max) = NaN instead.
template <class T>
T row_max(const T* row, int64_t cols) {
  T max = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : max)
  for (int64_t j = 0; j < cols; ++j) max = row[j] > max ? row[j] : max;
  return max;
}

// out = exp(row - max). Every exponent is <= 0, so out is in [0, 1] and the row's max gives 1; a row of
// only -inf has max = -inf, -inf - -inf = NaN, and the row becomes NaN, as in PyTorch.
template <class T>
void exp_shifted(T* out, const T* row, T max, int64_t cols) {
#pragma omp simd
  for (int64_t j = 0; j < cols; ++j) out[j] = exp_approx(row[j] - max);
}

// A separate loop rather than a sum inside exp_shifted: GCC 12 does not vectorise the exp's selects
// in a loop that also converts to double for the sum.
template <class T>
double sum_in_double(const T* values, int64_t cols) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < cols; ++j) sum += static_cast<double>(values[j]);
  return sum;
}

template <class T>
void softmax_row(T* out, const T* row, int64_t cols) {
  const T max = row_max(row, cols);
  exp_shifted(out, row, max, cols);
  const T inverse_sum = static_cast<T>(1.0 / sum_in_double(out, cols));
#pragma omp simd
  for (int64_t j = 0; j < cols; ++j) out[j] *= inverse_sum;
}

template <class T>
void log_softmax_row(T* out, const T* row, int64_t cols) {
  const T max = row_max(row, cols);
  exp_shifted(out, row, max, cols);  // out is scratch space for the exps here
  const T log_sum = static_cast<T>(std::log(sum_in_double(out, cols)));
  // (x - max) - log_sum, not x - (max + log_sum): x - max is exact near the max even for |x| ~ 1e4.
#pragma omp simd
  for (int64_t j = 0; j < cols; ++j) out[j] = (row[j] - max) - log_sum;
}

template <class T>
void softmax_backward_row(T* grad_in, const T* grad_out, const T* out, int64_t cols) {
  double dot = 0.0;
#pragma omp simd reduction(+ : dot)
  for (int64_t j = 0; j < cols; ++j) dot += static_cast<double>(grad_out[j]) * static_cast<double>(out[j]);
  const T shift = static_cast<T>(dot);
#pragma omp simd
  for (int64_t j = 0; j < cols; ++j) grad_in[j] = out[j] * (grad_out[j] - shift);
}

template <class T>
void log_softmax_backward_row(T* grad_in, const T* grad_out, const T* out, int64_t cols) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < cols; ++j) sum += static_cast<double>(grad_out[j]);
  const T grad_sum = static_cast<T>(sum);
#pragma omp simd
  for (int64_t j = 0; j < cols; ++j) grad_in[j] = grad_out[j] - exp_approx(out[j]) * grad_sum;
}

inline int64_t row_grain(int64_t cols) { return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(cols, 1)); }

}  // namespace

template <class T>
void softmax_forward(T* out, const T* x, int64_t rows, int64_t cols, bool log) {
  if (cols == 0) return;
  parallel_for(rows, row_grain(cols), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if (log)
        log_softmax_row(out + i * cols, x + i * cols, cols);
      else
        softmax_row(out + i * cols, x + i * cols, cols);
    }
  });
}

template <class T>
void softmax_backward(T* grad_in, const T* grad_out, const T* out, int64_t rows, int64_t cols, bool log) {
  if (cols == 0) return;
  parallel_for(rows, row_grain(cols), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t offset = i * cols;
      if (log)
        log_softmax_backward_row(grad_in + offset, grad_out + offset, out + offset, cols);
      else
        softmax_backward_row(grad_in + offset, grad_out + offset, out + offset, cols);
    }
  });
}

template void softmax_forward<float>(float*, const float*, int64_t, int64_t, bool);
template void softmax_forward<double>(double*, const double*, int64_t, int64_t, bool);
template void softmax_backward<float>(float*, const float*, const float*, int64_t, int64_t, bool);
template void softmax_backward<double>(double*, const double*, const double*, int64_t, int64_t, bool);

}  // namespace nnx::cpu
