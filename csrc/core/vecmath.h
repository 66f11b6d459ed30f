// Vectorisable math for the hot row-wise kernels (softmax, cross-entropy): branch-free so that
// `#pragma omp simd` loops compile to AVX code. Accuracy: exp within 2 ulp for float.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace nnx {

// exp(x) for float: x = k ln2 + r, |r| <= ln2/2, degree-6 polynomial for exp(r), 2^k built in the
// exponent bits. Inputs below -87.3 give 0 (callers use it for exp(x - max) <= 1, where that is exact
// to float precision); inputs above 88.7 are clamped (callers never pass them); NaN stays NaN.
// The clamps are written as selects: std::fmin/fmax compile to libm calls that stop GCC vectorising.
#pragma omp declare simd
inline float exp_fast(float x) {
  const float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  const float above_low = x < -87.3f ? -87.3f : x;
  const float clamped = above_low > 88.7f ? 88.7f : above_low;
  // NaN takes k = 0 here (r below stays NaN): casting a NaN k to int would be undefined behaviour.
  const float k = std::nearbyint((clamped == clamped ? clamped : 0.0f) * kLog2e);
  const float r = (clamped - k * kLn2Hi) - k * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(k) + 127) << 23;  // 2^k, k + 127 in [1, 255]
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return x < -87.3f ? 0.0f : p * scale;  // NaN x: p is NaN, so is the product
}

#pragma omp declare simd
inline double exp_fast(double x) { return std::exp(x); }

}  // namespace nnx
