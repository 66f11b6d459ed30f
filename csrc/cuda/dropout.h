// CUDA inverted dropout and the Philox uniform stream it draws from: element i takes word i % 4 of
// Philox4x32-10(seed, counter = offset + i / 4) (core/philox.h, shared with the CPU), so the same
// (seed, offset) gives the same mask on both devices. Launchers queue on nnx's stream, never synchronise.
#pragma once
#include <cstdint>

namespace nnx::cuda {

// x, out: n device values; mask: n device bytes, 1 where kept. Kept when the uniform u >= p
// (probability 1 - p); out = x * mask / (1 - p), and 0 everywhere when p == 1. 0 <= p <= 1.
template <class T>
void dropout_forward(const T* x, int64_t n, double p, uint64_t seed, uint64_t offset, T* out, uint8_t* mask);

// grad_in = grad_out * mask / (1 - p) (0 when p == 1); n device values.
template <class T>
void dropout_backward(const T* grad_out, const uint8_t* mask, int64_t n, double p, T* grad_in);

// out[i] = the uniform in [0, 1) dropout draws for element i (24-bit resolution), n device values.
template <class T>
void philox_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset);

}  // namespace nnx::cuda
