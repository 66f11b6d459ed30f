// interpolate kernels on the GPU: grid-stride loops, one thread per output element (forward) or per input element
// (backward: a gather over the outputs that read it, no atomics, deterministic). The index arithmetic is
// core/interpolate.h's, shared with the CPU.
#include "core/interpolate.h"

#include "cuda/common.cuh"

namespace nnx::cuda {
namespace {

template <class T>
__global__ void interpolate_forward_kernel(T* out, const T* x, int64_t total, InterpolateAxis ah, InterpolateAxis aw,
                                           InterpolateMode mode) {
  const int64_t out_plane = ah.out * aw.out, in_plane = ah.in * aw.in;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t plane = i / out_plane, within = i % out_plane;
    out[i] = interpolate_value(x + plane * in_plane, ah, aw, mode, within / aw.out, within % aw.out);
  }
}

template <class T>
__global__ void interpolate_backward_kernel(T* grad_in, const T* grad_out, int64_t total, InterpolateAxis ah,
                                            InterpolateAxis aw, InterpolateMode mode) {
  const int64_t out_plane = ah.out * aw.out, in_plane = ah.in * aw.in;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t plane = i / in_plane, within = i % in_plane;
    grad_in[i] = interpolate_input_grad(grad_out + plane * out_plane, ah, aw, mode, within / aw.in, within % aw.in);
  }
}

}  // namespace

template <class T>
void interpolate_forward(T* out, const T* x, int64_t planes, const InterpolateAxis& ah, const InterpolateAxis& aw,
                         InterpolateMode mode) {
  const int64_t total = planes * ah.out * aw.out;
  if (total == 0) return;
  interpolate_forward_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(out, x, total, ah, aw, mode);
  check_launch("interpolate_forward_kernel");
}

template <class T>
void interpolate_backward(T* grad_in, const T* grad_out, int64_t planes, const InterpolateAxis& ah,
                          const InterpolateAxis& aw, InterpolateMode mode) {
  const int64_t total = planes * ah.in * aw.in;
  if (total == 0) return;
  interpolate_backward_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(grad_in, grad_out, total, ah, aw,
                                                                                   mode);
  check_launch("interpolate_backward_kernel");
}

template void interpolate_forward<float>(float*, const float*, int64_t, const InterpolateAxis&,
                                         const InterpolateAxis&, InterpolateMode);
template void interpolate_forward<double>(double*, const double*, int64_t, const InterpolateAxis&,
                                          const InterpolateAxis&, InterpolateMode);
template void interpolate_backward<float>(float*, const float*, int64_t, const InterpolateAxis&,
                                          const InterpolateAxis&, InterpolateMode);
template void interpolate_backward<double>(double*, const double*, int64_t, const InterpolateAxis&,
                                           const InterpolateAxis&, InterpolateMode);

}  // namespace nnx::cuda
