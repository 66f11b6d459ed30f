// Elementwise activation kernels: one vectorised loop per activation (see with_activation), split
// over threads above the OpenMP threshold.
#include "core/activations.h"

#include "core/parallel.h"
#include "cpu/cpu_math.h"

namespace nnx::cpu {

template <class T>
void activation_forward(T* out, const T* x, int64_t n, Activation kind, const ActivationParams<T>& params) {
  const ActivationParams<T> p = params;  // a local copy: its loads cannot alias the output
  with_activation(kind, [&](auto op) {
    using Op = decltype(op);
    parallel_for(n, kParallelGrain, [&](int64_t begin, int64_t end) {
      // simd asserts the iterations are independent, which also holds for the exact alias out == x.
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) out[i] = Op::forward(x[i], p);
    });
  });
}

template <class T>
void activation_backward(T* grad_in, const T* grad_out, const T* x, const T* out, int64_t n, Activation kind,
                         const ActivationParams<T>& params) {
  const ActivationParams<T> p = params;
  with_activation(kind, [&](auto op) {
    using Op = decltype(op);
    const T* saved = Op::kBackwardReadsOutput ? out : x;
    parallel_for(n, kParallelGrain, [&](int64_t begin, int64_t end) {
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) grad_in[i] = Op::backward(grad_out[i], saved[i], p);
    });
  });
}

template void activation_forward<float>(float*, const float*, int64_t, Activation, const ActivationParams<float>&);
template void activation_forward<double>(double*, const double*, int64_t, Activation,
                                         const ActivationParams<double>&);
template void activation_backward<float>(float*, const float*, const float*, const float*, int64_t, Activation,
                                         const ActivationParams<float>&);
template void activation_backward<double>(double*, const double*, const double*, const double*, int64_t,
                                          Activation, const ActivationParams<double>&);

}  // namespace nnx::cpu
