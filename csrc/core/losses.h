// The loss formulas, written once for the CPU kernels (cpu/losses.cpp) and the CUDA kernels (cuda/losses.cu):
// the reduction, cross-entropy's per-row pieces (target classes, mean scale, row loss, gradient) and the
// per-element loss and gradient of mse, l1 and bce-with-logits. The kernels keep only their loops: how a row
// or the elements are split over threads and summed (each device in an order fixed by the sizes alone).
// Then the kernels' declarations (fused softmax + cross-entropy, optionally writing its gradient in the same pass;
// mse, l1, bce-with-logits; float and double; PyTorch semantics throughout), once for the device a translation unit
// is compiled for (nnx::NNX_DEVICE: core/device_namespace.h). Host-compiler clean. CUDA: launchers queue on
// current_stream(); sums over rows or elements run in an order fixed by the sizes alone (bitwise repeatable).
#pragma once
#include <cmath>
#include <cstdint>

#include "core/bad_index.h"
#include "core/device_namespace.h"
#include "core/hd.h"

namespace nnx {

enum class Reduction { mean, sum, none };

// A sum over `count` terms as the reduction reports it: divided by count for mean (0 / 0 gives NaN, like
// PyTorch), unchanged for sum. Also the upstream gradient every element of a mean or sum receives.
NNX_HD double reduce_total(double total, int64_t count, Reduction reduction) {
  return reduction == Reduction::mean ? total / static_cast<double>(count) : total;
}

// ---- cross-entropy over class indices, with PyTorch's label smoothing --------------------------------
//   row loss = logsumexp - (1 - smoothing) x[target] - (smoothing / C) sum(x),  0 for ignored rows;
//   dloss/dx = (softmax(x) - smoothed one-hot) * upstream.

// A row's target: a class to use, ignore_index, or out of range (reported, then the row is treated as
// ignored so that the bad value never becomes an address).
enum class RowTarget { used, ignored, out_of_range };

NNX_HD RowTarget classify_target(int64_t target, int64_t C, int64_t ignore_index) {
  if (target == ignore_index) return RowTarget::ignored;
  return target >= 0 && target < C ? RowTarget::used : RowTarget::out_of_range;
}

// Mean divides by the non-ignored rows; 0/0 stays NaN for the loss, but every gradient row is ignored
// then, so the scale is never used.
NNX_HD double cross_entropy_mean_scale(bool mean, int64_t valid) {
  return mean && valid > 0 ? 1.0 / static_cast<double>(valid) : 1.0;
}

// logsumexp - (1 - smoothing) x_t written as log_sum + (1 - smoothing)(shift - x_t), with shift the row's
// max and log_sum = log sum_j exp(x_j - shift): never subtracts two large numbers.
NNX_HD double cross_entropy_row_loss(double log_sum, double shift, double target_logit, double smoothing) {
  return log_sum + (1.0 - smoothing) * (shift - target_logit);
}

// The smoothing part of the row loss, from below = sum_j (shift - x_j) summed in double (accurate for
// logits of magnitude 1e4). Added only when smoothing > 0.
NNX_HD double cross_entropy_smoothing_term(double smoothing, int64_t C, double below) {
  return smoothing / static_cast<double>(C) * below;
}

// g_j = (exp_j * inv_sum - smoothing / C) * scale, minus (1 - smoothing) * scale at the target: the row's
// (softmax - smoothed one-hot) * upstream gradient from its exps (exp_j = exp(x_j - shift), inv_sum = 1 /
// their sum). Coefficients in double, rounded to T once per row.
template <class T>
struct CrossEntropyGradient {
  NNX_HD CrossEntropyGradient(double inv_sum, double scale, double smoothing, int64_t C)
      : a(static_cast<T>(inv_sum * scale)),
        b(static_cast<T>(scale * smoothing / static_cast<double>(C))),
        at_target(static_cast<T>((1.0 - smoothing) * scale)) {}
  NNX_HD T operator()(T exp_j) const { return exp_j * a - b; }  // then minus at_target at the target
  T a, b, at_target;
};

// ---- elementwise losses: loss(x, t) and dloss/dx per element ------------------------------------------
// mse and l1 in double (their sums are in double anyway); bce in T.

template <class T>
NNX_HD double mse_element_loss(T x, T t) {
  const double diff = static_cast<double>(x) - static_cast<double>(t);
  return diff * diff;
}

template <class T>
NNX_HD double mse_element_grad(T x, T t) {
  return 2.0 * (static_cast<double>(x) - static_cast<double>(t));
}

template <class T>
NNX_HD double l1_element_loss(T x, T t) {
  return std::fabs(static_cast<double>(x) - static_cast<double>(t));
}

// sign(x - t), 0 where x == t (PyTorch's subgradient).
template <class T>
NNX_HD double l1_element_grad(T x, T t) {
  return static_cast<double>((x > t) - (x < t));
}

// With p = pos_weight, w = 1 + (p - 1) t and softplus(-x) = max(-x, 0) + log1p(exp(-|x|)):
//   loss = (1 - t) x + w softplus(-x) = (x >= 0 ? (1 - t) x : -p t x) + w log1p(exp(-|x|)),
// a sum of non-negative terms for t in [0, 1] (no cancellation, no overflow);
//   dloss/dx = w sigmoid(x) - p t, written with sigmoid(-|x|) so that neither branch cancels.
template <class T>
NNX_HD T bce_with_logits_element_loss(T x, T t, T p) {
  const T w = 1 + (p - 1) * t;
  const T linear = x >= 0 ? (1 - t) * x : -p * t * x;
  return linear + w * LibmMath::log1p_unit(LibmMath::exp(-std::fabs(x)));
}

template <class T>
NNX_HD T bce_with_logits_element_grad(T x, T t, T p) {
  const T w = 1 + (p - 1) * t;
  const T e = LibmMath::exp(-std::fabs(x));
  const T sigmoid_minus_abs = e / (1 + e);
  return x >= 0 ? (1 - t) - w * sigmoid_minus_abs : w * sigmoid_minus_abs - p * t;
}

}  // namespace nnx

