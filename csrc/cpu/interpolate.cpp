// interpolate kernels on the CPU: planes (N * C) split over threads; each axis's source indices and weights (and,
// for the backward, the range of outputs that read each input) tabulated once from core/interpolate.h's formulas,
// so the values are those the CUDA kernels compute per element.
#include "core/interpolate.h"

#include <algorithm>
#include <vector>

#include "core/parallel.h"

namespace nnx::cpu {
namespace {

template <class T>
struct AxisTable {
  std::vector<int64_t> i0, i1;
  std::vector<T> l0, l1;
  std::vector<int64_t> begin, end;  // per input index: the outputs that read it (backward only)

  AxisTable(const InterpolateAxis& a, InterpolateMode mode, bool readers)
      : i0(a.out), i1(a.out), l0(a.out), l1(a.out) {
    for (int64_t o = 0; o < a.out; ++o) interpolate_source<T>(a, mode, o, &i0[o], &i1[o], &l0[o], &l1[o]);
    if (!readers) return;
    begin.resize(a.in), end.resize(a.in);
    for (int64_t i = 0; i < a.in; ++i) interpolate_readers<T>(a, mode, i, &begin[i], &end[i]);
  }

  // interpolate_weight from the table.
  T weight(int64_t o, int64_t i) const { return (i0[o] == i ? l0[o] : T(0)) + (i1[o] == i ? l1[o] : T(0)); }
};

inline int64_t plane_grain(int64_t plane_work) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(plane_work, 1));
}

}  // namespace

template <class T>
void interpolate_forward(T* out, const T* x, int64_t planes, const InterpolateAxis& ah, const InterpolateAxis& aw,
                         InterpolateMode mode) {
  const int64_t in_plane = ah.in * aw.in, out_plane = ah.out * aw.out;
  if (planes == 0 || out_plane == 0) return;
  const AxisTable<T> th(ah, mode, false), tw(aw, mode, false);
  const bool linear = mode == InterpolateMode::linear;
  parallel_for(planes, plane_grain(out_plane * 4), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* plane = x + p * in_plane;
      T* target = out + p * out_plane;
      for (int64_t oh = 0; oh < ah.out; ++oh) {
        const T* row0 = plane + th.i0[oh] * aw.in;
        const T* row1 = plane + th.i1[oh] * aw.in;
        const T lh0 = th.l0[oh], lh1 = th.l1[oh];
        T* out_row = target + oh * aw.out;
        if (!linear) {
          for (int64_t ow = 0; ow < aw.out; ++ow) out_row[ow] = row0[tw.i0[ow]];
          continue;
        }
        for (int64_t ow = 0; ow < aw.out; ++ow) {
          const int64_t w0 = tw.i0[ow], w1 = tw.i1[ow];
          const T lw0 = tw.l0[ow], lw1 = tw.l1[ow];
          out_row[ow] = lh0 * (lw0 * row0[w0] + lw1 * row0[w1]) + lh1 * (lw0 * row1[w0] + lw1 * row1[w1]);
        }
      }
    }
  });
}

template <class T>
void interpolate_backward(T* grad_in, const T* grad_out, int64_t planes, const InterpolateAxis& ah,
                          const InterpolateAxis& aw, InterpolateMode mode) {
  const int64_t in_plane = ah.in * aw.in, out_plane = ah.out * aw.out;
  if (planes == 0 || in_plane == 0) return;
  const AxisTable<T> th(ah, mode, true), tw(aw, mode, true);
  parallel_for(planes, plane_grain(std::max(in_plane, out_plane) * 4), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* grad_plane = grad_out + p * out_plane;
      T* target = grad_in + p * in_plane;
      for (int64_t h = 0; h < ah.in; ++h)
        for (int64_t w = 0; w < aw.in; ++w) {
          // interpolate_input_grad, its weights read from the tables: the same terms in the same order.
          T sum = T(0);
          for (int64_t oh = th.begin[h]; oh < th.end[h]; ++oh) {
            const T* row = grad_plane + oh * aw.out;
            T row_sum = T(0);
            for (int64_t ow = tw.begin[w]; ow < tw.end[w]; ++ow) row_sum += tw.weight(ow, w) * row[ow];
            sum += th.weight(oh, h) * row_sum;
          }
          target[h * aw.in + w] = sum;
        }
    }
  });
}

template void interpolate_forward<float>(float*, const float*, int64_t, const InterpolateAxis&,
                                         const InterpolateAxis&, InterpolateMode);
template void interpolate_forward<double>(double*, const double*, int64_t, const InterpolateAxis&,
                                          const InterpolateAxis&, InterpolateMode);
template void interpolate_backward<float>(float*, const float*, int64_t, const InterpolateAxis&,
                                          const InterpolateAxis&, InterpolateMode);
template void interpolate_backward<double>(double*, const double*, int64_t, const InterpolateAxis&,
                                           const InterpolateAxis&, InterpolateMode);

}  // namespace nnx::cpu
