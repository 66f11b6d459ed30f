// pad kernels on the GPU (reflect, replicate, circular): grid-stride loops, one thread per output element (forward)
// or per input element (backward, a gather in cpu/pad.cpp's order and in double: no atomics, the CPU's results bit
// for bit). The index arithmetic is core/pad.h's.
#include "core/pad.h"

#include "cuda/common.cuh"

namespace nnx::cuda {
namespace {

template <class T>
__global__ void pad_forward_kernel(T* out, const T* x, int64_t total, PadGeometry g, PadMode mode) {
  const int64_t OD = g.d.out_size(), OH = g.h.out_size(), OW = g.w.out_size();
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t ow = e % OW, oh = (e / OW) % OH, od = (e / (OW * OH)) % OD, b = e / (OW * OH * OD);
    const int64_t d = pad_source(g.d, mode, od), h = pad_source(g.h, mode, oh), w = pad_source(g.w, mode, ow);
    out[e] = x[((b * g.d.size + d) * g.h.size + h) * g.w.size + w];
  }
}

template <class T>
__global__ void pad_backward_kernel(T* grad_in, const T* grad_out, int64_t total, PadGeometry g, PadMode mode) {
  const int64_t OD = g.d.out_size(), OH = g.h.out_size(), OW = g.w.out_size();
  const int64_t D = g.d.size, H = g.h.size, W = g.w.size;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t w = e % W, h = (e / W) % H, d = (e / (W * H)) % D, b = e / (W * H * D);
    const PadTargets td = pad_targets(g.d, mode, d), th = pad_targets(g.h, mode, h), tw = pad_targets(g.w, mode, w);
    double sum = 0.0;
    for (int kd = 0; kd < td.count; ++kd)
      for (int64_t od = td.first[kd]; od <= td.last[kd]; ++od)
        for (int kh = 0; kh < th.count; ++kh)
          for (int64_t oh = th.first[kh]; oh <= th.last[kh]; ++oh) {
            const T* grad_row = grad_out + ((b * OD + od) * OH + oh) * OW;
            for (int kw = 0; kw < tw.count; ++kw)
              for (int64_t ow = tw.first[kw]; ow <= tw.last[kw]; ++ow) sum += static_cast<double>(grad_row[ow]);
          }
    grad_in[e] = static_cast<T>(sum);
  }
}

}  // namespace

template <class T>
void pad_forward(T* out, const T* x, int64_t B, const PadGeometry& g, PadMode mode) {
  const int64_t total = B * g.d.out_size() * g.h.out_size() * g.w.out_size();
  if (total <= 0) return;
  pad_forward_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(out, x, total, g, mode);
  check_launch("pad_forward_kernel");
}

template <class T>
void pad_backward(T* grad_in, const T* grad_out, int64_t B, const PadGeometry& g, PadMode mode) {
  const int64_t total = B * g.d.size * g.h.size * g.w.size;
  if (total <= 0) return;
  pad_backward_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(grad_in, grad_out, total, g, mode);
  check_launch("pad_backward_kernel");
}

template void pad_forward<float>(float*, const float*, int64_t, const PadGeometry&, PadMode);
template void pad_forward<double>(double*, const double*, int64_t, const PadGeometry&, PadMode);
template void pad_backward<float>(float*, const float*, int64_t, const PadGeometry&, PadMode);
template void pad_backward<double>(double*, const double*, int64_t, const PadGeometry&, PadMode);

}  // namespace nnx::cuda
