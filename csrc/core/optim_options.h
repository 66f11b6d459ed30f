// The options of each fused optimizer step (what torch.optim passes per parameter group) and the per-call
// scalars of the newer steps, computed in double on the host: shared by the CPU and CUDA kernels and the bindings.
// Kept apart from core/optim.h so that these host computations compile exactly as before in every
// translation unit (cpu/optim.cpp compiles its formulas, and only those, without contraction).
#pragma once
#include <cmath>
#include <cstdint>

namespace nnx {

struct SgdOptions {
  double lr = 0.0, momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false, maximize = false;
  bool first_step = false;  // b = g instead of b = momentum * b + (1 - dampening) * g (PyTorch's first step)
};

struct AdamOptions {
  int64_t step = 1;  // counts from 1 and already includes this update
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decoupled_weight_decay = false;  // AdamW
  bool amsgrad = false, maximize = false;
};

struct RmspropOptions {
  double lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0.0, momentum = 0.0;
  bool centered = false, maximize = false;
};

struct AdagradOptions {
  int64_t step = 1;  // counts from 1 and already includes this update
  double lr = 1e-2, lr_decay = 0.0, weight_decay = 0.0, eps = 1e-10;
  bool maximize = false;
};

struct AdadeltaOptions {
  double lr = 1.0, rho = 0.9, eps = 1e-6, weight_decay = 0.0;
  bool maximize = false;
};

struct AdamaxOptions {
  int64_t step = 1;
  double lr = 2e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool maximize = false;
};

struct NadamOptions {
  int64_t step = 1;
  double mu_product = 1.0;  // the product of the momentum coefficients mu_1 ... mu_step, this step's included
  double lr = 2e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0, momentum_decay = 4e-3;
  bool decoupled_weight_decay = false, maximize = false;
};

struct RadamOptions {
  int64_t step = 1;
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decoupled_weight_decay = false, maximize = false;
};

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

}  // namespace nnx
