// Elementwise activation kernels: one grid-stride kernel per activation and direction, instantiated
// from the shared formulas (ActivationFormulas<LibmMath>), so CPU and GPU compute the same expressions.
#include "core/activations.h"

#include "cuda/common.cuh"

namespace nnx::cuda {
namespace {

using DeviceFormulas = ActivationFormulas<LibmMath>;

// Each element is read, then written, by one thread: the exact alias out == x is safe.
template <class Op, class T>
__global__ void activation_forward_kernel(T* out, const T* x, int64_t n, ActivationParams<T> params) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    out[i] = Op::forward(x[i], params);
}

// `saved` is the forward's out or x, whichever Op::backward reads.
template <class Op, class T>
__global__ void activation_backward_kernel(T* grad_in, const T* grad_out, const T* saved, int64_t n,
                                           ActivationParams<T> params) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    grad_in[i] = Op::backward(grad_out[i], saved[i], params);
}

}  // namespace

template <class T>
void activation_forward(T* out, const T* x, int64_t n, Activation kind, const ActivationParams<T>& params) {
  if (n == 0) return;
  DeviceFormulas::dispatch(kind, [&](auto op) {
    using Op = decltype(op);
    activation_forward_kernel<Op, T><<<grid_for(n), kBlock, 0, current_stream()>>>(out, x, n, params);
  });
  check_launch("activation_forward_kernel");
}

template <class T>
void activation_backward(T* grad_in, const T* grad_out, const T* x, const T* out, int64_t n, Activation kind,
                         const ActivationParams<T>& params) {
  if (n == 0) return;
  DeviceFormulas::dispatch(kind, [&](auto op) {
    using Op = decltype(op);
    // Identity reads nothing from saved; any valid pointer keeps the kernel free of a branch.
    const T* saved = Op::kBackwardReadsOutput ? out : x;
    if (!saved) saved = grad_out;
    activation_backward_kernel<Op, T><<<grid_for(n), kBlock, 0, current_stream()>>>(grad_in, grad_out, saved, n,
                                                                                    params);
  });
  check_launch("activation_backward_kernel");
}

template void activation_forward<float>(float*, const float*, int64_t, Activation, const ActivationParams<float>&);
template void activation_forward<double>(double*, const double*, int64_t, Activation,
                                         const ActivationParams<double>&);
template void activation_backward<float>(float*, const float*, const float*, const float*, int64_t, Activation,
                                         const ActivationParams<float>&);
template void activation_backward<double>(double*, const double*, const double*, const double*, int64_t,
                                          Activation, const ActivationParams<double>&);

}  // namespace nnx::cuda
