// 2-D adaptive pooling over NCHW planes (average, and max with argmax), forward and backward, for float and double.
// First the window arithmetic, shared by the CPU (cpu/adaptive_pool2d.cpp) and CUDA (cuda/adaptive_pool2d.cu)
// kernels so that both devices read the same windows in the same order (PyTorch's rules, NaN and ties included);
// then the kernels' declarations, once for the device a translation unit is compiled for (nnx::NNX_DEVICE:
// core/device_namespace.h). Host-compiler clean. CUDA: launchers queue on current_stream(); no atomics.
#pragma once
#include <cstdint>

#include "core/device_namespace.h"
#include "core/hd.h"

namespace nnx {

// The sizes of one adaptive pooling: an input plane (H, W >= 1) and the output plane (OH, OW >= 0). Every (n, c)
// plane is pooled alone; planes are contiguous H * W (input) or OH * OW (output).
struct AdaptivePool2dGeometry {
  int64_t H, W, OH, OW;
};

// PyTorch's adaptive windows along one axis: output o of `out` reads [floor(o * in / out), ceil((o + 1) * in / out)),
// so the windows cover the input, overlap where out does not divide in, and are never empty.
NNX_HD int64_t adaptive_start(int64_t o, int64_t in, int64_t out) { return o * in / out; }
NNX_HD int64_t adaptive_end(int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; }

// The outputs whose windows hold input i along one axis: [floor(i * out / in), ceil((i + 1) * out / in) - 1],
// clipped to [0, out - 1] (the inverse of the rule above).
NNX_HD int64_t adaptive_first_output(int64_t i, int64_t in, int64_t out) { return i * out / in; }
NNX_HD int64_t adaptive_last_output(int64_t i, int64_t in, int64_t out) {
  const int64_t last = ((i + 1) * out + in - 1) / in - 1;
  return last < out - 1 ? last : out - 1;
}

// The average of output (oh, ow)'s window over plane x, its sum divided once by its size. A window of whole rows
// (OW == 1: the global average pooling of a ResNet head among them) is one contiguous run, summed over 8 lanes
// (element k into lane k % 8, the lanes added in order): independent additions the compiler vectorizes, in an
// order fixed by the sizes alone, the same on both devices.
template <class T>
NNX_HD T adaptive_avg_pool2d_value(const T* x, const AdaptivePool2dGeometry& g, int64_t oh, int64_t ow) {
  const int64_t h0 = adaptive_start(oh, g.H, g.OH), h1 = adaptive_end(oh, g.H, g.OH);
  const int64_t w0 = adaptive_start(ow, g.W, g.OW), w1 = adaptive_end(ow, g.W, g.OW);
  const T count = static_cast<T>((h1 - h0) * (w1 - w0));
  if (w0 == 0 && w1 == g.W) {
    const T* run = x + h0 * g.W;
    const int64_t n = (h1 - h0) * g.W, whole = n - n % 8;
    T lanes[8] = {T(0), T(0), T(0), T(0), T(0), T(0), T(0), T(0)};
    for (int64_t k = 0; k < whole; k += 8)
      for (int l = 0; l < 8; ++l) lanes[l] += run[k + l];
    for (int64_t k = whole; k < n; ++k) lanes[k - whole] += run[k];
    const T sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    return sum / count;
  }
  T sum = T(0);
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) sum += x[h * g.W + w];
  return sum / count;
}

// The max of output (oh, ow)'s window over plane x and its flat index h * W + w within the plane, as PyTorch's
// kernels: the window's first element is the index of a window of only -inf; a larger value replaces the max (so
// the first of tied maxima stays), and so does every NaN (so the last NaN of the window wins).
template <class T>
NNX_HD void adaptive_max_pool2d_window(const T* x, const AdaptivePool2dGeometry& g, int64_t oh, int64_t ow,
                                       T* max_out, int64_t* argmax_out) {
  const int64_t h0 = adaptive_start(oh, g.H, g.OH), h1 = adaptive_end(oh, g.H, g.OH);
  const int64_t w0 = adaptive_start(ow, g.W, g.OW), w1 = adaptive_end(ow, g.W, g.OW);
  int64_t argmax = h0 * g.W + w0;
  T max = -static_cast<T>(INFINITY);
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) {
      const T value = x[h * g.W + w];
      if (value > max || value != value) {
        max = value;
        argmax = h * g.W + w;
      }
    }
  *max_out = max;
  *argmax_out = argmax;
}

