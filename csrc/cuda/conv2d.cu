// conv2d kernels on the GPU: per image an im2col kernel (one thread per column element) into scratch from the
// caching allocator, then cuBLAS (the GEMM family's gemm) per group; the backward's col2im is a gather (one thread
// per input element) and grad_weight sums the images in order with beta = 1: no atomics, deterministic. The index
// arithmetic is core/conv2d.h's, shared with the CPU.
#include "core/conv2d.h"

#include <memory>

#include "core/gemm.h"
#include "cuda/common.cuh"
#include "cuda/device_array.h"

namespace nnx::cuda {
namespace {

// Scratch on the current device; stream-ordered, so it may be released once the kernels using it are queued.
std::shared_ptr<Storage> scratch(int64_t nbytes) {
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  return Storage::allocate(nbytes, device);
}

template <class T>
__global__ void im2col_kernel(T* cols, const T* image, int64_t total, Conv2dGeometry g) {
  const int64_t P = g.OH * g.OW;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
    cols[i] = conv2d_column_value(image, g, i / P, i % P);
}

template <class T>
__global__ void col2im_kernel(T* grad_image, const T* cols, int64_t total, Conv2dGeometry g) {
  const int64_t plane = g.H * g.W;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t within = i % plane;
    grad_image[i] = conv2d_input_grad(cols, g, i / plane, within / g.W, within % g.W);
  }
}

// out(N, O, P) = bias[o] (or 0), the GEMM's beta = 1 then adds onto it.
template <class T>
__global__ void fill_bias_kernel(T* out, const T* bias, int64_t total, int64_t O, int64_t P) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
    out[i] = bias ? bias[(i / P) % O] : T(0);
}

// grad_bias[o] = the sum of grad_out[n, o, :] over n and the plane, in index order (one thread per channel).
template <class T>
__global__ void bias_grad_kernel(T* grad_bias, const T* grad_out, int64_t N, int64_t O, int64_t P) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < O; o += stride) {
    T sum = T(0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t p = 0; p < P; ++p) sum += grad_out[(n * O + o) * P + p];
    grad_bias[o] = sum;
  }
}

template <class T>
__global__ void zero_kernel(T* out, int64_t total) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) out[i] = 0;
}

template <class T>
void launch_im2col(T* cols, const T* image, const Conv2dGeometry& g) {
  const int64_t total = g.C * g.KH * g.KW * g.OH * g.OW;
  im2col_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(cols, image, total, g);
  check_launch("im2col_kernel");
}

}  // namespace

template <class T>
void conv2d_forward(T* out, const T* x, const T* weight, const T* bias, int64_t N, const Conv2dGeometry& g) {
  const int64_t P = g.OH * g.OW, Og = g.O / g.G, K = (g.C / g.G) * g.KH * g.KW;
  const int64_t total = N * g.O * P;
  if (total == 0) return;
  fill_bias_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(out, bias, total, g.O, P);
  check_launch("fill_bias_kernel");
  const auto buffer = scratch(g.C * g.KH * g.KW * P * static_cast<int64_t>(sizeof(T)));
  T* cols = static_cast<T*>(buffer->ptr());
  for (int64_t n = 0; n < N; ++n) {
    launch_im2col(cols, x + n * g.C * g.H * g.W, g);
    for (int64_t group = 0; group < g.G; ++group)
      gemm<T>(false, false, Og, P, K, T(1), weight + group * Og * K, cols + group * K * P, T(1),
              out + (n * g.O + group * Og) * P);
  }
}

template <class T>
void conv2d_backward(T* grad_x, T* grad_weight, T* grad_bias, const T* grad_out, const T* x, const T* weight,
                     int64_t N, const Conv2dGeometry& g) {
  const int64_t P = g.OH * g.OW, Og = g.O / g.G, K = (g.C / g.G) * g.KH * g.KW;
  const int64_t plane = g.H * g.W, rows = g.C * g.KH * g.KW;
  if (grad_bias && g.O > 0) {
    bias_grad_kernel<T><<<grid_for(g.O), kBlock, 0, current_stream()>>>(grad_bias, grad_out, N, g.O, P);
    check_launch("bias_grad_kernel");
  }
  if ((!grad_x || N == 0) && !grad_weight) return;
  const auto buffer = scratch(rows * P * static_cast<int64_t>(sizeof(T)));
  T* cols = static_cast<T*>(buffer->ptr());
  if (grad_x && g.C * plane > 0) {
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t group = 0; group < g.G; ++group)
        gemm<T>(true, false, K, P, Og, T(1), weight + group * Og * K, grad_out + (n * g.O + group * Og) * P, T(0),
                cols + group * K * P);
      const int64_t total = g.C * plane;
      col2im_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(grad_x + n * total, cols, total, g);
      check_launch("col2im_kernel");
    }
  }
  if (grad_weight && g.O * K > 0) {
    if (N == 0) {
      zero_kernel<T><<<grid_for(g.O * K), kBlock, 0, current_stream()>>>(grad_weight, g.O * K);
      check_launch("zero_kernel");
      return;
    }
    for (int64_t n = 0; n < N; ++n) {
      launch_im2col(cols, x + n * g.C * plane, g);
      for (int64_t group = 0; group < g.G; ++group)
        gemm<T>(false, true, Og, K, P, T(1), grad_out + (n * g.O + group * Og) * P, cols + group * K * P,
                n == 0 ? T(0) : T(1), grad_weight + group * Og * K);
    }
  }
}

template void conv2d_forward<float>(float*, const float*, const float*, const float*, int64_t,
                                    const Conv2dGeometry&);
template void conv2d_forward<double>(double*, const double*, const double*, const double*, int64_t,
                                     const Conv2dGeometry&);
template void conv2d_backward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t,
                                     const Conv2dGeometry&);
template void conv2d_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                      int64_t, const Conv2dGeometry&);

}  // namespace nnx::cuda
