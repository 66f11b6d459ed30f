// conv2d kernels on the GPU: per image an im2col kernel (one thread per column element) into scratch from the
// caching allocator, then cuBLAS (the GEMM family's gemm) per group, then the fused activation (activations.cu's
// elementwise kernels, forward in place and backward into scratch); the backward's col2im is a gather (one thread
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

// bias (may be null) is added after the gather: conv_transpose2d's forward.
template <class T>
__global__ void col2im_kernel(T* grad_image, const T* cols, const T* bias, int64_t total, Conv2dGeometry g) {
  const int64_t plane = g.H * g.W;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t within = i % plane, c = i / plane;
    grad_image[i] = conv2d_input_grad(cols, g, c, within / g.W, within % g.W) + (bias ? bias[c] : T(0));
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

// grad_x(N, C, H, W) = conv2d's input gradient of grad_out, plus bias[c] (may be null) after the gather: per image
// weight^T @ grad_out into the columns (cuBLAS per group), then the col2im gather. conv2d's backward and
// conv_transpose2d's forward.
template <class T>
void input_gradient(T* grad_x, const T* grad_out, const T* weight, const T* bias, int64_t N, const Conv2dGeometry& g) {
  const int64_t P = g.OH * g.OW, Og = g.O / g.G, K = (g.C / g.G) * g.KH * g.KW, total = g.C * g.H * g.W;
  if (N == 0 || total == 0) return;
  const auto buffer = scratch(g.C * g.KH * g.KW * P * static_cast<int64_t>(sizeof(T)));
  T* cols = static_cast<T*>(buffer->ptr());
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t group = 0; group < g.G; ++group)
      gemm<T>(true, false, K, P, Og, T(1), weight + group * Og * K, grad_out + (n * g.O + group * Og) * P, T(0),
              cols + group * K * P);
    col2im_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(grad_x + n * total, cols, bias, total, g);
    check_launch("col2im_kernel");
  }
}

}  // namespace

template <class T>
void conv2d_forward(T* out, const T* x, const T* weight, const T* bias, int64_t N, const Conv2dGeometry& g,
                    Activation activation, const ActivationParams<T>& params) {
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
  // The fused activation: one in-place elementwise pass (activations.cu's kernel) over the whole output.
  if (activation != Activation::none) activation_forward<T>(out, out, total, activation, params);
}

template <class T>
void conv2d_backward(T* grad_x, T* grad_weight, T* grad_bias, const T* grad_out, const T* x, const T* weight,
                     int64_t N, const Conv2dGeometry& g, const T* out, Activation activation,
                     const ActivationParams<T>& params) {
  const int64_t P = g.OH * g.OW, Og = g.O / g.G, K = (g.C / g.G) * g.KH * g.KW;
  const int64_t plane = g.H * g.W, rows = g.C * g.KH * g.KW;
  std::shared_ptr<Storage> masked;  // grad_out * act'(out) when an activation was fused into the forward
  if (activation != Activation::none && N * g.O * P > 0) {
    masked = scratch(N * g.O * P * static_cast<int64_t>(sizeof(T)));
    T* grad_preact = static_cast<T*>(masked->ptr());
    activation_backward<T>(grad_preact, grad_out, out, out, N * g.O * P, activation, params);
    grad_out = grad_preact;
  }
  if (grad_bias) conv2d_bias_grad(grad_bias, grad_out, N, g.O, P);
  if (grad_x) input_gradient(grad_x, grad_out, weight, static_cast<const T*>(nullptr), N, g);
  if (!grad_weight) return;
  const auto buffer = scratch(rows * P * static_cast<int64_t>(sizeof(T)));
  T* cols = static_cast<T*>(buffer->ptr());
  if (g.O * K > 0) {
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

template <class T>
void conv2d_bias_grad(T* grad_bias, const T* grad_out, int64_t N, int64_t O, int64_t P) {
  if (O == 0) return;
  bias_grad_kernel<T><<<grid_for(O), kBlock, 0, current_stream()>>>(grad_bias, grad_out, N, O, P);
  check_launch("bias_grad_kernel");
}

template <class T>
void conv_transpose2d_forward(T* out, const T* x, const T* weight, const T* bias, int64_t N,
                              const Conv2dGeometry& g) {
  input_gradient(out, x, weight, bias, N, g);
}

template <class T>
void conv_transpose2d_backward(T* grad_x, T* grad_weight, T* grad_bias, const T* grad_out, const T* x,
                               const T* weight, int64_t N, const Conv2dGeometry& g) {
  if (grad_bias) conv2d_bias_grad(grad_bias, grad_out, N, g.C, g.H * g.W);
  if (grad_x) conv2d_forward(grad_x, grad_out, weight, static_cast<const T*>(nullptr), N, g);
  // conv2d's grad_weight with the roles swapped: x is the convolution's output gradient, grad_out its input.
  if (grad_weight) conv2d_backward(static_cast<T*>(nullptr), grad_weight, static_cast<T*>(nullptr), x, grad_out,
                                   weight, N, g);
}

template void conv2d_forward<float>(float*, const float*, const float*, const float*, int64_t,
                                    const Conv2dGeometry&, Activation, const ActivationParams<float>&);
template void conv2d_forward<double>(double*, const double*, const double*, const double*, int64_t,
                                     const Conv2dGeometry&, Activation, const ActivationParams<double>&);
template void conv2d_backward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t,
                                     const Conv2dGeometry&, const float*, Activation,
                                     const ActivationParams<float>&);
template void conv2d_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                      int64_t, const Conv2dGeometry&, const double*, Activation,
                                      const ActivationParams<double>&);

#define NNX_CONV_TRANSPOSE2D_INSTANCES(T)                                                                      \
  template void conv2d_bias_grad<T>(T*, const T*, int64_t, int64_t, int64_t);                                  \
  template void conv_transpose2d_forward<T>(T*, const T*, const T*, const T*, int64_t, const Conv2dGeometry&); \
  template void conv_transpose2d_backward<T>(T*, T*, T*, const T*, const T*, const T*, int64_t,               \
                                             const Conv2dGeometry&);
NNX_CONV_TRANSPOSE2D_INSTANCES(float)
NNX_CONV_TRANSPOSE2D_INSTANCES(double)
#undef NNX_CONV_TRANSPOSE2D_INSTANCES

}  // namespace nnx::cuda
