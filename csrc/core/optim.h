// Fused optimizer steps (SGD, Adam/AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam): one call updates a
// whole parameter group in place. First the per-element updates, written once for the CPU kernels (cpu/optim.cpp)
// and the CUDA kernels (cuda/optim.cu). They follow torch.optim's single-tensor code operation by operation; the
// scalars are computed on the host in double, as torch.optim computes them in Python, then rounded to T. The
// kernels keep only how they walk a parameter group. Then the kernels' declarations, once for the device a
// translation unit is compiled for (nnx::NNX_DEVICE: core/device_namespace.h); host-compiler clean.
//
// Every operation goes through an arithmetic policy A, so that no compiler may contract a multiply and an add
// on its own: A::mul, add, sub, div, sqrt (each rounded once), abs, and A::fmadd (a * b + c rounded once), used
// exactly where PyTorch's CPU build fuses (lerp, add with alpha, addcmul; found by comparing results bit for bit).
// The CPU's policy is plain operators in a file compiled without contraction (include this header after that
// pragma), std::fma where the CPU has FMA; the GPU's is the explicitly rounded intrinsics (__fmul_rn, ...). So
// the two devices agree to the last bit when the CPU build has FMA, and to float rounding otherwise.
// Constructors run on the host; the update functions on either device.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/device_namespace.h"
#include "core/hd.h"
#include "core/optim_options.h"

namespace nnx {

// torch.maximum: NaN in either argument propagates.
template <class T>
NNX_HD T nan_max(T a, T b) {
  return ((a < b) | (b != b)) ? b : a;
}

// torch.lerp(start, end, weight) as its vectorized CPU kernel computes it: from start when |weight| < 0.5,
// from end otherwise (the accurate side).
template <class T, class A>
struct Lerp {
  explicit Lerp(double w)
      : from_start(std::abs(static_cast<T>(w)) < T(0.5)),
        coefficient(from_start ? static_cast<T>(w) : static_cast<T>(w) - T(1)) {}
  NNX_HD T operator()(T start, T end) const {
    return A::fmadd(coefficient, A::sub(end, start), from_start ? start : end);
  }
  bool from_start;
  T coefficient;
};

// The gradient as PyTorch's optimizers first see it: negated when maximizing, plus the L2 term
// (grad.add(param, alpha=weight_decay)).
template <class T, class A>
struct EffectiveGrad {
  EffectiveGrad(bool maximize, double weight_decay)
      : sign(maximize ? T(-1) : T(1)), weight_decay(static_cast<T>(weight_decay)), l2(weight_decay != 0.0) {}
  NNX_HD T operator()(T grad, T param) const {
    const T g = A::mul(grad, sign);  // exact: a multiplication by +-1
    return l2 ? A::fmadd(param, weight_decay, g) : g;
  }
  T sign, weight_decay;
  bool l2;
};

// AdamW-style decay shrinks the parameter first; otherwise a factor of exactly 1 changes nothing.
template <class Options>
bool decoupled_decay(const Options& o) {
  return o.decoupled_weight_decay && o.weight_decay != 0.0;
}
template <class Options>
double decay_factor(const Options& o) {
  return decoupled_decay(o) ? 1.0 - o.lr * o.weight_decay : 1.0;
}

// ---- SGD ---------------------------------------------------------------------------------------

template <class T, class A>
struct SgdStep {
  explicit SgdStep(const SgdOptions& o)
      : effective_grad(o.maximize, o.weight_decay),
        neg_lr(static_cast<T>(-o.lr)),
        momentum(static_cast<T>(o.momentum)),
        one_minus_dampening(static_cast<T>(1.0 - o.dampening)),
        use_momentum(o.momentum != 0.0),
        first_step(o.first_step),
        nesterov(o.nesterov) {}

