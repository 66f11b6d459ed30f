// Fused optimizer steps over a whole parameter group (SGD, Adam/AdamW, RMSprop, Adagrad, Adadelta, Adamax,
// NAdam, RAdam): each element is read and written once per step
// (from memory; the second pass over a block hits L1). Options that touch extra state (momentum
// buffers, amsgrad, centered) are template parameters; the others are loop-invariant selects. Both
// keep the inner loops vectorized.
#include "cpu/optim.h"

// Rounding follows torch.optim's single-tensor code op by op, so the compiler must not fuse a multiply
// and an add on its own (GCC does by default); fmadd() fuses exactly where PyTorch's CPU build does
// (lerp, add with alpha, addcmul; found by comparing results bit for bit).
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <algorithm>
#include <cmath>

#include "core/parallel.h"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace nnx::cpu {

namespace {

// Calls update(i, begin, end) for the part of tensor i inside each thread's share of the group's
// concatenated element range. The walk over tensors is linear, which is cheap next to the elements.
template <class Update>
void for_each_slice(const int64_t* sizes, int64_t count, Update&& update) {
  int64_t total = 0;
  for (int64_t i = 0; i < count; ++i) total += sizes[i];
  parallel_for(total, kParallelGrain, [&](int64_t begin, int64_t end) {
    int64_t offset = 0;
    for (int64_t i = 0; i < count && offset < end; ++i) {
      const int64_t lo = std::max(begin, offset), hi = std::min(end, offset + sizes[i]);
      if (lo < hi) update(i, lo - offset, hi - offset);
      offset += sizes[i];
    }
  });
}

// a * b + c, rounded once where the hardware has FMA, like PyTorch's vec::fmadd.
template <class T>
inline T fmadd(T a, T b, T c) {
#if defined(__FMA__)
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// torch.lerp(start, end, weight) as its vectorized kernel computes it: from start when |weight| < 0.5,
// from end otherwise (the accurate side).
template <class T>
struct Lerp {
  explicit Lerp(double w)
      : from_start(std::abs(static_cast<T>(w)) < T(0.5)),
        coefficient(from_start ? static_cast<T>(w) : static_cast<T>(w) - T(1)) {}
  T operator()(T start, T end) const { return fmadd(coefficient, end - start, from_start ? start : end); }
  bool from_start;
  T coefficient;
};

// The gradient as PyTorch's optimizers first see it: negated when maximizing, plus the L2 term
// (grad.add(param, alpha=weight_decay)).
template <class T>
struct EffectiveGrad {
  EffectiveGrad(bool maximize, double weight_decay)
      : sign(maximize ? T(-1) : T(1)), weight_decay(static_cast<T>(weight_decay)), l2(weight_decay != 0.0) {}
  T operator()(T grad, T param) const {
    const T g = grad * sign;  // exact: a multiplication by +-1
    return l2 ? fmadd(param, weight_decay, g) : g;
  }
  T sign, weight_decay;
  bool l2;
};

// Elements per block in the kernels that take square roots: small enough that a block of every
// stream stays in L1, large enough to amortize the loop overheads (128 measured best for Adam).
constexpr int64_t kBlock = 128;

// x = sqrt(x) over a block, with the SIMD instruction (rounds exactly like std::sqrt, IEEE; NaN for x < 0).
// Written when GCC's default -fmath-errno kept a libm call per sqrt and stopped the update loops
// vectorizing; the build now passes -fno-math-errno, so an inline std::sqrt might do as well, but the
// separate pass has not been re-measured against it and stays.
inline void sqrt_in_place(float* x, int64_t n) {
  int64_t j = 0;
#if defined(__AVX512F__)
  for (; j + 16 <= n; j += 16) _mm512_storeu_ps(x + j, _mm512_sqrt_ps(_mm512_loadu_ps(x + j)));
#elif defined(__AVX__)
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(x + j, _mm256_sqrt_ps(_mm256_loadu_ps(x + j)));
#elif defined(__SSE2__)
  for (; j + 4 <= n; j += 4) _mm_storeu_ps(x + j, _mm_sqrt_ps(_mm_loadu_ps(x + j)));
#endif
  for (; j < n; ++j) x[j] = std::sqrt(x[j]);
}

inline void sqrt_in_place(double* x, int64_t n) {
  int64_t j = 0;
#if defined(__AVX512F__)
  for (; j + 8 <= n; j += 8) _mm512_storeu_pd(x + j, _mm512_sqrt_pd(_mm512_loadu_pd(x + j)));
#elif defined(__AVX__)
  for (; j + 4 <= n; j += 4) _mm256_storeu_pd(x + j, _mm256_sqrt_pd(_mm256_loadu_pd(x + j)));
#elif defined(__SSE2__)
  for (; j + 2 <= n; j += 2) _mm_storeu_pd(x + j, _mm_sqrt_pd(_mm_loadu_pd(x + j)));
#endif
  for (; j < n; ++j) x[j] = std::sqrt(x[j]);
}

// torch.maximum: NaN in either argument propagates.
template <class T>
inline T nan_max(T a, T b) {
  return ((a < b) | (b != b)) ? b : a;
}

// ---- SGD ---------------------------------------------------------------------------------------

template <class T>
struct SgdScalars {
  explicit SgdScalars(const SgdOptions& o)
      : effective_grad(o.maximize, o.weight_decay),
        neg_lr(static_cast<T>(-o.lr)),
        momentum(static_cast<T>(o.momentum)),
        one_minus_dampening(static_cast<T>(1.0 - o.dampening)),
        first_step(o.first_step),
        nesterov(o.nesterov) {}

  EffectiveGrad<T> effective_grad;
  T neg_lr, momentum, one_minus_dampening;
  bool first_step, nesterov;
};

template <class T, bool kMomentum>
void sgd_slice(const SgdScalars<T>& s, T* __restrict p, const T* __restrict g, T* __restrict b, int64_t n) {
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) {
    T d = s.effective_grad(g[k], p[k]);
    if constexpr (kMomentum) {
      // The first step's buffer is the gradient itself; b[k] is read anyway (and discarded) so that the
      // select stays branch-free.
      const T buf = s.first_step ? d : fmadd(d, s.one_minus_dampening, b[k] * s.momentum);
      b[k] = buf;
      d = s.nesterov ? fmadd(buf, s.momentum, d) : buf;
    }
    p[k] = fmadd(d, s.neg_lr, p[k]);
  }
}

template <class T, bool kMomentum>
void sgd_group(T* const* params, const T* const* grads, T* const* momentum_buffers, const int64_t* sizes,
               int64_t count, const SgdOptions& o) {
  const SgdScalars<T> scalars(o);
  for_each_slice(sizes, count, [&](int64_t i, int64_t begin, int64_t end) {
    T* b = kMomentum ? momentum_buffers[i] + begin : nullptr;
    sgd_slice<T, kMomentum>(scalars, params[i] + begin, grads[i] + begin, b, end - begin);
  });
}

// ---- Adam / AdamW ------------------------------------------------------------------------------

template <class T>
struct AdamScalars {
  explicit AdamScalars(const AdamOptions& o)
      : effective_grad(o.maximize, decoupled(o) ? 0.0 : o.weight_decay), toward_grad(1.0 - o.beta1) {
    // Computed in double exactly as torch.optim computes them in Python, then rounded to T.
    const double step = static_cast<double>(o.step);
    const double bias_correction1 = 1.0 - std::pow(o.beta1, step);
    const double bias_correction2 = 1.0 - std::pow(o.beta2, step);
    neg_step_size = static_cast<T>(-(o.lr / bias_correction1));
    bias_correction2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
    eps = static_cast<T>(o.eps);
    beta2 = static_cast<T>(o.beta2);
    one_minus_beta2 = static_cast<T>(1.0 - o.beta2);
    // AdamW shrinks the parameter first; otherwise a factor of exactly 1 changes nothing.
    decay = static_cast<T>(decoupled(o) ? 1.0 - o.lr * o.weight_decay : 1.0);
  }
  static bool decoupled(const AdamOptions& o) { return o.decoupled_weight_decay && o.weight_decay != 0.0; }

