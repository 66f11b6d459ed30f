// batch_norm and layer_norm kernels. Batch norm of (N, C) walks column blocks row by row, and of (N, C, S > 1)
// one channel's planes in image order (either way each thread owns whole channels, so sums are private and the
// order of every sum is fixed); layer norm splits rows over threads,
// and its weight/bias gradients are a separate column pass for the same reason. The formulas are
// core/normalization.h's, shared with cuda/normalization.cu.
#include "core/normalization.h"

#include <algorithm>
#include <cmath>

#include "core/parallel.h"

namespace nnx::cpu {
namespace {

// Columns handled together: their double accumulators (2 KB each) stay in L1 while rows stream past.
constexpr int64_t kColumnBlock = 256;
// Rows of one block read twice in a row (chunk mean, then deviations): 256 x 256 doubles fit in L2.
constexpr int64_t kRowChunk = 256;

// Calls block(c0, width) for column blocks of [0, C); threads own contiguous column ranges.
template <class Block>
void for_column_blocks(int64_t N, int64_t C, Block&& block) {
  const int64_t grain = std::max<int64_t>(16, kParallelGrain / std::max<int64_t>(N, 1));
  parallel_for(C, grain, [&](int64_t begin, int64_t end) {
    for (int64_t c0 = begin; c0 < end; c0 += kColumnBlock) block(c0, std::min(kColumnBlock, end - c0));
  });
}

inline int64_t row_grain(int64_t D) { return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(D, 1)); }

// Mean and sum of squared deviations (m2) of columns [c0, c0 + width) over the N rows of x(N,C).
// Each chunk of kRowChunk rows gets exact two-pass statistics while it is in cache; chunks are merged with
// Chan et al.'s pairwise update. The chunks do not depend on the thread count, so neither does the result.
template <class T>
void column_statistics(double* mean, double* m2, const T* x, int64_t N, int64_t C, int64_t c0, int64_t width) {
  double chunk_mean[kColumnBlock], chunk_m2[kColumnBlock];
  std::fill(mean, mean + width, 0.0);
  std::fill(m2, m2 + width, 0.0);
  for (int64_t r0 = 0; r0 < N; r0 += kRowChunk) {
    const int64_t rows = std::min(kRowChunk, N - r0);
    const T* chunk = x + r0 * C + c0;
    std::fill(chunk_mean, chunk_mean + width, 0.0);
    std::fill(chunk_m2, chunk_m2 + width, 0.0);
    for (int64_t i = 0; i < rows; ++i) {
      const T* row = chunk + i * C;
#pragma omp simd
      for (int64_t j = 0; j < width; ++j) chunk_mean[j] += static_cast<double>(row[j]);
    }
    for (int64_t j = 0; j < width; ++j) chunk_mean[j] /= static_cast<double>(rows);
    for (int64_t i = 0; i < rows; ++i) {
      const T* row = chunk + i * C;
#pragma omp simd
      for (int64_t j = 0; j < width; ++j) {
        const double deviation = static_cast<double>(row[j]) - chunk_mean[j];
        chunk_m2[j] += deviation * deviation;
      }
    }
    for (int64_t j = 0; j < width; ++j)
      merge_statistics(mean[j], m2[j], chunk_mean[j], chunk_m2[j], static_cast<double>(r0), static_cast<double>(rows));
  }
}

// out = (x - mean) * scale + shift (then relu) over the rows of columns [c0, c0 + width).
template <class T>
void normalize_columns(T* out, const T* x, const T* mean, const T* scale, const T* shift, int64_t N, int64_t C,
                       int64_t c0, int64_t width, bool relu) {
  for (int64_t i = 0; i < N; ++i) {
    const T* row = x + i * C + c0;
    T* out_row = out + i * C + c0;
    if (relu) {
#pragma omp simd
      for (int64_t j = 0; j < width; ++j)
        out_row[j] = batch_norm_relu(batch_norm_output(row[j], mean[j], scale[j], shift[j]));
    } else {
#pragma omp simd
      for (int64_t j = 0; j < width; ++j) out_row[j] = batch_norm_output(row[j], mean[j], scale[j], shift[j]);
    }
  }
}

// sum_g = sum of g, sum_g_centered = sum of g * (x - mean), per column of the block, in double (g masked by the
// relu output when out is not null).
template <class T>
void column_gradient_sums(double* sum_g, double* sum_g_centered, const T* grad_out, const T* out, const T* x,
                          const T* mean, int64_t N, int64_t C, int64_t c0, int64_t width) {
  std::fill(sum_g, sum_g + width, 0.0);
  std::fill(sum_g_centered, sum_g_centered + width, 0.0);
  for (int64_t i = 0; i < N; ++i) {
    const int64_t e0 = i * C + c0;
    const T* x_row = x + e0;
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) {
      const T g = batch_norm_upstream(grad_out, out, e0 + j);
      sum_g[j] += static_cast<double>(g);
      sum_g_centered[j] += batch_norm_centered_gradient(g, x_row[j], mean[j]);
    }
  }
}

