// Fused linear layer over BLAS: the GEMM writes x @ weight^T into out, then one pass over out adds the
// bias and applies the activation (and fills preact), so the output crosses memory once more, not three times.
#include "core/linear.h"

#include <algorithm>

#include "core/gemm.h"
#include "core/parallel.h"
#include "core/reduce.h"
#include "cpu/cpu_math.h"

namespace nnx::cpu {
namespace {

// Rows per thread chunk so that a chunk holds about kParallelGrain elements.
inline int64_t row_grain(int64_t row_length) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row_length, 1));
}

// out = act(out + bias), and preact = out + bias first when given. Called after the GEMM (never
// inside a parallel region of its own), so BLAS threads and OpenMP threads never nest.
template <class T, class Op>
void bias_activation_epilogue(T* out, T* preact, const T* bias, int64_t N, int64_t M, const ActivationParams<T>& p) {
  parallel_for(N, row_grain(M), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      T* out_row = out + i * M;
      T* preact_row = preact ? preact + i * M : nullptr;
      if (bias && preact_row) {
#pragma omp simd
        for (int64_t j = 0; j < M; ++j) {
          const T value = out_row[j] + bias[j];
          preact_row[j] = value;
          out_row[j] = Op::forward(value, p);
        }
      } else if (bias) {
#pragma omp simd
        for (int64_t j = 0; j < M; ++j) out_row[j] = Op::forward(out_row[j] + bias[j], p);
      } else if (preact_row) {
#pragma omp simd
        for (int64_t j = 0; j < M; ++j) {
          preact_row[j] = out_row[j];
          out_row[j] = Op::forward(out_row[j], p);
        }
      } else {
#pragma omp simd
        for (int64_t j = 0; j < M; ++j) out_row[j] = Op::forward(out_row[j], p);
      }
    }
  });
}

}  // namespace

template <class T>
void linear_forward(T* out, T* preact, const T* x, const T* weight, const T* bias, int64_t N, int64_t K, int64_t M,
                    Activation activation, const ActivationParams<T>& params) {
  if (N == 0 || M == 0) return;
  gemm<T>(false, true, N, M, K, T(1), x, weight, T(0), out);
  // Nothing to add, store or apply: the GEMM's result is the answer.
  if (activation == Activation::none && !bias && !preact) return;
  const ActivationParams<T> p = params;
  with_activation(activation, [&](auto op) { bias_activation_epilogue<T, decltype(op)>(out, preact, bias, N, M, p); });
}

template <class T>
void linear_backward(T* grad_preact, T* grad_x, T* grad_weight, T* grad_bias, const T* grad_out, const T* x,
                     const T* weight, const T* saved, int64_t N, int64_t K, int64_t M, Activation activation,
                     const ActivationParams<T>& params, bool accumulate) {
  const ActivationParams<T> p = params;
  // grad_preact == grad_out with no activation: already the answer, in place.
  if (!(activation == Activation::none && grad_preact == grad_out)) {
    // none reads nothing from saved; any valid pointer keeps the loop free of a branch.
    const T* saved_or_unused = saved ? saved : grad_out;
    with_activation(activation, [&](auto op) {
      using Op = decltype(op);
      parallel_for(N * M, kParallelGrain, [&](int64_t begin, int64_t end) {
        // simd holds for the allowed exact alias grad_preact == grad_out (each element read, then written).
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) grad_preact[i] = Op::backward(grad_out[i], saved_or_unused[i], p);
      });
    });
  }
  if (grad_x) gemm<T>(false, false, N, K, M, T(1), grad_preact, weight, T(0), grad_x);
  if (grad_weight) gemm<T>(true, false, M, K, N, T(1), grad_preact, x, accumulate ? T(1) : T(0), grad_weight);
  if (grad_bias) column_sum<T>(grad_preact, N, M, grad_bias, accumulate);
}

template void linear_forward<float>(float*, float*, const float*, const float*, const float*, int64_t, int64_t,
                                    int64_t, Activation, const ActivationParams<float>&);
template void linear_forward<double>(double*, double*, const double*, const double*, const double*, int64_t,
                                     int64_t, int64_t, Activation, const ActivationParams<double>&);
template void linear_backward<float>(float*, float*, float*, float*, const float*, const float*, const float*,
                                     const float*, int64_t, int64_t, int64_t, Activation,
                                     const ActivationParams<float>&, bool);
template void linear_backward<double>(double*, double*, double*, double*, const double*, const double*,
                                      const double*, const double*, int64_t, int64_t, int64_t, Activation,
                                      const ActivationParams<double>&, bool);

}  // namespace nnx::cpu
