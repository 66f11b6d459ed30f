// 2-D average pooling over NCHW planes, forward and backward, for float and double. First the window arithmetic,
// shared by the CPU (cpu/avg_pool2d.cpp) and CUDA (cuda/avg_pool2d.cu) kernels so that both devices average the
// same elements by the same divisor (PyTorch's rules); then the kernels' declarations, once for the device a
// translation unit is compiled for (nnx::NNX_DEVICE: core/device_namespace.h). Host-compiler clean. CUDA: launchers
// queue on current_stream(); no atomics.
#pragma once
#include <cstdint>

#include "core/device_namespace.h"
#include "core/hd.h"
#include "core/max_pool2d.h"  // floor_div and pool_output_size: PyTorch's output-size rule, shared by the poolings

namespace nnx {

// The sizes of one average pooling: an input plane (H, W), the output plane (OH, OW), kernel, stride and padding
// per axis (no dilation: PyTorch's avg_pool2d has none), whether the padding counts in the divisor, and a divisor
// that replaces the count (0: none; PyTorch refuses a zero divisor_override, so 0 is free to mean "none").
struct AvgPool2dGeometry {
  int64_t H, W, OH, OW;
  int64_t KH, KW, SH, SW, PH, PW;
  bool count_include_pad;
  int64_t divisor_override;
};

// One output's window, clipped to the plane: rows [h0, h1), columns [w0, w1), and what its sum is divided by.
struct AvgPool2dWindow {
  int64_t h0, h1, w0, w1, divisor;
};

// PyTorch's avg_pool2d window: the kernel placed at (oh * SH - PH, ow * SW - PW) and cut at the end of the padded
// input (H + PH, W + PW), so that ceil_mode's last partial window counts the padding it covers but not the cells
// beyond it; that size is the divisor with count_include_pad, the in-bounds count without. Never empty under the
// binding's checks (padding <= kernel / 2 and ceil_mode's start rule); an empty one averages to 0, as PyTorch's.
NNX_HD AvgPool2dWindow avg_pool2d_window(const AvgPool2dGeometry& g, int64_t oh, int64_t ow) {
  AvgPool2dWindow r;
  r.h0 = oh * g.SH - g.PH;
  r.w0 = ow * g.SW - g.PW;
  r.h1 = r.h0 + g.KH < g.H + g.PH ? r.h0 + g.KH : g.H + g.PH;
  r.w1 = r.w0 + g.KW < g.W + g.PW ? r.w0 + g.KW : g.W + g.PW;
  const int64_t padded = (r.h1 - r.h0) * (r.w1 - r.w0);
  if (r.h0 < 0) r.h0 = 0;
  if (r.w0 < 0) r.w0 = 0;
  if (r.h1 > g.H) r.h1 = g.H;
  if (r.w1 > g.W) r.w1 = g.W;
  if (g.divisor_override != 0)
    r.divisor = g.divisor_override;
  else if (g.count_include_pad)
    r.divisor = padded;
  else
    r.divisor = r.h1 > r.h0 && r.w1 > r.w0 ? (r.h1 - r.h0) * (r.w1 - r.w0) : 1;
  return r;
}

// Output (oh, ow) of plane x: the sum of its window in row-major order, divided once by the divisor.
template <class T>
NNX_HD T avg_pool2d_value(const T* x, const AvgPool2dGeometry& g, int64_t oh, int64_t ow) {
  const AvgPool2dWindow r = avg_pool2d_window(g, oh, ow);
  if (r.h1 <= r.h0 || r.w1 <= r.w0) return T(0);
  T sum = T(0);
  for (int64_t h = r.h0; h < r.h1; ++h)
    for (int64_t w = r.w0; w < r.w1; ++w) sum += x[h * g.W + w];
  return sum / static_cast<T>(r.divisor);
}

// The gradient of input element (h, w) of a plane: grad_out / divisor summed, in output order, over the outputs
// whose window holds (h, w). Each input element gathers its own sum: no atomics, the same result on every run and
// on both devices.
template <class T>
NNX_HD T avg_pool2d_input_grad(const T* grad_out, const AvgPool2dGeometry& g, int64_t h, int64_t w) {
  // Output oh's window starts at oh * SH - PH and holds KH rows: it holds h for oh in [oh_lo, oh_hi].
  int64_t oh_lo = floor_div(h + g.PH - g.KH + g.SH, g.SH);
  int64_t oh_hi = floor_div(h + g.PH, g.SH);
  int64_t ow_lo = floor_div(w + g.PW - g.KW + g.SW, g.SW);
  int64_t ow_hi = floor_div(w + g.PW, g.SW);
  if (oh_lo < 0) oh_lo = 0;
  if (ow_lo < 0) ow_lo = 0;
  if (oh_hi > g.OH - 1) oh_hi = g.OH - 1;
  if (ow_hi > g.OW - 1) ow_hi = g.OW - 1;
  T sum = T(0);
  for (int64_t oh = oh_lo; oh <= oh_hi; ++oh)
    for (int64_t ow = ow_lo; ow <= ow_hi; ++ow)
      sum += grad_out[oh * g.OW + ow] / static_cast<T>(avg_pool2d_window(g, oh, ow).divisor);
  return sum;
}

}  // namespace nnx

namespace nnx::NNX_DEVICE {

// out(planes, OH, OW) = the average of each window of x(planes, H, W) (sizes and divisor rule in g; planes = N * C).
// out must not overlap x. CPU: planes are split over threads. CUDA: one thread per output element.
template <class T>
void avg_pool2d_forward(T* out, const T* x, int64_t planes, const AvgPool2dGeometry& g);

// grad_in(planes, H, W) = the sum of grad_out(planes, OH, OW) / divisor over the windows holding each element;
// every element of grad_in is written. Gathered per input element: deterministic (CUDA: one thread per input
// element, no atomics, the same sums as the CPU's).
template <class T>
void avg_pool2d_backward(T* grad_in, const T* grad_out, int64_t planes, const AvgPool2dGeometry& g);

}  // namespace nnx::NNX_DEVICE
