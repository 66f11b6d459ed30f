// Reductions a training step needs: column sums (bias gradients) and row argmax (predictions).
#pragma once
#include <cstdint>

namespace nnx::cpu {

// out(M) = sum over rows of x(N,M), plus out when accumulate. Sums in double for float input.
template <class T>
void column_sum(const T* x, int64_t N, int64_t M, T* out, bool accumulate);

// out(N) = index of the largest entry of each row of x(N,M); the first NaN counts as largest (NumPy).
template <class T>
void row_argmax(const T* x, int64_t N, int64_t M, int64_t* out);

}  // namespace nnx::cpu
