// Fused linear layer: GEMM, then bias and activation in one pass over the output; the backward fuses the
// activation's derivative into one pass before its GEMMs. float and double, declared once for the device a
// translation unit is compiled for (nnx::NNX_DEVICE: core/device_namespace.h); host-compiler clean.
// CPU: BLAS GEMM. CUDA: cuBLAS GEMM; launchers queue on current_stream().
#pragma once
#include <cstdint>

#include "core/activations.h"
#include "core/device_namespace.h"

namespace nnx::NNX_DEVICE {

// out(N,M) = act(x(N,K) @ weight(M,K)^T + bias(M)). bias may be null (no bias). preact(N,M), when not
// null, receives x @ weight^T + bias (the backward of gelu/gelu_tanh needs it). No argument may overlap
// another. CPU: allocates nothing.
template <class T>
void linear_forward(T* out, T* preact, const T* x, const T* weight, const T* bias, int64_t N, int64_t K, int64_t M,
                    Activation activation, const ActivationParams<T>& params);

// grad_preact(N,M) = grad_out(N,M) * act'(.), reading `saved`: the forward's out for relu, leaky_relu,
// sigmoid and tanh, its preact for gelu and gelu_tanh, nothing for none (may be null). grad_preact may
// be grad_out itself. Then, each skipped when null:
//   grad_x(N,K) = grad_preact @ weight(M,K)           (always overwritten)
//   grad_weight(M,K) (+)= grad_preact^T @ x(N,K)       (added to when accumulate)
//   grad_bias(M) (+)= grad_preact.sum(0)               (added to when accumulate)
template <class T>
void linear_backward(T* grad_preact, T* grad_x, T* grad_weight, T* grad_bias, const T* grad_out, const T* x,
                     const T* weight, const T* saved, int64_t N, int64_t K, int64_t M, Activation activation,
                     const ActivationParams<T>& params, bool accumulate);

}  // namespace nnx::NNX_DEVICE
