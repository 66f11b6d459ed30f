// Normalisation layers: batch_norm per channel of (N, C, S) (S = 1: the rows of (N, C) per column; S > 1: NCHW
// with S = H * W), with an optional fused relu; layer_norm over the columns of (N, D) per row; forward and backward,
// float and double. Statistics accumulate in double.
// First the formulas, written once for the CPU kernels (cpu/normalization.cpp) and the CUDA kernels
// (cuda/normalization.cu): merging partial statistics, the running-statistics update, the inverse standard
// deviation, the per-column and per-row coefficients and the per-element outputs and gradients, each with the same
// roundings to T on both devices. The kernels keep only their loops: how rows and columns are split over threads
// and in which (size-fixed) order the sums run. Then the kernels' declarations, once for the device a translation
// unit is compiled for (nnx::NNX_DEVICE: core/device_namespace.h). Host-compiler clean. CUDA: device pointers;
// launchers queue on nnx's stream and never synchronise.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/device_namespace.h"
#include "core/hd.h"

namespace nnx {

// ---- statistics --------------------------------------------------------------------------------------------

// Chan et al.'s pairwise update: (mean, m2) over the first `seen` rows absorbs a part of `rows` rows with
// (part_mean, part_m2); m2 is the sum of squared deviations. Order-fixed, so results do not depend on threads.
// A part holding inf or NaN has a non-finite mean (and a NaN m2): the union's mean is then mean + part_mean, as a
// plain sum gives it (NumPy, PyTorch): inf stays inf, inf and -inf give NaN. The update's delta would turn
// [-inf | 1] into -inf + inf = NaN.
NNX_HD void merge_statistics(double& mean, double& m2, double part_mean, double part_m2, double seen, double rows) {
  const double total = seen + rows;
  const double delta = part_mean - mean;
  m2 += part_m2 + delta * delta * (seen * rows / total);
  if (std::isfinite(mean) && std::isfinite(part_mean))
    mean += delta * (rows / total);
  else
    mean += part_mean;
}

// PyTorch's running statistic: (1 - momentum) * running + momentum * batch value.
NNX_HD double running_average(double running, double value, double momentum) {
  return (1.0 - momentum) * running + momentum * value;
}

NNX_HD double inverse_std(double variance, double eps) { return 1.0 / std::sqrt(variance + eps); }

// invstd * weight (invstd alone without a weight), rounded to T once per column.
template <class T>
NNX_HD T norm_scale(double invstd, const T* weight, int64_t c) {
  return static_cast<T>(weight != nullptr ? invstd * static_cast<double>(weight[c]) : invstd);
}

// ---- batch norm --------------------------------------------------------------------------------------------

// out = (x - mean) * scale + shift, scale = invstd * weight and shift = bias per column.
template <class T>
NNX_HD T batch_norm_output(T x, T mean, T scale, T shift) {
  return (x - mean) * scale + shift;
}

// The fused relu and its backward, as the activations family's (`x < 0 ? 0 : x` keeps NaN; the backward is a
// select on the output, so an infinite gradient where the output is 0 gives 0).
template <class T>
NNX_HD T batch_norm_relu(T y) {
  return y < T(0) ? T(0) : y;
}

// The upstream gradient of the normalised value: g itself, or g masked by the relu output (out != null).
template <class T>
NNX_HD T batch_norm_upstream(const T* grad_out, const T* out, int64_t e) {
  return out != nullptr && out[e] <= T(0) ? T(0) : grad_out[e];
}

// Per-element terms of the backward's column sums: g and g * (x - mean), in double.
template <class T>
NNX_HD double batch_norm_centered_gradient(T g, T x, T mean) {
  return static_cast<double>(g) * (static_cast<double>(x) - static_cast<double>(mean));
}

// grad_input = (g - mean_g - (x - mean) * projection) * scale with the column's coefficients below
// (mean_g = projection = 0 in eval).
template <class T>
NNX_HD T batch_norm_grad_input(T g, T x, T mean, T mean_g, T projection, T scale) {
  return (g - mean_g - (x - mean) * projection) * scale;
}

template <class T>
NNX_HD T batch_norm_mean_g(double sum_g, int64_t N, bool training) {
  return training ? static_cast<T>(sum_g / N) : T(0);
}

template <class T>
NNX_HD T batch_norm_projection(double sum_g_centered, double invstd, int64_t N, bool training) {
  return training ? static_cast<T>(sum_g_centered * invstd * invstd / N) : T(0);
}

// ---- layer norm --------------------------------------------------------------------------------------------

// A row's statistics from one pass: sums of d = x - shift and of d^2 with shift = row[0], var = mean(d^2) -
// mean(d)^2. Since row[0] is one of the values, (row[0] - mean)^2 <= D * var, so the cancellation costs at most
// a factor D + 1 of double rounding. A negative rounding of the variance becomes 0 (NaN stays NaN).
template <class T>
struct LayerNormStatistics {
  NNX_HD LayerNormStatistics(double shift, double sum, double sum_squares, int64_t D, double eps) {
    const double mean_shifted = sum / static_cast<double>(D);
    const double raw_variance = sum_squares / static_cast<double>(D) - mean_shifted * mean_shifted;
    const double variance = raw_variance < 0.0 ? 0.0 : raw_variance;
    mean = static_cast<T>(shift + mean_shifted);
    rstd = static_cast<T>(inverse_std(variance, eps));
  }
  T mean, rstd;
};

// (x - mean) * rstd, then times weight and plus bias where given: each device applies them in this order.
template <class T>
NNX_HD T layer_norm_normalized(T x, T mean, T rstd) {
  return (x - mean) * rstd;
}

// The backward's per-row coefficients from the row's sums of gw = g * weight and gw * (x - mean) (in double):
// mean_gw = mean(gw), mean_gw_xhat = mean(gw * xhat) with xhat = (x - mean) * rstd.
template <class T>
struct LayerNormRowGradient {
  NNX_HD LayerNormRowGradient(double sum_gw, double sum_gw_centered, T rstd, int64_t D)
      : mean_gw(static_cast<T>(sum_gw / D)),
        mean_gw_xhat(static_cast<T>(sum_gw_centered * static_cast<double>(rstd) / D)) {}
  // grad_input = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)).
  NNX_HD T operator()(T gw, T x, T mean, T rstd) const {
    return rstd * (gw - mean_gw - (x - mean) * rstd * mean_gw_xhat);
  }
  T mean_gw, mean_gw_xhat;
};

// gw = g * weight (g without a weight), in double for the row's sums.
template <class T>
NNX_HD double layer_norm_weighted_gradient(T g, const T* weight, int64_t j) {
  return static_cast<double>(g) * (weight != nullptr ? static_cast<double>(weight[j]) : 1.0);
}

// xhat = (x - mean) * rstd in double, for the weight gradient's column sums (sum of g * xhat).
template <class T>
NNX_HD double layer_norm_xhat(T x, T mean, T rstd) {
  return (static_cast<double>(x) - static_cast<double>(mean)) * static_cast<double>(rstd);
}

}  // namespace nnx

