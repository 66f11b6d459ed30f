// Fused optimizer steps (SGD, Adam/AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam): one call updates
// a whole parameter group in place.
#pragma once
#include <cstdint>

#include "core/optim_options.h"

namespace nnx::cpu {

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

// Every kernel takes a parameter group as parallel arrays of `count` pointers: entry i of each array
// points at a contiguous tensor of sizes[i] elements. The group is updated as one concatenated element
// range split across threads, so one huge tensor and many small ones both use every core. Arithmetic
// follows torch.optim's single-tensor code step by step (same operation order, scalars computed in
// double and rounded to T), so results agree with PyTorch to float rounding.

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

}  // namespace nnx::cpu
