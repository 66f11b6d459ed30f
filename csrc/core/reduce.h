// Reductions a training step needs: column sums (bias gradients), row argmax (predictions) and squared norms (an L2
// penalty's value), for float and double,
// declared once for the device a translation unit is compiled for (nnx::NNX_DEVICE: core/device_namespace.h).
// Host-compiler clean. CUDA also has the generic reduce/cumsum that nnx.backend's CUDA arrays build NumPy's
// reductions on (cuda/reduce_axis.h; the CPU leaves those to NumPy).
#pragma once
#include <cstdint>

#include "core/device_namespace.h"

namespace nnx::NNX_DEVICE {

// out(M) = sum over rows of x(N,M), plus out when accumulate. Sums in double for float input.
template <class T>
void column_sum(const T* x, int64_t N, int64_t M, T* out, bool accumulate);

// out(N) int64 = index of the largest entry of each row of x(N,M); the first NaN counts as largest (NumPy).
// M >= 1 on CUDA.
template <class T>
void row_argmax(const T* x, int64_t N, int64_t M, int64_t* out);

// *out = sum of x[i]^2 over the n elements, accumulated in double and rounded once. The order of the sum is fixed
// by n alone (CPU: blocks of kSquaredNormBlock elements, their sums added in order; CUDA: the tree reduction's
// fixed partition), so the result does not depend on the thread count.
constexpr int64_t kSquaredNormBlock = 8192;
template <class T>
void squared_norm(const T* x, int64_t n, T* out);

}  // namespace nnx::NNX_DEVICE
