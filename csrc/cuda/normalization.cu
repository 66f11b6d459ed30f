// batch_norm and layer_norm on the GPU, with cpu/normalization.cpp's formulas (core/normalization.h: double
// sums, the same roundings to T). Per-column sums over rows (batch norm's statistics and gradients, layer
// norm's weight/bias gradients) are two passes: blocks of 32 columns x a slice of the rows write partials,
// then one thread per column combines the slices in order. Batch norm over (N, C, S > 1) gives each (channel,
// slice of its N * S values) a block instead, the same two passes. Per-row work (layer norm) gives each row a warp,
// or a whole block for long rows (row_group.cuh). The splits depend only on the sizes, so every result is
// deterministic.
#include "core/normalization.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "cuda/common.cuh"
#include "cuda/device_array.h"
#include "cuda/row_group.cuh"

namespace nnx::cuda {

namespace {

// ---- per-column sums over row slices -------------------------------------------------------------------

constexpr int kColumns = 32;                    // columns per block: a warp reads 32 consecutive values of a row
constexpr int kRowLanes = kBlock / kColumns;    // rows a block reads at once
constexpr int64_t kMinRowsPerSlice = 256;       // fewer rows than this per slice is not worth a partial
constexpr int64_t kTargetBlocks = 1024;         // enough blocks to fill any current GPU

// How the N rows are cut for a column pass: `slices` slices of `rows_per_slice` rows (the last may be
// shorter; N == 0 gives one empty slice).
struct RowSlices {
  int64_t slices, rows_per_slice;
  __host__ __device__ int64_t first_row(int64_t slice) const { return slice * rows_per_slice; }
  __host__ __device__ int64_t rows_in(int64_t slice, int64_t N) const {
    return std::min(rows_per_slice, N - first_row(slice));
  }
};

RowSlices slice_rows(int64_t N, int64_t C) {
  const int64_t column_blocks = (C + kColumns - 1) / kColumns;
  const int64_t wanted = std::max<int64_t>(1, kTargetBlocks / std::max<int64_t>(column_blocks, 1));
  const int64_t slices = std::max<int64_t>(1, std::min((N + kMinRowsPerSlice - 1) / kMinRowsPerSlice, wanted));
  const int64_t rows_per_slice = std::max<int64_t>(1, (N + slices - 1) / slices);
  return RowSlices{std::max<int64_t>(1, (N + rows_per_slice - 1) / rows_per_slice), rows_per_slice};
}

dim3 column_pass_grid(int64_t C, const RowSlices& slices) {
  return dim3(static_cast<unsigned>((C + kColumns - 1) / kColumns), static_cast<unsigned>(slices.slices));
}
const dim3 kColumnPassBlock(kColumns, kRowLanes);

// The sum of each column's value over the block's row lanes, in lane order, for every thread.
__device__ double column_block_sum(double value, double (&shared)[kRowLanes][kColumns]) {
  __syncthreads();  // every thread has read the previous sum
  shared[threadIdx.y][threadIdx.x] = value;
  __syncthreads();
  double total = 0.0;
#pragma unroll
  for (int lane = 0; lane < kRowLanes; ++lane) total += shared[lane][threadIdx.x];
  return total;
}

struct TwoSums {
  double first, second;
};

// Partial sums of terms(row, column) = (first, second) over one slice of rows per blockIdx.y:
// partial_first/second(slices, C).
template <class Terms>
__global__ void column_partial_sums_kernel(Terms terms, int64_t N, int64_t C, RowSlices slices,
                                           double* partial_first, double* partial_second) {
  __shared__ double shared[kRowLanes][kColumns];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kColumns + threadIdx.x, slice = blockIdx.y;
  const int64_t begin = slices.first_row(slice), end = begin + slices.rows_in(slice, N);
  double first = 0.0, second = 0.0;
  if (c < C) {
    for (int64_t r = begin + threadIdx.y; r < end; r += kRowLanes) {
      const TwoSums t = terms(r, c);
      first += t.first;
      second += t.second;
    }
  }
  first = column_block_sum(first, shared);
  second = column_block_sum(second, shared);
  if (threadIdx.y == 0 && c < C) {
    partial_first[slice * C + c] = first;
    partial_second[slice * C + c] = second;
  }
}

// Sums the slices of column c in slice order.
__device__ TwoSums combine_slices(const double* partial_first, const double* partial_second, int64_t slices,
                                  int64_t C, int64_t c) {
  TwoSums total{0.0, 0.0};
  for (int64_t s = 0; s < slices; ++s) {
    total.first += partial_first[s * C + c];
    total.second += partial_second[s * C + c];
  }
  return total;
}

// Scratch from the caching allocator on the current device. Stream-ordered: it may go back to the cache
// as soon as the kernels that use it are queued.
std::shared_ptr<Storage> scratch(int64_t nbytes) {
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  return Storage::allocate(nbytes, device);
}

// Doubles for two (slices, C) partial arrays followed by `extra` arrays of C values of T.
template <class T>
struct ColumnScratch {
  ColumnScratch(const RowSlices& slices, int64_t C, int extra)
      : storage(scratch((2 * slices.slices * C) * static_cast<int64_t>(sizeof(double)) +
                        extra * C * static_cast<int64_t>(sizeof(T)))),
        partial_first(static_cast<double*>(storage->ptr())),
        partial_second(partial_first + slices.slices * C),
        per_column(reinterpret_cast<T*>(partial_second + slices.slices * C)) {}
  T* column_array(int index, int64_t C) const { return per_column + index * C; }

