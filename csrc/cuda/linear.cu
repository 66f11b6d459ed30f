// Fused linear layer over cuBLAS: the GEMM writes x @ weight^T into out, then one kernel adds the bias,
// stores preact and applies the activation in a single pass over out (formulas shared with the CPU).
#include "core/linear.h"

#include "core/activations.h"
#include "core/gemm.h"
#include "core/reduce.h"
#include "cuda/common.cuh"

namespace nnx::cuda {
namespace {

using DeviceFormulas = ActivationFormulas<LibmMath>;

// out = act(out + bias) over out(N,M), and preact = out + bias first when preact is not null.
template <class Op, class T>
__global__ void bias_activation_kernel(T* out, T* preact, const T* bias, int64_t N, int64_t M,
                                       ActivationParams<T> params) {
  const int64_t n = N * M;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const T value = bias ? out[i] + bias[i % M] : out[i];
    if (preact) preact[i] = value;
    out[i] = Op::forward(value, params);
  }
}

}  // namespace

template <class T>
void linear_forward(T* out, T* preact, const T* x, const T* weight, const T* bias, int64_t N, int64_t K, int64_t M,
                    Activation activation, const ActivationParams<T>& params) {
  if (N == 0 || M == 0) return;
  gemm<T>(false, true, N, M, K, T(1), x, weight, T(0), out);
  // Nothing to add, store or apply: the GEMM's result is the answer.
  if (activation == Activation::none && !bias && !preact) return;
  DeviceFormulas::dispatch(activation, [&](auto op) {
    using Op = decltype(op);
    bias_activation_kernel<Op, T><<<grid_for(N * M), kBlock, 0, current_stream()>>>(out, preact, bias, N, M, params);
  });
  check_launch("bias_activation_kernel");
}

template <class T>
void linear_backward(T* grad_preact, T* grad_x, T* grad_weight, T* grad_bias, const T* grad_out, const T* x,
                     const T* weight, const T* saved, int64_t N, int64_t K, int64_t M, Activation activation,
                     const ActivationParams<T>& params, bool accumulate) {
  // grad_preact == grad_out with no activation: already the answer, in place. Otherwise the elementwise
  // backward of activations.cu, with `saved` standing for whichever of x/out the activation reads.
  if (!(activation == Activation::none && grad_preact == grad_out))
    activation_backward<T>(grad_preact, grad_out, saved, saved, N * M, activation, params);
  if (grad_x) gemm<T>(false, false, N, K, M, T(1), grad_preact, weight, T(0), grad_x);
  if (grad_weight) gemm<T>(true, false, M, K, N, T(1), grad_preact, x, accumulate ? T(1) : T(0), grad_weight);
  if (grad_bias) column_sum<T>(grad_preact, N, M, grad_bias, accumulate);
}

template void linear_forward<float>(float*, float*, const float*, const float*, const float*, int64_t, int64_t,
                                    int64_t, Activation, const ActivationParams<float>&);
template void linear_forward<double>(double*, double*, const double*, const double*, const double*, int64_t,
                                     int64_t, int64_t, Activation, const ActivationParams<double>&);
template void linear_backward<float>(float*, float*, float*, float*, const float*, const float*, const float*,
                                     const float*, int64_t, int64_t, int64_t, Activation,
                                     const ActivationParams<float>&, bool);
template void linear_backward<double>(double*, double*, double*, double*, const double*, const double*,
                                      const double*, const double*, int64_t, int64_t, int64_t, Activation,
                                      const ActivationParams<double>&, bool);

}  // namespace nnx::cuda
