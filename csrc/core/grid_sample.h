// 2-D grid sampling (PyTorch's grid_sample over NCHW input and an (N, OH, OW, 2) grid of (x, y) in [-1, 1]), modes
// bilinear and nearest, padding modes zeros, border and reflection, align_corners both ways; forward and backward
// for float and double. First PyTorch's coordinate formulas (aten/src/ATen/native/GridSampler.h: unnormalize,
// clip, reflect, the safe cast to the int range, and their derivatives), as NNX_HD functions so that the CPU
// (cpu/grid_sample.cpp) and CUDA (cuda/grid_sample.cu) kernels pick the same cells with the same weights; then the
// kernels' declarations, once for the device a translation unit is compiled for (nnx::NNX_DEVICE). Host-compiler
// clean. CUDA: the input gradient is accumulated with atomicAdd (a gather would have to search the whole grid for
// the points that read a cell): float32 sums on CUDA may differ in their last bits from run to run, as PyTorch's.
#pragma once
#include <cstdint>

#include "core/device_namespace.h"
#include "core/hd.h"

namespace nnx {

// torch's GridSamplerInterpolation and GridSamplerPadding values (the binding takes them as ints).
enum GridSampleMode : int64_t { kGridBilinear = 0, kGridNearest = 1 };
enum GridSamplePadding : int64_t { kGridZeros = 0, kGridBorder = 1, kGridReflection = 2 };

// The sizes of one sampling: N images of C channels, input planes (H, W), output planes (OH, OW) (the grid's).
struct GridSampleGeometry {
  int64_t N, C, H, W, OH, OW;
  int64_t mode, padding;
  bool align_corners;
};

// grid coordinate in [-1, 1] -> pixel coordinate: [0, size - 1] with align_corners (the corner pixels' centres),
// else [-0.5, size - 0.5] (their outer edges). *grad is d(result)/d(coord).
template <class T>
NNX_HD T grid_unnormalize(T coord, int64_t size, bool align_corners, T* grad) {
  if (align_corners) {
    *grad = static_cast<T>(size - 1) / 2;
    return ((coord + 1) / 2) * static_cast<T>(size - 1);
  }
  *grad = static_cast<T>(size) / 2;
  return ((coord + 1) * static_cast<T>(size) - 1) / 2;
}

// Clip to [0, size - 1]; *grad 0 on and beyond the borders (PyTorch counts the borders as out of bounds for the
// gradient), 1 inside. A NaN coordinate stays NaN (the int-range cast then puts it out of bounds).
template <class T>
NNX_HD T grid_clip(T coord, int64_t size, T* grad) {
  const T max = static_cast<T>(size - 1);
  *grad = coord > T(0) && coord < max ? T(1) : T(0);  // selects, not branches: random grids mispredict
  const T low = coord < T(0) ? T(0) : coord;
  return low > max ? max : low;
}

// Reflect coord about the bounds twice_low / 2 and twice_high / 2 until it falls between them; *grad is +-1. A
// coordinate that is not finite stays NaN (the int-range cast then puts it out of bounds). The remainder is
// in - flips * span, as PyTorch's vectorised CPU kernel computes it (fmod, its scalar kernels' choice, costs as much
// as the rest of a point), and the parity of the flips is taken in floating point (PyTorch casts the quotient to
// int: undefined behaviour when it is huge).
template <class T>
NNX_HD T grid_reflect(T coord, int64_t twice_low, int64_t twice_high, T* grad) {
  if (twice_low == twice_high) {
    *grad = T(0);
    return T(0);
  }
  const T min = static_cast<T>(twice_low) / 2;
  const T span = static_cast<T>(twice_high - twice_low) / 2;
  T in = coord - min;
  if (!(in - in == T(0))) {
    *grad = T(0);
    return static_cast<T>(NAN);
  }
  const T sign = in < T(0) ? T(-1) : T(1);
  in = ::fabs(in);
  const T flips = ::floor(in / span);
  T extra = in - flips * span;
  extra = extra < T(0) ? T(0) : (extra > span ? span : extra);  // rounding of a huge quotient
  const bool even = flips - 2 * ::floor(flips / 2) == T(0);
  *grad = even ? sign : -sign;
  return (even ? extra : span - extra) + min;
}

// PyTorch's safe_downgrade_to_int_range: a coordinate outside the int range, or not finite, becomes -100 (out of
// bounds for every mode: the zeros padding then reads nothing).
template <class T>
NNX_HD T grid_safe_coordinate(T coord) {
  const double x = static_cast<double>(coord);
  if (x > 2147483646.0 || x < -2147483648.0 || !(x - x == 0.0)) return static_cast<T>(-100);
  return coord;
}

// The source pixel coordinate of grid coordinate `coord` along an axis of `size` pixels, and *grad, its derivative
// (0 where border clipping or the int-range cast cut it). As grid_sampler_compute_source_index_set_grad.
template <class T>
NNX_HD T grid_source_index(T coord, int64_t size, int64_t padding, bool align_corners, T* grad) {
  T scale, clip_grad, reflect_grad;
  coord = grid_unnormalize(coord, size, align_corners, &scale);
  if (padding == kGridBorder) {
    coord = grid_clip(coord, size, &clip_grad);
    scale *= clip_grad;
  } else if (padding == kGridReflection) {
    coord = align_corners ? grid_reflect(coord, 0, 2 * (size - 1), &reflect_grad)
                          : grid_reflect(coord, -1, 2 * size - 1, &reflect_grad);
    coord = grid_clip(coord, size, &clip_grad);
    scale *= reflect_grad * clip_grad;
  }
  *grad = scale;
  return grid_safe_coordinate(coord);
}

NNX_HD bool grid_in_bounds(int64_t h, int64_t w, int64_t H, int64_t W) { return h >= 0 && h < H && w >= 0 && w < W; }

// The (up to) four cells one sampling point reads and their weights: cells[k] = h * W + w or -1 when out of
// bounds, in PyTorch's order north-west, north-east, south-west, south-east; the nearest mode fills cells[0] alone
// (weight 1; round half to even as std::nearbyint). ix, iy: the source coordinates; *gx, *gy their derivatives
// with respect to the grid's x and y.
template <class T>
struct GridPoint {
  int64_t cell[4];
  T weight[4];
  T ix, iy, gx, gy;
};

template <class T>
NNX_HD GridPoint<T> grid_point(T x, T y, const GridSampleGeometry& g) {
  GridPoint<T> p;
  p.ix = grid_source_index(x, g.W, g.padding, g.align_corners, &p.gx);
  p.iy = grid_source_index(y, g.H, g.padding, g.align_corners, &p.gy);
  if (g.mode == kGridNearest) {
    const int64_t w = static_cast<int64_t>(::nearbyint(p.ix)), h = static_cast<int64_t>(::nearbyint(p.iy));
    p.cell[0] = grid_in_bounds(h, w, g.H, g.W) ? h * g.W + w : -1;
    p.weight[0] = T(1);
    for (int k = 1; k < 4; ++k) p.cell[k] = -1, p.weight[k] = T(0);
    return p;
  }
  const T x0 = ::floor(p.ix), y0 = ::floor(p.iy), x1 = x0 + 1, y1 = y0 + 1;
  const int64_t w0 = static_cast<int64_t>(x0), h0 = static_cast<int64_t>(y0);
  p.weight[0] = (x1 - p.ix) * (y1 - p.iy);
  p.weight[1] = (p.ix - x0) * (y1 - p.iy);
  p.weight[2] = (x1 - p.ix) * (p.iy - y0);
  p.weight[3] = (p.ix - x0) * (p.iy - y0);
  p.cell[0] = grid_in_bounds(h0, w0, g.H, g.W) ? h0 * g.W + w0 : -1;
  p.cell[1] = grid_in_bounds(h0, w0 + 1, g.H, g.W) ? h0 * g.W + w0 + 1 : -1;
  p.cell[2] = grid_in_bounds(h0 + 1, w0, g.H, g.W) ? (h0 + 1) * g.W + w0 : -1;
  p.cell[3] = grid_in_bounds(h0 + 1, w0 + 1, g.H, g.W) ? (h0 + 1) * g.W + w0 + 1 : -1;
  return p;
}

// One output value: the weighted sum of the point's in-bounds cells of `plane`, in PyTorch's order.
template <class T>
NNX_HD T grid_sample_value(const T* plane, const GridPoint<T>& p) {
  T sum = T(0);
  for (int k = 0; k < 4; ++k)
    if (p.cell[k] >= 0) sum += plane[p.cell[k]] * p.weight[k];
  return sum;
}

// The contribution of one channel to d(loss)/d(ix) and d(loss)/d(iy) of a bilinear point (before the chain rule to
// the grid): the derivatives of the four weights times the cells' values, times the upstream gradient go.
template <class T>
NNX_HD void grid_point_grad(const T* plane, const GridPoint<T>& p, T go, T* d_ix, T* d_iy) {
  const T x0 = ::floor(p.ix), y0 = ::floor(p.iy), x1 = x0 + 1, y1 = y0 + 1;
  if (p.cell[0] >= 0) {
    const T v = plane[p.cell[0]];
    *d_ix -= v * (y1 - p.iy) * go;
    *d_iy -= v * (x1 - p.ix) * go;
  }
  if (p.cell[1] >= 0) {
    const T v = plane[p.cell[1]];
    *d_ix += v * (y1 - p.iy) * go;
    *d_iy -= v * (p.ix - x0) * go;
  }
  if (p.cell[2] >= 0) {
    const T v = plane[p.cell[2]];
    *d_ix -= v * (p.iy - y0) * go;
    *d_iy += v * (x1 - p.ix) * go;
  }
  if (p.cell[3] >= 0) {
    const T v = plane[p.cell[3]];
    *d_ix += v * (p.iy - y0) * go;
    *d_iy += v * (p.ix - x0) * go;
  }
}

}  // namespace nnx

