// Dropout kernels: Philox blocks are generated a batch at a time in a simd loop (the 32x32->64-bit
// multiplies vectorise), then the batch's words are turned into masks, outputs or uniforms.
#include "core/dropout.h"

#include <algorithm>
#include <cmath>

#include "core/parallel.h"
#include "core/philox.h"

namespace nnx::cpu {

namespace {

// Philox blocks (4 words, i.e. 4 elements each) generated per batch.
constexpr int64_t kBlocksPerBatch = 16;
constexpr int64_t kWordsPerBatch = 4 * kBlocksPerBatch;

// Calls consume(first_element, count, words) for consecutive runs of elements, `words[k]` being the
// 32-bit random word of element first_element + k. Runs start at multiples of 4, so the word an
// element gets never depends on how the range is split between threads.
template <class Consume>
void for_each_random_word(int64_t n, uint64_t seed, uint64_t offset, Consume&& consume) {
  const int64_t blocks = (n + 3) / 4;
  parallel_for(blocks, kParallelGrain / 4, [&](int64_t first_block, int64_t end_block) {
    uint32_t words[kWordsPerBatch];
    for (int64_t batch = first_block; batch < end_block; batch += kBlocksPerBatch) {
#pragma omp simd
      for (int64_t b = 0; b < kBlocksPerBatch; ++b) {
        const Philox4x32 block = philox4x32_10(seed, offset + static_cast<uint64_t>(batch + b));
        for (int w = 0; w < 4; ++w) words[4 * b + w] = block.v[w];
      }
      const int64_t first_element = 4 * batch;
      const int64_t last_element = std::min(n, 4 * std::min(end_block, batch + kBlocksPerBatch));
      consume(first_element, last_element - first_element, words);
    }
  });
}

// Uniform u = (word >> 8) / 2^24, so u >= p exactly when (word >> 8) >= ceil(p * 2^24).
uint32_t keep_threshold(double p) { return static_cast<uint32_t>(std::ceil(p * 16777216.0)); }

// 1 / (1 - p), and 0 when everything is dropped (p == 1) so that no inf * 0 appears.
double keep_scale(double p) { return p < 1.0 ? 1.0 / (1.0 - p) : 0.0; }

}  // namespace

template <class T>
void dropout_forward(const T* x, int64_t n, double p, uint64_t seed, uint64_t offset, T* out, uint8_t* mask) {
  const uint32_t threshold = keep_threshold(p);
  const T scale = static_cast<T>(keep_scale(p));
  for_each_random_word(n, seed, offset, [=](int64_t first, int64_t count, const uint32_t* words) {
    // Local pointers: the byte stores to the mask may alias anything, which would otherwise force
    // the captured pointers to be reloaded every element and block vectorisation.
    const T* input = x + first;
    T* output = out + first;
    uint8_t* keep = mask + first;
#pragma omp simd
    for (int64_t k = 0; k < count; ++k) {
      const bool kept = (words[k] >> 8) >= threshold;
      keep[k] = kept;
      output[k] = kept ? input[k] * scale : T(0);
    }
  });
}

template <class T>
void dropout_backward(const T* grad_out, const uint8_t* mask, int64_t n, double p, T* grad_in) {
  const T scale = static_cast<T>(keep_scale(p));
  parallel_for(n, kParallelGrain, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) grad_in[i] = mask[i] ? grad_out[i] * scale : T(0);
  });
}

template <class T>
void philox_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset) {
  for_each_random_word(n, seed, offset, [=](int64_t first, int64_t count, const uint32_t* words) {
    T* output = out + first;
#pragma omp simd
    for (int64_t k = 0; k < count; ++k) output[k] = static_cast<T>(uint_to_unit_float(words[k]));
  });
}

#define NNX_INSTANTIATE_DROPOUT(T)                                                                     \
  template void dropout_forward<T>(const T*, int64_t, double, uint64_t, uint64_t, T*, uint8_t*);       \
  template void dropout_backward<T>(const T*, const uint8_t*, int64_t, double, T*);                    \
  template void philox_uniform<T>(T*, int64_t, uint64_t, uint64_t);

NNX_INSTANTIATE_DROPOUT(float)
NNX_INSTANTIATE_DROPOUT(double)

}  // namespace nnx::cpu
