// Softmax cross-entropy lives here (cross_entropy_forward), not in cuda/softmax.cu: it is bound with the losses.
// Loss kernels on the GPU, with core/losses.h's formulas (shared with cpu/losses.cpp). Cross-entropy: one
// warp (or block, for long rows) per row computes the row's max, logsumexp, loss and gradient in one visit; the
// mean/sum over rows and the elementwise losses' totals go through per-row or per-block partials summed by one
// block in a fixed order (repeatable to the bit). Valid-target counts are integer atomics (exact in any order).
#include "core/losses.h"

#include <algorithm>
#include <memory>

#include "cuda/common.cuh"
#include "cuda/device_array.h"
#include "cuda/row_group.cuh"

namespace nnx::cuda {
namespace {

// Blocks of a partial-sum pass: a function of the size alone, so the order of the sums is too.
constexpr unsigned kMaxPartials = 1024;

unsigned partial_blocks(int64_t n) { return std::min(grid_for(n), kMaxPartials); }

// Scratch from the caching allocator on the current device; stream-ordered, so it may be released as
// soon as the kernels that use it are queued.
std::shared_ptr<Storage> scratch(int64_t nbytes) {
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  return Storage::allocate(nbytes, device);
}

__device__ inline int64_t thread_index() { return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline int64_t thread_count() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// ---- totals ------------------------------------------------------------------------------------------

// loss[0] = sum of partials[0, count) in index order (one block), divided for mean by the number of
// valid targets (*valid_count) when given, else by `elements`. 0 / 0 gives NaN, like PyTorch.
template <class T>
__global__ void finish_total_kernel(const double* partials, int64_t count, Reduction reduction,
                                    const unsigned long long* valid_count, int64_t elements, T* loss) {
  double local = 0.0;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) local += partials[i];
  const double total = BlockReduce::sum(local);
  if (threadIdx.x != 0) return;
  const int64_t divisor = valid_count ? static_cast<int64_t>(*valid_count) : elements;
  loss[0] = static_cast<T>(reduce_total(total, divisor, reduction));
}

template <class T>
void launch_finish_total(const double* partials, int64_t count, Reduction reduction,
                         const unsigned long long* valid_count, int64_t elements, T* loss) {
  finish_total_kernel<T><<<1, kBlock, 0, current_stream()>>>(partials, count, reduction, valid_count, elements, loss);
  check_launch("finish_total_kernel");
}

// ---- cross-entropy -----------------------------------------------------------------------------------

// *count += the number of targets != ignore_index (count zeroed by the caller).
__global__ void count_valid_targets_kernel(const int64_t* target, int64_t N, int64_t ignore_index,
                                           unsigned long long* count) {
  unsigned long long local = 0;
  for (int64_t i = thread_index(); i < N; i += thread_count()) local += target[i] != ignore_index;
  local = BlockReduce::sum(local);
  if (threadIdx.x == 0 && local > 0) atomicAdd(count, local);
}

// A device counter of valid targets, for mean (null otherwise: the kernels then never read it).
unsigned long long* count_valid_targets(const int64_t* target, int64_t N, int64_t ignore_index, Reduction reduction,
                                        unsigned long long* counter) {
  if (reduction != Reduction::mean) return nullptr;
  check(cudaMemsetAsync(counter, 0, sizeof(*counter), current_stream()), "cudaMemsetAsync");
  count_valid_targets_kernel<<<partial_blocks(N), kBlock, 0, current_stream()>>>(target, N, ignore_index, counter);
  check_launch("count_valid_targets_kernel");
  return counter;
}

// The row's target if it can index the row (core/losses.h); an out-of-range target other than
// ignore_index is reported (by one thread of the group) and the row is treated as ignored.
template <int kRowThreads>
__device__ bool row_is_used(int64_t target, int64_t C, int64_t ignore_index, int64_t* bad_index) {
  const RowTarget use = classify_target(target, C, ignore_index);
  if (use == RowTarget::out_of_range && RowGroup<kRowThreads>::lane() == 0) report_bad_index(bad_index, target);
  return use == RowTarget::used;
}

template <int kRowThreads, class T>
__device__ void zero_row(T* row, int64_t C) {
  for (int64_t j = RowGroup<kRowThreads>::lane(); j < C; j += kRowThreads) row[j] = T(0);
}

// The row's gradient (core/losses.h) over the exps that `grad` holds on entry, each written by the
// thread that rewrites it here.
template <int kRowThreads, class T>
__device__ void write_row_gradient(T* grad, int64_t C, int64_t target, double inv_sum, double scale,
                                   double smoothing) {
  const CrossEntropyGradient<T> gradient(inv_sum, scale, smoothing, C);
  for (int64_t j = RowGroup<kRowThreads>::lane(); j < C; j += kRowThreads) {
    T g = gradient(grad[j]);
    if (j == target) g -= gradient.at_target;
    grad[j] = g;
  }
}

// One row group per row: logsumexp[row], the row's loss (into loss_per_row for none, else into
// row_losses for the total) and, when grad_logits is not null, the row's gradient times the scale.
template <int kRowThreads, class T>
__global__ void cross_entropy_forward_kernel(const T* logits, const int64_t* target, int64_t N, int64_t C,
                                             T* loss_per_row, double* row_losses, T* logsumexp, T* grad_logits,
                                             const unsigned long long* valid_count, int64_t ignore_index,
                                             double smoothing, int64_t* bad_index) {
  using Group = RowGroup<kRowThreads>;
  // Mean divides by the valid targets (read once the counting kernel has run).
  const double scale = cross_entropy_mean_scale(valid_count != nullptr,
                                                valid_count ? static_cast<int64_t>(*valid_count) : 0);
  for (int64_t row = Group::first_row(); row < N; row += Group::row_stride()) {
    const T* x = logits + row * C;
    T* grad = grad_logits ? grad_logits + row * C : nullptr;
    const int64_t t = target[row];
    const bool used = row_is_used<kRowThreads>(t, C, ignore_index, bad_index);
    const T shift = row_max<kRowThreads>(x, C);
    double partial = 0.0;
    for (int64_t j = Group::lane(); j < C; j += kRowThreads) {
      const T e = LibmMath::exp(x[j] - shift);
      if (grad) grad[j] = e;
      partial += static_cast<double>(e);
    }
    const double sum = Group::sum(partial);
    const double log_sum = ::log(sum);
    double loss = 0.0;
    if (!used) {
      if (grad) zero_row<kRowThreads>(grad, C);
    } else {
      if (grad) write_row_gradient<kRowThreads>(grad, C, t, 1.0 / sum, scale, smoothing);
      loss = cross_entropy_row_loss(log_sum, static_cast<double>(shift), static_cast<double>(x[t]), smoothing);
      if (smoothing > 0.0) {
        double below = 0.0;  // sum_j (shift - x_j) in double: accurate for logits of magnitude 1e4
        for (int64_t j = Group::lane(); j < C; j += kRowThreads)
          below += static_cast<double>(shift) - static_cast<double>(x[j]);
        loss += cross_entropy_smoothing_term(smoothing, C, Group::sum(below));
      }
    }
    if (Group::lane() == 0) {
      logsumexp[row] = static_cast<T>(static_cast<double>(shift) + log_sum);
      if (loss_per_row)
        loss_per_row[row] = static_cast<T>(loss);
      else
        row_losses[row] = loss;
    }
  }
}

// ---- elementwise losses: loss(i) and grad(i) (dloss_i/dinput_i), core/losses.h's formulas ------------

template <class T>
struct MseElement {
  const T* input;
  const T* target;
  __device__ double loss(int64_t i) const { return mse_element_loss(input[i], target[i]); }
  __device__ double grad(int64_t i) const { return mse_element_grad(input[i], target[i]); }
};

template <class T>
struct L1Element {
  const T* input;
  const T* target;
  __device__ double loss(int64_t i) const { return l1_element_loss(input[i], target[i]); }
  __device__ double grad(int64_t i) const { return l1_element_grad(input[i], target[i]); }
};

template <class T>
struct BceElement {
  const T* input;
  const T* target;
  const T* pos_weight;  // null: p = 1
  int64_t C;            // pos_weight broadcasts over the last axis
  __device__ T weight(int64_t i) const { return pos_weight ? pos_weight[i % C] : T(1); }
  __device__ double loss(int64_t i) const {
    return static_cast<double>(bce_with_logits_element_loss(input[i], target[i], weight(i)));
  }
  __device__ double grad(int64_t i) const {
    return static_cast<double>(bce_with_logits_element_grad(input[i], target[i], weight(i)));
  }
};

// ---- elementwise losses: the shared kernels -----------------------------------------------------------

template <class Element, class T>
__global__ void elementwise_loss_values_kernel(Element element, int64_t n, T* loss) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) loss[i] = static_cast<T>(element.loss(i));
}