// The gradient of input element (h, w) of a plane under adaptive average pooling: grad_out / window size summed,
// in output order, over the outputs whose window holds it. A gather per input element: no atomics, deterministic.
template <class T>
NNX_HD T adaptive_avg_pool2d_input_grad(const T* grad_out, const AdaptivePool2dGeometry& g, int64_t h, int64_t w) {
  const int64_t oh_hi = adaptive_last_output(h, g.H, g.OH), ow_hi = adaptive_last_output(w, g.W, g.OW);
  T sum = T(0);
  for (int64_t oh = adaptive_first_output(h, g.H, g.OH); oh <= oh_hi; ++oh) {
    const int64_t kh = adaptive_end(oh, g.H, g.OH) - adaptive_start(oh, g.H, g.OH);
    for (int64_t ow = adaptive_first_output(w, g.W, g.OW); ow <= ow_hi; ++ow) {
      const int64_t kw = adaptive_end(ow, g.W, g.OW) - adaptive_start(ow, g.W, g.OW);
      sum += grad_out[oh * g.OW + ow] / static_cast<T>(kh * kw);
    }
  }
  return sum;
}

// The gradient of input element (h, w) under adaptive max pooling: the sum, in output order, of grad_out over the
// outputs whose window holds it and whose argmax is it (an argmax outside the plane matches nothing). A gather.
template <class T>
NNX_HD T adaptive_max_pool2d_input_grad(const T* grad_out, const int64_t* argmax, const AdaptivePool2dGeometry& g,
                                        int64_t h, int64_t w) {
  const int64_t oh_hi = adaptive_last_output(h, g.H, g.OH), ow_hi = adaptive_last_output(w, g.W, g.OW);
  const int64_t self = h * g.W + w;
  T sum = T(0);
  for (int64_t oh = adaptive_first_output(h, g.H, g.OH); oh <= oh_hi; ++oh)
    for (int64_t ow = adaptive_first_output(w, g.W, g.OW); ow <= ow_hi; ++ow)
      if (argmax[oh * g.OW + ow] == self) sum += grad_out[oh * g.OW + ow];
  return sum;
}

}  // namespace nnx

namespace nnx::NNX_DEVICE {

// out(planes, OH, OW) = the average of each adaptive window of x(planes, H, W) (planes = N * C). out must not
// overlap x. CPU: planes split over threads. CUDA: one thread per output element.
template <class T>
void adaptive_avg_pool2d_forward(T* out, const T* x, int64_t planes, const AdaptivePool2dGeometry& g);

// grad_in(planes, H, W) = grad_out / window size summed over the windows holding each element; every element is
// written. Gathered per input element (CUDA: one thread each, no atomics): deterministic.
template <class T>
void adaptive_avg_pool2d_backward(T* grad_in, const T* grad_out, int64_t planes, const AdaptivePool2dGeometry& g);

// out(planes, OH, OW) = the max of each adaptive window of x, argmax (int64, out's shape) = its flat index h * W + w
// within the plane (PyTorch's indices; a NaN wins). CPU: planes split over threads. CUDA: one thread per output.
template <class T>
void adaptive_max_pool2d_forward(T* out, int64_t* argmax, const T* x, int64_t planes,
                                 const AdaptivePool2dGeometry& g);

// grad_in(planes, H, W) = grad_out summed into the elements argmax points at; every element is written. Gathered
// per input element (CUDA: one thread each, no atomics): deterministic.
template <class T>
void adaptive_max_pool2d_backward(T* grad_in, const T* grad_out, const int64_t* argmax, int64_t planes,
                                  const AdaptivePool2dGeometry& g);

}  // namespace nnx::NNX_DEVICE
