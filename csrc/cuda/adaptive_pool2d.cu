// adaptive_pool2d kernels on the GPU (average and max): grid-stride loops, one thread per output element (forward)
// or per input element (backward, a gather: no atomics). The window arithmetic is core/adaptive_pool2d.h's, shared
// with the CPU, so both devices sum and pick alike.
#include "core/adaptive_pool2d.h"

#include "cuda/common.cuh"

namespace nnx::cuda {
namespace {

template <class T>
__global__ void adaptive_avg_pool2d_forward_kernel(T* out, const T* x, int64_t total, AdaptivePool2dGeometry g) {
  const int64_t out_plane = g.OH * g.OW;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t plane = i / out_plane, within = i % out_plane;
    out[i] = adaptive_avg_pool2d_value(x + plane * g.H * g.W, g, within / g.OW, within % g.OW);
  }
}

template <class T>
__global__ void adaptive_avg_pool2d_backward_kernel(T* grad_in, const T* grad_out, int64_t total,
                                                    AdaptivePool2dGeometry g) {
  const int64_t in_plane = g.H * g.W, out_plane = g.OH * g.OW;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t plane = i / in_plane, within = i % in_plane;
    grad_in[i] = adaptive_avg_pool2d_input_grad(grad_out + plane * out_plane, g, within / g.W, within % g.W);
  }
}

template <class T>
__global__ void adaptive_max_pool2d_forward_kernel(T* out, int64_t* argmax, const T* x, int64_t total,
                                                   AdaptivePool2dGeometry g) {
  const int64_t out_plane = g.OH * g.OW;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t plane = i / out_plane, within = i % out_plane;
    adaptive_max_pool2d_window(x + plane * g.H * g.W, g, within / g.OW, within % g.OW, out + i, argmax + i);
  }
}

template <class T>
__global__ void adaptive_max_pool2d_backward_kernel(T* grad_in, const T* grad_out, const int64_t* argmax,
                                                    int64_t total, AdaptivePool2dGeometry g) {
  const int64_t in_plane = g.H * g.W, out_plane = g.OH * g.OW;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t plane = i / in_plane, within = i % in_plane;
    grad_in[i] = adaptive_max_pool2d_input_grad(grad_out + plane * out_plane, argmax + plane * out_plane, g,
                                                within / g.W, within % g.W);
  }
}

}  // namespace

template <class T>
void adaptive_avg_pool2d_forward(T* out, const T* x, int64_t planes, const AdaptivePool2dGeometry& g) {
  const int64_t total = planes * g.OH * g.OW;
  if (total == 0) return;
  adaptive_avg_pool2d_forward_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(out, x, total, g);
  check_launch("adaptive_avg_pool2d_forward_kernel");
}

template <class T>
void adaptive_avg_pool2d_backward(T* grad_in, const T* grad_out, int64_t planes, const AdaptivePool2dGeometry& g) {
  const int64_t total = planes * g.H * g.W;
  if (total == 0) return;
  adaptive_avg_pool2d_backward_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(grad_in, grad_out,
                                                                                           total, g);
  check_launch("adaptive_avg_pool2d_backward_kernel");
}

template <class T>
void adaptive_max_pool2d_forward(T* out, int64_t* argmax, const T* x, int64_t planes,
                                 const AdaptivePool2dGeometry& g) {
  const int64_t total = planes * g.OH * g.OW;
  if (total == 0) return;
  adaptive_max_pool2d_forward_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(out, argmax, x, total, g);
  check_launch("adaptive_max_pool2d_forward_kernel");
}

template <class T>
void adaptive_max_pool2d_backward(T* grad_in, const T* grad_out, const int64_t* argmax, int64_t planes,
                                  const AdaptivePool2dGeometry& g) {
  const int64_t total = planes * g.H * g.W;
  if (total == 0) return;
  adaptive_max_pool2d_backward_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(grad_in, grad_out,
                                                                                           argmax, total, g);
  check_launch("adaptive_max_pool2d_backward_kernel");
}

#define NNX_ADAPTIVE_POOL2D(T)                                                                                      \
  template void adaptive_avg_pool2d_forward<T>(T*, const T*, int64_t, const AdaptivePool2dGeometry&);              \
  template void adaptive_avg_pool2d_backward<T>(T*, const T*, int64_t, const AdaptivePool2dGeometry&);             \
  template void adaptive_max_pool2d_forward<T>(T*, int64_t*, const T*, int64_t, const AdaptivePool2dGeometry&);    \
  template void adaptive_max_pool2d_backward<T>(T*, const T*, const int64_t*, int64_t, const AdaptivePool2dGeometry&);
NNX_ADAPTIVE_POOL2D(float)
NNX_ADAPTIVE_POOL2D(double)
#undef NNX_ADAPTIVE_POOL2D

}  // namespace nnx::cuda
