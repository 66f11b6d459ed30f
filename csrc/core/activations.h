// The activations (relu, leaky_relu, sigmoid, tanh, gelu, gelu_tanh, silu, softplus): their value and derivative,
// written once for the CPU kernels (g++) and the CUDA kernels (nvcc): the elementary functions come from a policy
// class `Math` (the CPU's vectorisable approximations in cpu/cpu_math.h, or core/hd.h's LibmMath on the device), the
// formulas around them are shared. Then the elementwise kernels' declarations, forward and backward, for float and
// double, once for the device a translation unit is compiled for (nnx::NNX_DEVICE: core/device_namespace.h).
// Host-compiler clean. CPU: the per-element math is cpu/cpu_math.h's. CUDA: the formulas are the CPU's, with the
// device's libm for exp/tanh/erfc/log1p; launchers queue on current_stream() and never synchronise.
#pragma once
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/device_namespace.h"
#include "core/hd.h"

namespace nnx {

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

// The two halves of a sigmoid, both without cancellation: {1 / (1 + e), e / (1 + e)} with e = exp(-|x|),
// so sigmoid(x) is the first for x >= 0 and the second otherwise, and 1 - sigmoid(x) the other one.
template <class T>
struct SigmoidHalves {
  T large, small;
};

// ---- The activations ------------------------------------------------------------------------------
// forward(x) is the value; backward(grad, saved) is grad * act'(x), where `saved` is the forward's
// output when kBackwardReadsOutput and its input otherwise. Formulas and edge cases follow PyTorch
// (relu/threshold_backward, leaky_relu, sigmoid_backward, tanh_backward, gelu_backward, silu_backward,
// softplus_backward); sigmoid-like terms use the cancellation-free halves, so inputs of any finite size
// give finite results. Each kernel instantiates ActivationFormulas<its Math>::<Op>.
template <class Math>
struct ActivationFormulas {
  template <class T>
  static NNX_HD SigmoidHalves<T> sigmoid_halves(T x) {
    const T e = Math::exp(-std::fabs(x));
    const T large = T(1) / (T(1) + e);
    return {large, e * large};
  }

  template <class T>
  static NNX_HD T sigmoid_of(T x) {
    const SigmoidHalves<T> h = sigmoid_halves(x);
    return x >= T(0) ? h.large : h.small;
  }

  struct Identity {
    static constexpr bool kBackwardReadsOutput = false;
    template <class T>
    static NNX_HD T forward(T x, const ActivationParams<T>&) { return x; }
    template <class T>
    static NNX_HD T backward(T grad, T, const ActivationParams<T>&) { return grad; }
  };

  struct Relu {
    static constexpr bool kBackwardReadsOutput = true;
    template <class T>  // `x < 0 ? 0 : x` keeps NaN, as torch.relu does
    static NNX_HD T forward(T x, const ActivationParams<T>&) { return x < T(0) ? T(0) : x; }
    template <class T>  // a select, not a product: an infinite grad where out is 0 gives 0, not NaN
    static NNX_HD T backward(T grad, T out, const ActivationParams<T>&) { return out <= T(0) ? T(0) : grad; }
  };

  // The backward reads the sign of x from out, which needs negative_slope >= 0 (the bindings check).
  struct LeakyRelu {
    static constexpr bool kBackwardReadsOutput = true;
    template <class T>
    static NNX_HD T forward(T x, const ActivationParams<T>& p) {
      const T scaled = x * p.negative_slope;  // computed unconditionally so the select vectorises
      return x > T(0) ? x : scaled;
    }
    template <class T>
    static NNX_HD T backward(T grad, T out, const ActivationParams<T>& p) {
      const T scaled = grad * p.negative_slope;
      return out > T(0) ? grad : scaled;
    }
  };

  struct Sigmoid {
    static constexpr bool kBackwardReadsOutput = true;
    template <class T>
    static NNX_HD T forward(T x, const ActivationParams<T>&) { return sigmoid_of(x); }
    template <class T>
    static NNX_HD T backward(T grad, T out, const ActivationParams<T>&) { return grad * (T(1) - out) * out; }
  };

