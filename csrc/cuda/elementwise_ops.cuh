// The per-element math of the generic elementwise kernels (cuda/elementwise.cu), with NumPy's semantics: casts,
// integer arithmetic that wraps like NumPy's, float floor-division and remainder as npy_divmod, and every unary
// and binary op by its UnaryOp / BinaryOp. __host__ __device__ (NNX_HD), so it can be checked on a CPU; included
// by elementwise.cu only, and launches nothing.
#pragma once
#include <cuda/std/cmath>

#include <climits>
#include <cstdint>
#include <type_traits>

#include "core/activations.h"
#include "core/hd.h"
#include "cuda/elementwise.h"

namespace nnx::cuda::elementwise_ops {

namespace cmath = ::cuda::std;

template <class T>
constexpr bool kIsFloat = std::is_floating_point_v<T>;
template <class T>
constexpr bool kIsBool = std::is_same_v<T, bool>;

// ---- Casts -----------------------------------------------------------------------------------------------

// NumPy's astype: -> bool is != 0; float -> integer truncates toward zero (through int64, so that
// -1.5 -> uint8 wraps to 255 as on NumPy); everything else is a plain conversion.
template <class To, class From>
NNX_HD To cast_value(From value) {
  if constexpr (kIsBool<To>) {
    return value != From(0);
  } else if constexpr (std::is_integral_v<To> && kIsFloat<From>) {
    return static_cast<To>(static_cast<long long>(value));
  } else {
    return static_cast<To>(value);
  }
}

// ---- Integer arithmetic that wraps like NumPy's (signed overflow is undefined in C++) -------------------

template <class T>
using Unsigned = std::make_unsigned_t<T>;

template <class T>
NNX_HD T wrap_add(T a, T b) { return static_cast<T>(static_cast<Unsigned<T>>(a) + static_cast<Unsigned<T>>(b)); }
template <class T>
NNX_HD T wrap_sub(T a, T b) { return static_cast<T>(static_cast<Unsigned<T>>(a) - static_cast<Unsigned<T>>(b)); }
template <class T>
NNX_HD T wrap_mul(T a, T b) { return static_cast<T>(static_cast<Unsigned<T>>(a) * static_cast<Unsigned<T>>(b)); }
template <class T>
NNX_HD T wrap_neg(T a) { return wrap_sub(T(0), a); }

// Python's floor division; x // 0 is 0 as in NumPy (which also warns).
template <class T>
NNX_HD T int_floor_divide(T a, T b) {
  if (b == T(0)) return T(0);
  if constexpr (std::is_signed_v<T>) {
    if (b == T(-1)) return wrap_neg(a);  // MIN / -1 overflows: wrap as NumPy does
    T quotient = a / b;
    if (a % b != T(0) && ((a < T(0)) != (b < T(0)))) quotient -= T(1);
    return quotient;
  } else {
    return static_cast<T>(a / b);
  }
}

// Python's modulo: the result has the divisor's sign; x % 0 is 0 as in NumPy.
template <class T>
NNX_HD T int_remainder(T a, T b) {
  if (b == T(0)) return T(0);
  if constexpr (std::is_signed_v<T>) {
    if (b == T(-1)) return T(0);
    T rest = a % b;
    if (rest != T(0) && ((rest < T(0)) != (b < T(0)))) rest += b;
    return rest;
  } else {
    return static_cast<T>(a % b);
  }
}

// Exponentiation by squaring, wrapping. NumPy refuses negative exponents; a kernel cannot raise, so
// it gives what 1 / base**-e truncates to (PyTorch's choice): 1 for base 1, +-1 for base -1, else 0.
template <class T>
NNX_HD T int_power(T base, T exponent) {
  if constexpr (std::is_signed_v<T>) {
    if (exponent < T(0)) {
      if (base == T(1)) return T(1);
      if (base == T(-1)) return (exponent & T(1)) ? T(-1) : T(1);
      return T(0);
    }
  }
  Unsigned<T> result = 1, factor = static_cast<Unsigned<T>>(base), remaining = static_cast<Unsigned<T>>(exponent);
  while (remaining) {
    if (remaining & 1u) result = static_cast<Unsigned<T>>(result * factor);
    factor = static_cast<Unsigned<T>>(factor * factor);
    remaining = static_cast<Unsigned<T>>(remaining >> 1);
  }
  return static_cast<T>(result);
}

// ---- Float arithmetic as NumPy's npy_divmod (numpy/_core/src/npymath/npy_math_internal.h.src) ------------

template <class T>
NNX_HD T float_divmod(T a, T b, T* modulus) {
  T mod = cmath::fmod(a, b);
  if (b == T(0)) {
    *modulus = mod;
    return a / b;
  }
  T quotient = (a - mod) / b;  // very nearly an integer
  if (mod != T(0)) {
    if ((b < T(0)) != (mod < T(0))) {  // Python's sign convention for the remainder
      mod += b;
      quotient -= T(1);
    }
  } else {
    mod = cmath::copysign(T(0), b);
  }
  T floored;
  if (quotient != T(0)) {
    floored = cmath::floor(quotient);
    if (quotient - floored > T(0.5)) floored += T(1);
  } else {
    floored = cmath::copysign(T(0), a / b);
  }
  *modulus = mod;
  return floored;
}

template <class T>
NNX_HD T float_floor_divide(T a, T b) {
  if (b == T(0)) return a / b;
  T mod;
  return float_divmod(a, b, &mod);
}

template <class T>
NNX_HD T float_remainder(T a, T b) {
  if (b == T(0)) return cmath::fmod(a, b);
  T mod;
  float_divmod(a, b, &mod);
  return mod;
}

// ---- Unary ops -------------------------------------------------------------------------------------------

template <class T>
NNX_HD T float_unary(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::negative: return -x;
    case UnaryOp::abs: return cmath::fabs(x);
    case UnaryOp::exp: return cmath::exp(x);
    case UnaryOp::expm1: return cmath::expm1(x);
    case UnaryOp::log: return cmath::log(x);
    case UnaryOp::log1p: return cmath::log1p(x);
    case UnaryOp::log2: return cmath::log2(x);
    case UnaryOp::log10: return cmath::log10(x);
    case UnaryOp::sqrt: return cmath::sqrt(x);
    case UnaryOp::square: return x * x;
    case UnaryOp::reciprocal: return T(1) / x;
    case UnaryOp::sign: return x > T(0) ? T(1) : x < T(0) ? T(-1) : x == T(0) ? T(0) : x;  // NaN stays NaN
    case UnaryOp::sin: return cmath::sin(x);
    case UnaryOp::cos: return cmath::cos(x);
    case UnaryOp::tan: return cmath::tan(x);
    case UnaryOp::tanh: return cmath::tanh(x);
    case UnaryOp::arctan: return cmath::atan(x);
    case UnaryOp::floor: return cmath::floor(x);
    case UnaryOp::ceil: return cmath::ceil(x);
    case UnaryOp::rint: return cmath::rint(x);  // half to even
    case UnaryOp::trunc: return cmath::trunc(x);
    case UnaryOp::sigmoid: return ActivationFormulas<LibmMath>::sigmoid_of(x);  // the activation kernels' formula
    case UnaryOp::erf: return cmath::erf(x);
    default: return x;  // the launcher refuses the rest
  }
}