  EffectiveGrad<T> effective_grad;
  Lerp<T> toward_grad;
  T neg_step_size, bias_correction2_sqrt, eps, beta2, one_minus_beta2, decay;
};

// One tensor's slice of n elements, in blocks: the moments first, then the square roots of a whole
// block, then the parameter (see sqrt_in_place for why the square roots are a separate pass).
template <class T, bool kAmsgrad>
void adam_slice(const AdamScalars<T>& s, T* __restrict p, const T* __restrict g, T* __restrict m,
                T* __restrict v, T* __restrict v_max, int64_t n) {
  T denom[kBlock];
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t width = std::min(kBlock, n - start);
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) {
      const int64_t k = start + j;
      const T grad = s.effective_grad(g[k], p[k]);
      m[k] = s.toward_grad(m[k], grad);
      // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
      const T exp_avg_sq = fmadd(s.one_minus_beta2 * grad, grad, v[k] * s.beta2);
      v[k] = exp_avg_sq;
      T second_moment = exp_avg_sq;
      if constexpr (kAmsgrad) {
        second_moment = nan_max(v_max[k], exp_avg_sq);
        v_max[k] = second_moment;
      }
      denom[j] = second_moment;
    }
    sqrt_in_place(denom, width);
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) {
      const int64_t k = start + j;
      const T param = p[k] * s.decay;
      // param.addcdiv_(exp_avg, denom, value=-step_size)
      p[k] = param + s.neg_step_size * m[k] / (denom[j] / s.bias_correction2_sqrt + s.eps);
    }
  }
}