  // b: the momentum buffer, read and written only with_momentum (a constant where the CPU calls this, so that
  // its loops compile without the test).
  NNX_HD void update(T& p, T g, T& b, bool with_momentum) const {
    T d = effective_grad(g, p);
    if (with_momentum) {
      // The first step's buffer is the gradient itself; b is read anyway (and discarded) so that the
      // select stays branch-free.
      const T buf = first_step ? d : A::fmadd(d, one_minus_dampening, A::mul(b, momentum));
      b = buf;
      d = nesterov ? A::fmadd(buf, momentum, d) : buf;
    }
    p = A::fmadd(d, neg_lr, p);
  }

  EffectiveGrad<T, A> effective_grad;
  T neg_lr, momentum, one_minus_dampening;
  bool use_momentum, first_step, nesterov;
};

// ---- Adam / AdamW ------------------------------------------------------------------------------
// In two halves, so that the CPU can take a block's square roots in one vector pass between them:
// moments() updates m, v (and v_max) and returns the second moment, parameter() takes its square root.
// The flags (amsgrad, with_momentum, ...) are constants where the CPU calls these, run-time values on the GPU.

template <class T, class A>
struct AdamStep {
  explicit AdamStep(const AdamOptions& o)
      : effective_grad(o.maximize, decoupled_decay(o) ? 0.0 : o.weight_decay), toward_grad(1.0 - o.beta1) {
    const double step = static_cast<double>(o.step);
    const double bias_correction1 = 1.0 - std::pow(o.beta1, step);
    const double bias_correction2 = 1.0 - std::pow(o.beta2, step);
    neg_step_size = static_cast<T>(-(o.lr / bias_correction1));
    bias_correction2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
    eps = static_cast<T>(o.eps);
    beta2 = static_cast<T>(o.beta2);
    one_minus_beta2 = static_cast<T>(1.0 - o.beta2);
    decay = static_cast<T>(decay_factor(o));
  }

  NNX_HD T moments(T g, T p, T& exp_avg, T& exp_avg_sq, T& max_exp_avg_sq, bool amsgrad) const {
    const T grad = effective_grad(g, p);
    exp_avg = toward_grad(exp_avg, grad);
    // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    const T v = A::fmadd(A::mul(one_minus_beta2, grad), grad, A::mul(exp_avg_sq, beta2));
    exp_avg_sq = v;
    T second_moment = v;
    if (amsgrad) {
      second_moment = nan_max(max_exp_avg_sq, v);
      max_exp_avg_sq = second_moment;
    }
    return second_moment;
  }

  // root: the square root of moments()'s result. param.addcdiv_(exp_avg, denom, value=-step_size).
  NNX_HD T parameter(T p, T exp_avg, T root) const {
    const T param = A::mul(p, decay);
    return A::add(param, A::div(A::mul(neg_step_size, exp_avg), A::add(A::div(root, bias_correction2_sqrt), eps)));
  }

  EffectiveGrad<T, A> effective_grad;
  Lerp<T, A> toward_grad;
  T neg_step_size, bias_correction2_sqrt, eps, beta2, one_minus_beta2, decay;
};

// ---- RMSprop -----------------------------------------------------------------------------------
// In two halves like Adam: variance() updates the averages, parameter() takes the variance's square root.

template <class T, class A>
struct RmspropStep {
  explicit RmspropStep(const RmspropOptions& o)
      : effective_grad(o.maximize, o.weight_decay),
        toward_grad(1.0 - o.alpha),
        alpha(static_cast<T>(o.alpha)),
        one_minus_alpha(static_cast<T>(1.0 - o.alpha)),
        eps(static_cast<T>(o.eps)),
        neg_lr(static_cast<T>(-o.lr)),
        momentum(static_cast<T>(o.momentum)),
        centered(o.centered),
        use_momentum(o.momentum != 0.0) {}

  // grad: effective_grad(g, p).
  NNX_HD T variance(T grad, T& square_avg, T& grad_avg, bool with_centering) const {
    // square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    const T sq = A::fmadd(A::mul(one_minus_alpha, grad), grad, A::mul(square_avg, alpha));
    square_avg = sq;
    T result = sq;
    if (with_centering) {
      const T avg = toward_grad(grad_avg, grad);
      grad_avg = avg;
      result = A::fmadd(-avg, avg, sq);  // square_avg.addcmul(grad_avg, grad_avg, value=-1)
    }
    return result;
  }

