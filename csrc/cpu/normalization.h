// Normalisation layers: batch_norm over the rows of (N, C) per column, layer_norm over the columns of (N, D)
// per row; forward and backward, float and double. Statistics accumulate in double.
#pragma once
#include <cstdint>

namespace nnx::cpu {

// out(N,C) = (x(N,C) - mean) * invstd * weight(C) + bias(C), per column c.
// training: mean and the biased variance come from the batch (N >= 1; N == 0 writes mean = invstd = 0
// and leaves the running statistics alone, as PyTorch does); running_mean(C) and running_var(C), when
// not null, are updated in place: running = (1 - momentum) * running + momentum * batch, with the
// unbiased variance (var * N / (N - 1)).
// eval (!training): mean = running_mean, var = running_var (both required).
// save_mean(C) and save_invstd(C) = 1 / sqrt(var + eps) receive what batch_norm_backward needs.
// weight and bias may be null (1 and 0). No output may overlap another argument. Allocates nothing.
template <class T>
void batch_norm_forward(T* out, T* save_mean, T* save_invstd, T* running_mean, T* running_var, const T* x,
                        const T* weight, const T* bias, int64_t N, int64_t C, bool training, double momentum,
                        double eps);

// Backward of batch_norm_forward from its save_mean(C) and save_invstd(C), each output skipped when null:
//   grad_input(N,C)  training: (g - mean(g) - xhat * mean(g * xhat)) * invstd * weight   (PyTorch's formula)
//                    eval:     g * invstd * weight   (the running statistics are constants)
//   grad_weight(C) = sum over rows of g * xhat,   grad_bias(C) = sum over rows of g,
// with g = grad_out(N,C) and xhat = (x - save_mean) * save_invstd. weight may be null (1).
template <class T>
void batch_norm_backward(T* grad_input, T* grad_weight, T* grad_bias, const T* grad_out, const T* x,
                         const T* weight, const T* save_mean, const T* save_invstd, int64_t N, int64_t C,
                         bool training);

// out(N,D) = (x(N,D) - mean) * rstd * weight(D) + bias(D) per row, with the row's mean and biased
// variance; mean(N) and rstd(N) = 1 / sqrt(var + eps) are saved for the backward. weight and bias may be
// null (1 and 0). No output may overlap another argument. Allocates nothing.
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

}  // namespace nnx::cpu