template <class T, bool kAmsgrad>
void adam_group(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                T* const* max_exp_avg_sqs, const int64_t* sizes, int64_t count, const AdamOptions& o) {
  const AdamScalars<T> scalars(o);
  for_each_slice(sizes, count, [&](int64_t i, int64_t begin, int64_t end) {
    T* v_max = kAmsgrad ? max_exp_avg_sqs[i] + begin : nullptr;
    adam_slice<T, kAmsgrad>(scalars, params[i] + begin, grads[i] + begin, exp_avgs[i] + begin,
                            exp_avg_sqs[i] + begin, v_max, end - begin);
  });
}

// ---- RMSprop -----------------------------------------------------------------------------------

template <class T>
struct RmspropScalars {
  explicit RmspropScalars(const RmspropOptions& o)
      : effective_grad(o.maximize, o.weight_decay),
        toward_grad(1.0 - o.alpha),
        alpha(static_cast<T>(o.alpha)),
        one_minus_alpha(static_cast<T>(1.0 - o.alpha)),
        eps(static_cast<T>(o.eps)),
        neg_lr(static_cast<T>(-o.lr)),
        momentum(static_cast<T>(o.momentum)) {}

  EffectiveGrad<T> effective_grad;
  Lerp<T> toward_grad;
  T alpha, one_minus_alpha, eps, neg_lr, momentum;
};

// Same blocked structure as adam_slice: running averages, square roots, then the parameter.
template <class T, bool kCentered, bool kMomentum>
void rmsprop_slice(const RmspropScalars<T>& s, T* __restrict p, const T* __restrict g, T* __restrict sq,
                   T* __restrict ga, T* __restrict b, int64_t n) {
  T avg[kBlock];
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t width = std::min(kBlock, n - start);
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) {
      const int64_t k = start + j;
      const T grad = s.effective_grad(g[k], p[k]);
      // square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
      const T square_avg = fmadd(s.one_minus_alpha * grad, grad, sq[k] * s.alpha);
      sq[k] = square_avg;
      T variance = square_avg;
      if constexpr (kCentered) {
        const T grad_avg = s.toward_grad(ga[k], grad);
        ga[k] = grad_avg;
        variance = fmadd(-grad_avg, grad_avg, square_avg);  // square_avg.addcmul(grad_avg, grad_avg, value=-1)
      }
      avg[j] = variance;
    }
    sqrt_in_place(avg, width);
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) {
      const int64_t k = start + j;
      const T grad = s.effective_grad(g[k], p[k]);
      const T denom = avg[j] + s.eps;
      if constexpr (kMomentum) {
        const T buf = b[k] * s.momentum + grad / denom;
        b[k] = buf;
        p[k] = fmadd(buf, s.neg_lr, p[k]);
      } else {
        p[k] = p[k] + s.neg_lr * grad / denom;
      }
    }
  }
}

template <class T, bool kCentered, bool kMomentum>
void rmsprop_group(T* const* params, const T* const* grads, T* const* square_avgs, T* const* grad_avgs,
                   T* const* momentum_buffers, const int64_t* sizes, int64_t count, const RmspropOptions& o) {
  const RmspropScalars<T> scalars(o);
  for_each_slice(sizes, count, [&](int64_t i, int64_t begin, int64_t end) {
    T* ga = kCentered ? grad_avgs[i] + begin : nullptr;
    T* b = kMomentum ? momentum_buffers[i] + begin : nullptr;
    rmsprop_slice<T, kCentered, kMomentum>(scalars, params[i] + begin, grads[i] + begin, square_avgs[i] + begin,
                                           ga, b, end - begin);
  });
}