// partials[blockIdx.x] = this block's share of the sum (grid-stride order fixed by the grid size).
template <class Element>
__global__ void elementwise_loss_partials_kernel(Element element, int64_t n, double* partials) {
  double local = 0.0;
  for (int64_t i = thread_index(); i < n; i += thread_count()) local += element.loss(i);
  local = BlockReduce::sum(local);
  if (threadIdx.x == 0) partials[blockIdx.x] = local;
}

// grad_input[i] = grad(i) * upstream: grad_loss[i] (none), grad_loss[0] (sum) or grad_loss[0] / n (mean).
template <class Element, class T>
__global__ void elementwise_loss_backward_kernel(Element element, const T* grad_loss, int64_t n, T* grad_input,
                                                 Reduction reduction) {
  const bool per_element = reduction == Reduction::none;
  const double shared = per_element ? 0.0 : reduce_total(static_cast<double>(grad_loss[0]), n, reduction);
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    const double upstream = per_element ? static_cast<double>(grad_loss[i]) : shared;
    grad_input[i] = static_cast<T>(element.grad(i) * upstream);
  }
}

template <class T, class Element>
void elementwise_loss_forward(const Element& element, int64_t n, T* loss, Reduction reduction) {
  if (reduction == Reduction::none) {
    if (n == 0) return;
    elementwise_loss_values_kernel<<<grid_for(n), kBlock, 0, current_stream()>>>(element, n, loss);
    check_launch("elementwise_loss_values_kernel");
    return;
  }
  const unsigned blocks = partial_blocks(n);
  const auto partials = scratch(blocks * static_cast<int64_t>(sizeof(double)));
  double* partial_sums = static_cast<double*>(partials->ptr());
  elementwise_loss_partials_kernel<<<blocks, kBlock, 0, current_stream()>>>(element, n, partial_sums);
  check_launch("elementwise_loss_partials_kernel");
  launch_finish_total<T>(partial_sums, blocks, reduction, nullptr, n, loss);
}

