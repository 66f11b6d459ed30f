// interpolate ("upsample"): PyTorch's nearest, nearest-exact and (bi)linear resampling of NCHW planes, forward and
// backward, for float and double. First the source-index arithmetic shared by the CPU (cpu/interpolate.cpp) and
// CUDA (cuda/interpolate.cu) kernels -- PyTorch's formulas (aten/src/ATen/native/UpSample.h), so both devices pick
// the same source elements with the same weights; then the kernels' declarations, once for the device a translation
// unit is compiled for (nnx::NNX_DEVICE: core/device_namespace.h). Host-compiler clean. The backward is a gather
// per input element over the contiguous range of outputs that read it (the source index is monotone in the output
// index): no atomics, deterministic.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/device_namespace.h"
#include "core/hd.h"

namespace nnx {

enum class InterpolateMode : int { nearest, nearest_exact, linear };

// One axis: input and output sizes, the scale factor the caller gave (> 0), or 0 when the size was given (or the
// scale recomputed): PyTorch then uses input / output. align_corners only matters for linear.
struct InterpolateAxis {
  int64_t in, out;
  double scale;
  bool align_corners;
};

// The two source indices and weights of output index o along an axis: out[o] = l0 * in[i0] + l1 * in[i1]; for the
// nearest modes i1 = i0, l0 = 1, l1 = 0. Nearest: floor(o * s) with s a float (PyTorch's nearest_idx, its 2x and
// same-size shortcuts included); nearest-exact: floor((o + 0.5) * s); linear: PyTorch's area_pixel_compute_source_
// index (align_corners: s = (in - 1) / (out - 1), src = s * o; else src = max(s * (o + 0.5) - 0.5, 0)) and
// guard_index_and_lambda in T (its opmath type), with a same-size axis copied.
template <class T>
NNX_HD void interpolate_source(const InterpolateAxis& a, InterpolateMode mode, int64_t o, int64_t* i0, int64_t* i1,
                               T* l0, T* l1) {
  *l0 = T(1), *l1 = T(0);
  if (a.out == a.in) {
    *i0 = *i1 = o;
    return;
  }
  if (mode != InterpolateMode::linear) {
    const float s = a.scale > 0 ? static_cast<float>(1.0 / a.scale) : static_cast<float>(a.in) / a.out;
    int64_t index;
    if (mode == InterpolateMode::nearest)
      index = a.out == 2 * a.in ? o >> 1 : static_cast<int64_t>(floorf(static_cast<float>(o) * s));
    else  // (o + 0.5) is a double in PyTorch: the product is rounded to float by floorf's argument
      index = static_cast<int64_t>(floorf(static_cast<float>((static_cast<double>(o) + 0.5) * s)));
    *i0 = *i1 = index < a.in - 1 ? index : a.in - 1;
    return;
  }
  T s;
  if (a.align_corners)
    s = a.out > 1 ? static_cast<T>(a.in - 1) / static_cast<T>(a.out - 1) : T(0);
  else
    s = a.scale > 0 ? static_cast<T>(1.0 / a.scale) : static_cast<T>(a.in) / static_cast<T>(a.out);
  T real;
  if (a.align_corners) {
    real = s * static_cast<T>(o);
  } else {
    real = s * (static_cast<T>(o) + T(0.5)) - T(0.5);
    if (real < T(0)) real = T(0);
  }
  const int64_t floor_index = static_cast<int64_t>(floorf(static_cast<float>(real)));
  const int64_t index = floor_index < a.in - 1 ? floor_index : a.in - 1;
  T lambda = real - static_cast<T>(index);
  lambda = lambda < T(0) ? T(0) : (lambda > T(1) ? T(1) : lambda);
  *i0 = index;
  *i1 = index + (index < a.in - 1 ? 1 : 0);
  *l0 = T(1) - lambda;
  *l1 = lambda;
}

// The outputs [*begin, *end) along an axis that read input index i (i0 or i1 equal to i): the first with i1 >= i
// to the first with i0 > i, by binary search (both indices are non-decreasing in the output index).
template <class T>
NNX_HD void interpolate_readers(const InterpolateAxis& a, InterpolateMode mode, int64_t i, int64_t* begin,
                                int64_t* end) {
  int64_t i0, i1;
  T l0, l1;
  int64_t lo = 0, hi = a.out;  // first o with i1(o) >= i
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    interpolate_source<T>(a, mode, mid, &i0, &i1, &l0, &l1);
    if (i1 >= i) hi = mid; else lo = mid + 1;
  }
  *begin = lo;
  hi = a.out;  // first o with i0(o) > i
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    interpolate_source<T>(a, mode, mid, &i0, &i1, &l0, &l1);
    if (i0 > i) hi = mid; else lo = mid + 1;
  }
  *end = lo;
}

