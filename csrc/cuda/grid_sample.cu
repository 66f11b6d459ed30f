// grid_sample kernels on the GPU: grid-stride loops, one thread per output point (its cells and weights computed
// once for all channels). The backward zeroes grad_input and scatters into it with atomicAdd (which points read a
// cell depends on the whole grid: no practical gather), as PyTorch's CUDA kernel; grad_grid sums each point's
// channels in order, without atomics. The coordinate arithmetic is core/grid_sample.h's, shared with the CPU.
#include "core/grid_sample.h"

#include "cuda/common.cuh"

namespace nnx::cuda {
namespace {

template <class T>
__global__ void grid_sample_forward_kernel(T* out, const T* input, const T* grid, int64_t total,
                                           GridSampleGeometry g) {
  const int64_t P = g.OH * g.OW, plane = g.H * g.W;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t n = i / P, p = i % P;
    const GridPoint<T> point = grid_point(grid[2 * i], grid[2 * i + 1], g);
    const T* image = input + n * g.C * plane;
    T* target = out + n * g.C * P + p;
    for (int64_t c = 0; c < g.C; ++c) target[c * P] = grid_sample_value(image + c * plane, point);
  }
}

template <class T>
__global__ void zero_kernel(T* out, int64_t total) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) out[i] = 0;
}

// grad_input (zeroed before) += each point's upstream gradient times its weights, per channel (atomicAdd: double
// needs sm_60+); grad_grid (may be null) = the point's derivative summed over the channels in order.
template <class T>
__global__ void grid_sample_backward_kernel(T* grad_input, T* grad_grid, const T* grad_out, const T* input,
                                            const T* grid, int64_t total, GridSampleGeometry g) {
  const int64_t P = g.OH * g.OW, plane = g.H * g.W;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t n = i / P, p = i % P;
    const GridPoint<T> point = grid_point(grid[2 * i], grid[2 * i + 1], g);
    T d_ix = T(0), d_iy = T(0);
    for (int64_t c = 0; c < g.C; ++c) {
      const int64_t nc = n * g.C + c;
      const T go = grad_out[nc * P + p];
      if (grad_input) {
        T* target = grad_input + nc * plane;
        for (int k = 0; k < 4; ++k)
          if (point.cell[k] >= 0) atomicAdd(target + point.cell[k], point.weight[k] * go);
      }
      if (grad_grid && g.mode == kGridBilinear) grid_point_grad(input + nc * plane, point, go, &d_ix, &d_iy);
    }
    if (grad_grid) {
      grad_grid[2 * i] = point.gx * d_ix;
      grad_grid[2 * i + 1] = point.gy * d_iy;
      if (g.mode == kGridNearest) grad_grid[2 * i] = grad_grid[2 * i + 1] = T(0);
    }
  }
}

}  // namespace

template <class T>
void grid_sample_forward(T* out, const T* input, const T* grid, const GridSampleGeometry& g) {
  const int64_t total = g.N * g.OH * g.OW;
  if (total * g.C == 0) return;
  grid_sample_forward_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(out, input, grid, total, g);
  check_launch("grid_sample_forward_kernel");
}

template <class T>
void grid_sample_backward(T* grad_input, T* grad_grid, const T* grad_out, const T* input, const T* grid,
                          const GridSampleGeometry& g) {
  const int64_t input_total = g.N * g.C * g.H * g.W, total = g.N * g.OH * g.OW;
  if (grad_input && input_total > 0) {
    zero_kernel<T><<<grid_for(input_total), kBlock, 0, current_stream()>>>(grad_input, input_total);
    check_launch("zero_kernel");
  }
  if (total == 0 || (!grad_grid && (!grad_input || input_total == 0))) return;
  if (input_total == 0) grad_input = nullptr;  // C == 0: nothing to scatter (grad_grid is then all zeros)
  grid_sample_backward_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(grad_input, grad_grid, grad_out,
                                                                                   input, grid, total, g);
  check_launch("grid_sample_backward_kernel");
}

template void grid_sample_forward<float>(float*, const float*, const float*, const GridSampleGeometry&);
template void grid_sample_forward<double>(double*, const double*, const double*, const GridSampleGeometry&);
template void grid_sample_backward<float>(float*, float*, const float*, const float*, const float*,
                                          const GridSampleGeometry&);
template void grid_sample_backward<double>(double*, double*, const double*, const double*, const double*,
                                           const GridSampleGeometry&);

}  // namespace nnx::cuda
