// Philox4x32-10 counter-based generator (Salmon et al., SC'11): the random stream is a pure function of
// (seed, counter), so a kernel gives the same numbers whatever the thread count or chunking. The functions
// are NNX_HD: the CPU kernels (g++) and the CUDA kernels (nvcc) compile this one source, so both devices
// draw the very same stream.
#pragma once
#include <cstdint>

#include "core/hd.h"

namespace nnx {

struct Philox4x32 {
  uint32_t v[4];
};

NNX_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  const uint64_t product = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(product >> 32);
  return static_cast<uint32_t>(product);
}

// Four 32-bit random words for counter `counter` under key `seed`.
NNX_HD Philox4x32 philox4x32_10(uint64_t seed, uint64_t counter) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    const uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    const uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4x32{{c0, c1, c2, c3}};
}

// Uniform float in [0, 1) from the top 24 bits of a word (exactly representable).
NNX_HD float uint_to_unit_float(uint32_t word) { return static_cast<float>(word >> 8) * (1.0f / 16777216.0f); }

// Uniform for element `index` of a stream: element i uses word i % 4 of counter offset + i / 4.
NNX_HD float philox_uniform(uint64_t seed, uint64_t offset, uint64_t index) {
  const Philox4x32 block = philox4x32_10(seed, offset + index / 4);
  return uint_to_unit_float(block.v[index % 4]);
}

}  // namespace nnx
