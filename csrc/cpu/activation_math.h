// Value and derivative of every activation, one small struct each, shared by the elementwise kernels
// (activations.cpp) and the fused linear epilogue (linear.cpp) so that both compute the same numbers.
#pragma once
#include "core/vecmath.h"
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

namespace nnx::cpu {

enum class Activation : int { none, relu, leaky_relu, sigmoid, tanh, gelu, gelu_tanh, silu, softplus };

// The Python names, in enum order (the bindings parse them; PyTorch's spellings).
inline constexpr std::string_view kActivationNames[] = {"none", "relu",      "leaky_relu", "sigmoid", "tanh",
                                                        "gelu", "gelu_tanh", "silu",       "softplus"};

// The activation called `name`, if it is one of `allowed` (false otherwise).
inline bool activation_from_name(std::string_view name, std::initializer_list<Activation> allowed, Activation* kind) {
  for (Activation candidate : allowed) {
    if (kActivationNames[static_cast<int>(candidate)] == name) {
      *kind = candidate;
      return true;
    }
  }
  return false;
}

// "'relu', 'sigmoid'": the names of `allowed`, for error messages.
inline std::string activation_choices(std::initializer_list<Activation> allowed) {
  std::string list;
  for (Activation kind : allowed)
    list += (list.empty() ? "'" : ", '") + std::string(kActivationNames[static_cast<int>(kind)]) + "'";
  return list;
}

template <class T>
struct ActivationParams {
  T negative_slope = T(0.01);  // leaky_relu
  T beta = T(1);               // softplus: log(1 + exp(beta x)) / beta ...
  T threshold = T(20);         // ... and x where beta x > threshold
};

// ---- Elementary functions -------------------------------------------------------------------------
// float: branch-free approximations built on exp_approx, so the kernels' loops vectorise (libm calls do
// not without -ffast-math); each is within a few ulp (tens of ulp only where erfc/exp arguments pass
// ~30 and the values are below 1e-13). double: libm, exact to the last bit or two, because double is
// what gradient checks use; those loops stay scalar. NaN in gives NaN out, +-inf give the limits.

// exp for the activations: nnx::exp_fast (core/vecmath.h), 2 ulp for float, libm for double.
template <class T>
inline T exp_approx(T x) { return exp_fast(x); }


// The two halves of a sigmoid, both without cancellation: {1 / (1 + e), e / (1 + e)} with e = exp(-|x|),
// so sigmoid(x) is the first for x >= 0 and the second otherwise, and 1 - sigmoid(x) the other one.
template <class T>
struct SigmoidHalves {
  T large, small;
};
template <class T>
inline SigmoidHalves<T> sigmoid_halves(T x) {
  const T e = exp_approx(-std::fabs(x));
  const T large = T(1) / (T(1) + e);
  return {large, e * large};
}

template <class T>
inline T sigmoid_of(T x) {
  const SigmoidHalves<T> h = sigmoid_halves(x);
  return x >= T(0) ? h.large : h.small;
}

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

// ---- The activations ------------------------------------------------------------------------------
// forward(x) is the value; backward(grad, saved) is grad * act'(x), where `saved` is the forward's
// output when kBackwardReadsOutput and its input otherwise. Formulas and edge cases follow PyTorch
// (relu/threshold_backward, leaky_relu, sigmoid_backward, tanh_backward, gelu_backward, silu_backward,
// softplus_backward); sigmoid-like terms use the cancellation-free halves above, so inputs of any
// finite size give finite results.

struct Identity {
  static constexpr bool kBackwardReadsOutput = false;
  template <class T>
  static T forward(T x, const ActivationParams<T>&) { return x; }
  template <class T>
  static T backward(T grad, T, const ActivationParams<T>&) { return grad; }
};

struct Relu {
  static constexpr bool kBackwardReadsOutput = true;
  template <class T>  // `x < 0 ? 0 : x` keeps NaN, as torch.relu does
  static T forward(T x, const ActivationParams<T>&) { return x < T(0) ? T(0) : x; }
  template <class T>  // a select, not a product: an infinite grad where out is 0 gives 0, not NaN
  static T backward(T grad, T out, const ActivationParams<T>&) { return out <= T(0) ? T(0) : grad; }
};

// The backward reads the sign of x from out, which needs negative_slope >= 0 (the binding checks).
struct LeakyRelu {
  static constexpr bool kBackwardReadsOutput = true;
  template <class T>
  static T forward(T x, const ActivationParams<T>& p) {
    const T scaled = x * p.negative_slope;  // computed unconditionally so the select vectorises
    return x > T(0) ? x : scaled;
  }
  template <class T>
  static T backward(T grad, T out, const ActivationParams<T>& p) {
    const T scaled = grad * p.negative_slope;
    return out > T(0) ? grad : scaled;
  }
};

struct Sigmoid {
  static constexpr bool kBackwardReadsOutput = true;
  template <class T>
  static T forward(T x, const ActivationParams<T>&) { return sigmoid_of(x); }
  template <class T>
  static T backward(T grad, T out, const ActivationParams<T>&) { return grad * (T(1) - out) * out; }
};

struct Tanh {
  static constexpr bool kBackwardReadsOutput = true;
  template <class T>
  static T forward(T x, const ActivationParams<T>&) { return tanh_approx(x); }
  template <class T>
  static T backward(T grad, T out, const ActivationParams<T>&) { return grad * (T(1) - out * out); }
};

// Exact GELU, x * Phi(x), with Phi(x) = erfc(-x / sqrt 2) / 2 taken from the side that does not cancel.
struct Gelu {
  static constexpr bool kBackwardReadsOutput = false;
  template <class T>
  static T normal_cdf(T x) {
    const T tail = T(0.5) * erfc_nonnegative(std::fabs(x) * T(0.70710678118654752440));
    return x >= T(0) ? T(1) - tail : tail;
  }
  template <class T>
  static T forward(T x, const ActivationParams<T>&) { return x * normal_cdf(x); }
  template <class T>
  static T backward(T grad, T x, const ActivationParams<T>&) {
    const T pdf = T(0.39894228040143267794) * exp_approx(T(-0.5) * x * x);
    return grad * (normal_cdf(x) + x * pdf);
  }
};

// Tanh-approximated GELU: 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), computed as
// x * sigmoid(2u), the same number without the cancellation of 1 + tanh(u) for negative x.
struct GeluTanh {
  static constexpr bool kBackwardReadsOutput = false;
  template <class T>
  static T twice_inner(T x) { return T(2 * 0.79788456080286535588) * (x + T(0.044715) * x * x * x); }
  template <class T>
  static T forward(T x, const ActivationParams<T>&) { return x * sigmoid_of(twice_inner(x)); }
  template <class T>
  static T backward(T grad, T x, const ActivationParams<T>&) {
    const T v = twice_inner(x);
    const SigmoidHalves<T> h = sigmoid_halves(v);
    const T s = v >= T(0) ? h.large : h.small;  // s (1 - s) is h.large * h.small either way
    const T dv_dx = T(2 * 0.79788456080286535588) * (T(1) + T(3 * 0.044715) * x * x);
    return grad * (s + x * dv_dx * (h.large * h.small));
  }
};

struct Silu {
  static constexpr bool kBackwardReadsOutput = false;
  template <class T>
  static T forward(T x, const ActivationParams<T>&) { return x * sigmoid_of(x); }
  template <class T>  // sigmoid (1 + x (1 - sigmoid)), written so 1 - sigmoid never cancels
  static T backward(T grad, T x, const ActivationParams<T>&) {
    const SigmoidHalves<T> h = sigmoid_halves(x);
    const T s = x >= T(0) ? h.large : h.small;
    return grad * (s + x * (h.large * h.small));
  }
};

// log(1 + exp(beta x)) / beta as max(z, 0) + log1p(exp(-|z|)), z = beta x: finite for every finite x,
// where PyTorch's direct form overflows once z passes ~88 below a large threshold.
struct Softplus {
  static constexpr bool kBackwardReadsOutput = false;
  template <class T>
  static T forward(T x, const ActivationParams<T>& p) {
    const T z = x * p.beta;
    const T positive_part = z > T(0) ? z : T(0);  // not std::fmax: a libm call GCC will not vectorise
    const T smooth = (positive_part + log1p_unit(exp_approx(-std::fabs(z)))) / p.beta;
    return z > p.threshold ? x : smooth;
  }
  template <class T>
  static T backward(T grad, T x, const ActivationParams<T>& p) {
    const T z = x * p.beta;
    return z > p.threshold ? grad : grad * sigmoid_of(z);
  }
};

// Calls fn(Op{}) with the struct of `kind`, so a kernel writes its loop once and gets one
// specialised (vectorised) copy per activation.
template <class Fn>
inline void with_activation(Activation kind, Fn&& fn) {
  switch (kind) {
    case Activation::none: return fn(Identity{});
    case Activation::relu: return fn(Relu{});
    case Activation::leaky_relu: return fn(LeakyRelu{});
    case Activation::sigmoid: return fn(Sigmoid{});
    case Activation::tanh: return fn(Tanh{});
    case Activation::gelu: return fn(Gelu{});
    case Activation::gelu_tanh: return fn(GeluTanh{});
    case Activation::silu: return fn(Silu{});
    case Activation::softplus: return fn(Softplus{});
  }
}

}  // namespace nnx::cpu