// ---- Adagrad, Adadelta, Adamax, NAdam, RAdam -----------------------------------------------------
// One element at a time (the square roots inline: the build passes -fno-math-errno, so the loops still
// vectorize). Each Step functor updates p and its state from g; the group walk is shared.

// Calls step(p, g, a) or step(p, g, a, b) for every element of the group (b: the second state list, if any).
template <class T, class Step>
void elementwise_group(const Step& step, T* const* params, const T* const* grads, T* const* first,
                       T* const* second, const int64_t* sizes, int64_t count) {
  for_each_slice(sizes, count, [&](int64_t i, int64_t begin, int64_t end) {
    T* __restrict p = params[i] + begin;
    const T* __restrict g = grads[i] + begin;
    T* __restrict a = first[i] + begin;
    const int64_t n = end - begin;
    if constexpr (Step::kStates == 1) {
#pragma omp simd
      for (int64_t k = 0; k < n; ++k) step(p[k], g[k], a[k]);
    } else {
      T* __restrict b = second[i] + begin;
#pragma omp simd
      for (int64_t k = 0; k < n; ++k) step(p[k], g[k], a[k], b[k]);
    }
  });
}

template <class T>
struct AdagradStep {
  static constexpr int kStates = 1;  // state_sum
  explicit AdagradStep(const AdagradOptions& o)
      : effective_grad(o.maximize, o.weight_decay),
        neg_clr(static_cast<T>(-(o.lr / (1.0 + static_cast<double>(o.step - 1) * o.lr_decay)))),
        eps(static_cast<T>(o.eps)) {}
  void operator()(T& p, T g, T& sum) const {
    const T grad = effective_grad(g, p);
    const T s = fmadd(grad, grad, sum);  // state_sum.addcmul_(grad, grad, value=1)
    sum = s;
    p = p + neg_clr * grad / (std::sqrt(s) + eps);  // param.addcdiv_(grad, std, value=-clr)
  }
  EffectiveGrad<T> effective_grad;
  T neg_clr, eps;
};

template <class T>
struct AdadeltaStep {
  static constexpr int kStates = 2;  // square_avg, acc_delta
  explicit AdadeltaStep(const AdadeltaOptions& o)
      : effective_grad(o.maximize, o.weight_decay),
        rho(static_cast<T>(o.rho)),
        one_minus_rho(static_cast<T>(1.0 - o.rho)),
        eps(static_cast<T>(o.eps)),
        neg_lr(static_cast<T>(-o.lr)) {}
  void operator()(T& p, T g, T& square_avg, T& acc_delta) const {
    const T grad = effective_grad(g, p);
    const T sq = fmadd(one_minus_rho * grad, grad, square_avg * rho);
    square_avg = sq;
    const T std_ = std::sqrt(sq + eps);
    const T delta = std::sqrt(acc_delta + eps) / std_ * grad;  // delta.div_(std).mul_(grad)
    acc_delta = fmadd(one_minus_rho * delta, delta, acc_delta * rho);
    p = fmadd(delta, neg_lr, p);  // param.add_(delta, alpha=-lr)
  }
  EffectiveGrad<T> effective_grad;
  T rho, one_minus_rho, eps, neg_lr;
};

template <class T>
struct AdamaxStep {
  static constexpr int kStates = 2;  // exp_avg, exp_inf
  explicit AdamaxStep(const AdamaxOptions& o)
      : effective_grad(o.maximize, o.weight_decay),
        toward_grad(1.0 - o.beta1),
        beta2(static_cast<T>(o.beta2)),
        eps(static_cast<T>(o.eps)),
        neg_clr(static_cast<T>(-(o.lr / (1.0 - std::pow(o.beta1, static_cast<double>(o.step)))))) {}
  void operator()(T& p, T g, T& exp_avg, T& exp_inf) const {
    const T grad = effective_grad(g, p);
    const T m = toward_grad(exp_avg, grad);
    exp_avg = m;
    const T u = nan_max(exp_inf * beta2, std::abs(grad) + eps);  // torch.maximum(exp_inf * beta2, |g| + eps)
    exp_inf = u;
    p = p + neg_clr * m / u;  // param.addcdiv_(exp_avg, exp_inf, value=-clr)
  }
  EffectiveGrad<T> effective_grad;
  Lerp<T> toward_grad;
  T beta2, eps, neg_clr;
};