template <class T>
NNX_HD T integer_unary(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::negative: return wrap_neg(x);
    case UnaryOp::abs:
      if constexpr (std::is_signed_v<T>) return x < T(0) ? wrap_neg(x) : x;
      return x;
    case UnaryOp::square: return wrap_mul(x, x);
    case UnaryOp::sign:
      if constexpr (std::is_signed_v<T>) return static_cast<T>((x > T(0)) - (x < T(0)));
      return static_cast<T>(x > T(0));
    case UnaryOp::invert: return static_cast<T>(~x);
    default: return x;  // floor, ceil, rint, trunc of an integer
  }
}

template <class T>
NNX_HD T unary_value(UnaryOp op, T x) {
  if constexpr (kIsFloat<T>) {
    return float_unary(op, x);
  } else if constexpr (kIsBool<T>) {
    return op == UnaryOp::invert ? !x : x;  // abs is the identity
  } else {
    return integer_unary(op, x);
  }
}

template <class T>
NNX_HD bool unary_predicate(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::isnan:
      if constexpr (kIsFloat<T>) return cmath::isnan(x);
      return false;
    case UnaryOp::isinf:
      if constexpr (kIsFloat<T>) return cmath::isinf(x);
      return false;
    case UnaryOp::isfinite:
      if constexpr (kIsFloat<T>) return cmath::isfinite(x);
      return true;
    default: return !(x != T(0));  // logical_not; NaN counts as true, as in NumPy
  }
}

