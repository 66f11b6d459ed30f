// CpuMath, the CPU's math policy: vectorisable approximations of exp, tanh, erfc and log1p, plugged
// into the formulas shared with the CUDA kernels (core/activations.h). Used by the elementwise
// kernels (activations.cpp) and the fused linear epilogue (linear.cpp), so both compute the same numbers.
#pragma once
#include <cmath>

#include "core/activations.h"
#include "core/vecmath.h"

namespace nnx::cpu {

using nnx::Activation;
using nnx::activation_choices;
using nnx::activation_from_name;
using nnx::ActivationParams;
using nnx::kActivationNames;

// ---- Elementary functions -------------------------------------------------------------------------
// float: branch-free approximations built on exp_approx, so the kernels' loops vectorise (libm calls do
// not without -ffast-math); each is within a few ulp (tens of ulp only where erfc/exp arguments pass
// ~30 and the values are below 1e-13). double: libm, exact to the last bit or two, because double is
// what gradient checks use; those loops stay scalar. NaN in gives NaN out, +-inf give the limits.

// exp for the activations: nnx::exp_fast (core/vecmath.h), 2 ulp for float, libm for double.
template <class T>
inline T exp_approx(T x) { return exp_fast(x); }

// tanh: odd Taylor series below |x| = 0.4 (where (1 - e) / (1 + e) would cancel), exp above.
inline float tanh_approx(float x) {
  const float x2 = x * x;
  float p = 21844.0f / 6081075.0f;
  p = p * x2 - 1382.0f / 155925.0f;
  p = p * x2 + 62.0f / 2835.0f;
  p = p * x2 - 17.0f / 315.0f;
  p = p * x2 + 2.0f / 15.0f;
  p = p * x2 - 1.0f / 3.0f;
  const float series = std::copysign(x + x * x2 * p, x);  // keeps tanh(-0) = -0
  const float e = exp_approx(-2.0f * std::fabs(x));
  const float from_exp = std::copysign((1.0f - e) / (1.0f + e), x);
  return std::fabs(x) < 0.4f ? series : from_exp;
}
inline double tanh_approx(double x) { return std::tanh(x); }

// erfc(z) for z >= 0 with a relative error below 1.2e-7 (Numerical Recipes' Chebyshev fit "erfcc").
inline float erfc_nonnegative(float z) {
  const float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  return t * exp_approx(p - z * z);
}
inline double erfc_nonnegative(double z) { return std::erfc(z); }

// log1p(e) for e in [0, 1]: 2 atanh(s) with s = e / (2 + e) <= 1/3, whose series needs 8 terms for
// float and keeps full relative precision for tiny e (log(1 + e) would round e away).
inline float log1p_unit(float e) {
  const float s = e / (2.0f + e), s2 = s * s;
  float p = 1.0f / 15.0f;
  p = p * s2 + 1.0f / 13.0f;
  p = p * s2 + 1.0f / 11.0f;
  p = p * s2 + 1.0f / 9.0f;
  p = p * s2 + 1.0f / 7.0f;
  p = p * s2 + 1.0f / 5.0f;
  p = p * s2 + 1.0f / 3.0f;
  p = p * s2 + 1.0f;
  return 2.0f * s * p;
}
inline double log1p_unit(double e) { return std::log1p(e); }

// The elementary functions of the CPU kernels, for ActivationFormulas.
struct CpuMath {
  template <class T>
  static T exp(T x) { return exp_approx(x); }
  template <class T>
  static T tanh(T x) { return tanh_approx(x); }
  template <class T>
  static T erfc_nonnegative(T z) { return cpu::erfc_nonnegative(z); }
  template <class T>
  static T log1p_unit(T e) { return cpu::log1p_unit(e); }
};

using CpuActivationFormulas = ActivationFormulas<CpuMath>;

// Calls fn(Op{}) with the formulas of `kind` (Op::forward, Op::backward, Op::kBackwardReadsOutput), so a
// kernel writes its loop once and gets one specialised (vectorised) copy per activation.
template <class Fn>
inline void with_activation(Activation kind, Fn&& fn) {
  CpuActivationFormulas::dispatch(kind, static_cast<Fn&&>(fn));
}

}  // namespace nnx::cpu