  // root: the square root of variance()'s result; b: the momentum buffer (only with_momentum).
  NNX_HD void parameter(T& p, T grad, T& b, T root, bool with_momentum) const {
    const T denom = A::add(root, eps);
    if (with_momentum) {
      const T buf = A::add(A::mul(b, momentum), A::div(grad, denom));
      b = buf;
      p = A::fmadd(buf, neg_lr, p);
    } else {
      p = A::add(p, A::div(A::mul(neg_lr, grad), denom));
    }
  }

  EffectiveGrad<T, A> effective_grad;
  Lerp<T, A> toward_grad;
  T alpha, one_minus_alpha, eps, neg_lr, momentum;
  bool centered, use_momentum;
};

// ---- Adagrad, Adadelta, Adamax, NAdam, RAdam: one element at a time --------------------------------
// operator()(p, g, state...) updates the parameter and its kStates state values from the gradient.

template <class T, class A>
struct AdagradStep {
  static constexpr int kStates = 1;  // state_sum
  explicit AdagradStep(const AdagradOptions& o)
      : effective_grad(o.maximize, o.weight_decay),
        neg_clr(static_cast<T>(-(o.lr / (1.0 + static_cast<double>(o.step - 1) * o.lr_decay)))),
        eps(static_cast<T>(o.eps)) {}
  NNX_HD void operator()(T& p, T g, T& sum) const {
    const T grad = effective_grad(g, p);
    const T s = A::fmadd(grad, grad, sum);  // state_sum.addcmul_(grad, grad, value=1)
    sum = s;
    p = A::add(p, A::div(A::mul(neg_clr, grad), A::add(A::sqrt(s), eps)));  // param.addcdiv_(grad, std, value=-clr)
  }
  EffectiveGrad<T, A> effective_grad;
  T neg_clr, eps;
};

template <class T, class A>
struct AdadeltaStep {
  static constexpr int kStates = 2;  // square_avg, acc_delta
  explicit AdadeltaStep(const AdadeltaOptions& o)
      : effective_grad(o.maximize, o.weight_decay),
        rho(static_cast<T>(o.rho)),
        one_minus_rho(static_cast<T>(1.0 - o.rho)),
        eps(static_cast<T>(o.eps)),
        neg_lr(static_cast<T>(-o.lr)) {}
  NNX_HD void operator()(T& p, T g, T& square_avg, T& acc_delta) const {
    const T grad = effective_grad(g, p);
    const T sq = A::fmadd(A::mul(one_minus_rho, grad), grad, A::mul(square_avg, rho));
    square_avg = sq;
    const T std_ = A::sqrt(A::add(sq, eps));
    const T delta = A::mul(A::div(A::sqrt(A::add(acc_delta, eps)), std_), grad);  // delta.div_(std).mul_(grad)
    acc_delta = A::fmadd(A::mul(one_minus_rho, delta), delta, A::mul(acc_delta, rho));
    p = A::fmadd(delta, neg_lr, p);  // param.add_(delta, alpha=-lr)
  }
  EffectiveGrad<T, A> effective_grad;
  T rho, one_minus_rho, eps, neg_lr;
};

template <class T, class A>
struct AdamaxStep {
  static constexpr int kStates = 2;  // exp_avg, exp_inf
  explicit AdamaxStep(const AdamaxOptions& o)
      : effective_grad(o.maximize, o.weight_decay),
        toward_grad(1.0 - o.beta1),
        beta2(static_cast<T>(o.beta2)),
        eps(static_cast<T>(o.eps)),
        neg_clr(static_cast<T>(-(o.lr / (1.0 - std::pow(o.beta1, static_cast<double>(o.step)))))) {}
  NNX_HD void operator()(T& p, T g, T& exp_avg, T& exp_inf) const {
    const T grad = effective_grad(g, p);
    const T m = toward_grad(exp_avg, grad);
    exp_avg = m;
    // torch.maximum(exp_inf * beta2, |g| + eps)
    const T u = nan_max(A::mul(exp_inf, beta2), A::add(A::abs(grad), eps));
    exp_inf = u;
    p = A::add(p, A::div(A::mul(neg_clr, m), u));  // param.addcdiv_(exp_avg, exp_inf, value=-clr)
  }
  EffectiveGrad<T, A> effective_grad;
  Lerp<T, A> toward_grad;
  T beta2, eps, neg_clr;
};

template <class T, class A>
struct NadamStep {
  static constexpr int kStates = 2;  // exp_avg, exp_avg_sq
  explicit NadamStep(const NadamOptions& o) : NadamStep(o, NadamCoefficients(o)) {}
  NadamStep(const NadamOptions& o, const NadamCoefficients& c)
      : effective_grad(o.maximize, decoupled_decay(o) ? 0.0 : o.weight_decay),
        toward_grad(1.0 - o.beta1),
        decay(static_cast<T>(decay_factor(o))),
        beta2(static_cast<T>(o.beta2)),
        one_minus_beta2(static_cast<T>(1.0 - o.beta2)),
        bias_correction2(static_cast<T>(c.bias_correction2)),
        eps(static_cast<T>(o.eps)),
        grad_coefficient(static_cast<T>(c.grad_coefficient)),
        exp_avg_coefficient(static_cast<T>(c.exp_avg_coefficient)) {}
  NNX_HD void operator()(T& p, T g, T& exp_avg, T& exp_avg_sq) const {
    const T param = A::mul(p, decay);  // param.mul_(1 - lr * weight_decay) when decoupled; exact otherwise
    const T grad = effective_grad(g, param);
    const T m = toward_grad(exp_avg, grad);
    exp_avg = m;
    const T v = A::fmadd(A::mul(one_minus_beta2, grad), grad, A::mul(exp_avg_sq, beta2));
    exp_avg_sq = v;
    const T denom = A::add(A::sqrt(A::div(v, bias_correction2)), eps);
    // param.addcdiv_(grad, denom, value=...), then param.addcdiv_(exp_avg, denom, value=...)
    const T stepped = A::add(param, A::div(A::mul(grad_coefficient, grad), denom));
    p = A::add(stepped, A::div(A::mul(exp_avg_coefficient, m), denom));
  }
  EffectiveGrad<T, A> effective_grad;
  Lerp<T, A> toward_grad;
  T decay, beta2, one_minus_beta2, bias_correction2, eps, grad_coefficient, exp_avg_coefficient;
};

template <class T, class A>
struct RadamStep {
  static constexpr int kStates = 2;  // exp_avg, exp_avg_sq
  explicit RadamStep(const RadamOptions& o) : RadamStep(o, RadamCoefficients(o)) {}
  RadamStep(const RadamOptions& o, const RadamCoefficients& c)
      : effective_grad(o.maximize, decoupled_decay(o) ? 0.0 : o.weight_decay),
        toward_grad(1.0 - o.beta1),
        decay(static_cast<T>(decay_factor(o))),
        beta2(static_cast<T>(o.beta2)),
        one_minus_beta2(static_cast<T>(1.0 - o.beta2)),
        bias_correction1(static_cast<T>(c.bias_correction1)),
        bias_correction2_sqrt(static_cast<T>(c.bias_correction2_sqrt)),
        lr(static_cast<T>(o.lr)),
        eps(static_cast<T>(o.eps)),
        rect(static_cast<T>(c.rect)),
        rectified(c.rectified) {}
  NNX_HD void operator()(T& p, T g, T& exp_avg, T& exp_avg_sq) const {
    const T param = A::mul(p, decay);
    const T grad = effective_grad(g, param);
    const T m = toward_grad(exp_avg, grad);
    exp_avg = m;
    const T v = A::fmadd(A::mul(one_minus_beta2, grad), grad, A::mul(exp_avg_sq, beta2));
    exp_avg_sq = v;
    const T corrected = A::mul(A::div(m, bias_correction1), lr);
    // bias_corrected_exp_avg * lr * (bias_correction2 ** 0.5 / (exp_avg_sq.sqrt() + eps)) * rect
    const T update =
        rectified ? A::mul(A::mul(corrected, A::div(bias_correction2_sqrt, A::add(A::sqrt(v), eps))), rect) : corrected;
    p = A::sub(param, update);  // param.add_(update, alpha=-1.0)
  }
  EffectiveGrad<T, A> effective_grad;
  Lerp<T, A> toward_grad;
  T decay, beta2, one_minus_beta2, bias_correction1, bias_correction2_sqrt, lr, eps, rect;
  bool rectified;
};

}  // namespace nnx