template <class T>
struct NadamStep {
  static constexpr int kStates = 2;  // exp_avg, exp_avg_sq
  explicit NadamStep(const NadamOptions& o) : NadamStep(o, NadamCoefficients(o)) {}
  NadamStep(const NadamOptions& o, const NadamCoefficients& c)
      : effective_grad(o.maximize, decoupled(o) ? 0.0 : o.weight_decay),
        toward_grad(1.0 - o.beta1),
        decay(static_cast<T>(decoupled(o) ? 1.0 - o.lr * o.weight_decay : 1.0)),
        beta2(static_cast<T>(o.beta2)),
        one_minus_beta2(static_cast<T>(1.0 - o.beta2)),
        bias_correction2(static_cast<T>(c.bias_correction2)),
        eps(static_cast<T>(o.eps)),
        grad_coefficient(static_cast<T>(c.grad_coefficient)),
        exp_avg_coefficient(static_cast<T>(c.exp_avg_coefficient)) {}
  static bool decoupled(const NadamOptions& o) { return o.decoupled_weight_decay && o.weight_decay != 0.0; }
  void operator()(T& p, T g, T& exp_avg, T& exp_avg_sq) const {
    const T param = p * decay;  // param.mul_(1 - lr * weight_decay) when decoupled; exact otherwise
    const T grad = effective_grad(g, param);
    const T m = toward_grad(exp_avg, grad);
    exp_avg = m;
    const T v = fmadd(one_minus_beta2 * grad, grad, exp_avg_sq * beta2);
    exp_avg_sq = v;
    const T denom = std::sqrt(v / bias_correction2) + eps;
    const T stepped = param + grad_coefficient * grad / denom;  // param.addcdiv_(grad, denom, value=...)
    p = stepped + exp_avg_coefficient * m / denom;              // param.addcdiv_(exp_avg, denom, value=...)
  }
  EffectiveGrad<T> effective_grad;
  Lerp<T> toward_grad;
  T decay, beta2, one_minus_beta2, bias_correction2, eps, grad_coefficient, exp_avg_coefficient;
};

template <class T>
struct RadamStep {
  static constexpr int kStates = 2;  // exp_avg, exp_avg_sq
  explicit RadamStep(const RadamOptions& o) : RadamStep(o, RadamCoefficients(o)) {}
  RadamStep(const RadamOptions& o, const RadamCoefficients& c)
      : effective_grad(o.maximize, decoupled(o) ? 0.0 : o.weight_decay),
        toward_grad(1.0 - o.beta1),
        decay(static_cast<T>(decoupled(o) ? 1.0 - o.lr * o.weight_decay : 1.0)),
        beta2(static_cast<T>(o.beta2)),
        one_minus_beta2(static_cast<T>(1.0 - o.beta2)),
        bias_correction1(static_cast<T>(c.bias_correction1)),
        bias_correction2_sqrt(static_cast<T>(c.bias_correction2_sqrt)),
        lr(static_cast<T>(o.lr)),
        eps(static_cast<T>(o.eps)),
        rect(static_cast<T>(c.rect)),
        rectified(c.rectified) {}
  static bool decoupled(const RadamOptions& o) { return o.decoupled_weight_decay && o.weight_decay != 0.0; }
  void operator()(T& p, T g, T& exp_avg, T& exp_avg_sq) const {
    const T param = p * decay;
    const T grad = effective_grad(g, param);
    const T m = toward_grad(exp_avg, grad);
    exp_avg = m;
    const T v = fmadd(one_minus_beta2 * grad, grad, exp_avg_sq * beta2);
    exp_avg_sq = v;
    const T corrected = m / bias_correction1 * lr;
    // bias_corrected_exp_avg * lr * (bias_correction2 ** 0.5 / (exp_avg_sq.sqrt() + eps)) * rect
    const T update = rectified ? corrected * (bias_correction2_sqrt / (std::sqrt(v) + eps)) * rect : corrected;
    p = param - update;  // param.add_(update, alpha=-1.0)
  }
  EffectiveGrad<T> effective_grad;
  Lerp<T> toward_grad;
  T decay, beta2, one_minus_beta2, bias_correction1, bias_correction2_sqrt, lr, eps, rect;
  bool rectified;
};

}  // namespace

