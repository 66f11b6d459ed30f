// pad kernels (reflect, replicate, circular over the last three dimensions of x(B, D, H, W)): the forward reads
// each output element's source, the backward gathers each input element's gradient from the output elements that
// read it (core/pad.h's index arithmetic, shared with cuda/pad.cu). Rows split over threads; every sum has a fixed
// order, so results do not depend on the thread count.
#include "core/pad.h"

#include <algorithm>

#include "core/parallel.h"

namespace nnx::cpu {
namespace {

inline int64_t row_grain(int64_t row_length) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row_length, 1));
}

}  // namespace

template <class T>
void pad_forward(T* out, const T* x, int64_t B, const PadGeometry& g, PadMode mode) {
  const int64_t OD = g.d.out_size(), OH = g.h.out_size(), OW = g.w.out_size();
  const int64_t D = g.d.size, H = g.h.size, W = g.w.size;
  if (OW <= 0) return;
  // The interior [w_begin, w_end) of a row reads x's row in order (a plain copy); only the borders need the mapping.
  const int64_t w_begin = std::clamp<int64_t>(mode == PadMode::circular ? g.w.pad_begin() : g.w.before, 0, OW);
  const int64_t w_end = std::clamp<int64_t>(mode == PadMode::circular ? g.w.pad_begin() + g.w.cropped_size()
                                                                      : g.w.before + W, w_begin, OW);
  const int64_t w_offset = pad_source(g.w, mode, w_begin) - w_begin;  // source = ow + w_offset inside
  parallel_for(B * OD * OH, row_grain(OW), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t oh = row % OH, od = (row / OH) % OD, b = row / (OH * OD);
      const T* source = x + ((b * D + pad_source(g.d, mode, od)) * H + pad_source(g.h, mode, oh)) * W;
      T* target = out + row * OW;
      for (int64_t ow = 0; ow < w_begin; ++ow) target[ow] = source[pad_source(g.w, mode, ow)];
      for (int64_t ow = w_begin; ow < w_end; ++ow) target[ow] = source[ow + w_offset];
      for (int64_t ow = w_end; ow < OW; ++ow) target[ow] = source[pad_source(g.w, mode, ow)];
    }
  });
}

template <class T>
void pad_backward(T* grad_in, const T* grad_out, int64_t B, const PadGeometry& g, PadMode mode) {
  const int64_t OD = g.d.out_size(), OH = g.h.out_size(), OW = g.w.out_size();
  const int64_t D = g.d.size, H = g.h.size, W = g.w.size;
  parallel_for(B * D * H, row_grain(W), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t h = row % H, d = (row / H) % D, b = row / (H * D);
      const PadTargets td = pad_targets(g.d, mode, d), th = pad_targets(g.h, mode, h);
      T* target = grad_in + row * W;
      for (int64_t w = 0; w < W; ++w) {
        const PadTargets tw = pad_targets(g.w, mode, w);
        double sum = 0.0;
        for (int kd = 0; kd < td.count; ++kd)
          for (int64_t od = td.first[kd]; od <= td.last[kd]; ++od)
            for (int kh = 0; kh < th.count; ++kh)
              for (int64_t oh = th.first[kh]; oh <= th.last[kh]; ++oh) {
                const T* grad_row = grad_out + ((b * OD + od) * OH + oh) * OW;
                for (int kw = 0; kw < tw.count; ++kw)
                  for (int64_t ow = tw.first[kw]; ow <= tw.last[kw]; ++ow) sum += static_cast<double>(grad_row[ow]);
              }
        target[w] = static_cast<T>(sum);
      }
    }
  });
}

#define NNX_INSTANTIATE_PAD(T)                                                                 \
  template void pad_forward<T>(T*, const T*, int64_t, const PadGeometry&, PadMode);           \
  template void pad_backward<T>(T*, const T*, int64_t, const PadGeometry&, PadMode);
NNX_INSTANTIATE_PAD(float)
NNX_INSTANTIATE_PAD(double)
#undef NNX_INSTANTIATE_PAD

}  // namespace nnx::cpu
