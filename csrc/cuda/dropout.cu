// Dropout kernels on the GPU: one thread per Philox block (4 consecutive elements), grid-stride over the
// blocks, so the word an element gets is the CPU's (cpu/dropout.cpp) whatever the launch shape.
#include "core/dropout.h"

#include <cmath>

#include "core/philox.h"
#include "cuda/common.cuh"

namespace nnx::cuda {

namespace {

// As the CPU kernel: u = (word >> 8) / 2^24 >= p exactly when (word >> 8) >= ceil(p * 2^24).
uint32_t keep_threshold(double p) { return static_cast<uint32_t>(std::ceil(p * 16777216.0)); }

// 1 / (1 - p), and 0 when everything is dropped (p == 1) so that no inf * 0 appears.
double keep_scale(double p) { return p < 1.0 ? 1.0 / (1.0 - p) : 0.0; }

__host__ __device__ int64_t philox_blocks(int64_t n) { return (n + 3) / 4; }

// Calls element(i, word) for the up-to-4 elements of every Philox block this thread owns.
template <class Element>
__device__ void for_each_random_word(int64_t n, uint64_t seed, uint64_t offset, Element&& element) {
  const int64_t blocks = philox_blocks(n);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t block = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; block < blocks; block += stride) {
    const Philox4x32 words = philox4x32_10(seed, offset + static_cast<uint64_t>(block));
    const int64_t first = 4 * block;
#pragma unroll
    for (int w = 0; w < 4; ++w)
      if (first + w < n) element(first + w, words.v[w]);
  }
}

template <class T>
__global__ void dropout_forward_kernel(const T* x, int64_t n, uint32_t threshold, T scale, uint64_t seed,
                                       uint64_t offset, T* out, uint8_t* mask) {
  for_each_random_word(n, seed, offset, [&](int64_t i, uint32_t word) {
    const bool kept = (word >> 8) >= threshold;
    mask[i] = kept;
    out[i] = kept ? x[i] * scale : T(0);
  });
}

template <class T>
__global__ void dropout_backward_kernel(const T* grad_out, const uint8_t* mask, int64_t n, T scale, T* grad_in) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    grad_in[i] = mask[i] ? grad_out[i] * scale : T(0);
}

template <class T>
__global__ void philox_uniform_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset) {
  for_each_random_word(n, seed, offset,
                       [&](int64_t i, uint32_t word) { out[i] = static_cast<T>(uint_to_unit_float(word)); });
}

}  // namespace

template <class T>
void dropout_forward(const T* x, int64_t n, double p, uint64_t seed, uint64_t offset, T* out, uint8_t* mask) {
  if (n <= 0) return;
  dropout_forward_kernel<T><<<grid_for(philox_blocks(n)), kBlock, 0, current_stream()>>>(
      x, n, keep_threshold(p), static_cast<T>(keep_scale(p)), seed, offset, out, mask);
  check_launch("dropout_forward_kernel");
}

template <class T>
void dropout_backward(const T* grad_out, const uint8_t* mask, int64_t n, double p, T* grad_in) {
  if (n <= 0) return;
  dropout_backward_kernel<T><<<grid_for(n), kBlock, 0, current_stream()>>>(grad_out, mask, n,
                                                                            static_cast<T>(keep_scale(p)), grad_in);
  check_launch("dropout_backward_kernel");
}

template <class T>
void philox_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset) {
  if (n <= 0) return;
  philox_uniform_kernel<T><<<grid_for(philox_blocks(n)), kBlock, 0, current_stream()>>>(out, n, seed, offset);
  check_launch("philox_uniform_kernel");
}

#define NNX_INSTANTIATE_DROPOUT(T)                                                                     \
  template void dropout_forward<T>(const T*, int64_t, double, uint64_t, uint64_t, T*, uint8_t*);       \
  template void dropout_backward<T>(const T*, const uint8_t*, int64_t, double, T*);                    \
  template void philox_uniform<T>(T*, int64_t, uint64_t, uint64_t);
NNX_INSTANTIATE_DROPOUT(float)
NNX_INSTANTIATE_DROPOUT(double)
#undef NNX_INSTANTIATE_DROPOUT

}  // namespace nnx::cuda
