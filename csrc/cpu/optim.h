// Fused optimizer steps (SGD, Adam/AdamW, RMSprop): one call updates a whole parameter group in place.
#pragma once
#include <cstdint>

namespace nnx::cpu {

// Every kernel takes a parameter group as parallel arrays of `count` pointers: entry i of each array
// points at a contiguous tensor of sizes[i] elements. The group is updated as one concatenated element
// range split across threads, so one huge tensor and many small ones both use every core. Arithmetic
// follows torch.optim's single-tensor code step by step (same operation order, scalars computed in
// double and rounded to T), so results agree with PyTorch to float rounding.

struct SgdOptions {
  double lr = 0.0, momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false, maximize = false;
  bool first_step = false;  // b = g instead of b = momentum * b + (1 - dampening) * g (PyTorch's first step)
};

// params, momentum_buffers: [count] x (sizes[i],) updated in place; momentum_buffers may be null when
// momentum == 0. grads: [count] x (sizes[i],), read only.
template <class T>
void sgd_step(T* const* params, const T* const* grads, T* const* momentum_buffers, const int64_t* sizes,
              int64_t count, const SgdOptions& options);

struct AdamOptions {
  int64_t step = 1;  // counts from 1 and already includes this update
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decoupled_weight_decay = false;  // AdamW
  bool amsgrad = false, maximize = false;
};

// params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs: [count] x (sizes[i],) updated in place;
// max_exp_avg_sqs may be null unless amsgrad. grads: read only.
template <class T>
void adam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
               T* const* max_exp_avg_sqs, const int64_t* sizes, int64_t count, const AdamOptions& options);

struct RmspropOptions {
  double lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0.0, momentum = 0.0;
  bool centered = false, maximize = false;
};

// params, square_avgs, grad_avgs, momentum_buffers: [count] x (sizes[i],) updated in place;
// grad_avgs may be null unless centered, momentum_buffers unless momentum != 0. grads: read only.
template <class T>
void rmsprop_step(T* const* params, const T* const* grads, T* const* square_avgs, T* const* grad_avgs,
                  T* const* momentum_buffers, const int64_t* sizes, int64_t count, const RmspropOptions& options);

}  // namespace nnx::cpu