// ---- (N, C, S) with S > 1: one channel at a time --------------------------------------------------------------

// Values of one channel whose statistics are taken together (two passes while in cache): whole images, at least
// one, about this many values. A function of S alone, so the merge order does not depend on the threads.
constexpr int64_t kChunkValues = 4096;

// Mean and m2 of channel c of x(N,C,S) over its N * S values.
template <class T>
void channel_statistics(double& mean, double& m2, const T* x, int64_t N, int64_t C, int64_t S, int64_t c) {
  const int64_t images_per_chunk = std::max<int64_t>(1, kChunkValues / S);
  mean = m2 = 0.0;
  for (int64_t n0 = 0; n0 < N; n0 += images_per_chunk) {
    const int64_t images = std::min(images_per_chunk, N - n0);
    double sum = 0.0;
    for (int64_t n = n0; n < n0 + images; ++n) {
      const T* plane = x + (n * C + c) * S;
#pragma omp simd reduction(+ : sum)
      for (int64_t s = 0; s < S; ++s) sum += static_cast<double>(plane[s]);
    }
    const double count = static_cast<double>(images * S);
    const double chunk_mean = sum / count;
    double chunk_m2 = 0.0;
    for (int64_t n = n0; n < n0 + images; ++n) {
      const T* plane = x + (n * C + c) * S;
#pragma omp simd reduction(+ : chunk_m2)
      for (int64_t s = 0; s < S; ++s) {
        const double deviation = static_cast<double>(plane[s]) - chunk_mean;
        chunk_m2 += deviation * deviation;
      }
    }
    merge_statistics(mean, m2, chunk_mean, chunk_m2, static_cast<double>(n0 * S), count);
  }
}

// out = (x - mean) * scale + shift (then relu) over the N planes of channel c.
template <class T>
void normalize_channel(T* out, const T* x, T mean, T scale, T shift, int64_t N, int64_t C, int64_t S, int64_t c,
                       bool relu) {
  for (int64_t n = 0; n < N; ++n) {
    const T* plane = x + (n * C + c) * S;
    T* out_plane = out + (n * C + c) * S;
    if (relu) {
#pragma omp simd
      for (int64_t s = 0; s < S; ++s) out_plane[s] = batch_norm_relu(batch_norm_output(plane[s], mean, scale, shift));
    } else {
#pragma omp simd
      for (int64_t s = 0; s < S; ++s) out_plane[s] = batch_norm_output(plane[s], mean, scale, shift);
    }
  }
}

// Channels of (N, C, S) over threads; a channel is one thread's (its values are N * S).
template <class Channel>
void for_channels(int64_t N, int64_t C, int64_t S, Channel&& channel) {
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(N * S, 1));
  parallel_for(C, grain, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) channel(c);
  });
}

// The running statistics' update from the batch's mean and m2 over `count` values.
template <class T>
void update_running(T* running_mean, T* running_var, int64_t c, double mean, double m2, int64_t count,
                    double momentum) {
  if (running_mean == nullptr) return;
  const double unbiased = m2 / static_cast<double>(count - 1);  // count == 1 gives NaN: callers refuse it
  running_mean[c] = static_cast<T>(running_average(static_cast<double>(running_mean[c]), mean, momentum));
  running_var[c] = static_cast<T>(running_average(static_cast<double>(running_var[c]), unbiased, momentum));
}