template <class T, class Element>
void elementwise_loss_backward(const Element& element, const T* grad_loss, int64_t n, T* grad_input,
                               Reduction reduction) {
  if (n == 0) return;
  elementwise_loss_backward_kernel<<<grid_for(n), kBlock, 0, current_stream()>>>(element, grad_loss, n, grad_input,
                                                                                 reduction);
  check_launch("elementwise_loss_backward_kernel");
}

}  // namespace

// ---- cross-entropy -----------------------------------------------------------------------------------

template <class T>
void cross_entropy_forward(const T* logits, const int64_t* target, int64_t N, int64_t C, T* loss, T* logsumexp,
                           T* grad_logits, Reduction reduction, int64_t ignore_index, double label_smoothing) {
  const bool per_row = reduction == Reduction::none;
  // Scratch: the valid-target counter, then (mean/sum) the row losses.
  const auto buffer = scratch(static_cast<int64_t>(sizeof(double)) * (1 + (per_row ? 0 : N)));
  auto* counter = static_cast<unsigned long long*>(buffer->ptr());
  double* row_losses = per_row ? nullptr : static_cast<double*>(buffer->ptr()) + 1;
  const unsigned long long* valid_count = count_valid_targets(target, N, ignore_index, reduction, counter);
  if (N > 0) {
    int64_t* bad_index = bad_index_slot();
    with_row_threads(C, [&](auto row_threads) {
      constexpr int kRowThreads = decltype(row_threads)::value;
      cross_entropy_forward_kernel<kRowThreads, T><<<RowGroup<kRowThreads>::blocks(N), kBlock, 0, current_stream()>>>(
          logits, target, N, C, per_row ? loss : nullptr, row_losses, logsumexp, grad_logits, valid_count,
          ignore_index, label_smoothing, bad_index);
    });
    check_launch("cross_entropy_forward_kernel");
  }
  if (!per_row) launch_finish_total<T>(row_losses, N, reduction, valid_count, N, loss);
}

