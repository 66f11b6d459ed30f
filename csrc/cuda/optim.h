// CUDA fused optimizer steps (SGD, Adam/AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam): a whole parameter group per call, as multi-tensor
// kernels. Same options structs (core/optim_options.h) and the same formulas (core/optim_math.h) as the CPU.
#pragma once
#include <cstdint>

#include "core/optim_options.h"

namespace nnx::cuda {

using nnx::AdadeltaOptions;
using nnx::AdagradOptions;
using nnx::AdamaxOptions;
using nnx::AdamOptions;
using nnx::NadamOptions;
using nnx::RadamOptions;
using nnx::RmspropOptions;
using nnx::SgdOptions;

// Every launcher takes the group as host arrays of `count` DEVICE pointers: entry i of each array points at
// a contiguous tensor of sizes[i] elements on the current device. Optional state arrays (momentum_buffers,
// max_exp_avg_sqs, grad_avgs) may be null when the options do not use them, exactly as on the CPU.
// The group is updated by one kernel launch per 64 tensors (the pointer table travels as a kernel argument).

template <class T>
void sgd_step(T* const* params, const T* const* grads, T* const* momentum_buffers, const int64_t* sizes,
              int64_t count, const SgdOptions& options);

template <class T>
void adam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
               T* const* max_exp_avg_sqs, const int64_t* sizes, int64_t count, const AdamOptions& options);

template <class T>
void rmsprop_step(T* const* params, const T* const* grads, T* const* square_avgs, T* const* grad_avgs,
                  T* const* momentum_buffers, const int64_t* sizes, int64_t count, const RmspropOptions& options);

template <class T>
void adagrad_step(T* const* params, const T* const* grads, T* const* state_sums, const int64_t* sizes, int64_t count,
                  const AdagradOptions& options);

template <class T>
void adadelta_step(T* const* params, const T* const* grads, T* const* square_avgs, T* const* acc_deltas,
                   const int64_t* sizes, int64_t count, const AdadeltaOptions& options);

template <class T>
void adamax_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_infs,
                 const int64_t* sizes, int64_t count, const AdamaxOptions& options);

template <class T>
void nadam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                const int64_t* sizes, int64_t count, const NadamOptions& options);

template <class T>
void radam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                const int64_t* sizes, int64_t count, const RadamOptions& options);

}  // namespace nnx::cuda
