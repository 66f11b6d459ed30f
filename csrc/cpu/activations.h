// Elementwise activations (relu, leaky_relu, sigmoid, tanh, gelu, gelu_tanh, silu, softplus), forward
// and backward, for float and double. The per-element math lives in cpu_math.h.
#pragma once
#include <cstdint>

#include "cpu/cpu_math.h"

namespace nnx::cpu {

// out(n) = act(x(n)). out may be x itself (in place); any other overlap is not allowed.
template <class T>
void activation_forward(T* out, const T* x, int64_t n, Activation kind, const ActivationParams<T>& params);

// grad_in(n) = grad_out(n) * act'(x). The derivative reads the forward's output `out` for relu,
// leaky_relu, sigmoid and tanh, and its input `x` for the others (the unused one may be null).
// grad_in may be grad_out itself.
template <class T>
void activation_backward(T* grad_in, const T* grad_out, const T* x, const T* out, int64_t n, Activation kind,
                         const ActivationParams<T>& params);

}  // namespace nnx::cpu