  struct Tanh {
    static constexpr bool kBackwardReadsOutput = true;
    template <class T>
    static NNX_HD T forward(T x, const ActivationParams<T>&) { return Math::tanh(x); }
    template <class T>
    static NNX_HD T backward(T grad, T out, const ActivationParams<T>&) { return grad * (T(1) - out * out); }
  };

  // Exact GELU, x * Phi(x), with Phi(x) = erfc(-x / sqrt 2) / 2 taken from the side that does not cancel.
  struct Gelu {
    static constexpr bool kBackwardReadsOutput = false;
    template <class T>
    static NNX_HD T normal_cdf(T x) {
      const T tail = T(0.5) * Math::erfc_nonnegative(std::fabs(x) * T(0.70710678118654752440));
      return x >= T(0) ? T(1) - tail : tail;
    }
    template <class T>
    static NNX_HD T forward(T x, const ActivationParams<T>&) { return x * normal_cdf(x); }
    template <class T>
    static NNX_HD T backward(T grad, T x, const ActivationParams<T>&) {
      const T pdf = T(0.39894228040143267794) * Math::exp(T(-0.5) * x * x);
      return grad * (normal_cdf(x) + x * pdf);
    }
  };

  // Tanh-approximated GELU: 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), computed as
  // x * sigmoid(2u), the same number without the cancellation of 1 + tanh(u) for negative x.
  struct GeluTanh {
    static constexpr bool kBackwardReadsOutput = false;
    template <class T>
    static NNX_HD T twice_inner(T x) { return T(2 * 0.79788456080286535588) * (x + T(0.044715) * x * x * x); }
    template <class T>
    static NNX_HD T forward(T x, const ActivationParams<T>&) { return x * sigmoid_of(twice_inner(x)); }
    template <class T>
    static NNX_HD T backward(T grad, T x, const ActivationParams<T>&) {
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
    static NNX_HD T forward(T x, const ActivationParams<T>&) { return x * sigmoid_of(x); }
    template <class T>  // sigmoid (1 + x (1 - sigmoid)), written so 1 - sigmoid never cancels
    static NNX_HD T backward(T grad, T x, const ActivationParams<T>&) {
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
    static NNX_HD T forward(T x, const ActivationParams<T>& p) {
      const T z = x * p.beta;
      const T positive_part = z > T(0) ? z : T(0);  // not std::fmax: a libm call GCC will not vectorise
      const T smooth = (positive_part + Math::log1p_unit(Math::exp(-std::fabs(z)))) / p.beta;
      return z > p.threshold ? x : smooth;
    }
    template <class T>
    static NNX_HD T backward(T grad, T x, const ActivationParams<T>& p) {
      const T z = x * p.beta;
      return z > p.threshold ? grad : grad * sigmoid_of(z);
    }
  };

  // Calls fn(Op{}) with the struct of `kind`, so a kernel writes its loop once and gets one
  // specialised copy per activation (host code: it picks the loop or the CUDA kernel to run).
  template <class Fn>
  static void dispatch(Activation kind, Fn&& fn) {
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
};

}  // namespace nnx

namespace nnx::NNX_DEVICE {

// out(n) = act(x(n)). out may be x itself (in place); any other overlap is not allowed.
template <class T>
void activation_forward(T* out, const T* x, int64_t n, Activation kind, const ActivationParams<T>& params);

// grad_in(n) = grad_out(n) * act'(x). The derivative reads the forward's output `out` for relu,
// leaky_relu, sigmoid and tanh, and its input `x` for the others (the unused one may be null).
// grad_in may be grad_out itself.
template <class T>
void activation_backward(T* grad_in, const T* grad_out, const T* x, const T* out, int64_t n, Activation kind,
                         const ActivationParams<T>& params);

}  // namespace nnx::NNX_DEVICE
