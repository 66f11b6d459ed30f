// Elementwise activations on the GPU (the kinds of core/activations_math.h), forward and backward,
// for float and double. Host-compiler clean; the contracts are those of cpu/activations.h, and the
// formulas are the CPU's, with the device's libm for exp/tanh/erfc/log1p. Launchers queue on
// current_stream() and never synchronise.
#pragma once
#include <cstdint>

#include "core/activations_math.h"

namespace nnx::cuda {

// out(n) = act(x(n)). out may be x itself (in place); any other overlap is not allowed.
template <class T>
void activation_forward(T* out, const T* x, int64_t n, Activation kind, const ActivationParams<T>& params);

// grad_in(n) = grad_out(n) * act'(x). The derivative reads the forward's output `out` for relu,
// leaky_relu, sigmoid and tanh, and its input `x` for the others (the unused one may be null).
// grad_in may be grad_out itself.
template <class T>
void activation_backward(T* grad_in, const T* grad_out, const T* x, const T* out, int64_t n, Activation kind,
                         const ActivationParams<T>& params);

}  // namespace nnx::cuda