template <class T>
void batch_norm_forward_planes(T* out, T* save_mean, T* save_invstd, T* running_mean, T* running_var, const T* x,
                               const T* weight, const T* bias, int64_t N, int64_t C, int64_t S, bool training,
                               double momentum, double eps, bool relu) {
  for_channels(N, C, S, [&](int64_t c) {
    double mean, variance;
    if (training) {
      double m2;
      channel_statistics(mean, m2, x, N, C, S, c);
      variance = m2 / static_cast<double>(N * S);
      update_running(running_mean, running_var, c, mean, m2, N * S, momentum);
    } else {
      mean = static_cast<double>(running_mean[c]);
      variance = static_cast<double>(running_var[c]);
    }
    const double invstd = inverse_std(variance, eps);
    const T mean_t = save_mean[c] = static_cast<T>(mean);
    save_invstd[c] = static_cast<T>(invstd);
    normalize_channel(out, x, mean_t, norm_scale(invstd, weight, c), bias != nullptr ? bias[c] : T(0), N, C, S, c,
                      relu);
  });
}

template <class T>
void batch_norm_backward_planes(T* grad_input, T* grad_weight, T* grad_bias, const T* grad_out, const T* out,
                                const T* x, const T* weight, const T* save_mean, const T* save_invstd, int64_t N,
                                int64_t C, int64_t S, bool training) {
  const bool need_sums = grad_weight != nullptr || grad_bias != nullptr || (training && grad_input != nullptr);
  const int64_t count = N * S;
  for_channels(N, C, S, [&](int64_t c) {
    const T mean = save_mean[c];
    double sum_g = 0.0, sum_g_centered = 0.0;
    if (need_sums) {
      for (int64_t n = 0; n < N; ++n) {
        const int64_t e0 = (n * C + c) * S;
        const T* x_plane = x + e0;
#pragma omp simd reduction(+ : sum_g, sum_g_centered)
        for (int64_t s = 0; s < S; ++s) {
          const T g = batch_norm_upstream(grad_out, out, e0 + s);
          sum_g += static_cast<double>(g);
          sum_g_centered += batch_norm_centered_gradient(g, x_plane[s], mean);
        }
      }
    }
    const double invstd = static_cast<double>(save_invstd[c]);
    if (grad_weight != nullptr) grad_weight[c] = static_cast<T>(sum_g_centered * invstd);
    if (grad_bias != nullptr) grad_bias[c] = static_cast<T>(sum_g);
    if (grad_input == nullptr) return;
    const T mean_g = batch_norm_mean_g<T>(sum_g, count, training);
    const T projection = batch_norm_projection<T>(sum_g_centered, invstd, count, training);
    const T scale = norm_scale(invstd, weight, c);
    for (int64_t n = 0; n < N; ++n) {
      const int64_t e0 = (n * C + c) * S;
      const T* x_plane = x + e0;
      T* grad_plane = grad_input + e0;
#pragma omp simd
      for (int64_t s = 0; s < S; ++s)
        grad_plane[s] = batch_norm_grad_input(batch_norm_upstream(grad_out, out, e0 + s), x_plane[s], mean, mean_g,
                                              projection, scale);
    }
  });
}

}  // namespace

// --- batch_norm -----------------------------------------------------------------------------------------------
template <class T>
void batch_norm_forward(T* out, T* save_mean, T* save_invstd, T* running_mean, T* running_var, const T* x,
                        const T* weight, const T* bias, int64_t N, int64_t C, int64_t S, bool training,
                        double momentum, double eps, bool relu) {
  if (training && N * S == 0) {  // nothing to normalise; PyTorch saves zeros and keeps the running statistics
    std::fill(save_mean, save_mean + C, T(0));
    std::fill(save_invstd, save_invstd + C, T(0));
    return;
  }
  if (S != 1) {
    batch_norm_forward_planes(out, save_mean, save_invstd, running_mean, running_var, x, weight, bias, N, C, S,
                              training, momentum, eps, relu);
    return;
  }
  for_column_blocks(N, C, [&](int64_t c0, int64_t width) {
    double mean[kColumnBlock], variance[kColumnBlock];
    if (training) {
      double m2[kColumnBlock];
      column_statistics(mean, m2, x, N, C, c0, width);
      for (int64_t j = 0; j < width; ++j) {
        variance[j] = m2[j] / static_cast<double>(N);
        update_running(running_mean, running_var, c0 + j, mean[j], m2[j], N, momentum);
      }
    } else {
      for (int64_t j = 0; j < width; ++j) {
        mean[j] = static_cast<double>(running_mean[c0 + j]);
        variance[j] = static_cast<double>(running_var[c0 + j]);
      }
    }
    T mean_t[kColumnBlock], scale[kColumnBlock], shift[kColumnBlock];
    for (int64_t j = 0; j < width; ++j) {
      const int64_t c = c0 + j;
      const double invstd = inverse_std(variance[j], eps);
      mean_t[j] = save_mean[c] = static_cast<T>(mean[j]);
      save_invstd[c] = static_cast<T>(invstd);
      scale[j] = norm_scale(invstd, weight, c);
      shift[j] = bias != nullptr ? bias[c] : T(0);
    }
    normalize_columns(out, x, mean_t, scale, shift, N, C, c0, width, relu);
  });
}

