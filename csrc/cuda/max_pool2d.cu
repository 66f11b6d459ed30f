// max_pool2d kernels on the GPU: grid-stride loops, one thread per output element (forward) or per input element
// (backward, a gather: no atomics). The window arithmetic is core/max_pool2d.h's, shared with the CPU.
#include "core/max_pool2d.h"

#include "cuda/common.cuh"

namespace nnx::cuda {
namespace {

template <class T>
__global__ void max_pool2d_forward_kernel(T* out, int64_t* argmax, const T* x, int64_t total, Pool2dGeometry g) {
  const int64_t out_plane = g.OH * g.OW;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t plane = i / out_plane, within = i % out_plane;
    max_pool2d_window(x + plane * g.H * g.W, g, within / g.OW, within % g.OW, out + i, argmax + i);
  }
}

template <class T>
__global__ void max_pool2d_backward_kernel(T* grad_in, const T* grad_out, const int64_t* argmax, int64_t total,
                                           Pool2dGeometry g) {
  const int64_t in_plane = g.H * g.W, out_plane = g.OH * g.OW;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t plane = i / in_plane, within = i % in_plane;
    grad_in[i] = max_pool2d_input_grad(grad_out + plane * out_plane, argmax + plane * out_plane, g, within / g.W,
                                       within % g.W);
  }
}

}  // namespace

template <class T>
void max_pool2d_forward(T* out, int64_t* argmax, const T* x, int64_t planes, const Pool2dGeometry& g) {
  const int64_t total = planes * g.OH * g.OW;
  if (total == 0) return;
  max_pool2d_forward_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(out, argmax, x, total, g);
  check_launch("max_pool2d_forward_kernel");
}

template <class T>
void max_pool2d_backward(T* grad_in, const T* grad_out, const int64_t* argmax, int64_t planes,
                         const Pool2dGeometry& g) {
  const int64_t total = planes * g.H * g.W;
  if (total == 0) return;
  max_pool2d_backward_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(grad_in, grad_out, argmax, total, g);
  check_launch("max_pool2d_backward_kernel");
}

template void max_pool2d_forward<float>(float*, int64_t*, const float*, int64_t, const Pool2dGeometry&);
template void max_pool2d_forward<double>(double*, int64_t*, const double*, int64_t, const Pool2dGeometry&);
template void max_pool2d_backward<float>(float*, const float*, const int64_t*, int64_t, const Pool2dGeometry&);
template void max_pool2d_backward<double>(double*, const double*, const int64_t*, int64_t, const Pool2dGeometry&);

}  // namespace nnx::cuda