// ---- Binary ops ------------------------------------------------------------------------------------------

template <class T>
NNX_HD T float_binary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::subtract: return a - b;
    case BinaryOp::multiply: return a * b;
    case BinaryOp::true_divide: return a / b;
    case BinaryOp::floor_divide: return float_floor_divide(a, b);
    case BinaryOp::remainder: return float_remainder(a, b);
    case BinaryOp::power: return cmath::pow(a, b);
    // NumPy's loops, so NaN and signed zeros come out as on the CPU: maximum/minimum propagate NaN,
    // fmax/fmin ignore it.
    case BinaryOp::maximum: return (a >= b || cmath::isnan(a)) ? a : b;
    case BinaryOp::minimum: return (a <= b || cmath::isnan(a)) ? a : b;
    case BinaryOp::fmax: return (a >= b || cmath::isnan(b)) ? a : b;
    case BinaryOp::fmin: return (a <= b || cmath::isnan(b)) ? a : b;
    case BinaryOp::arctan2: return cmath::atan2(a, b);
    case BinaryOp::copysign: return cmath::copysign(a, b);
    default: return a;  // the launcher refuses the rest
  }
}

template <class T>
NNX_HD T integer_binary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add: return wrap_add(a, b);
    case BinaryOp::subtract: return wrap_sub(a, b);
    case BinaryOp::multiply: return wrap_mul(a, b);
    case BinaryOp::floor_divide: return int_floor_divide(a, b);
    case BinaryOp::remainder: return int_remainder(a, b);
    case BinaryOp::power: return int_power(a, b);
    case BinaryOp::maximum:
    case BinaryOp::fmax: return a >= b ? a : b;
    case BinaryOp::minimum:
    case BinaryOp::fmin: return a <= b ? a : b;
    case BinaryOp::bitwise_and: return static_cast<T>(a & b);
    case BinaryOp::bitwise_or: return static_cast<T>(a | b);
    case BinaryOp::bitwise_xor: return static_cast<T>(a ^ b);
    default: return a;
  }
}

// Bools: add and maximum are or, multiply and minimum are and (NumPy's bool loops).
NNX_HD bool bool_binary(BinaryOp op, bool a, bool b) {
  switch (op) {
    case BinaryOp::add:
    case BinaryOp::maximum:
    case BinaryOp::fmax:
    case BinaryOp::bitwise_or: return a || b;
    case BinaryOp::multiply:
    case BinaryOp::minimum:
    case BinaryOp::fmin:
    case BinaryOp::bitwise_and: return a && b;
    case BinaryOp::bitwise_xor: return a != b;
    default: return a;
  }
}

template <class T>
NNX_HD T binary_value(BinaryOp op, T a, T b) {
  if constexpr (kIsFloat<T>) {
    return float_binary(op, a, b);
  } else if constexpr (kIsBool<T>) {
    return bool_binary(op, a, b);
  } else {
    return integer_binary(op, a, b);
  }
}

template <class T>
NNX_HD bool binary_predicate(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::equal: return a == b;
    case BinaryOp::not_equal: return a != b;
    case BinaryOp::less: return a < b;
    case BinaryOp::less_equal: return a <= b;
    case BinaryOp::greater: return a > b;
    case BinaryOp::greater_equal: return a >= b;
    case BinaryOp::logical_and: return (a != T(0)) && (b != T(0));
    case BinaryOp::logical_or: return (a != T(0)) || (b != T(0));
    default: return (a != T(0)) != (b != T(0));  // logical_xor
  }
}

}  // namespace nnx::cuda::elementwise_ops
