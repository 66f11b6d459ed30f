// Fused optimizer steps on the GPU (SGD, Adam/AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam): one
// multi-tensor kernel walks a whole parameter group.
//
// How the group reaches the device: the table of pointers and sizes travels BY VALUE as a kernel argument
// (a __grid_constant__ struct, like PyTorch's multi_tensor_apply), so there is no upload, no staging
// buffer and nothing whose lifetime must outlast the launch. A table holds up to kMaxTensors tensors and
// fits the classic 4 KB parameter limit; a larger group takes one launch per kMaxTensors tensors.
//
// How the work is split: each tensor is cut into tiles of kTile elements; the tiles of all the table's
// tensors are numbered one after the other and blocks walk them grid-stride (a block finds its tile's
// tensor by binary search in the table). A full tile of a 16-byte-aligned tensor uses vector loads
// (4 consecutive elements per thread); other tiles use scalar loads (elements kBlock apart, coalesced).
//
// Arithmetic: the per-element updates below follow cpu/optim.cpp operation by operation, with explicitly
// rounded intrinsics (__fmul_rn, ...) so that nvcc cannot contract a multiply and an add on its own, and a
// fused multiply-add exactly where the CPU's fmadd() fuses. The scalars (bias corrections, step size) are
// computed on the host in double, as on the CPU, then rounded to T. So the two devices agree to the last
// bit when the CPU build has FMA (-march=native on any recent x86), and to float rounding otherwise.
#include "cuda/optim.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cuda/common.cuh"