namespace nnx::NNX_DEVICE {

using nnx::Reduction;  // one enum for both devices and the bindings (above)

// Cross-entropy over class indices with PyTorch's label smoothing:
//   row loss = logsumexp - (1 - smoothing) * x[target] - (smoothing / C) * sum(x),  0 for ignored rows.
// logits(N,C), target(N) in [0, C) or == ignore_index, logsumexp(N) out. loss: 1 value for mean/sum, N values
// for none. mean divides by the number of non-ignored rows (0/0 gives NaN like PyTorch). grad_logits(N,C), may
// be null: receives dloss/dlogits for an upstream gradient of 1, computed in the same pass over each row.
// A target outside both is not used: its row is computed as ignored, and it is reported (core/bad_index.h's
// BadIndexReport). CPU: the first such target is returned (the binding raises). CUDA: the binding cannot read
// device targets, so the kernel records it with report_bad_index (IndexError at the next synchronisation).
template <class T>
BadIndexReport cross_entropy_forward(const T* logits, const int64_t* target, int64_t N, int64_t C, T* loss,
                                     T* logsumexp, T* grad_logits, Reduction reduction, int64_t ignore_index,
                                     double label_smoothing);

// Elementwise losses over n elements of input/target (any shape, flattened).
// loss: 1 value for mean/sum, n values for none; grad_loss likewise (CUDA: read on the device).
template <class T>
void mse_loss_forward(const T* input, const T* target, int64_t n, T* loss, Reduction reduction);
template <class T>
void mse_loss_backward(const T* grad_loss, const T* input, const T* target, int64_t n, T* grad_input,
                       Reduction reduction);

template <class T>
void l1_loss_forward(const T* input, const T* target, int64_t n, T* loss, Reduction reduction);
template <class T>
void l1_loss_backward(const T* grad_loss, const T* input, const T* target, int64_t n, T* grad_input,
                      Reduction reduction);

// loss = (1 - t) x + w * softplus(-x) with w = 1 + (pos_weight - 1) t; pos_weight(C) broadcasts over
// the last axis (element i uses pos_weight[i % C]); null pos_weight means w = 1.
template <class T>
void bce_with_logits_forward(const T* input, const T* target, const T* pos_weight, int64_t n, int64_t C, T* loss,
                             Reduction reduction);
template <class T>
void bce_with_logits_backward(const T* grad_loss, const T* input, const T* target, const T* pos_weight, int64_t n,
                              int64_t C, T* grad_input, Reduction reduction);

}  // namespace nnx::NNX_DEVICE