namespace nnx::NNX_DEVICE {

// out(N,C,S) = (x(N,C,S) - mean) * invstd * weight(C) + bias(C) per channel c, over its M = N * S values
// (S = 1: the columns of (N, C)); relu: then max(out, 0) in the same pass (NaN stays NaN).
// training: mean and the biased variance come from the batch (M >= 1; M == 0 writes mean = invstd = 0
// and leaves the running statistics alone, as PyTorch does); running_mean(C) and running_var(C), when
// not null, are updated in place: running = (1 - momentum) * running + momentum * batch, with the
// unbiased variance (var * M / (M - 1)).
// eval (!training): mean = running_mean, var = running_var (both required).
// save_mean(C) and save_invstd(C) = 1 / sqrt(var + eps) receive what batch_norm_backward needs.
// weight and bias may be null (1 and 0). No output may overlap another argument. Allocates nothing (CPU).
// Statistics: exact two-pass mean and m2 over chunks of a size fixed by the shape, chunks merged in order
// (merge_statistics), so nothing depends on the thread count or the launch.
// CPU: S = 1 splits column blocks over threads; S > 1 splits channels (a channel is one thread's, its planes
// read in image order). CUDA: partial statistics per (channel block or channel, slice of values), merged per
// channel in slice order; no atomics.
template <class T>
void batch_norm_forward(T* out, T* save_mean, T* save_invstd, T* running_mean, T* running_var, const T* x,
                        const T* weight, const T* bias, int64_t N, int64_t C, int64_t S, bool training,
                        double momentum, double eps, bool relu);

// Backward of batch_norm_forward from its save_mean(C) and save_invstd(C), each output skipped when null:
//   grad_input(N,C,S)  training: (g - mean(g) - xhat * mean(g * xhat)) * invstd * weight   (PyTorch's formula)
//                      eval:     g * invstd * weight   (the running statistics are constants)
//   grad_weight(C) = sum over the channel's values of g * xhat,   grad_bias(C) = sum of g,
// with g = grad_out(N,C,S), xhat = (x - save_mean) * save_invstd; out(N,C,S): the forward's output when it applied
// relu (g is then 0 where out <= 0), null otherwise. weight may be null (1). Same splits as the forward.
template <class T>
void batch_norm_backward(T* grad_input, T* grad_weight, T* grad_bias, const T* grad_out, const T* out, const T* x,
                         const T* weight, const T* save_mean, const T* save_invstd, int64_t N, int64_t C, int64_t S,
                         bool training);

// out(N,D) = (x(N,D) - mean) * rstd * weight(D) + bias(D) per row, with the row's mean and biased
// variance; mean(N) and rstd(N) = 1 / sqrt(var + eps) are saved for the backward. weight and bias may be
// null (1 and 0). No output may overlap another argument. Allocates nothing. CUDA: D >= 1.
template <class T>
void layer_norm_forward(T* out, T* mean, T* rstd, const T* x, const T* weight, const T* bias, int64_t N, int64_t D,
                        double eps);

// Backward of layer_norm_forward from its mean(N) and rstd(N), each output skipped when null:
//   grad_input(N,D) = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)) per row, gw = grad_out * weight
//   grad_weight(D) = sum over rows of grad_out * xhat,   grad_bias(D) = sum over rows of grad_out,
// with xhat = (x - mean) * rstd. weight may be null (1).
template <class T>
void layer_norm_backward(T* grad_input, T* grad_weight, T* grad_bias, const T* grad_out, const T* x, const T* weight,
                         const T* mean, const T* rstd, int64_t N, int64_t D);

}  // namespace nnx::NNX_DEVICE
