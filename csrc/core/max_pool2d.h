// 2-D max pooling over NCHW planes, forward (max and argmax) and backward, for float and double. First the window
// arithmetic, shared by the CPU (cpu/max_pool2d.cpp) and CUDA (cuda/max_pool2d.cu) kernels so that both devices
// pick the same element of every window (PyTorch's rules, NaN and ties included); then the kernels' declarations,
// once for the device a translation unit is compiled for (nnx::NNX_DEVICE: core/device_namespace.h).
// Host-compiler clean. CUDA: launchers queue on current_stream().
#pragma once
#include <cstdint>

#include "core/device_namespace.h"
#include "core/hd.h"

namespace nnx {

// The sizes of one pooling: an input plane (H, W), the output plane (OH, OW), kernel, stride, padding and
// dilation per axis. Every (n, c) plane is pooled alone; planes are contiguous H * W (input) or OH * OW (output).
struct Pool2dGeometry {
  int64_t H, W, OH, OW;
  int64_t KH, KW, SH, SW, PH, PW, DH, DW;
};

// floor(a / b) for b > 0 (C++ division truncates toward 0).
NNX_HD int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// PyTorch's pooling_output_shape: windows of the effective size dilation * (kernel - 1) + 1 stepping by stride over
// the padded input; with ceil_mode a last partial window counts, unless it would start in the right padding.
// May be < 1 (the binding refuses that).
NNX_HD int64_t pool_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                                bool ceil_mode) {
  int64_t out = floor_div(input + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
  if (ceil_mode && (out - 1) * stride >= input + pad) --out;
  return out;
}

// The max of output (oh, ow)'s window over plane x, and its flat index h * W + w within the plane. As PyTorch's
// kernels: padding never wins (only in-bounds elements are read); the first in-bounds element is the index of a
// window of only -inf; a larger value replaces the max, and so does every NaN (so the last NaN of the window wins).
template <class T>
NNX_HD void max_pool2d_window(const T* x, const Pool2dGeometry& g, int64_t oh, int64_t ow, T* max_out,
                              int64_t* argmax_out) {
  int64_t h0 = oh * g.SH - g.PH, w0 = ow * g.SW - g.PW;
  const int64_t h_end = h0 + (g.KH - 1) * g.DH + 1 < g.H ? h0 + (g.KH - 1) * g.DH + 1 : g.H;
  const int64_t w_end = w0 + (g.KW - 1) * g.DW + 1 < g.W ? w0 + (g.KW - 1) * g.DW + 1 : g.W;
  while (h0 < 0) h0 += g.DH;
  while (w0 < 0) w0 += g.DW;
  int64_t argmax = h0 * g.W + w0;
  T max = -static_cast<T>(INFINITY);
  for (int64_t h = h0; h < h_end; h += g.DH) {
    for (int64_t w = w0; w < w_end; w += g.DW) {
      const T value = x[h * g.W + w];
      if (value > max || value != value) {
        max = value;
        argmax = h * g.W + w;
      }
    }
  }
  *max_out = max;
  *argmax_out = argmax;
}

// The gradient of input element (h, w) of a plane: the sum, in output order, of grad_out over the outputs whose
// argmax is that element. Only outputs whose window can reach (h, w) are visited, so each input element gathers its
// own sum: no atomics, the same result on every run and on both devices. An argmax outside the plane matches no
// element and contributes nothing.
template <class T>
NNX_HD T max_pool2d_input_grad(const T* grad_out, const int64_t* argmax, const Pool2dGeometry& g, int64_t h,
                               int64_t w) {
  // Output oh's window spans [oh * SH - PH, oh * SH - PH + (KH - 1) * DH]; it reaches h for oh in [oh_lo, oh_hi].
  int64_t oh_lo = floor_div(h + g.PH - (g.KH - 1) * g.DH + g.SH - 1, g.SH);
  int64_t oh_hi = floor_div(h + g.PH, g.SH);
  int64_t ow_lo = floor_div(w + g.PW - (g.KW - 1) * g.DW + g.SW - 1, g.SW);
  int64_t ow_hi = floor_div(w + g.PW, g.SW);
  if (oh_lo < 0) oh_lo = 0;
  if (ow_lo < 0) ow_lo = 0;
  if (oh_hi > g.OH - 1) oh_hi = g.OH - 1;
  if (ow_hi > g.OW - 1) ow_hi = g.OW - 1;
  const int64_t self = h * g.W + w;
  T sum = T(0);
  for (int64_t oh = oh_lo; oh <= oh_hi; ++oh)
    for (int64_t ow = ow_lo; ow <= ow_hi; ++ow)
      if (argmax[oh * g.OW + ow] == self) sum += grad_out[oh * g.OW + ow];
  return sum;
}

}  // namespace nnx

namespace nnx::NNX_DEVICE {

// out(planes, OH, OW) = the max of each window of x(planes, H, W) (sizes in g; planes = N * C), and
// argmax(planes, OH, OW) int64 = its flat index h * W + w within the plane (PyTorch's indices; NaN wins).
// out and argmax must not overlap x. CPU: planes are split over threads. CUDA: one thread per output element.
template <class T>
void max_pool2d_forward(T* out, int64_t* argmax, const T* x, int64_t planes, const Pool2dGeometry& g);

// grad_in(planes, H, W) = grad_out(planes, OH, OW) summed into the elements argmax points at (overlapping windows
// add up); every element of grad_in is written. Gathered per input element: deterministic (CUDA: one thread per
// input element gathers the outputs that picked it, no atomics, and the same sums as the CPU's).
template <class T>
void max_pool2d_backward(T* grad_in, const T* grad_out, const int64_t* argmax, int64_t planes,
                         const Pool2dGeometry& g);

}  // namespace nnx::NNX_DEVICE