namespace nnx::NNX_DEVICE {

// The options structs and the newer steps' per-call scalars: core/optim_options.h.
using nnx::AdadeltaOptions;
using nnx::AdagradOptions;
using nnx::AdamaxOptions;
using nnx::AdamOptions;
using nnx::NadamCoefficients;
using nnx::NadamOptions;
using nnx::RadamCoefficients;
using nnx::RadamOptions;
using nnx::RmspropOptions;
using nnx::SgdOptions;

// Every kernel takes a parameter group as parallel host arrays of `count` pointers (CUDA: DEVICE pointers, on the
// current device): entry i of each array points at a contiguous tensor of sizes[i] elements. Optional state
// arrays (momentum_buffers, max_exp_avg_sqs, grad_avgs) may be null when the options do not use them. Arithmetic
// follows torch.optim's single-tensor code step by step (same operation order, scalars computed in double and
// rounded to T), so results agree with PyTorch to float rounding.
// CPU: the group is updated as one concatenated element range split across threads, so one huge tensor and many
// small ones both use every core. CUDA: multi-tensor kernels, one launch per 64 tensors (the pointer table
// travels as a kernel argument).

// params, momentum_buffers: [count] x (sizes[i],) updated in place; momentum_buffers may be null when
// momentum == 0. grads: [count] x (sizes[i],), read only.
template <class T>
void sgd_step(T* const* params, const T* const* grads, T* const* momentum_buffers, const int64_t* sizes,
              int64_t count, const SgdOptions& options);

// params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs: [count] x (sizes[i],) updated in place;
// max_exp_avg_sqs may be null unless amsgrad. grads: read only.
template <class T>
void adam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
               T* const* max_exp_avg_sqs, const int64_t* sizes, int64_t count, const AdamOptions& options);

