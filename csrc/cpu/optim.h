// Fused optimizer steps (SGD, Adam/AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam): one call updates
// a whole parameter group in place.
#pragma once
#include <cmath>
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

struct AdagradOptions {
  int64_t step = 1;  // counts from 1 and already includes this update
  double lr = 1e-2, lr_decay = 0.0, weight_decay = 0.0, eps = 1e-10;
  bool maximize = false;
};

// params, state_sums: [count] x (sizes[i],) updated in place; grads: read only.
template <class T>
void adagrad_step(T* const* params, const T* const* grads, T* const* state_sums, const int64_t* sizes, int64_t count,
                  const AdagradOptions& options);

struct AdadeltaOptions {
  double lr = 1.0, rho = 0.9, eps = 1e-6, weight_decay = 0.0;
  bool maximize = false;
};

// params, square_avgs, acc_deltas: [count] x (sizes[i],) updated in place; grads: read only.
template <class T>
void adadelta_step(T* const* params, const T* const* grads, T* const* square_avgs, T* const* acc_deltas,
                   const int64_t* sizes, int64_t count, const AdadeltaOptions& options);

struct AdamaxOptions {
  int64_t step = 1;
  double lr = 2e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool maximize = false;
};

// params, exp_avgs, exp_infs: [count] x (sizes[i],) updated in place; grads: read only.
template <class T>
void adamax_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_infs,
                 const int64_t* sizes, int64_t count, const AdamaxOptions& options);

struct NadamOptions {
  int64_t step = 1;
  double mu_product = 1.0;  // the product of the momentum coefficients mu_1 ... mu_step, this step's included
  double lr = 2e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0, momentum_decay = 4e-3;
  bool decoupled_weight_decay = false, maximize = false;
};

// params, exp_avgs, exp_avg_sqs: [count] x (sizes[i],) updated in place; grads: read only.
template <class T>
void nadam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                const int64_t* sizes, int64_t count, const NadamOptions& options);

struct RadamOptions {
  int64_t step = 1;
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decoupled_weight_decay = false, maximize = false;
};

// params, exp_avgs, exp_avg_sqs: [count] x (sizes[i],) updated in place; grads: read only.
template <class T>
void radam_step(T* const* params, const T* const* grads, T* const* exp_avgs, T* const* exp_avg_sqs,
                const int64_t* sizes, int64_t count, const RadamOptions& options);

// The per-call scalars of the newer steps, computed in double exactly as torch.optim computes them in
// Python (the same operations in the same order; Python's x ** y is pow), shared by the CPU and CUDA kernels.
struct NadamCoefficients {
  double bias_correction2, grad_coefficient, exp_avg_coefficient;
  explicit NadamCoefficients(const NadamOptions& o) {
    const double step = static_cast<double>(o.step);
    bias_correction2 = 1.0 - std::pow(o.beta2, step);
    const double mu = o.beta1 * (1.0 - 0.5 * std::pow(0.96, step * o.momentum_decay));
    const double mu_next = o.beta1 * (1.0 - 0.5 * std::pow(0.96, (step + 1.0) * o.momentum_decay));
    grad_coefficient = -o.lr * (1.0 - mu) / (1.0 - o.mu_product);
    exp_avg_coefficient = (-o.lr * mu_next) / (1.0 - o.mu_product * mu_next);
  }
};

struct RadamCoefficients {
  double bias_correction1, bias_correction2_sqrt, rect;
  bool rectified;  // rho_t > 5: the adaptive (variance-rectified) step; else plain momentum SGD
  explicit RadamCoefficients(const RadamOptions& o) {
    const double step = static_cast<double>(o.step);
    bias_correction1 = 1.0 - std::pow(o.beta1, step);
    const double bias_correction2 = 1.0 - std::pow(o.beta2, step);
    bias_correction2_sqrt = std::pow(bias_correction2, 0.5);
    const double rho_inf = 2.0 / (1.0 - o.beta2) - 1.0;
    const double rho_t = rho_inf - 2.0 * step * std::pow(o.beta2, step) / bias_correction2;
    rectified = rho_t > 5.0;
    rect = rectified ? std::pow((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t), 0.5)
                     : 0.0;
  }
};

}  // namespace nnx::cpu