namespace nnx::cuda {

namespace {

constexpr int kMaxLists = 5;      // params, grads and up to three state lists
constexpr int kMaxTensors = 64;   // tensors per launch (the table must fit the 4 KB kernel-parameter limit)
constexpr int kValuesPerThread = 4;
constexpr int64_t kTile = static_cast<int64_t>(kBlock) * kValuesPerThread;
constexpr int kGradList = 1;      // the only list the kernels read without writing back

// ---- correctly rounded arithmetic, never contracted ---------------------------------------------
__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ double sub(double a, double b) { return __dsub_rn(a, b); }
__device__ __forceinline__ float div(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ double div(double a, double b) { return __ddiv_rn(a, b); }
__device__ __forceinline__ float square_root(float a) { return __fsqrt_rn(a); }
__device__ __forceinline__ double square_root(double a) { return __dsqrt_rn(a); }
// a * b + c rounded once: the CPU's fmadd() (std::fma where the CPU has FMA).
__device__ __forceinline__ float fmadd(float a, float b, float c) { return __fmaf_rn(a, b, c); }
__device__ __forceinline__ double fmadd(double a, double b, double c) { return __fma_rn(a, b, c); }

// torch.maximum: NaN in either argument propagates.
template <class T>
__device__ __forceinline__ T nan_max(T a, T b) {
  return ((a < b) | (b != b)) ? b : a;
}

// ---- the pieces of PyTorch's updates, as in cpu/optim.cpp ----------------------------------------

// torch.lerp(start, end, weight) as its vectorized CPU kernel computes it: from start when |weight| < 0.5,
// from end otherwise.
template <class T>
struct Lerp {
  explicit Lerp(double w)
      : from_start(std::abs(static_cast<T>(w)) < T(0.5)),
        coefficient(from_start ? static_cast<T>(w) : static_cast<T>(w) - T(1)) {}
  __device__ T operator()(T start, T end) const { return fmadd(coefficient, sub(end, start), from_start ? start : end); }
  bool from_start;
  T coefficient;
};

// The gradient as PyTorch's optimizers first see it: negated when maximizing, plus the L2 term.
template <class T>
struct EffectiveGrad {
  EffectiveGrad(bool maximize, double weight_decay)
      : sign(maximize ? T(-1) : T(1)), weight_decay(static_cast<T>(weight_decay)), l2(weight_decay != 0.0) {}
  __device__ T operator()(T grad, T param) const {
    const T g = mul(grad, sign);  // exact: a multiplication by +-1
    return l2 ? fmadd(param, weight_decay, g) : g;
  }
  T sign, weight_decay;
  bool l2;
};

// Each step updates one element: v[0] the parameter, v[1] the gradient, v[2...] its state, in the order
// of the lists handed to launch_group. Entries of absent lists hold 0 and are not used.

template <class T>
struct SgdStep {
  static constexpr int kLists = 3;  // params, grads, momentum_buffers
  explicit SgdStep(const SgdOptions& o)
      : effective_grad(o.maximize, o.weight_decay),
        neg_lr(static_cast<T>(-o.lr)),
        momentum(static_cast<T>(o.momentum)),
        one_minus_dampening(static_cast<T>(1.0 - o.dampening)),
        use_momentum(o.momentum != 0.0),
        first_step(o.first_step),
        nesterov(o.nesterov) {}

  __device__ void operator()(T (&v)[kLists]) const {
    T& p = v[0];
    T& b = v[2];
    T d = effective_grad(v[1], p);
    if (use_momentum) {
      const T buf = first_step ? d : fmadd(d, one_minus_dampening, mul(b, momentum));
      b = buf;
      d = nesterov ? fmadd(buf, momentum, d) : buf;
    }
    p = fmadd(d, neg_lr, p);
  }

  EffectiveGrad<T> effective_grad;
  T neg_lr, momentum, one_minus_dampening;
  bool use_momentum, first_step, nesterov;
};

template <class T>
struct AdamStep {
  static constexpr int kLists = 5;  // params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs
  explicit AdamStep(const AdamOptions& o)
      : effective_grad(o.maximize, decoupled(o) ? 0.0 : o.weight_decay), toward_grad(1.0 - o.beta1), amsgrad(o.amsgrad) {
    // Computed in double exactly as torch.optim (and the CPU kernel) computes them, then rounded to T.
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

  __device__ void operator()(T (&v)[kLists]) const {
    T& p = v[0];
    T& exp_avg = v[2];
    T& exp_avg_sq = v[3];
    T& max_exp_avg_sq = v[4];
    const T grad = effective_grad(v[1], p);
    exp_avg = toward_grad(exp_avg, grad);
    // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    exp_avg_sq = fmadd(mul(one_minus_beta2, grad), grad, mul(exp_avg_sq, beta2));
    T second_moment = exp_avg_sq;
    if (amsgrad) {
      second_moment = nan_max(max_exp_avg_sq, exp_avg_sq);
      max_exp_avg_sq = second_moment;
    }
    const T denom = square_root(second_moment);
    const T param = mul(p, decay);
    // param.addcdiv_(exp_avg, denom, value=-step_size)
    p = add(param, div(mul(neg_step_size, exp_avg), add(div(denom, bias_correction2_sqrt), eps)));
  }

  EffectiveGrad<T> effective_grad;
  Lerp<T> toward_grad;
  bool amsgrad;
  T neg_step_size, bias_correction2_sqrt, eps, beta2, one_minus_beta2, decay;
};

template <class T>
struct RmspropStep {
  static constexpr int kLists = 5;  // params, grads, square_avgs, grad_avgs, momentum_buffers
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

  __device__ void operator()(T (&v)[kLists]) const {
    T& p = v[0];
    T& square_avg = v[2];
    T& grad_avg = v[3];
    T& b = v[4];
    const T grad = effective_grad(v[1], p);
    // square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    square_avg = fmadd(mul(one_minus_alpha, grad), grad, mul(square_avg, alpha));
    T variance = square_avg;
    if (centered) {
      grad_avg = toward_grad(grad_avg, grad);
      variance = fmadd(-grad_avg, grad_avg, square_avg);  // square_avg.addcmul(grad_avg, grad_avg, value=-1)
    }
    const T denom = add(square_root(variance), eps);
    if (use_momentum) {
      b = add(mul(b, momentum), div(grad, denom));
      p = fmadd(b, neg_lr, p);
    } else {
      p = add(p, div(mul(neg_lr, grad), denom));
    }
  }

  EffectiveGrad<T> effective_grad;
  Lerp<T> toward_grad;
  T alpha, one_minus_alpha, eps, neg_lr, momentum;
  bool centered, use_momentum;
};

// The newer steps, as cpu/optim.cpp's AdagradStep ... RadamStep (the same operations in the same order).
template <class T>
__device__ __forceinline__ T absolute(T a) {
  return a < T(0) ? -a : a;
}

template <class T>
struct AdagradStep {
  static constexpr int kLists = 3;  // params, grads, state_sums
  explicit AdagradStep(const AdagradOptions& o)
      : effective_grad(o.maximize, o.weight_decay),
        neg_clr(static_cast<T>(-(o.lr / (1.0 + static_cast<double>(o.step - 1) * o.lr_decay)))),
        eps(static_cast<T>(o.eps)) {}
  __device__ void operator()(T (&v)[kLists]) const {
    T& p = v[0];
    const T grad = effective_grad(v[1], p);
    const T sum = fmadd(grad, grad, v[2]);
    v[2] = sum;
    p = add(p, div(mul(neg_clr, grad), add(square_root(sum), eps)));
  }
  EffectiveGrad<T> effective_grad;
  T neg_clr, eps;
};

template <class T>
struct AdadeltaStep {
  static constexpr int kLists = 4;  // params, grads, square_avgs, acc_deltas
  explicit AdadeltaStep(const AdadeltaOptions& o)
      : effective_grad(o.maximize, o.weight_decay),
        rho(static_cast<T>(o.rho)),
        one_minus_rho(static_cast<T>(1.0 - o.rho)),
        eps(static_cast<T>(o.eps)),
        neg_lr(static_cast<T>(-o.lr)) {}
  __device__ void operator()(T (&v)[kLists]) const {
    T& p = v[0];
    const T grad = effective_grad(v[1], p);
    const T square_avg = fmadd(mul(one_minus_rho, grad), grad, mul(v[2], rho));
    v[2] = square_avg;
    const T std_ = square_root(add(square_avg, eps));
    const T delta = mul(div(square_root(add(v[3], eps)), std_), grad);
    v[3] = fmadd(mul(one_minus_rho, delta), delta, mul(v[3], rho));
    p = fmadd(delta, neg_lr, p);
  }
  EffectiveGrad<T> effective_grad;
  T rho, one_minus_rho, eps, neg_lr;
};

template <class T>
struct AdamaxStep {
  static constexpr int kLists = 4;  // params, grads, exp_avgs, exp_infs
  explicit AdamaxStep(const AdamaxOptions& o)
      : effective_grad(o.maximize, o.weight_decay),
        toward_grad(1.0 - o.beta1),
        beta2(static_cast<T>(o.beta2)),
        eps(static_cast<T>(o.eps)),
        neg_clr(static_cast<T>(-(o.lr / (1.0 - std::pow(o.beta1, static_cast<double>(o.step)))))) {}
  __device__ void operator()(T (&v)[kLists]) const {
    T& p = v[0];
    const T grad = effective_grad(v[1], p);
    const T m = toward_grad(v[2], grad);
    v[2] = m;
    const T u = nan_max(mul(v[3], beta2), add(absolute(grad), eps));
    v[3] = u;
    p = add(p, div(mul(neg_clr, m), u));
  }
  EffectiveGrad<T> effective_grad;
  Lerp<T> toward_grad;
  T beta2, eps, neg_clr;
};

template <class T>
struct NadamStep {
  static constexpr int kLists = 4;  // params, grads, exp_avgs, exp_avg_sqs
  explicit NadamStep(const NadamOptions& o) : NadamStep(o, cpu::NadamCoefficients(o)) {}
  NadamStep(const NadamOptions& o, const cpu::NadamCoefficients& c)
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
  __device__ void operator()(T (&v)[kLists]) const {
    const T param = mul(v[0], decay);
    const T grad = effective_grad(v[1], param);
    const T m = toward_grad(v[2], grad);
    v[2] = m;
    const T second = fmadd(mul(one_minus_beta2, grad), grad, mul(v[3], beta2));
    v[3] = second;
    const T denom = add(square_root(div(second, bias_correction2)), eps);
    const T stepped = add(param, div(mul(grad_coefficient, grad), denom));
    v[0] = add(stepped, div(mul(exp_avg_coefficient, m), denom));
  }
  EffectiveGrad<T> effective_grad;
  Lerp<T> toward_grad;
  T decay, beta2, one_minus_beta2, bias_correction2, eps, grad_coefficient, exp_avg_coefficient;
};

template <class T>
struct RadamStep {
  static constexpr int kLists = 4;  // params, grads, exp_avgs, exp_avg_sqs
  explicit RadamStep(const RadamOptions& o) : RadamStep(o, cpu::RadamCoefficients(o)) {}
  RadamStep(const RadamOptions& o, const cpu::RadamCoefficients& c)
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
  __device__ void operator()(T (&v)[kLists]) const {
    const T param = mul(v[0], decay);
    const T grad = effective_grad(v[1], param);
    const T m = toward_grad(v[2], grad);
    v[2] = m;
    const T second = fmadd(mul(one_minus_beta2, grad), grad, mul(v[3], beta2));
    v[3] = second;
    const T corrected = mul(div(m, bias_correction1), lr);
    const T update =
        rectified ? mul(mul(corrected, div(bias_correction2_sqrt, add(square_root(second), eps))), rect) : corrected;
    v[0] = sub(param, update);
  }
  EffectiveGrad<T> effective_grad;
  Lerp<T> toward_grad;
  T decay, beta2, one_minus_beta2, bias_correction1, bias_correction2_sqrt, lr, eps, rect;
  bool rectified;
};

// ---- the multi-tensor kernel ---------------------------------------------------------------------

// Up to kMaxTensors tensors of a group: their pointers in every list (null for an absent list), their
// sizes, and where each one's tiles start in the launch's numbering of tiles.
template <class T>
struct TensorTable {
  T* lists[kMaxLists][kMaxTensors];
  int64_t sizes[kMaxTensors];
  int64_t first_tile[kMaxTensors + 1];  // first_tile[count] = tiles in the launch
  uint64_t aligned;                     // bit i: every pointer of tensor i is 16-byte aligned
  int count;
};
static_assert(sizeof(TensorTable<double>) + 256 <= 4096, "the table and a step must fit 4 KB of kernel parameters");

// The tensor that tile belongs to: the last i with first_tile[i] <= tile (empty tensors are never listed,
// so the first_tile values strictly increase).
template <class T>
__device__ int tensor_of_tile(const TensorTable<T>& table, int64_t tile) {
  int low = 0, high = table.count - 1;
  while (low < high) {
    const int middle = (low + high + 1) / 2;
    if (table.first_tile[middle] <= tile)
      low = middle;
    else
      high = middle - 1;
  }
  return low;
}

__device__ __forceinline__ void load4(const float* source, float (&v)[4]) {
  const float4 q = *reinterpret_cast<const float4*>(source);
  v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
}
__device__ __forceinline__ void load4(const double* source, double (&v)[4]) {
  const double2 a = reinterpret_cast<const double2*>(source)[0], b = reinterpret_cast<const double2*>(source)[1];
  v[0] = a.x, v[1] = a.y, v[2] = b.x, v[3] = b.y;
}
__device__ __forceinline__ void store4(float* destination, const float (&v)[4]) {
  *reinterpret_cast<float4*>(destination) = make_float4(v[0], v[1], v[2], v[3]);
}
__device__ __forceinline__ void store4(double* destination, const double (&v)[4]) {
  reinterpret_cast<double2*>(destination)[0] = make_double2(v[0], v[1]);
  reinterpret_cast<double2*>(destination)[1] = make_double2(v[2], v[3]);
}

// Applies step to the kValuesPerThread elements held in values[list][k].
template <class T, class Step>
__device__ __forceinline__ void apply(const Step& step, T (&values)[Step::kLists][kValuesPerThread]) {
#pragma unroll
  for (int k = 0; k < kValuesPerThread; ++k) {
    T element[Step::kLists];
#pragma unroll
    for (int list = 0; list < Step::kLists; ++list) element[list] = values[list][k];
    step(element);
#pragma unroll
    for (int list = 0; list < Step::kLists; ++list) values[list][k] = element[list];
  }
}

// A full tile of an aligned tensor: thread t owns elements [4t, 4t + 4) of the tile.
template <class T, class Step>
__device__ void update_full_tile(const TensorTable<T>& table, int tensor, int64_t begin, const Step& step) {
  const int64_t first = begin + static_cast<int64_t>(threadIdx.x) * kValuesPerThread;
  T values[Step::kLists][kValuesPerThread] = {};
#pragma unroll
  for (int list = 0; list < Step::kLists; ++list)
    if (table.lists[list][tensor] != nullptr) load4(table.lists[list][tensor] + first, values[list]);
  apply(step, values);
#pragma unroll
  for (int list = 0; list < Step::kLists; ++list)
    if (list != kGradList && table.lists[list][tensor] != nullptr) store4(table.lists[list][tensor] + first, values[list]);
}

// Any tile: thread t owns elements t, t + kBlock, ... of the tile that lie inside the tensor.
template <class T, class Step>
__device__ void update_tile(const TensorTable<T>& table, int tensor, int64_t begin, const Step& step) {
  const int64_t size = table.sizes[tensor];
  T values[Step::kLists][kValuesPerThread] = {};
#pragma unroll
  for (int list = 0; list < Step::kLists; ++list) {
    const T* source = table.lists[list][tensor];
    if (source == nullptr) continue;
#pragma unroll
    for (int k = 0; k < kValuesPerThread; ++k) {
      const int64_t index = begin + threadIdx.x + static_cast<int64_t>(k) * kBlock;
      if (index < size) values[list][k] = source[index];
    }
  }
  apply(step, values);
#pragma unroll
  for (int list = 0; list < Step::kLists; ++list) {
    T* destination = table.lists[list][tensor];
    if (list == kGradList || destination == nullptr) continue;
#pragma unroll
    for (int k = 0; k < kValuesPerThread; ++k) {
      const int64_t index = begin + threadIdx.x + static_cast<int64_t>(k) * kBlock;
      if (index < size) destination[index] = values[list][k];
    }
  }
}

template <class T, class Step>
__global__ void __launch_bounds__(kBlock) multi_tensor_kernel(const __grid_constant__ TensorTable<T> table,
                                                             const Step step) {
  const int64_t tiles = table.first_tile[table.count];
  for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const int tensor = tensor_of_tile(table, tile);
    const int64_t begin = (tile - table.first_tile[tensor]) * kTile;
    const bool aligned = (table.aligned >> tensor) & 1u;
    if (aligned && begin + kTile <= table.sizes[tensor])
      update_full_tile(table, tensor, begin, step);
    else
      update_tile(table, tensor, begin, step);
  }
}

// ---- host side: tables and launches ---------------------------------------------------------------

bool is_aligned_16(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer) % 16 == 0; }

// lists[l]: host array of `count` device pointers, or null for an absent list. Fills tables of up to
// kMaxTensors non-empty tensors and launches the kernel once per table.
template <class T, class Step>
void launch_group(T* const* const (&lists)[Step::kLists], const int64_t* sizes, int64_t count, const Step& step,
                  const char* kernel_name) {
  TensorTable<T> table;
  int64_t tiles = 0;
  const auto reset = [&] {
    std::memset(&table, 0, sizeof(table));
    tiles = 0;
  };
  const auto launch = [&] {
    if (table.count == 0) return;
    table.first_tile[table.count] = tiles;
    multi_tensor_kernel<T, Step><<<grid_for(tiles, 1), kBlock, 0, current_stream()>>>(table, step);
    check_launch(kernel_name);
    reset();
  };
  reset();
  for (int64_t i = 0; i < count; ++i) {
    if (sizes[i] == 0) continue;
    const int slot = table.count;
    bool aligned = true;
    for (int list = 0; list < Step::kLists; ++list) {
      T* pointer = lists[list] != nullptr ? lists[list][i] : nullptr;
      table.lists[list][slot] = pointer;
      if (pointer != nullptr) aligned = aligned && is_aligned_16(pointer);
    }
    table.sizes[slot] = sizes[i];
    table.first_tile[slot] = tiles;
    if (aligned) table.aligned |= uint64_t{1} << slot;
    tiles += (sizes[i] + kTile - 1) / kTile;
    table.count = slot + 1;
    if (table.count == kMaxTensors) launch();
  }
  launch();
}

}  // namespace

template <class T>
void sgd_step(T* const* params, const T* const* grads, T* const* momentum_buffers, const int64_t* sizes,
              int64_t count, const SgdOptions& options) {
  const SgdStep<T> step(options);
  T* const* const lists[] = {params, const_cast<T* const*>(grads), step.use_momentum ? momentum_buffers : nullptr};
  launch_group<T>(lists, sizes, count, step, "sgd_step");
}

template <class T>
void adam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
               T* const* max_exp_avg_sqs, const int64_t* sizes, int64_t count, const AdamOptions& options) {
  const AdamStep<T> step(options);
  T* const* const lists[] = {params, const_cast<T* const*>(grads), exp_avgs, exp_avg_sqs,
                             options.amsgrad ? max_exp_avg_sqs : nullptr};
  launch_group<T>(lists, sizes, count, step, "adam_step");
}

