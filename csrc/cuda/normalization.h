// CUDA normalisation layers: batch_norm over the rows of (N, C) per column, layer_norm over the columns of
// (N, D) per row; forward and backward, float and double. Statistics accumulate in double. Same arguments
// and semantics as cpu/normalization.h (device pointers; weight and bias may be null, as may each
// gradient output). Launchers queue on nnx's stream and never synchronise.
#pragma once
#include <cstdint>

namespace nnx::cuda {

// out(N,C) = (x(N,C) - mean) * invstd * weight(C) + bias(C), per column. training: batch mean and biased
// variance (N == 0 writes save_mean = save_invstd = 0 and leaves the running statistics alone); running
// statistics, when not null, updated with the unbiased variance. eval: mean = running_mean, var = running_var.
template <class T>
void batch_norm_forward(T* out, T* save_mean, T* save_invstd, T* running_mean, T* running_var, const T* x,
                        const T* weight, const T* bias, int64_t N, int64_t C, bool training, double momentum,
                        double eps);

// grad_input(N,C) training: (g - mean(g) - xhat * mean(g * xhat)) * invstd * weight, eval: g * invstd * weight;
// grad_weight(C) = sum of g * xhat, grad_bias(C) = sum of g, with xhat = (x - save_mean) * save_invstd.
template <class T>
void batch_norm_backward(T* grad_input, T* grad_weight, T* grad_bias, const T* grad_out, const T* x,
                         const T* weight, const T* save_mean, const T* save_invstd, int64_t N, int64_t C,
                         bool training);

// out(N,D) = (x(N,D) - mean) * rstd * weight(D) + bias(D) per row; mean(N) and rstd(N) saved. D >= 1.
template <class T>
void layer_norm_forward(T* out, T* mean, T* rstd, const T* x, const T* weight, const T* bias, int64_t N, int64_t D,
                        double eps);

// grad_input(N,D) = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)) per row, gw = grad_out * weight;
// grad_weight(D) = sum over rows of grad_out * xhat, grad_bias(D) = sum over rows of grad_out.
template <class T>
void layer_norm_backward(T* grad_input, T* grad_weight, T* grad_bias, const T* grad_out, const T* x, const T* weight,
                         const T* mean, const T* rstd, int64_t N, int64_t D);

}  // namespace nnx::cuda
