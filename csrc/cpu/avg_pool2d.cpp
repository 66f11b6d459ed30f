// avg_pool2d kernels: one (n, c) plane per task, planes split over threads above the OpenMP threshold; the window
// arithmetic is core/avg_pool2d.h's, shared with the CUDA kernels.
#include "core/avg_pool2d.h"

#include <algorithm>

#include "core/parallel.h"

namespace nnx::cpu {
namespace {

// Planes per chunk so that a chunk holds about kParallelGrain elements of work.
inline int64_t plane_grain(int64_t plane_work) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(plane_work, 1));
}

}  // namespace

template <class T>
void avg_pool2d_forward(T* out, const T* x, int64_t planes, const AvgPool2dGeometry& g) {
  const int64_t out_plane = g.OH * g.OW, in_plane = g.H * g.W;
  if (out_plane == 0) return;
  parallel_for(planes, plane_grain(out_plane * g.KH * g.KW), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow)
          out[p * out_plane + oh * g.OW + ow] = avg_pool2d_value(x + p * in_plane, g, oh, ow);
  });
}

template <class T>
void avg_pool2d_backward(T* grad_in, const T* grad_out, int64_t planes, const AvgPool2dGeometry& g) {
  const int64_t out_plane = g.OH * g.OW, in_plane = g.H * g.W;
  if (in_plane == 0) return;
  parallel_for(planes, plane_grain(in_plane * g.KH * g.KW), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p)
      for (int64_t h = 0; h < g.H; ++h)
        for (int64_t w = 0; w < g.W; ++w)
          grad_in[p * in_plane + h * g.W + w] = avg_pool2d_input_grad(grad_out + p * out_plane, g, h, w);
  });
}

template void avg_pool2d_forward<float>(float*, const float*, int64_t, const AvgPool2dGeometry&);
template void avg_pool2d_forward<double>(double*, const double*, int64_t, const AvgPool2dGeometry&);
template void avg_pool2d_backward<float>(float*, const float*, int64_t, const AvgPool2dGeometry&);
template void avg_pool2d_backward<double>(double*, const double*, int64_t, const AvgPool2dGeometry&);

}  // namespace nnx::cpu