template <class T>
void rmsprop_step(T* const* params, const T* const* grads, T* const* square_avgs, T* const* grad_avgs,
                  T* const* momentum_buffers, const int64_t* sizes, int64_t count, const RmspropOptions& options) {
  const RmspropStep<T> step(options);
  T* const* const lists[] = {params, const_cast<T* const*>(grads), square_avgs, options.centered ? grad_avgs : nullptr,
                             step.use_momentum ? momentum_buffers : nullptr};
  launch_group<T>(lists, sizes, count, step, "rmsprop_step");
}

template <class T>
void adagrad_step(T* const* params, const T* const* grads, T* const* state_sums, const int64_t* sizes, int64_t count,
                  const AdagradOptions& options) {
  T* const* const lists[] = {params, const_cast<T* const*>(grads), state_sums};
  launch_group<T>(lists, sizes, count, AdagradStep<T>(options), "adagrad_step");
}

template <class T>
void adadelta_step(T* const* params, const T* const* grads, T* const* square_avgs, T* const* acc_deltas,
                   const int64_t* sizes, int64_t count, const AdadeltaOptions& options) {
  T* const* const lists[] = {params, const_cast<T* const*>(grads), square_avgs, acc_deltas};
  launch_group<T>(lists, sizes, count, AdadeltaStep<T>(options), "adadelta_step");
}

template <class T>
void adamax_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_infs,
                 const int64_t* sizes, int64_t count, const AdamaxOptions& options) {
  T* const* const lists[] = {params, const_cast<T* const*>(grads), exp_avgs, exp_infs};
  launch_group<T>(lists, sizes, count, AdamaxStep<T>(options), "adamax_step");
}

template <class T>
void nadam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                const int64_t* sizes, int64_t count, const NadamOptions& options) {
  T* const* const lists[] = {params, const_cast<T* const*>(grads), exp_avgs, exp_avg_sqs};
  launch_group<T>(lists, sizes, count, NadamStep<T>(options), "nadam_step");
}

template <class T>
void radam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                const int64_t* sizes, int64_t count, const RadamOptions& options) {
  T* const* const lists[] = {params, const_cast<T* const*>(grads), exp_avgs, exp_avg_sqs};
  launch_group<T>(lists, sizes, count, RadamStep<T>(options), "radam_step");
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

}  // namespace nnx::cuda
