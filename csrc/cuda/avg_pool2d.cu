// avg_pool2d kernels on the GPU: grid-stride loops, one thread per output element (forward) or per input element
// (backward, a gather: no atomics). The window arithmetic is core/avg_pool2d.h's, shared with the CPU.
#include "core/avg_pool2d.h"

#include "cuda/common.cuh"

namespace nnx::cuda {
namespace {

template <class T>
__global__ void avg_pool2d_forward_kernel(T* out, const T* x, int64_t total, AvgPool2dGeometry g) {
  const int64_t out_plane = g.OH * g.OW;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t plane = i / out_plane, within = i % out_plane;
    out[i] = avg_pool2d_value(x + plane * g.H * g.W, g, within / g.OW, within % g.OW);
  }
}

template <class T>
__global__ void avg_pool2d_backward_kernel(T* grad_in, const T* grad_out, int64_t total, AvgPool2dGeometry g) {
  const int64_t in_plane = g.H * g.W, out_plane = g.OH * g.OW;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t plane = i / in_plane, within = i % in_plane;
    grad_in[i] = avg_pool2d_input_grad(grad_out + plane * out_plane, g, within / g.W, within % g.W);
  }
}

}  // namespace

template <class T>
void avg_pool2d_forward(T* out, const T* x, int64_t planes, const AvgPool2dGeometry& g) {
  const int64_t total = planes * g.OH * g.OW;
  if (total == 0) return;
  avg_pool2d_forward_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(out, x, total, g);
  check_launch("avg_pool2d_forward_kernel");
}

template <class T>
void avg_pool2d_backward(T* grad_in, const T* grad_out, int64_t planes, const AvgPool2dGeometry& g) {
  const int64_t total = planes * g.H * g.W;
  if (total == 0) return;
  avg_pool2d_backward_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(grad_in, grad_out, total, g);
  check_launch("avg_pool2d_backward_kernel");
}

template void avg_pool2d_forward<float>(float*, const float*, int64_t, const AvgPool2dGeometry&);
template void avg_pool2d_forward<double>(double*, const double*, int64_t, const AvgPool2dGeometry&);
template void avg_pool2d_backward<float>(float*, const float*, int64_t, const AvgPool2dGeometry&);
template void avg_pool2d_backward<double>(double*, const double*, int64_t, const AvgPool2dGeometry&);

}  // namespace nnx::cuda
