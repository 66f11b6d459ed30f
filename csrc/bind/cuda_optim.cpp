// CUDA bindings for the fused optimizer steps (checks in optim_binding.h), CUDA multi-tensor launchers.
#include "bind/optim_binding.h"
#include "bind/cuda_registry.h"
#include "cuda/optim.h"

namespace nnx::bind::cuda {

namespace {
struct CudaOptim {
  using SgdOptions = nnx::cuda::SgdOptions;
  using AdamOptions = nnx::cuda::AdamOptions;
  using RmspropOptions = nnx::cuda::RmspropOptions;
  using AdagradOptions = nnx::cuda::AdagradOptions;
  using AdadeltaOptions = nnx::cuda::AdadeltaOptions;
  using AdamaxOptions = nnx::cuda::AdamaxOptions;
  using NadamOptions = nnx::cuda::NadamOptions;
  using RadamOptions = nnx::cuda::RadamOptions;
  template <class T>
  static void sgd(T* const* params, const T* const* grads, T* const* momentum_buffers, const int64_t* sizes,
                  int64_t count, const SgdOptions& options) {
    nnx::cuda::sgd_step<T>(params, grads, momentum_buffers, sizes, count, options);
  }
  template <class T>
  static void adam(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                   T* const* max_exp_avg_sqs, const int64_t* sizes, int64_t count, const AdamOptions& options) {
    nnx::cuda::adam_step<T>(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, sizes, count, options);
  }
  template <class T>
  static void rmsprop(T* const* params, const T* const* grads, T* const* square_avgs, T* const* grad_avgs,
                      T* const* momentum_buffers, const int64_t* sizes, int64_t count, const RmspropOptions& options) {
    nnx::cuda::rmsprop_step<T>(params, grads, square_avgs, grad_avgs, momentum_buffers, sizes, count, options);
  }
  template <class T>
  static void adagrad(T* const* params, const T* const* grads, T* const* state_sums, const int64_t* sizes, int64_t count,
                      const AdagradOptions& options) {
    nnx::cuda::adagrad_step<T>(params, grads, state_sums, sizes, count, options);
  }
  template <class T>
  static void adadelta(T* const* params, const T* const* grads, T* const* square_avgs, T* const* acc_deltas,
                       const int64_t* sizes, int64_t count, const AdadeltaOptions& options) {
    nnx::cuda::adadelta_step<T>(params, grads, square_avgs, acc_deltas, sizes, count, options);
  }
  template <class T>
  static void adamax(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_infs,
                     const int64_t* sizes, int64_t count, const AdamaxOptions& options) {
    nnx::cuda::adamax_step<T>(params, grads, exp_avgs, exp_infs, sizes, count, options);
  }
  template <class T>
  static void nadam(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                    const int64_t* sizes, int64_t count, const NadamOptions& options) {
    nnx::cuda::nadam_step<T>(params, grads, exp_avgs, exp_avg_sqs, sizes, count, options);
  }
  template <class T>
  static void radam(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                    const int64_t* sizes, int64_t count, const RadamOptions& options) {
    nnx::cuda::radam_step<T>(params, grads, exp_avgs, exp_avg_sqs, sizes, count, options);
  }
};
}  // namespace

void bind_optim(py::module_& m) { bind_optim_family<CudaArrays, CudaOptim>(m); }

}  // namespace nnx::bind::cuda