template <class T>
void batch_norm_backward(T* grad_input, T* grad_weight, T* grad_bias, const T* grad_out, const T* out, const T* x,
                         const T* weight, const T* save_mean, const T* save_invstd, int64_t N, int64_t C, int64_t S,
                         bool training) {
  if (S != 1) {
    batch_norm_backward_planes(grad_input, grad_weight, grad_bias, grad_out, out, x, weight, save_mean, save_invstd,
                               N, C, S, training);
    return;
  }
  const bool need_sums = grad_weight != nullptr || grad_bias != nullptr || (training && grad_input != nullptr);
  for_column_blocks(N, C, [&](int64_t c0, int64_t width) {
    double sum_g[kColumnBlock], sum_g_centered[kColumnBlock];
    if (need_sums) column_gradient_sums(sum_g, sum_g_centered, grad_out, out, x, save_mean + c0, N, C, c0, width);
    for (int64_t j = 0; j < width; ++j) {
      const int64_t c = c0 + j;
      if (grad_weight != nullptr) grad_weight[c] = static_cast<T>(sum_g_centered[j] * save_invstd[c]);
      if (grad_bias != nullptr) grad_bias[c] = static_cast<T>(sum_g[j]);
    }
    if (grad_input == nullptr) return;
    // grad_input = (g - mean_g - (x - mean) * projection) * scale; in eval mean_g = projection = 0.
    T mean_t[kColumnBlock], mean_g[kColumnBlock], projection[kColumnBlock], scale[kColumnBlock];
    for (int64_t j = 0; j < width; ++j) {
      const int64_t c = c0 + j;
      const double invstd = static_cast<double>(save_invstd[c]);
      mean_t[j] = save_mean[c];
      mean_g[j] = batch_norm_mean_g<T>(sum_g[j], N, training);
      projection[j] = batch_norm_projection<T>(sum_g_centered[j], invstd, N, training);
      scale[j] = norm_scale(invstd, weight, c);
    }
    for (int64_t i = 0; i < N; ++i) {
      const int64_t e0 = i * C + c0;
      const T* x_row = x + e0;
      T* grad_row = grad_input + e0;
#pragma omp simd
      for (int64_t j = 0; j < width; ++j)
        grad_row[j] = batch_norm_grad_input(batch_norm_upstream(grad_out, out, e0 + j), x_row[j], mean_t[j],
                                            mean_g[j], projection[j], scale[j]);
    }
  });
}