// The weight with which output o reads input i along an axis (0 when it does not): l0 where i0 == i plus l1 where
// i1 == i (at the last input both, as PyTorch's backward adds both).
template <class T>
NNX_HD T interpolate_weight(const InterpolateAxis& a, InterpolateMode mode, int64_t o, int64_t i) {
  int64_t i0, i1;
  T l0, l1;
  interpolate_source<T>(a, mode, o, &i0, &i1, &l0, &l1);
  return (i0 == i ? l0 : T(0)) + (i1 == i ? l1 : T(0));
}

// out[oh, ow] of one plane (H, W): nearest modes the source element itself; linear
// l0h * (l0w * x[h0, w0] + l1w * x[h0, w1]) + l1h * (l0w * x[h1, w0] + l1w * x[h1, w1]).
template <class T>
NNX_HD T interpolate_value(const T* plane, const InterpolateAxis& ah, const InterpolateAxis& aw, InterpolateMode mode,
                           int64_t oh, int64_t ow) {
  int64_t h0, h1, w0, w1;
  T lh0, lh1, lw0, lw1;
  interpolate_source<T>(ah, mode, oh, &h0, &h1, &lh0, &lh1);
  interpolate_source<T>(aw, mode, ow, &w0, &w1, &lw0, &lw1);
  const int64_t W = aw.in;
  if (mode != InterpolateMode::linear) return plane[h0 * W + w0];
  return lh0 * (lw0 * plane[h0 * W + w0] + lw1 * plane[h0 * W + w1]) +
         lh1 * (lw0 * plane[h1 * W + w0] + lw1 * plane[h1 * W + w1]);
}

// grad_in[h, w] of one plane: the sum over the outputs that read (h, w), rows in order, each row's columns in order,
// of weight_h * (sum of weight_w * grad_out). The same terms in the same order on both devices.
template <class T>
NNX_HD T interpolate_input_grad(const T* grad_plane, const InterpolateAxis& ah, const InterpolateAxis& aw,
                                InterpolateMode mode, int64_t h, int64_t w) {
  int64_t oh_begin, oh_end, ow_begin, ow_end;
  interpolate_readers<T>(ah, mode, h, &oh_begin, &oh_end);
  interpolate_readers<T>(aw, mode, w, &ow_begin, &ow_end);
  T sum = T(0);
  for (int64_t oh = oh_begin; oh < oh_end; ++oh) {
    const T* row = grad_plane + oh * aw.out;
    T row_sum = T(0);
    for (int64_t ow = ow_begin; ow < ow_end; ++ow) row_sum += interpolate_weight<T>(aw, mode, ow, w) * row[ow];
    sum += interpolate_weight<T>(ah, mode, oh, h) * row_sum;
  }
  return sum;
}

}  // namespace nnx

namespace nnx::NNX_DEVICE {

// out(planes, ah.out, aw.out) = interpolate(x(planes, ah.in, aw.in)), planes = N * C. CPU: planes split over
// threads, the per-axis source indices and weights tabulated once. CUDA: one thread per output element.
template <class T>
void interpolate_forward(T* out, const T* x, int64_t planes, const InterpolateAxis& ah, const InterpolateAxis& aw,
                         InterpolateMode mode);

// grad_in(planes, ah.in, aw.in) from grad_out(planes, ah.out, aw.out): interpolate_input_grad per input element (a
// gather, no atomics on either device: deterministic). Overwrites grad_in.
template <class T>
void interpolate_backward(T* grad_in, const T* grad_out, int64_t planes, const InterpolateAxis& ah,
                          const InterpolateAxis& aw, InterpolateMode mode);

}  // namespace nnx::NNX_DEVICE
