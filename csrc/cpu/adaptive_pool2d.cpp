// adaptive_pool2d kernels (average and max): one (n, c) plane per task, planes split over threads above the OpenMP
// threshold; the window arithmetic is core/adaptive_pool2d.h's, shared with the CUDA kernels.
#include "core/adaptive_pool2d.h"

#include <algorithm>

#include "core/parallel.h"

namespace nnx::cpu {
namespace {

// Planes per chunk so that a chunk holds about kParallelGrain elements of work.
inline int64_t plane_grain(int64_t plane_work) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(plane_work, 1));
}

// A window reads about ceil(H / OH) * ceil(W / OW) elements; output planes of OH * OW windows.
inline int64_t forward_work(const AdaptivePool2dGeometry& g) {
  return g.OH * g.OW * ((g.H + g.OH - 1) / std::max<int64_t>(g.OH, 1) + 1) *
         ((g.W + g.OW - 1) / std::max<int64_t>(g.OW, 1) + 1);
}

}  // namespace

template <class T>
void adaptive_avg_pool2d_forward(T* out, const T* x, int64_t planes, const AdaptivePool2dGeometry& g) {
  const int64_t out_plane = g.OH * g.OW, in_plane = g.H * g.W;
  if (out_plane == 0) return;
  parallel_for(planes, plane_grain(forward_work(g)), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow)
          out[p * out_plane + oh * g.OW + ow] = adaptive_avg_pool2d_value(x + p * in_plane, g, oh, ow);
  });
}

template <class T>
void adaptive_avg_pool2d_backward(T* grad_in, const T* grad_out, int64_t planes, const AdaptivePool2dGeometry& g) {
  const int64_t out_plane = g.OH * g.OW, in_plane = g.H * g.W;
  if (in_plane == 0) return;
  parallel_for(planes, plane_grain(in_plane * 4), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p)
      for (int64_t h = 0; h < g.H; ++h)
        for (int64_t w = 0; w < g.W; ++w)
          grad_in[p * in_plane + h * g.W + w] = adaptive_avg_pool2d_input_grad(grad_out + p * out_plane, g, h, w);
  });
}

template <class T>
void adaptive_max_pool2d_forward(T* out, int64_t* argmax, const T* x, int64_t planes,
                                 const AdaptivePool2dGeometry& g) {
  const int64_t out_plane = g.OH * g.OW, in_plane = g.H * g.W;
  if (out_plane == 0) return;
  parallel_for(planes, plane_grain(forward_work(g)), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t o = p * out_plane + oh * g.OW + ow;
          adaptive_max_pool2d_window(x + p * in_plane, g, oh, ow, out + o, argmax + o);
        }
  });
}

template <class T>
void adaptive_max_pool2d_backward(T* grad_in, const T* grad_out, const int64_t* argmax, int64_t planes,
                                  const AdaptivePool2dGeometry& g) {
  const int64_t out_plane = g.OH * g.OW, in_plane = g.H * g.W;
  if (in_plane == 0) return;
  parallel_for(planes, plane_grain(in_plane * 4), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p)
      for (int64_t h = 0; h < g.H; ++h)
        for (int64_t w = 0; w < g.W; ++w)
          grad_in[p * in_plane + h * g.W + w] =
              adaptive_max_pool2d_input_grad(grad_out + p * out_plane, argmax + p * out_plane, g, h, w);
  });
}

#define NNX_ADAPTIVE_POOL2D(T)                                                                                      \
  template void adaptive_avg_pool2d_forward<T>(T*, const T*, int64_t, const AdaptivePool2dGeometry&);              \
  template void adaptive_avg_pool2d_backward<T>(T*, const T*, int64_t, const AdaptivePool2dGeometry&);             \
  template void adaptive_max_pool2d_forward<T>(T*, int64_t*, const T*, int64_t, const AdaptivePool2dGeometry&);    \
  template void adaptive_max_pool2d_backward<T>(T*, const T*, const int64_t*, int64_t, const AdaptivePool2dGeometry&);
NNX_ADAPTIVE_POOL2D(float)
NNX_ADAPTIVE_POOL2D(double)
#undef NNX_ADAPTIVE_POOL2D

}  // namespace nnx::cpu