// ---- mse, l1, bce with logits ------------------------------------------------------------------------

template <class T>
void mse_loss_forward(const T* input, const T* target, int64_t n, T* loss, Reduction reduction) {
  elementwise_loss_forward(MseElement<T>{input, target}, n, loss, reduction);
}

template <class T>
void mse_loss_backward(const T* grad_loss, const T* input, const T* target, int64_t n, T* grad_input,
                       Reduction reduction) {
  elementwise_loss_backward(MseElement<T>{input, target}, grad_loss, n, grad_input, reduction);
}

template <class T>
void l1_loss_forward(const T* input, const T* target, int64_t n, T* loss, Reduction reduction) {
  elementwise_loss_forward(L1Element<T>{input, target}, n, loss, reduction);
}

template <class T>
void l1_loss_backward(const T* grad_loss, const T* input, const T* target, int64_t n, T* grad_input,
                      Reduction reduction) {
  elementwise_loss_backward(L1Element<T>{input, target}, grad_loss, n, grad_input, reduction);
}

template <class T>
void bce_with_logits_forward(const T* input, const T* target, const T* pos_weight, int64_t n, int64_t C, T* loss,
                             Reduction reduction) {
  elementwise_loss_forward(BceElement<T>{input, target, pos_weight, C}, n, loss, reduction);
}

template <class T>
void bce_with_logits_backward(const T* grad_loss, const T* input, const T* target, const T* pos_weight, int64_t n,
                              int64_t C, T* grad_input, Reduction reduction) {
  elementwise_loss_backward(BceElement<T>{input, target, pos_weight, C}, grad_loss, n, grad_input, reduction);
}

#define NNX_INSTANTIATE_LOSSES(T)                                                                                  \
  template void cross_entropy_forward<T>(const T*, const int64_t*, int64_t, int64_t, T*, T*, T*, Reduction,         \
                                         int64_t, double);                                                         \
  template void mse_loss_forward<T>(const T*, const T*, int64_t, T*, Reduction);                                    \
  template void mse_loss_backward<T>(const T*, const T*, const T*, int64_t, T*, Reduction);                         \
  template void l1_loss_forward<T>(const T*, const T*, int64_t, T*, Reduction);                                     \
  template void l1_loss_backward<T>(const T*, const T*, const T*, int64_t, T*, Reduction);                          \
  template void bce_with_logits_forward<T>(const T*, const T*, const T*, int64_t, int64_t, T*, Reduction);          \
  template void bce_with_logits_backward<T>(const T*, const T*, const T*, const T*, int64_t, int64_t, T*, Reduction);

NNX_INSTANTIATE_LOSSES(float)
NNX_INSTANTIATE_LOSSES(double)

}  // namespace nnx::cuda
