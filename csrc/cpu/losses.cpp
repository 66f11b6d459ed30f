// Softmax cross-entropy lives here (cross_entropy_forward), not in cpu/softmax.cpp: it is bound with the losses.
// Loss kernels. Cross-entropy fuses softmax, loss and gradient into one pass per row (each row stays in
// L1 while it is read three times); sums over rows or elements run in an order fixed by the sizes
// alone, so a loss is bitwise identical whatever the thread count.

#include "core/losses.h"

#include <algorithm>
#include <cmath>

#include "core/parallel.h"
#include "core/vecmath.h"

namespace nnx::cpu {

namespace {

// Sums block_sum(begin, end) over [0, n) cut into at most kSumBlocks blocks whose bounds depend on n
// only; the block sums are added in order. Threads merely decide who computes which block.
constexpr int64_t kSumBlocks = 256;

template <class BlockSum>
double fixed_order_sum(int64_t n, int64_t work_per_item, BlockSum&& block_sum) {
  if (n <= 0) return 0.0;
  const int64_t blocks = std::min(n, kSumBlocks);
  const int64_t work_per_block = std::max<int64_t>(1, (n / blocks) * work_per_item);
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / work_per_block);
  double partial[kSumBlocks];
  parallel_for(blocks, grain, [&](int64_t first, int64_t last) {
    for (int64_t b = first; b < last; ++b) partial[b] = block_sum(b * n / blocks, (b + 1) * n / blocks);
  });
  double total = 0.0;
  for (int64_t b = 0; b < blocks; ++b) total += partial[b];
  return total;
}

// ---- cross-entropy: row helpers -------------------------------------------------------------------

template <class T>
T row_max(const T* x, int64_t C) {
  T largest = x[0];
#pragma omp simd reduction(max : largest)
  for (int64_t j = 1; j < C; ++j) largest = x[j] > largest ? x[j] : largest;
  return largest;
}

// sum_j exp(x_j - shift); also stores each exp in `exps` when it is not null (the gradient pass
// then needs no second exp).
template <class T>
T sum_exp_shifted(const T* x, int64_t C, T shift, T* exps) {
  T sum = 0;
  if (exps) {
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < C; ++j) {
      const T e = exp_fast(x[j] - shift);
      exps[j] = e;
      sum += e;
    }
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < C; ++j) sum += exp_fast(x[j] - shift);
  }
  return sum;
}

// sum_j (shift - x_j) in double: the label-smoothing term, accurate for logits of magnitude 1e4.
template <class T>
double sum_below(const T* x, int64_t C, T shift) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < C; ++j) sum += static_cast<double>(shift) - static_cast<double>(x[j]);
  return sum;
}

// The row's gradient (core/losses.h) over the exps that `grad` holds on entry.
template <class T>
void write_row_gradient(T* grad, int64_t C, int64_t target, double inv_sum, double scale, double smoothing) {
  const CrossEntropyGradient<T> gradient(inv_sum, scale, smoothing, C);
#pragma omp simd
  for (int64_t j = 0; j < C; ++j) grad[j] = gradient(grad[j]);
  grad[target] -= gradient.at_target;
}

template <class T>
void zero_row(T* row, int64_t C) {
  std::fill(row, row + C, T(0));
}

int64_t count_valid_targets(const int64_t* target, int64_t N, int64_t ignore_index) {
  int64_t valid = 0;
  for (int64_t i = 0; i < N; ++i) valid += target[i] != ignore_index;
  return valid;
}

// One row of the forward: logsumexp, loss (returned, 0 when ignored) and, if grad is not null,
// the row's gradient times `scale`.
template <class T>
double cross_entropy_row(const T* x, int64_t C, int64_t target, bool ignored, T* logsumexp, T* grad, double scale,
                         double smoothing) {
  const T shift = row_max(x, C);
  const T sum = sum_exp_shifted(x, C, shift, grad);
  const double log_sum = std::log(static_cast<double>(sum));
  *logsumexp = static_cast<T>(static_cast<double>(shift) + log_sum);
  if (ignored) {
    if (grad) zero_row(grad, C);
    return 0.0;
  }
  if (grad) write_row_gradient(grad, C, target, 1.0 / static_cast<double>(sum), scale, smoothing);
  double loss = cross_entropy_row_loss(log_sum, static_cast<double>(shift), static_cast<double>(x[target]), smoothing);
  if (smoothing > 0.0) loss += cross_entropy_smoothing_term(smoothing, C, sum_below(x, C, shift));
  return loss;
}

}  // namespace

// ---- cross-entropy ---------------------------------------------------------------------------------

template <class T>
BadIndex cross_entropy_forward(const T* logits, const int64_t* target, int64_t N, int64_t C, T* loss, T* logsumexp,
                               T* grad_logits, Reduction reduction, int64_t ignore_index, double label_smoothing) {
  const int64_t valid = count_valid_targets(target, N, ignore_index);
  const double scale = cross_entropy_mean_scale(reduction == Reduction::mean, valid);
  FirstBadIndex first_bad;
  const double total = fixed_order_sum(N, C, [&](int64_t begin, int64_t end) {
    double block = 0.0;
    BadIndex block_bad;
    for (int64_t i = begin; i < end; ++i) {
      const int64_t t = read_index_once(target + i);
      const RowTarget use = classify_target(t, C, ignore_index);
      if (use == RowTarget::out_of_range && !block_bad) block_bad = BadIndex{i, t};
      T* grad_row = grad_logits ? grad_logits + i * C : nullptr;
      const double row_loss = cross_entropy_row(logits + i * C, C, t, use != RowTarget::used, logsumexp + i, grad_row,
                                                scale, label_smoothing);
      if (reduction == Reduction::none) loss[i] = static_cast<T>(row_loss);
      block += row_loss;
    }
    first_bad.record(block_bad);
    return block;
  });
  if (reduction != Reduction::none) loss[0] = static_cast<T>(reduce_total(total, valid, reduction));
  return first_bad.get();
}

