// What the CPU kernels (g++) and the CUDA kernels (nvcc) both compile, so the two devices compute the same
// formulas from one source: NNX_HD marks the shared helpers, LibmMath gives them the C library's functions.
#pragma once
#include <cmath>

#if defined(__CUDACC__)
#define NNX_HD __host__ __device__ __forceinline__
#else
#define NNX_HD inline
#endif

namespace nnx {

// The elementary functions from the C library, for float and double: what the CUDA kernels use (nvcc
// maps each call to the device's own libm). A Math policy provides exp, tanh, erfc_nonnegative (erfc
// for z >= 0) and log1p_unit (log1p for e in [0, 1]); the CPU's vectorisable one is cpu/cpu_math.h.
struct LibmMath {
  static NNX_HD float exp(float x) { return ::expf(x); }
  static NNX_HD double exp(double x) { return ::exp(x); }
  static NNX_HD float tanh(float x) { return ::tanhf(x); }
  static NNX_HD double tanh(double x) { return ::tanh(x); }
  static NNX_HD float erfc_nonnegative(float z) { return ::erfcf(z); }
  static NNX_HD double erfc_nonnegative(double z) { return ::erfc(z); }
  static NNX_HD float log1p_unit(float e) { return ::log1pf(e); }
  static NNX_HD double log1p_unit(double e) { return ::log1p(e); }
};

}  // namespace nnx