namespace nnx::NNX_DEVICE {

// out(N, C, OH, OW)[n, c, h, w] = input(N, C, H, W) sampled at grid(N, OH, OW, 2)[n, h, w] = (x, y) (x along W),
// as torch.nn.functional.grid_sample for 4-D input. out must not overlap input or grid. CPU: the output points
// split over threads, each point's coordinates computed once for all channels. CUDA: one thread per output point.
template <class T>
void grid_sample_forward(T* out, const T* input, const T* grid, const GridSampleGeometry& g);

// The gradients of grid_sample_forward, each skipped when null and otherwise overwritten:
//   grad_input(N, C, H, W)   grad_out scattered back into the cells each point read, times their weights. CPU:
//                            each thread owns whole (n, c) planes and adds the points in order: deterministic.
//                            CUDA: zeroed, then one thread per output point adds with atomicAdd (not bit-
//                            reproducible in float32 where points share cells).
//   grad_grid(N, OH, OW, 2)  per point, the channels summed in order (0 in the nearest mode, as PyTorch): no
//                            atomics on either device.
template <class T>
void grid_sample_backward(T* grad_input, T* grad_grid, const T* grad_out, const T* input, const T* grid,
                          const GridSampleGeometry& g);

}  // namespace nnx::NNX_DEVICE