// ---- elementwise losses: shared drivers ------------------------------------------------------------

namespace {

// Stores element_loss(i) (none) or its fixed-order double sum, divided by n for mean.
template <class T, class ElementLoss>
void elementwise_loss_forward(int64_t n, T* loss, Reduction reduction, ElementLoss&& element_loss) {
  if (reduction == Reduction::none) {
    parallel_for(n, kParallelGrain, [&](int64_t begin, int64_t end) {
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) loss[i] = static_cast<T>(element_loss(i));
    });
    return;
  }
  const double total = fixed_order_sum(n, 1, [&](int64_t begin, int64_t end) {
    double block = 0.0;
#pragma omp simd reduction(+ : block)
    for (int64_t i = begin; i < end; ++i) block += static_cast<double>(element_loss(i));
    return block;
  });
  loss[0] = static_cast<T>(reduce_total(total, n, reduction));
}

// grad_input[i] = element_grad(i) * upstream, the upstream being grad_loss[i] (none),
// grad_loss[0] (sum) or grad_loss[0] / n (mean).
template <class T, class ElementGrad>
void elementwise_loss_backward(const T* grad_loss, int64_t n, T* grad_input, Reduction reduction,
                               ElementGrad&& element_grad) {
  const bool per_element = reduction == Reduction::none;
  const double shared = per_element ? 0.0 : reduce_total(static_cast<double>(grad_loss[0]), n, reduction);
  parallel_for(n, kParallelGrain, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const double upstream = per_element ? static_cast<double>(grad_loss[i]) : shared;
      grad_input[i] = static_cast<T>(static_cast<double>(element_grad(i)) * upstream);
    }
  });
}

}  // namespace

// ---- mse, l1, binary cross-entropy on logits (formulas in core/losses.h) ------------------------

template <class T>
void mse_loss_forward(const T* input, const T* target, int64_t n, T* loss, Reduction reduction) {
  elementwise_loss_forward(n, loss, reduction, [=](int64_t i) { return mse_element_loss(input[i], target[i]); });
}

template <class T>
void mse_loss_backward(const T* grad_loss, const T* input, const T* target, int64_t n, T* grad_input,
                       Reduction reduction) {
  elementwise_loss_backward(grad_loss, n, grad_input, reduction,
                            [=](int64_t i) { return mse_element_grad(input[i], target[i]); });
}

template <class T>
void l1_loss_forward(const T* input, const T* target, int64_t n, T* loss, Reduction reduction) {
  elementwise_loss_forward(n, loss, reduction, [=](int64_t i) { return l1_element_loss(input[i], target[i]); });
}

template <class T>
void l1_loss_backward(const T* grad_loss, const T* input, const T* target, int64_t n, T* grad_input,
                      Reduction reduction) {
  elementwise_loss_backward(grad_loss, n, grad_input, reduction,
                            [=](int64_t i) { return l1_element_grad(input[i], target[i]); });
}

// pos_weight[i % C] when given (it broadcasts over the last axis), else 1: two loops, no select per element.
template <class T>
void bce_with_logits_forward(const T* input, const T* target, const T* pos_weight, int64_t n, int64_t C, T* loss,
                             Reduction reduction) {
  if (pos_weight)
    elementwise_loss_forward(n, loss, reduction, [=](int64_t i) {
      return bce_with_logits_element_loss(input[i], target[i], pos_weight[i % C]);
    });
  else
    elementwise_loss_forward(n, loss, reduction,
                             [=](int64_t i) { return bce_with_logits_element_loss(input[i], target[i], T(1)); });
}

template <class T>
void bce_with_logits_backward(const T* grad_loss, const T* input, const T* target, const T* pos_weight, int64_t n,
                              int64_t C, T* grad_input, Reduction reduction) {
  if (pos_weight)
    elementwise_loss_backward(grad_loss, n, grad_input, reduction, [=](int64_t i) {
      return bce_with_logits_element_grad(input[i], target[i], pos_weight[i % C]);
    });
  else
    elementwise_loss_backward(grad_loss, n, grad_input, reduction,
                              [=](int64_t i) { return bce_with_logits_element_grad(input[i], target[i], T(1)); });
}

#define NNX_INSTANTIATE_LOSSES(T)                                                                                  \
  template BadIndex cross_entropy_forward<T>(const T*, const int64_t*, int64_t, int64_t, T*, T*, T*, Reduction,     \
                                             int64_t, double);                                                     \
  template void mse_loss_forward<T>(const T*, const T*, int64_t, T*, Reduction);                                    \
  template void mse_loss_backward<T>(const T*, const T*, const T*, int64_t, T*, Reduction);                         \
  template void l1_loss_forward<T>(const T*, const T*, int64_t, T*, Reduction);                                     \
  template void l1_loss_backward<T>(const T*, const T*, const T*, int64_t, T*, Reduction);                          \
  template void bce_with_logits_forward<T>(const T*, const T*, const T*, int64_t, int64_t, T*, Reduction);          \
  template void bce_with_logits_backward<T>(const T*, const T*, const T*, const T*, int64_t, int64_t, T*, Reduction);

NNX_INSTANTIATE_LOSSES(float)
NNX_INSTANTIATE_LOSSES(double)

}  // namespace nnx::cpu