// --- layer_norm -----------------------------------------------------------------------------------------------
namespace {

// One pass over the row for both statistics (a second pass would wait on a second chain of dependent adds):
// sums of d = x - row[0] and of d^2 (LayerNormStatistics turns them into the mean and rstd).
template <class T>
void layer_norm_row(T* out, T* mean_out, T* rstd_out, const T* row, const T* weight, const T* bias, int64_t D,
                    double eps) {
  const double shift = static_cast<double>(row[0]);
  double sum = 0.0, sum_squares = 0.0;
#pragma omp simd reduction(+ : sum, sum_squares)
  for (int64_t j = 0; j < D; ++j) {
    const double d = static_cast<double>(row[j]) - shift;
    sum += d;
    sum_squares += d * d;
  }
  const LayerNormStatistics<T> stats(shift, sum, sum_squares, D, eps);
  const T mean_t = *mean_out = stats.mean;
  const T rstd = *rstd_out = stats.rstd;
  // One loop per case, so that each vectorises without a test per element.
  if (weight != nullptr && bias != nullptr) {
#pragma omp simd
    for (int64_t j = 0; j < D; ++j) out[j] = layer_norm_normalized(row[j], mean_t, rstd) * weight[j] + bias[j];
  } else if (weight != nullptr) {
#pragma omp simd
    for (int64_t j = 0; j < D; ++j) out[j] = layer_norm_normalized(row[j], mean_t, rstd) * weight[j];
  } else if (bias != nullptr) {
#pragma omp simd
    for (int64_t j = 0; j < D; ++j) out[j] = layer_norm_normalized(row[j], mean_t, rstd) + bias[j];
  } else {
#pragma omp simd
    for (int64_t j = 0; j < D; ++j) out[j] = layer_norm_normalized(row[j], mean_t, rstd);
  }
}

// grad_row = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)), gw = g * weight, xhat = (x - mean) * rstd.
template <class T>
void layer_norm_backward_row(T* grad_row, const T* g_row, const T* x_row, const T* weight, T mean, T rstd,
                             int64_t D) {
  double sum_gw = 0.0, sum_gw_xhat = 0.0;
#pragma omp simd reduction(+ : sum_gw, sum_gw_xhat)
  for (int64_t j = 0; j < D; ++j) {
    const double gw = layer_norm_weighted_gradient(g_row[j], weight, j);
    sum_gw += gw;
    sum_gw_xhat += gw * (static_cast<double>(x_row[j]) - static_cast<double>(mean));
  }
  const LayerNormRowGradient<T> gradient(sum_gw, sum_gw_xhat, rstd, D);
  if (weight != nullptr) {
#pragma omp simd
    for (int64_t j = 0; j < D; ++j) grad_row[j] = gradient(g_row[j] * weight[j], x_row[j], mean, rstd);
  } else {
#pragma omp simd
    for (int64_t j = 0; j < D; ++j) grad_row[j] = gradient(g_row[j], x_row[j], mean, rstd);
  }
}

// grad_weight(D) = sum of g * xhat and grad_bias(D) = sum of g over rows, for columns [c0, c0 + width).
template <class T>
void layer_norm_parameter_grads(T* grad_weight, T* grad_bias, const T* grad_out, const T* x, const T* mean,
                                const T* rstd, int64_t N, int64_t D, int64_t c0, int64_t width) {
  double sum_g_xhat[kColumnBlock] = {}, sum_g[kColumnBlock] = {};
  for (int64_t i = 0; i < N; ++i) {
    const T* g_row = grad_out + i * D + c0;
    const T* x_row = x + i * D + c0;
    const T row_mean = mean[i], row_rstd = rstd[i];
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) {
      const double g = static_cast<double>(g_row[j]);
      sum_g[j] += g;
      sum_g_xhat[j] += g * layer_norm_xhat(x_row[j], row_mean, row_rstd);
    }
  }
  for (int64_t j = 0; j < width; ++j) {
    if (grad_weight != nullptr) grad_weight[c0 + j] = static_cast<T>(sum_g_xhat[j]);
    if (grad_bias != nullptr) grad_bias[c0 + j] = static_cast<T>(sum_g[j]);
  }
}

}  // namespace

template <class T>
void layer_norm_forward(T* out, T* mean, T* rstd, const T* x, const T* weight, const T* bias, int64_t N, int64_t D,
                        double eps) {
  parallel_for(N, row_grain(D), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      layer_norm_row(out + i * D, mean + i, rstd + i, x + i * D, weight, bias, D, eps);
  });
}

template <class T>
void layer_norm_backward(T* grad_input, T* grad_weight, T* grad_bias, const T* grad_out, const T* x, const T* weight,
                         const T* mean, const T* rstd, int64_t N, int64_t D) {
  if (grad_input != nullptr) {
    parallel_for(N, row_grain(D), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        layer_norm_backward_row(grad_input + i * D, grad_out + i * D, x + i * D, weight, mean[i], rstd[i], D);
    });
  }
  if (grad_weight != nullptr || grad_bias != nullptr) {
    for_column_blocks(N, D, [&](int64_t c0, int64_t width) {
      layer_norm_parameter_grads(grad_weight, grad_bias, grad_out, x, mean, rstd, N, D, c0, width);
    });
  }
}

#define NNX_INSTANTIATE_NORMALIZATION(T)                                                                          \
  template void batch_norm_forward<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, \
                                      bool, double, double, bool);                                               \
  template void batch_norm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, const T*,     \
                                       int64_t, int64_t, int64_t, bool);                                         \
  template void layer_norm_forward<T>(T*, T*, T*, const T*, const T*, const T*, int64_t, int64_t, double);        \
  template void layer_norm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, int64_t,     \
                                       int64_t);
NNX_INSTANTIATE_NORMALIZATION(float)
NNX_INSTANTIATE_NORMALIZATION(double)
#undef NNX_INSTANTIATE_NORMALIZATION

}  // namespace nnx::cpu
