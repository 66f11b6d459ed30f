// grid_sample kernels on the CPU: the forward splits the output points over threads (each point's cells and weights
// computed once for all channels); the backward's input gradient gives each thread whole (n, c) planes, into which
// it adds the points in order, so the sums do not depend on the thread count; the grid gradient splits the points.
// The coordinate arithmetic is core/grid_sample.h's, shared with the CUDA kernels.
#include "core/grid_sample.h"

#include <algorithm>

#include "core/parallel.h"

namespace nnx::cpu {
namespace {

// Points per chunk of parallel work so that a chunk holds about kParallelGrain channel reads.
inline int64_t point_grain(int64_t C) { return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(4 * C, 1)); }

}  // namespace

template <class T>
void grid_sample_forward(T* out, const T* input, const T* grid, const GridSampleGeometry& g) {
  const int64_t P = g.OH * g.OW, plane = g.H * g.W;
  if (g.N * P * g.C == 0) return;
  parallel_for(g.N * P, point_grain(g.C), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t n = i / P, p = i % P;
      const GridPoint<T> point = grid_point(grid[2 * i], grid[2 * i + 1], g);
      const T* image = input + n * g.C * plane;
      T* target = out + n * g.C * P + p;
      for (int64_t c = 0; c < g.C; ++c) target[c * P] = grid_sample_value(image + c * plane, point);
    }
  });
}

template <class T>
void grid_sample_backward(T* grad_input, T* grad_grid, const T* grad_out, const T* input, const T* grid,
                          const GridSampleGeometry& g) {
  const int64_t P = g.OH * g.OW, plane = g.H * g.W;
  if (grad_input && g.N * g.C * plane > 0) {
    // One (n, c) plane per unit of work; the points are recomputed per plane (cheap next to a scattered write).
    const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(P + plane, 1));
    parallel_for(g.N * g.C, grain, [&](int64_t begin, int64_t end) {
      for (int64_t nc = begin; nc < end; ++nc) {
        const int64_t n = nc / g.C;
        T* target = grad_input + nc * plane;
        std::fill(target, target + plane, T(0));
        const T* go = grad_out + nc * P;
        const T* points = grid + n * P * 2;
        for (int64_t p = 0; p < P; ++p) {
          const GridPoint<T> point = grid_point(points[2 * p], points[2 * p + 1], g);
          for (int k = 0; k < 4; ++k)
            if (point.cell[k] >= 0) target[point.cell[k]] += point.weight[k] * go[p];
        }
      }
    });
  }
  if (grad_grid && g.N * P > 0) {
    parallel_for(g.N * P, point_grain(g.C), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        if (g.mode == kGridNearest) {
          grad_grid[2 * i] = grad_grid[2 * i + 1] = T(0);
          continue;
        }
        const int64_t n = i / P, p = i % P;
        const GridPoint<T> point = grid_point(grid[2 * i], grid[2 * i + 1], g);
        T d_ix = T(0), d_iy = T(0);
        for (int64_t c = 0; c < g.C; ++c)
          grid_point_grad(input + (n * g.C + c) * plane, point, grad_out[(n * g.C + c) * P + p], &d_ix, &d_iy);
        grad_grid[2 * i] = point.gx * d_ix;
        grad_grid[2 * i + 1] = point.gy * d_iy;
      }
    });
  }
}

template void grid_sample_forward<float>(float*, const float*, const float*, const GridSampleGeometry&);
template void grid_sample_forward<double>(double*, const double*, const double*, const GridSampleGeometry&);
template void grid_sample_backward<float>(float*, float*, const float*, const float*, const float*,
                                          const GridSampleGeometry&);
template void grid_sample_backward<double>(double*, double*, const double*, const double*, const double*,
                                           const GridSampleGeometry&);

}  // namespace nnx::cpu
