// Bindings for the fused optimizer steps (checks in optim_binding.h), CPU kernels.
#include "bind/optim_binding.h"
#include "bind/registry.h"
#include "cpu/optim.h"

namespace nnx::bind {

namespace {
struct CpuOptim {
  using SgdOptions = cpu::SgdOptions;
  using AdamOptions = cpu::AdamOptions;
  using RmspropOptions = cpu::RmspropOptions;
  using AdagradOptions = cpu::AdagradOptions;
  using AdadeltaOptions = cpu::AdadeltaOptions;
  using AdamaxOptions = cpu::AdamaxOptions;
  using NadamOptions = cpu::NadamOptions;
  using RadamOptions = cpu::RadamOptions;
  template <class T>
  static void sgd(T* const* params, const T* const* grads, T* const* momentum_buffers, const int64_t* sizes,
                  int64_t count, const SgdOptions& options) {
    cpu::sgd_step<T>(params, grads, momentum_buffers, sizes, count, options);
  }
  template <class T>
  static void adam(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                   T* const* max_exp_avg_sqs, const int64_t* sizes, int64_t count, const AdamOptions& options) {
    cpu::adam_step<T>(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, sizes, count, options);
  }
  template <class T>
  static void rmsprop(T* const* params, const T* const* grads, T* const* square_avgs, T* const* grad_avgs,
                      T* const* momentum_buffers, const int64_t* sizes, int64_t count, const RmspropOptions& options) {
    cpu::rmsprop_step<T>(params, grads, square_avgs, grad_avgs, momentum_buffers, sizes, count, options);
  }
  template <class T>
  static void adagrad(T* const* params, const T* const* grads, T* const* state_sums, const int64_t* sizes, int64_t count,
                      const AdagradOptions& options) {
    cpu::adagrad_step<T>(params, grads, state_sums, sizes, count, options);
  }
  template <class T>
  static void adadelta(T* const* params, const T* const* grads, T* const* square_avgs, T* const* acc_deltas,
                       const int64_t* sizes, int64_t count, const AdadeltaOptions& options) {
    cpu::adadelta_step<T>(params, grads, square_avgs, acc_deltas, sizes, count, options);
  }
  template <class T>
  static void adamax(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_infs,
                     const int64_t* sizes, int64_t count, const AdamaxOptions& options) {
    cpu::adamax_step<T>(params, grads, exp_avgs, exp_infs, sizes, count, options);
  }
  template <class T>
  static void nadam(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                    const int64_t* sizes, int64_t count, const NadamOptions& options) {
    cpu::nadam_step<T>(params, grads, exp_avgs, exp_avg_sqs, sizes, count, options);
  }
  template <class T>
  static void radam(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                    const int64_t* sizes, int64_t count, const RadamOptions& options) {
    cpu::radam_step<T>(params, grads, exp_avgs, exp_avg_sqs, sizes, count, options);
  }
};
}  // namespace

void bind_optim(py::module_& m) { bind_optim_family<CpuArrays, CpuOptim>(m); }

}  // namespace nnx::bind
