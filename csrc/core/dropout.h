// Inverted dropout and the uniform stream it draws from: element i takes word i % 4 of Philox4x32-10(seed,
// counter = offset + i / 4) (core/philox.h, shared by both devices), so masks depend on (seed, offset) only, never
// on the thread count, and the same (seed, offset) gives the same mask on the CPU and the GPU. Declared once for the
// device a translation unit is compiled for (nnx::NNX_DEVICE: core/device_namespace.h); host-compiler clean.
// CUDA: pointers are device pointers; launchers queue on nnx's stream, never synchronise.
#pragma once
#include <cstdint>

#include "core/device_namespace.h"

namespace nnx::NNX_DEVICE {

// x, out: n values; mask: n bytes, 1 where kept. An element is kept when its uniform u >= p
// (probability 1 - p); out = x * mask / (1 - p), and 0 everywhere when p == 1. 0 <= p <= 1.
template <class T>
void dropout_forward(const T* x, int64_t n, double p, uint64_t seed, uint64_t offset, T* out, uint8_t* mask);

// grad_in = grad_out * mask / (1 - p) (0 when p == 1); n values.
template <class T>
void dropout_backward(const T* grad_out, const uint8_t* mask, int64_t n, double p, T* grad_in);

// out[i] = the uniform in [0, 1) dropout draws for element i (24-bit resolution, as a float); n values.
template <class T>
void philox_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset);

}  // namespace nnx::NNX_DEVICE