template <class T>
void sgd_step(T* const* params, const T* const* grads, T* const* momentum_buffers, const int64_t* sizes,
              int64_t count, const SgdOptions& options) {
  if (options.momentum != 0.0)
    sgd_group<T, true>(params, grads, momentum_buffers, sizes, count, options);
  else
    sgd_group<T, false>(params, grads, momentum_buffers, sizes, count, options);
}

template <class T>
void adam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
               T* const* max_exp_avg_sqs, const int64_t* sizes, int64_t count, const AdamOptions& options) {
  if (options.amsgrad)
    adam_group<T, true>(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, sizes, count, options);
  else
    adam_group<T, false>(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, sizes, count, options);
}

template <class T>
void rmsprop_step(T* const* params, const T* const* grads, T* const* square_avgs, T* const* grad_avgs,
                  T* const* momentum_buffers, const int64_t* sizes, int64_t count, const RmspropOptions& options) {
  const bool momentum = options.momentum != 0.0;
  if (options.centered && momentum)
    rmsprop_group<T, true, true>(params, grads, square_avgs, grad_avgs, momentum_buffers, sizes, count, options);
  else if (options.centered)
    rmsprop_group<T, true, false>(params, grads, square_avgs, grad_avgs, momentum_buffers, sizes, count, options);
  else if (momentum)
    rmsprop_group<T, false, true>(params, grads, square_avgs, grad_avgs, momentum_buffers, sizes, count, options);
  else
    rmsprop_group<T, false, false>(params, grads, square_avgs, grad_avgs, momentum_buffers, sizes, count, options);
}

template <class T>
void adagrad_step(T* const* params, const T* const* grads, T* const* state_sums, const int64_t* sizes, int64_t count,
                  const AdagradOptions& options) {
  elementwise_group<T>(AdagradStep<T>(options), params, grads, state_sums, nullptr, sizes, count);
}

template <class T>
void adadelta_step(T* const* params, const T* const* grads, T* const* square_avgs, T* const* acc_deltas,
                   const int64_t* sizes, int64_t count, const AdadeltaOptions& options) {
  elementwise_group<T>(AdadeltaStep<T>(options), params, grads, square_avgs, acc_deltas, sizes, count);
}

template <class T>
void adamax_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_infs,
                 const int64_t* sizes, int64_t count, const AdamaxOptions& options) {
  elementwise_group<T>(AdamaxStep<T>(options), params, grads, exp_avgs, exp_infs, sizes, count);
}

template <class T>
void nadam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                const int64_t* sizes, int64_t count, const NadamOptions& options) {
  elementwise_group<T>(NadamStep<T>(options), params, grads, exp_avgs, exp_avg_sqs, sizes, count);
}

template <class T>
void radam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                const int64_t* sizes, int64_t count, const RadamOptions& options) {
  elementwise_group<T>(RadamStep<T>(options), params, grads, exp_avgs, exp_avg_sqs, sizes, count);
}

#define NNX_INSTANTIATE_OPTIM(T)                                                                            \
  template void sgd_step<T>(T* const*, const T* const*, T* const*, const int64_t*, int64_t, const SgdOptions&); \
  template void adam_step<T>(T* const*, const T* const*, T* const*, T* const*, T* const*, const int64_t*,     \
                             int64_t, const AdamOptions&);                                                  \
  template void rmsprop_step<T>(T* const*, const T* const*, T* const*, T* const*, T* const*, const int64_t*,  \
                                int64_t, const RmspropOptions&);                                         \
  template void adagrad_step<T>(T* const*, const T* const*, T* const*, const int64_t*, int64_t,               \
                                const AdagradOptions&);                                                     \
  template void adadelta_step<T>(T* const*, const T* const*, T* const*, T* const*, const int64_t*, int64_t,   \
                                 const AdadeltaOptions&);                                                   \
  template void adamax_step<T>(T* const*, const T* const*, T* const*, T* const*, const int64_t*, int64_t,     \
                               const AdamaxOptions&);                                                       \
  template void nadam_step<T>(T* const*, const T* const*, T* const*, T* const*, const int64_t*, int64_t,      \
                              const NadamOptions&);                                                         \
  template void radam_step<T>(T* const*, const T* const*, T* const*, T* const*, const int64_t*, int64_t,      \
                              const RadamOptions&);
NNX_INSTANTIATE_OPTIM(float)
NNX_INSTANTIATE_OPTIM(double)
#undef NNX_INSTANTIATE_OPTIM

}  // namespace nnx::cpu