// params, square_avgs, grad_avgs, momentum_buffers: [count] x (sizes[i],) updated in place;
// grad_avgs may be null unless centered, momentum_buffers unless momentum != 0. grads: read only.
template <class T>
void rmsprop_step(T* const* params, const T* const* grads, T* const* square_avgs, T* const* grad_avgs,
                  T* const* momentum_buffers, const int64_t* sizes, int64_t count, const RmspropOptions& options);

// params, state_sums: [count] x (sizes[i],) updated in place; grads: read only.
template <class T>
void adagrad_step(T* const* params, const T* const* grads, T* const* state_sums, const int64_t* sizes, int64_t count,
                  const AdagradOptions& options);

// params, square_avgs, acc_deltas: [count] x (sizes[i],) updated in place; grads: read only.
template <class T>
void adadelta_step(T* const* params, const T* const* grads, T* const* square_avgs, T* const* acc_deltas,
                   const int64_t* sizes, int64_t count, const AdadeltaOptions& options);

// params, exp_avgs, exp_infs: [count] x (sizes[i],) updated in place; grads: read only.
template <class T>
void adamax_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_infs,
                 const int64_t* sizes, int64_t count, const AdamaxOptions& options);

// params, exp_avgs, exp_avg_sqs: [count] x (sizes[i],) updated in place; grads: read only.
template <class T>
void nadam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                const int64_t* sizes, int64_t count, const NadamOptions& options);

// params, exp_avgs, exp_avg_sqs: [count] x (sizes[i],) updated in place; grads: read only.
template <class T>
void radam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                const int64_t* sizes, int64_t count, const RadamOptions& options);

}  // namespace nnx::NNX_DEVICE