  std::shared_ptr<Storage> storage;
  double* partial_first;
  double* partial_second;
  T* per_column;
};

__device__ int64_t global_thread() { return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ int64_t thread_count() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// ---- batch_norm forward ---------------------------------------------------------------------------------

// Exact two-pass mean and m2 (sum of squared deviations) of each column over one slice of rows.
template <class T>
__global__ void batch_norm_slice_statistics_kernel(const T* x, int64_t N, int64_t C, RowSlices slices,
                                                   double* partial_mean, double* partial_m2) {
  __shared__ double shared[kRowLanes][kColumns];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kColumns + threadIdx.x, slice = blockIdx.y;
  const int64_t begin = slices.first_row(slice), rows = slices.rows_in(slice, N), end = begin + rows;
  double sum = 0.0;
  if (c < C)
    for (int64_t r = begin + threadIdx.y; r < end; r += kRowLanes) sum += static_cast<double>(x[r * C + c]);
  const double mean = column_block_sum(sum, shared) / static_cast<double>(rows);
  double m2 = 0.0;
  if (c < C) {
    for (int64_t r = begin + threadIdx.y; r < end; r += kRowLanes) {
      const double deviation = static_cast<double>(x[r * C + c]) - mean;
      m2 += deviation * deviation;
    }
  }
  m2 = column_block_sum(m2, shared);
  if (threadIdx.y == 0 && c < C) {
    partial_mean[slice * C + c] = mean;
    partial_m2[slice * C + c] = m2;
  }
}

// One thread per column: the slices merged in order with Chan et al.'s pairwise update (as the CPU merges
// its row chunks), or the running statistics in eval; then the saved statistics, the running statistics'
// update, and scale = invstd * weight for the normalising pass.
template <class T>
__global__ void batch_norm_finalize_kernel(T* save_mean, T* save_invstd, T* running_mean, T* running_var, T* scale,
                                           const double* partial_mean, const double* partial_m2, const T* weight,
                                           int64_t N, int64_t C, RowSlices slices, bool training, double momentum,
                                           double eps) {
  for (int64_t c = global_thread(); c < C; c += thread_count()) {
    double mean = 0.0, variance = 0.0;
    if (training) {
      double m2 = 0.0;
      for (int64_t s = 0; s < slices.slices; ++s)
        merge_statistics(mean, m2, partial_mean[s * C + c], partial_m2[s * C + c],
                         static_cast<double>(slices.first_row(s)), static_cast<double>(slices.rows_in(s, N)));
      variance = m2 / static_cast<double>(N);
      if (running_mean != nullptr) {
        const double unbiased = m2 / static_cast<double>(N - 1);  // N == 1 gives NaN: the binding refuses it
        running_mean[c] = static_cast<T>(running_average(static_cast<double>(running_mean[c]), mean, momentum));
        running_var[c] = static_cast<T>(running_average(static_cast<double>(running_var[c]), unbiased, momentum));
      }
    } else {
      mean = static_cast<double>(running_mean[c]);
      variance = static_cast<double>(running_var[c]);
    }
    const double invstd = inverse_std(variance, eps);
    save_mean[c] = static_cast<T>(mean);
    save_invstd[c] = static_cast<T>(invstd);
    scale[c] = norm_scale(invstd, weight, c);
  }
}

// out = (x - mean) * scale + bias (then relu), elementwise over (N, C, S).
template <class T>
__global__ void batch_norm_normalize_kernel(T* out, const T* x, const T* mean, const T* scale, const T* bias,
                                            int64_t N, int64_t C, int64_t S, bool relu) {
  const int64_t total = N * C * S;
  for (int64_t e = global_thread(); e < total; e += thread_count()) {
    const int64_t c = (e / S) % C;
    const T shift = bias != nullptr ? bias[c] : T(0);
    const T y = batch_norm_output(x[e], mean[c], scale[c], shift);
    out[e] = relu ? batch_norm_relu(y) : y;
  }
}

template <class T>
__global__ void zero_two_kernel(T* a, T* b, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) a[i] = b[i] = T(0);
}

// ---- batch_norm backward --------------------------------------------------------------------------------

// (g, g * (x - mean)) of element (r, c) of (N, C) or of value r of channel c of (N, C, S), in double (g masked by
// the relu output when out is not null).
template <class T>
struct BatchNormGradientTerms {
  const T* grad_out;
  const T* out;
  const T* x;
  const T* mean;
  int64_t C, S;
  __device__ TwoSums operator()(int64_t r, int64_t c) const {
    const int64_t e = S == 1 ? r * C + c : ((r / S) * C + c) * S + r % S;
    const T g = batch_norm_upstream(grad_out, out, e);
    return {static_cast<double>(g), batch_norm_centered_gradient(g, x[e], mean[c])};
  }
};

// One thread per column: grad_weight, grad_bias, and the per-column coefficients of grad_input
// (mean_g, projection, scale), rounded to T as the CPU rounds them.
template <class T>
__global__ void batch_norm_backward_finalize_kernel(T* grad_weight, T* grad_bias, T* mean_g, T* projection, T* scale,
                                                    const double* partial_g, const double* partial_g_centered,
                                                    const T* weight, const T* save_invstd, int64_t N, int64_t C,
                                                    int64_t slices, bool training) {
  for (int64_t c = global_thread(); c < C; c += thread_count()) {
    const TwoSums sums = partial_g != nullptr ? combine_slices(partial_g, partial_g_centered, slices, C, c)
                                              : TwoSums{0.0, 0.0};
    const double sum_g = sums.first, sum_g_centered = sums.second;
    const double invstd = static_cast<double>(save_invstd[c]);
    if (grad_weight != nullptr) grad_weight[c] = static_cast<T>(sum_g_centered * invstd);
    if (grad_bias != nullptr) grad_bias[c] = static_cast<T>(sum_g);
    if (scale == nullptr) continue;  // no grad_input
    mean_g[c] = batch_norm_mean_g<T>(sum_g, N, training);
    projection[c] = batch_norm_projection<T>(sum_g_centered, invstd, N, training);
    scale[c] = norm_scale(invstd, weight, c);
  }
}

// grad_input = (g - mean_g - (x - mean) * projection) * scale, elementwise over (N, C, S).
template <class T>
__global__ void batch_norm_grad_input_kernel(T* grad_input, const T* grad_out, const T* out, const T* x,
                                             const T* mean, const T* mean_g, const T* projection, const T* scale,
                                             int64_t N, int64_t C, int64_t S) {
  const int64_t total = N * C * S;
  for (int64_t e = global_thread(); e < total; e += thread_count()) {
    const int64_t c = (e / S) % C;
    grad_input[e] = batch_norm_grad_input(batch_norm_upstream(grad_out, out, e), x[e], mean[c], mean_g[c],
                                          projection[c], scale[c]);
  }
}

// ---- batch_norm over (N, C, S > 1): a block per (channel, slice of its N * S values) --------------------------

// Value r of channel c (images in order, then positions).
__device__ inline int64_t channel_element(int64_t r, int64_t c, int64_t C, int64_t S) {
  return ((r / S) * C + c) * S + r % S;
}

// Slices of a channel's M values: at least kMinValuesPerSlice each, about kTargetBlocks blocks over all channels.
constexpr int64_t kMinValuesPerSlice = 4096;

RowSlices slice_channel(int64_t M, int64_t C) {
  const int64_t wanted = std::max<int64_t>(1, kTargetBlocks / std::max<int64_t>(C, 1));
  const int64_t slices = std::max<int64_t>(1, std::min((M + kMinValuesPerSlice - 1) / kMinValuesPerSlice, wanted));
  const int64_t per_slice = std::max<int64_t>(1, (M + slices - 1) / slices);
  return RowSlices{std::max<int64_t>(1, (M + per_slice - 1) / per_slice), per_slice};
}

dim3 channel_pass_grid(int64_t C, const RowSlices& slices) {
  return dim3(static_cast<unsigned>(C), static_cast<unsigned>(slices.slices));
}

using BlockGroup = RowGroup<kBlock>;

// Exact two-pass mean and m2 of one slice (blockIdx.y) of channel blockIdx.x's values: partial_mean/m2(slices, C).
template <class T>
__global__ void batch_norm_channel_statistics_kernel(const T* x, int64_t C, int64_t S, int64_t M, RowSlices slices,
                                                     double* partial_mean, double* partial_m2) {
  const int64_t c = blockIdx.x, slice = blockIdx.y;
  const int64_t begin = slices.first_row(slice), rows = slices.rows_in(slice, M), end = begin + rows;
  double sum = 0.0;
  for (int64_t r = begin + threadIdx.x; r < end; r += kBlock) sum += static_cast<double>(x[channel_element(r, c, C, S)]);
  const double mean = BlockGroup::sum(sum) / static_cast<double>(rows);
  double m2 = 0.0;
  for (int64_t r = begin + threadIdx.x; r < end; r += kBlock) {
    const double deviation = static_cast<double>(x[channel_element(r, c, C, S)]) - mean;
    m2 += deviation * deviation;
  }
  m2 = BlockGroup::sum(m2);
  if (threadIdx.x == 0) {
    partial_mean[slice * C + c] = mean;
    partial_m2[slice * C + c] = m2;
  }
}

// Partial sums of terms(r, c) over one slice (blockIdx.y) of channel blockIdx.x's values.
template <class Terms>
__global__ void channel_partial_sums_kernel(Terms terms, int64_t C, int64_t M, RowSlices slices,
                                            double* partial_first, double* partial_second) {
  const int64_t c = blockIdx.x, slice = blockIdx.y;
  const int64_t begin = slices.first_row(slice), end = begin + slices.rows_in(slice, M);
  double first = 0.0, second = 0.0;
  for (int64_t r = begin + threadIdx.x; r < end; r += kBlock) {
    const TwoSums t = terms(r, c);
    first += t.first;
    second += t.second;
  }
  first = BlockGroup::sum(first);
  second = BlockGroup::sum(second);
  if (threadIdx.x == 0) {
    partial_first[slice * C + c] = first;
    partial_second[slice * C + c] = second;
  }
}

// ---- layer_norm -----------------------------------------------------------------------------------------

// One pass over the row for both statistics, as the CPU: sums of d = x - row[0] and of d^2.
template <int kRowThreads, class T>
__global__ void layer_norm_forward_kernel(T* out, T* mean, T* rstd, const T* x, const T* weight, const T* bias,
                                          int64_t N, int64_t D, double eps) {
  using Group = RowGroup<kRowThreads>;
  for (int64_t i = Group::first_row(); i < N; i += Group::row_stride()) {
    const T* row = x + i * D;
    const double shift = static_cast<double>(row[0]);
    double sum = 0.0, sum_squares = 0.0;
    for (int64_t j = Group::lane(); j < D; j += kRowThreads) {
      const double d = static_cast<double>(row[j]) - shift;
      sum += d;
      sum_squares += d * d;
    }
    sum = Group::sum(sum);
    sum_squares = Group::sum(sum_squares);
    const LayerNormStatistics<T> stats(shift, sum, sum_squares, D, eps);
    const T row_mean = stats.mean, row_rstd = stats.rstd;
    if (Group::lane() == 0) {
      mean[i] = row_mean;
      rstd[i] = row_rstd;
    }
    T* out_row = out + i * D;
    for (int64_t j = Group::lane(); j < D; j += kRowThreads) {
      T value = layer_norm_normalized(row[j], row_mean, row_rstd);
      if (weight != nullptr) value = value * weight[j];
      if (bias != nullptr) value = value + bias[j];
      out_row[j] = value;
    }
  }
}

// grad_row = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)), gw = g * weight, xhat = (x - mean) * rstd.
template <int kRowThreads, class T>
__global__ void layer_norm_grad_input_kernel(T* grad_input, const T* grad_out, const T* x, const T* weight,
                                             const T* mean, const T* rstd, int64_t N, int64_t D) {
  using Group = RowGroup<kRowThreads>;
  for (int64_t i = Group::first_row(); i < N; i += Group::row_stride()) {
    const T* g_row = grad_out + i * D;
    const T* x_row = x + i * D;
    const T row_mean = mean[i], row_rstd = rstd[i];
    double sum_gw = 0.0, sum_gw_xhat = 0.0;
    for (int64_t j = Group::lane(); j < D; j += kRowThreads) {
      const double gw = layer_norm_weighted_gradient(g_row[j], weight, j);
      sum_gw += gw;
      sum_gw_xhat += gw * (static_cast<double>(x_row[j]) - static_cast<double>(row_mean));
    }
    sum_gw = Group::sum(sum_gw);
    sum_gw_xhat = Group::sum(sum_gw_xhat);
    const LayerNormRowGradient<T> gradient(sum_gw, sum_gw_xhat, row_rstd, D);
    T* grad_row = grad_input + i * D;
    for (int64_t j = Group::lane(); j < D; j += kRowThreads) {
      const T gw = weight != nullptr ? g_row[j] * weight[j] : g_row[j];
      grad_row[j] = gradient(gw, x_row[j], row_mean, row_rstd);
    }
  }
}

// (g * xhat, g) of element (r, c), in double, with the row's saved mean and rstd.
template <class T>
struct LayerNormParameterTerms {
  const T* grad_out;
  const T* x;
  const T* mean;
  const T* rstd;
  int64_t D;
  __device__ TwoSums operator()(int64_t r, int64_t c) const {
    const double g = static_cast<double>(grad_out[r * D + c]);
    return {g * layer_norm_xhat(x[r * D + c], mean[r], rstd[r]), g};
  }
};

template <class T>
__global__ void layer_norm_parameter_finalize_kernel(T* grad_weight, T* grad_bias, const double* partial_g_xhat,
                                                     const double* partial_g, int64_t D, int64_t slices) {
  for (int64_t c = global_thread(); c < D; c += thread_count()) {
    const TwoSums sums = combine_slices(partial_g_xhat, partial_g, slices, D, c);
    if (grad_weight != nullptr) grad_weight[c] = static_cast<T>(sums.first);
    if (grad_bias != nullptr) grad_bias[c] = static_cast<T>(sums.second);
  }
}

}  // namespace

// --- batch_norm -----------------------------------------------------------------------------------------------
template <class T>
void batch_norm_forward(T* out, T* save_mean, T* save_invstd, T* running_mean, T* running_var, const T* x,
                        const T* weight, const T* bias, int64_t N, int64_t C, int64_t S, bool training,
                        double momentum, double eps, bool relu) {
  if (C <= 0) return;
  cudaStream_t stream = current_stream();
  const int64_t M = N * S;  // values per channel
  if (training && M == 0) {  // nothing to normalise; PyTorch saves zeros and keeps the running statistics
    zero_two_kernel<T><<<grid_for(C), kBlock, 0, stream>>>(save_mean, save_invstd, C);
    check_launch("batch_norm_forward (zeros)");
    return;
  }
  const RowSlices slices = S == 1 ? slice_rows(N, C) : slice_channel(M, C);
  ColumnScratch<T> scratch(training ? slices : RowSlices{0, 1}, C, 1);
  T* scale = scratch.column_array(0, C);
  if (training && S == 1) {
    batch_norm_slice_statistics_kernel<T><<<column_pass_grid(C, slices), kColumnPassBlock, 0, stream>>>(
        x, N, C, slices, scratch.partial_first, scratch.partial_second);
    check_launch("batch_norm_slice_statistics_kernel");
  } else if (training) {
    batch_norm_channel_statistics_kernel<T><<<channel_pass_grid(C, slices), kBlock, 0, stream>>>(
        x, C, S, M, slices, scratch.partial_first, scratch.partial_second);
    check_launch("batch_norm_channel_statistics_kernel");
  }
  batch_norm_finalize_kernel<T><<<grid_for(C), kBlock, 0, stream>>>(save_mean, save_invstd, running_mean, running_var,
                                                                    scale, scratch.partial_first,
                                                                    scratch.partial_second, weight, M, C, slices,
                                                                    training, momentum, eps);
  check_launch("batch_norm_finalize_kernel");
  if (N * C * S == 0) return;
  batch_norm_normalize_kernel<T><<<grid_for(N * C * S), kBlock, 0, stream>>>(out, x, save_mean, scale, bias, N, C, S,
                                                                             relu);
  check_launch("batch_norm_normalize_kernel");
}

template <class T>
void batch_norm_backward(T* grad_input, T* grad_weight, T* grad_bias, const T* grad_out, const T* out, const T* x,
                         const T* weight, const T* save_mean, const T* save_invstd, int64_t N, int64_t C, int64_t S,
                         bool training) {
  if (C <= 0) return;
  const bool need_sums = grad_weight != nullptr || grad_bias != nullptr || (training && grad_input != nullptr);
  if (!need_sums && grad_input == nullptr) return;
  cudaStream_t stream = current_stream();
  const int64_t M = N * S;
  const RowSlices slices = S == 1 ? slice_rows(N, C) : slice_channel(M, C);
  ColumnScratch<T> scratch(need_sums ? slices : RowSlices{0, 1}, C, grad_input != nullptr ? 3 : 0);
  if (need_sums) {
    const BatchNormGradientTerms<T> terms{grad_out, out, x, save_mean, C, S};
    if (S == 1) {
      column_partial_sums_kernel<<<column_pass_grid(C, slices), kColumnPassBlock, 0, stream>>>(
          terms, N, C, slices, scratch.partial_first, scratch.partial_second);
    } else {
      channel_partial_sums_kernel<<<channel_pass_grid(C, slices), kBlock, 0, stream>>>(
          terms, C, M, slices, scratch.partial_first, scratch.partial_second);
    }
    check_launch("partial sums (batch_norm_backward)");
  }
  T* mean_g = grad_input != nullptr ? scratch.column_array(0, C) : nullptr;
  T* projection = grad_input != nullptr ? scratch.column_array(1, C) : nullptr;
  T* scale = grad_input != nullptr ? scratch.column_array(2, C) : nullptr;
  batch_norm_backward_finalize_kernel<T><<<grid_for(C), kBlock, 0, stream>>>(
      grad_weight, grad_bias, mean_g, projection, scale, need_sums ? scratch.partial_first : nullptr,
      need_sums ? scratch.partial_second : nullptr, weight, save_invstd, M, C, slices.slices, training);
  check_launch("batch_norm_backward_finalize_kernel");
  if (grad_input == nullptr || N * C * S == 0) return;
  batch_norm_grad_input_kernel<T><<<grid_for(N * C * S), kBlock, 0, stream>>>(grad_input, grad_out, out, x, save_mean,
                                                                              mean_g, projection, scale, N, C, S);
  check_launch("batch_norm_grad_input_kernel");
}

// --- layer_norm -----------------------------------------------------------------------------------------------
template <class T>
void layer_norm_forward(T* out, T* mean, T* rstd, const T* x, const T* weight, const T* bias, int64_t N, int64_t D,
                        double eps) {
  if (N <= 0 || D <= 0) return;
  with_row_threads(D, [&](auto row_threads) {
    constexpr int kRowThreads = decltype(row_threads)::value;
    layer_norm_forward_kernel<kRowThreads, T><<<RowGroup<kRowThreads>::blocks(N), kBlock, 0, current_stream()>>>(
        out, mean, rstd, x, weight, bias, N, D, eps);
    check_launch("layer_norm_forward_kernel");
  });
}

template <class T>
void layer_norm_backward(T* grad_input, T* grad_weight, T* grad_bias, const T* grad_out, const T* x, const T* weight,
                         const T* mean, const T* rstd, int64_t N, int64_t D) {
  if (D <= 0) return;
  cudaStream_t stream = current_stream();
  if (grad_input != nullptr && N > 0) {
    with_row_threads(D, [&](auto row_threads) {
      constexpr int kRowThreads = decltype(row_threads)::value;
      layer_norm_grad_input_kernel<kRowThreads, T><<<RowGroup<kRowThreads>::blocks(N), kBlock, 0, stream>>>(
          grad_input, grad_out, x, weight, mean, rstd, N, D);
      check_launch("layer_norm_grad_input_kernel");
    });
  }
  if (grad_weight == nullptr && grad_bias == nullptr) return;
  const RowSlices slices = slice_rows(N, D);
  ColumnScratch<T> scratch(slices, D, 0);
  const LayerNormParameterTerms<T> terms{grad_out, x, mean, rstd, D};
  column_partial_sums_kernel<<<column_pass_grid(D, slices), kColumnPassBlock, 0, stream>>>(
      terms, N, D, slices, scratch.partial_first, scratch.partial_second);
  check_launch("column_partial_sums_kernel (layer_norm_backward)");
  layer_norm_parameter_finalize_kernel<T><<<grid_for(D), kBlock, 0, stream>>>(
      grad_weight, grad_bias, scratch.partial_first, scratch.partial_second, D, slices.slices);
  check_launch("layer_norm_parameter_finalize_kernel");
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

}  // namespace nnx::cuda
