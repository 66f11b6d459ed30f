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
// Arithmetic: the per-element updates are core/optim.h's, shared with cpu/optim.cpp, over explicitly
// rounded intrinsics (__fmul_rn, ...) so that nvcc cannot contract a multiply and an add on its own, and a
// fused multiply-add exactly where the CPU's fmadd fuses. The scalars (bias corrections, step size) are
// computed on the host in double, as on the CPU, then rounded to T. So the two devices agree to the last
// bit when the CPU build has FMA (-march=native on any recent x86), and to float rounding otherwise.
#include "core/optim.h"

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

// ---- core/optim.h's arithmetic: correctly rounded, never contracted ---------------------------
struct DeviceArithmetic {
  static __device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
  static __device__ __forceinline__ double mul(double a, double b) { return __dmul_rn(a, b); }
  static __device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
  static __device__ __forceinline__ double add(double a, double b) { return __dadd_rn(a, b); }
  static __device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }
  static __device__ __forceinline__ double sub(double a, double b) { return __dsub_rn(a, b); }
  static __device__ __forceinline__ float div(float a, float b) { return __fdiv_rn(a, b); }
  static __device__ __forceinline__ double div(double a, double b) { return __ddiv_rn(a, b); }
  static __device__ __forceinline__ float sqrt(float a) { return __fsqrt_rn(a); }
  static __device__ __forceinline__ double sqrt(double a) { return __dsqrt_rn(a); }
  template <class T>
  static __device__ __forceinline__ T abs(T a) { return a < T(0) ? -a : a; }
  // a * b + c rounded once: the CPU's fmadd (std::fma where the CPU has FMA).
  static __device__ __forceinline__ float fmadd(float a, float b, float c) { return __fmaf_rn(a, b, c); }
  static __device__ __forceinline__ double fmadd(double a, double b, double c) { return __fma_rn(a, b, c); }
};

// ---- the steps as the kernel applies them ------------------------------------------------------------
// Each step updates one element: v[0] the parameter, v[1] the gradient, v[2...] its state, in the order
// of the lists handed to launch_group. Entries of absent lists hold 0 and are not used.

template <class T>
struct SgdUpdate : SgdStep<T, DeviceArithmetic> {
  static constexpr int kLists = 3;  // params, grads, momentum_buffers
  using Base = SgdStep<T, DeviceArithmetic>;
  using Base::Base;
  __device__ void operator()(T (&v)[kLists]) const {
    this->update(v[0], v[1], v[2], this->use_momentum);
  }
};

template <class T>
struct AdamUpdate : AdamStep<T, DeviceArithmetic> {
  static constexpr int kLists = 5;  // params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs
  explicit AdamUpdate(const AdamOptions& o) : AdamStep<T, DeviceArithmetic>(o), amsgrad(o.amsgrad) {}
  __device__ void operator()(T (&v)[kLists]) const {
    const T second_moment = this->moments(v[1], v[0], v[2], v[3], v[4], amsgrad);
    v[0] = this->parameter(v[0], v[2], DeviceArithmetic::sqrt(second_moment));
  }
  bool amsgrad;
};

template <class T>
struct RmspropUpdate : RmspropStep<T, DeviceArithmetic> {
  static constexpr int kLists = 5;  // params, grads, square_avgs, grad_avgs, momentum_buffers
  using Base = RmspropStep<T, DeviceArithmetic>;
  using Base::Base;
  __device__ void operator()(T (&v)[kLists]) const {
    const T grad = this->effective_grad(v[1], v[0]);
    const T root = DeviceArithmetic::sqrt(this->variance(grad, v[2], v[3], this->centered));
    this->parameter(v[0], grad, v[4], root, this->use_momentum);
  }
};

// Adagrad, Adadelta, Adamax, NAdam, RAdam: the step's operator()(p, g, state...) on the lists' values.
template <template <class, class> class Step, class T>
struct ElementUpdate : Step<T, DeviceArithmetic> {
  using Base = Step<T, DeviceArithmetic>;
  static constexpr int kLists = 2 + Base::kStates;
  using Base::Base;
  __device__ void operator()(T (&v)[kLists]) const {
    if constexpr (kLists == 3)
      Base::operator()(v[0], v[1], v[2]);
    else
      Base::operator()(v[0], v[1], v[2], v[3]);
  }
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
  const SgdUpdate<T> step(options);
  T* const* const lists[] = {params, const_cast<T* const*>(grads), step.use_momentum ? momentum_buffers : nullptr};
  launch_group<T>(lists, sizes, count, step, "sgd_step");
}

template <class T>
void adam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
               T* const* max_exp_avg_sqs, const int64_t* sizes, int64_t count, const AdamOptions& options) {
  const AdamUpdate<T> step(options);
  T* const* const lists[] = {params, const_cast<T* const*>(grads), exp_avgs, exp_avg_sqs,
                             options.amsgrad ? max_exp_avg_sqs : nullptr};
  launch_group<T>(lists, sizes, count, step, "adam_step");
}

template <class T>
void rmsprop_step(T* const* params, const T* const* grads, T* const* square_avgs, T* const* grad_avgs,
                  T* const* momentum_buffers, const int64_t* sizes, int64_t count, const RmspropOptions& options) {
  const RmspropUpdate<T> step(options);
  T* const* const lists[] = {params, const_cast<T* const*>(grads), square_avgs, options.centered ? grad_avgs : nullptr,
                             step.use_momentum ? momentum_buffers : nullptr};
  launch_group<T>(lists, sizes, count, step, "rmsprop_step");
}

template <class T>
void adagrad_step(T* const* params, const T* const* grads, T* const* state_sums, const int64_t* sizes, int64_t count,
                  const AdagradOptions& options) {
  T* const* const lists[] = {params, const_cast<T* const*>(grads), state_sums};
  launch_group<T>(lists, sizes, count, ElementUpdate<AdagradStep, T>(options), "adagrad_step");
}

template <class T>
void adadelta_step(T* const* params, const T* const* grads, T* const* square_avgs, T* const* acc_deltas,
                   const int64_t* sizes, int64_t count, const AdadeltaOptions& options) {
  T* const* const lists[] = {params, const_cast<T* const*>(grads), square_avgs, acc_deltas};
  launch_group<T>(lists, sizes, count, ElementUpdate<AdadeltaStep, T>(options), "adadelta_step");
}

template <class T>
void adamax_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_infs,
                 const int64_t* sizes, int64_t count, const AdamaxOptions& options) {
  T* const* const lists[] = {params, const_cast<T* const*>(grads), exp_avgs, exp_infs};
  launch_group<T>(lists, sizes, count, ElementUpdate<AdamaxStep, T>(options), "adamax_step");
}

template <class T>
void nadam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                const int64_t* sizes, int64_t count, const NadamOptions& options) {
  T* const* const lists[] = {params, const_cast<T* const*>(grads), exp_avgs, exp_avg_sqs};
  launch_group<T>(lists, sizes, count, ElementUpdate<NadamStep, T>(options), "nadam_step");
}

template <class T>
void radam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                const int64_t* sizes, int64_t count, const RadamOptions& options) {
  T* const* const lists[] = {params, const_cast<T* const*>(grads), exp_avgs, exp_avg_sqs};
  launch_group<T>(lists, sizes, count, ElementUpdate<RadamStep, T>(options), "radam_step");
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
