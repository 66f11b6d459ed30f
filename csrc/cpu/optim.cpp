// Fused optimizer steps over a whole parameter group (SGD, Adam/AdamW, RMSprop, Adagrad, Adadelta, Adamax,
// NAdam, RAdam): each element is read and written once per step
// (from memory; the second pass over a block hits L1). Options that touch extra state (momentum
// buffers, amsgrad, centered) are template parameters; the others are loop-invariant selects. Both
// keep the inner loops vectorized. The per-element formulas are core/optim.h's, shared with cuda/optim.cu.
#include "core/optim_options.h"  // before the pragma: its host computations compile as everywhere else

// Rounding follows torch.optim's single-tensor code op by op, so the compiler must not fuse a multiply
// and an add on its own (GCC does by default); HostArithmetic::fmadd fuses exactly where PyTorch's CPU build
// does. The pragma comes before core/optim.h, so that the formulas compile under it too.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <algorithm>
#include <cmath>

#include "core/optim.h"
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

// core/optim.h's arithmetic on the CPU: plain operators (this file is compiled without contraction), and
// a * b + c rounded once where the hardware has FMA, like PyTorch's vec::fmadd.
struct HostArithmetic {
  template <class T>
  static T mul(T a, T b) { return a * b; }
  template <class T>
  static T add(T a, T b) { return a + b; }
  template <class T>
  static T sub(T a, T b) { return a - b; }
  template <class T>
  static T div(T a, T b) { return a / b; }
  template <class T>
  static T sqrt(T a) { return std::sqrt(a); }
  template <class T>
  static T abs(T a) { return std::abs(a); }
  template <class T>
  static T fmadd(T a, T b, T c) {
#if defined(__FMA__)
    return std::fma(a, b, c);
#else
    return a * b + c;
#endif
  }
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

// ---- SGD ---------------------------------------------------------------------------------------

template <class T, bool kMomentum>
void sgd_slice(const SgdStep<T, HostArithmetic>& s, T* __restrict p, const T* __restrict g, T* __restrict b,
               int64_t n) {
  T unused = T(0);  // stands in for a state array the options do not use: never read or written
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) s.update(p[k], g[k], kMomentum ? b[k] : unused, kMomentum);
}

template <class T, bool kMomentum>
void sgd_group(T* const* params, const T* const* grads, T* const* momentum_buffers, const int64_t* sizes,
               int64_t count, const SgdOptions& o) {
  const SgdStep<T, HostArithmetic> scalars(o);
  for_each_slice(sizes, count, [&](int64_t i, int64_t begin, int64_t end) {
    T* b = kMomentum ? momentum_buffers[i] + begin : nullptr;
    sgd_slice<T, kMomentum>(scalars, params[i] + begin, grads[i] + begin, b, end - begin);
  });
}

// ---- Adam / AdamW ------------------------------------------------------------------------------

// One tensor's slice of n elements, in blocks: the moments first, then the square roots of a whole
// block, then the parameter (see sqrt_in_place for why the square roots are a separate pass).
template <class T, bool kAmsgrad>
void adam_slice(const AdamStep<T, HostArithmetic>& s, T* __restrict p, const T* __restrict g, T* __restrict m,
                T* __restrict v, T* __restrict v_max, int64_t n) {
  T denom[kBlock];
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t width = std::min(kBlock, n - start);
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) {
      const int64_t k = start + j;
      T unused = T(0);  // see sgd_slice
      denom[j] = s.moments(g[k], p[k], m[k], v[k], kAmsgrad ? v_max[k] : unused, kAmsgrad);
    }
    sqrt_in_place(denom, width);
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) {
      const int64_t k = start + j;
      p[k] = s.parameter(p[k], m[k], denom[j]);
    }
  }
}

template <class T, bool kAmsgrad>
void adam_group(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                T* const* max_exp_avg_sqs, const int64_t* sizes, int64_t count, const AdamOptions& o) {
  const AdamStep<T, HostArithmetic> scalars(o);
  for_each_slice(sizes, count, [&](int64_t i, int64_t begin, int64_t end) {
    T* v_max = kAmsgrad ? max_exp_avg_sqs[i] + begin : nullptr;
    adam_slice<T, kAmsgrad>(scalars, params[i] + begin, grads[i] + begin, exp_avgs[i] + begin,
                            exp_avg_sqs[i] + begin, v_max, end - begin);
  });
}

// ---- RMSprop -----------------------------------------------------------------------------------

// Same blocked structure as adam_slice: running averages, square roots, then the parameter.
template <class T, bool kCentered, bool kMomentum>
void rmsprop_slice(const RmspropStep<T, HostArithmetic>& s, T* __restrict p, const T* __restrict g, T* __restrict sq,
                   T* __restrict ga, T* __restrict b, int64_t n) {
  T avg[kBlock];
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t width = std::min(kBlock, n - start);
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) {
      const int64_t k = start + j;
      T unused = T(0);
      avg[j] = s.variance(s.effective_grad(g[k], p[k]), sq[k], kCentered ? ga[k] : unused, kCentered);
    }
    sqrt_in_place(avg, width);
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) {
      const int64_t k = start + j;
      T unused = T(0);
      s.parameter(p[k], s.effective_grad(g[k], p[k]), kMomentum ? b[k] : unused, avg[j], kMomentum);
    }
  }
}

template <class T, bool kCentered, bool kMomentum>
void rmsprop_group(T* const* params, const T* const* grads, T* const* square_avgs, T* const* grad_avgs,
                   T* const* momentum_buffers, const int64_t* sizes, int64_t count, const RmspropOptions& o) {
  const RmspropStep<T, HostArithmetic> scalars(o);
  for_each_slice(sizes, count, [&](int64_t i, int64_t begin, int64_t end) {
    T* ga = kCentered ? grad_avgs[i] + begin : nullptr;
    T* b = kMomentum ? momentum_buffers[i] + begin : nullptr;
    rmsprop_slice<T, kCentered, kMomentum>(scalars, params[i] + begin, grads[i] + begin, square_avgs[i] + begin,
                                           ga, b, end - begin);
  });
}


// ---- Adagrad, Adadelta, Adamax, NAdam, RAdam -----------------------------------------------------
// One element at a time (the square roots inline: the build passes -fno-math-errno, so the loops still
// vectorize). Each Step functor (core/optim.h) updates p and its state from g; the group walk is shared.

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
  elementwise_group<T>(AdagradStep<T, HostArithmetic>(options), params, grads, state_sums, nullptr, sizes, count);
}

template <class T>
void adadelta_step(T* const* params, const T* const* grads, T* const* square_avgs, T* const* acc_deltas,
                   const int64_t* sizes, int64_t count, const AdadeltaOptions& options) {
  elementwise_group<T>(AdadeltaStep<T, HostArithmetic>(options), params, grads, square_avgs, acc_deltas, sizes, count);
}

template <class T>
void adamax_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_infs,
                 const int64_t* sizes, int64_t count, const AdamaxOptions& options) {
  elementwise_group<T>(AdamaxStep<T, HostArithmetic>(options), params, grads, exp_avgs, exp_infs, sizes, count);
}

template <class T>
void nadam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                const int64_t* sizes, int64_t count, const NadamOptions& options) {
  elementwise_group<T>(NadamStep<T, HostArithmetic>(options), params, grads, exp_avgs, exp_avg_sqs, sizes, count);
}

template <class T>
void radam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                const int64_t* sizes, int64_t count, const RadamOptions& options) {
  elementwise_group<T>(RadamStep<T, HostArithmetic>(options), params, grads, exp_avgs, exp_avg_sqs, sizes, count);
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
