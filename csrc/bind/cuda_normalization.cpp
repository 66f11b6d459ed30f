// CUDA bindings for batch_norm and layer_norm (forward and backward): the checks of cpu_normalization.cpp
// (dtypes, shapes, aliasing, PyTorch's "more than 1 value per channel" rule) on DeviceArrays, then the launcher.
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "bind/cuda_checks.h"
#include "bind/cuda_registry.h"
#include "cuda/normalization.h"

namespace nnx::bind::cuda {

namespace {

// An op-family array argument: a C-contiguous DeviceArray.
DeviceArray& require_array(py::handle obj, const char* name) {
  DeviceArray& a = require_device_array(obj, name);
  require_contiguous(a, name);
  return a;
}

// A required array with ref's dtype and device and the given shape.
DeviceArray* required_array(py::handle obj, const char* name, const DeviceArray& ref, const char* ref_name,
                            std::initializer_list<int64_t> shape) {
  DeviceArray& a = require_array(obj, name);
  require_dtype_like(a, name, ref, ref_name);
  require_shape(a, name, shape);
  require_same_device(a, name, ref, ref_name);
  return &a;
}

// An optional array: None (nullptr), or as required_array.
DeviceArray* optional_array(py::handle obj, const char* name, const DeviceArray& ref, const char* ref_name,
                            std::initializer_list<int64_t> shape) {
  return obj.is_none() ? nullptr : required_array(obj, name, ref, ref_name, shape);
}

void require_finite(double value, const char* name) {
  if (!std::isfinite(value))
    throw py::value_error(std::string(name) + " must be a finite number, got " + std::to_string(value));
}

void require_finite_nonnegative(double value, const char* name) {
  if (!(value >= 0.0) || value == std::numeric_limits<double>::infinity())
    throw py::value_error(std::string(name) + " must be a finite number >= 0, got " + std::to_string(value));
}

struct Named {
  const DeviceArray* array;  // may be null (an absent optional argument)
  const char* name;
};

// No output may share memory with an input or with another output.
void require_disjoint(const std::vector<Named>& outputs, const std::vector<Named>& inputs) {
  for (size_t o = 0; o < outputs.size(); ++o) {
    if (outputs[o].array == nullptr) continue;
    for (const Named& in : inputs)
      if (in.array != nullptr) require_no_overlap(*outputs[o].array, outputs[o].name, *in.array, in.name);
    for (size_t other = o + 1; other < outputs.size(); ++other)
      if (outputs[other].array != nullptr)
        require_no_overlap(*outputs[o].array, outputs[o].name, *outputs[other].array, outputs[other].name);
  }
}

template <class T>
const T* input_or_null(const DeviceArray* a) {
  return a != nullptr ? static_cast<const T*>(a->data()) : nullptr;
}

template <class T>
T* output_or_null(const DeviceArray* a) {
  return ptr_or_null<T>(a);
}

// --- batch_norm -----------------------------------------------------------------------------------------------
struct BatchNormForwardArrays {
  DeviceArray *x, *out, *save_mean, *save_invstd;
  DeviceArray *weight, *bias, *running_mean, *running_var;  // each may be null
};

template <class T>
void run_batch_norm_forward(const BatchNormForwardArrays& a, int64_t N, int64_t C, bool training, double momentum,
                            double eps) {
  launch_on(a.x->device(), [&] {
    nnx::cuda::batch_norm_forward(ptr<T>(*a.out), ptr<T>(*a.save_mean), ptr<T>(*a.save_invstd),
                                  output_or_null<T>(a.running_mean), output_or_null<T>(a.running_var),
                                  ptr<const T>(*a.x), input_or_null<T>(a.weight), input_or_null<T>(a.bias), N, C,
                                  training, momentum, eps);
  });
}

void batch_norm_forward(py::handle x_obj, py::handle weight_obj, py::handle bias_obj, py::handle running_mean_obj,
                        py::handle running_var_obj, py::handle out_obj, py::handle save_mean_obj,
                        py::handle save_invstd_obj, bool training, double momentum, double eps) {
  BatchNormForwardArrays a;
  a.x = &require_array(x_obj, "x");
  require_float(*a.x, "x");
  require_ndim(*a.x, "x", 2);
  const int64_t N = a.x->shape[0], C = a.x->shape[1];
  a.weight = optional_array(weight_obj, "weight", *a.x, "x", {C});
  a.bias = optional_array(bias_obj, "bias", *a.x, "x", {C});
  a.running_mean = optional_array(running_mean_obj, "running_mean", *a.x, "x", {C});
  a.running_var = optional_array(running_var_obj, "running_var", *a.x, "x", {C});
  a.out = required_array(out_obj, "out", *a.x, "x", {N, C});
  a.save_mean = required_array(save_mean_obj, "save_mean", *a.x, "x", {C});
  a.save_invstd = required_array(save_invstd_obj, "save_invstd", *a.x, "x", {C});
  if ((a.running_mean == nullptr) != (a.running_var == nullptr))
    throw py::value_error("running_mean and running_var must both be arrays or both be None");
  if (!training && a.running_mean == nullptr)
    throw py::value_error("running_mean and running_var are required in evaluation mode (training=False)");
  if (training && N == 1)
    throw py::value_error("Expected more than 1 value per channel when training, got input size " +
                          a.x->shape_string());
  require_finite(momentum, "momentum");
  require_finite_nonnegative(eps, "eps");
  require_disjoint({{a.out, "out"}, {a.save_mean, "save_mean"}, {a.save_invstd, "save_invstd"},
                    {a.running_mean, "running_mean"}, {a.running_var, "running_var"}},
                   {{a.x, "x"}, {a.weight, "weight"}, {a.bias, "bias"}});
  if (a.x->dtype == DType::Float32)
    run_batch_norm_forward<float>(a, N, C, training, momentum, eps);
  else
    run_batch_norm_forward<double>(a, N, C, training, momentum, eps);
}

struct NormBackwardArrays {
  DeviceArray *grad_out, *x, *saved_mean, *saved_scale;  // saved_scale: invstd (batch norm) or rstd (layer norm)
  DeviceArray *weight, *grad_input, *grad_weight, *grad_bias;  // each may be null
};

// The checks both backwards share: grad_out and x (N, D), weight (D,) or None, the saved (stat_size,) pair,
// and optional outputs grad_input (N, D), grad_weight (D,), grad_bias (D,) disjoint from everything.
NormBackwardArrays backward_arrays(py::handle grad_out_obj, py::handle x_obj, py::handle weight_obj,
                                   py::handle saved_mean_obj, const char* saved_mean_name, py::handle saved_scale_obj,
                                   const char* saved_scale_name, py::handle grad_input_obj, py::handle grad_weight_obj,
                                   py::handle grad_bias_obj, bool per_row) {
  NormBackwardArrays a;
  a.grad_out = &require_array(grad_out_obj, "grad_out");
  require_float(*a.grad_out, "grad_out");
  require_ndim(*a.grad_out, "grad_out", 2);
  const int64_t N = a.grad_out->shape[0], D = a.grad_out->shape[1], stat_size = per_row ? N : D;
  const DeviceArray& ref = *a.grad_out;
  a.x = required_array(x_obj, "x", ref, "grad_out", {N, D});
  a.weight = optional_array(weight_obj, "weight", ref, "grad_out", {D});
  a.saved_mean = required_array(saved_mean_obj, saved_mean_name, ref, "grad_out", {stat_size});
  a.saved_scale = required_array(saved_scale_obj, saved_scale_name, ref, "grad_out", {stat_size});
  a.grad_input = optional_array(grad_input_obj, "grad_input", ref, "grad_out", {N, D});
  a.grad_weight = optional_array(grad_weight_obj, "grad_weight", ref, "grad_out", {D});
  a.grad_bias = optional_array(grad_bias_obj, "grad_bias", ref, "grad_out", {D});
  require_disjoint({{a.grad_input, "grad_input"}, {a.grad_weight, "grad_weight"}, {a.grad_bias, "grad_bias"}},
                   {{a.grad_out, "grad_out"}, {a.x, "x"}, {a.weight, "weight"}, {a.saved_mean, saved_mean_name},
                    {a.saved_scale, saved_scale_name}});
  return a;
}

template <class T>
void run_batch_norm_backward(const NormBackwardArrays& a, int64_t N, int64_t C, bool training) {
  launch_on(a.grad_out->device(), [&] {
    nnx::cuda::batch_norm_backward(output_or_null<T>(a.grad_input), output_or_null<T>(a.grad_weight),
                                   output_or_null<T>(a.grad_bias), ptr<const T>(*a.grad_out), ptr<const T>(*a.x),
                                   input_or_null<T>(a.weight), ptr<const T>(*a.saved_mean),
                                   ptr<const T>(*a.saved_scale), N, C, training);
  });
}

void batch_norm_backward(py::handle grad_out_obj, py::handle x_obj, py::handle weight_obj, py::handle save_mean_obj,
                         py::handle save_invstd_obj, py::handle grad_input_obj, py::handle grad_weight_obj,
                         py::handle grad_bias_obj, bool training) {
  const NormBackwardArrays a = backward_arrays(grad_out_obj, x_obj, weight_obj, save_mean_obj, "save_mean",
                                               save_invstd_obj, "save_invstd", grad_input_obj, grad_weight_obj,
                                               grad_bias_obj, false);
  const int64_t N = a.grad_out->shape[0], C = a.grad_out->shape[1];
  if (a.grad_out->dtype == DType::Float32)
    run_batch_norm_backward<float>(a, N, C, training);
  else
    run_batch_norm_backward<double>(a, N, C, training);
}

// --- layer_norm -----------------------------------------------------------------------------------------------
struct LayerNormForwardArrays {
  DeviceArray *x, *out, *mean, *rstd;
  DeviceArray *weight, *bias;  // each may be null
};

template <class T>
void run_layer_norm_forward(const LayerNormForwardArrays& a, int64_t N, int64_t D, double eps) {
  launch_on(a.x->device(), [&] {
    nnx::cuda::layer_norm_forward(ptr<T>(*a.out), ptr<T>(*a.mean), ptr<T>(*a.rstd), ptr<const T>(*a.x),
                                  input_or_null<T>(a.weight), input_or_null<T>(a.bias), N, D, eps);
  });
}

void require_columns(const DeviceArray& x, const char* name) {
  if (x.shape[1] == 0)
    throw py::value_error(std::string(name) + " must have at least one column to normalise, got shape " +
                          x.shape_string());
}

void layer_norm_forward(py::handle x_obj, py::handle weight_obj, py::handle bias_obj, py::handle out_obj,
                        py::handle mean_obj, py::handle rstd_obj, double eps) {
  LayerNormForwardArrays a;
  a.x = &require_array(x_obj, "x");
  require_float(*a.x, "x");
  require_ndim(*a.x, "x", 2);
  require_columns(*a.x, "x");
  const int64_t N = a.x->shape[0], D = a.x->shape[1];
  a.weight = optional_array(weight_obj, "weight", *a.x, "x", {D});
  a.bias = optional_array(bias_obj, "bias", *a.x, "x", {D});
  a.out = required_array(out_obj, "out", *a.x, "x", {N, D});
  a.mean = required_array(mean_obj, "mean", *a.x, "x", {N});
  a.rstd = required_array(rstd_obj, "rstd", *a.x, "x", {N});
  require_finite_nonnegative(eps, "eps");
  require_disjoint({{a.out, "out"}, {a.mean, "mean"}, {a.rstd, "rstd"}},
                   {{a.x, "x"}, {a.weight, "weight"}, {a.bias, "bias"}});
  if (a.x->dtype == DType::Float32)
    run_layer_norm_forward<float>(a, N, D, eps);
  else
    run_layer_norm_forward<double>(a, N, D, eps);
}

template <class T>
void run_layer_norm_backward(const NormBackwardArrays& a, int64_t N, int64_t D) {
  launch_on(a.grad_out->device(), [&] {
    nnx::cuda::layer_norm_backward(output_or_null<T>(a.grad_input), output_or_null<T>(a.grad_weight),
                                   output_or_null<T>(a.grad_bias), ptr<const T>(*a.grad_out), ptr<const T>(*a.x),
                                   input_or_null<T>(a.weight), ptr<const T>(*a.saved_mean),
                                   ptr<const T>(*a.saved_scale), N, D);
  });
}

void layer_norm_backward(py::handle grad_out_obj, py::handle x_obj, py::handle weight_obj, py::handle mean_obj,
                         py::handle rstd_obj, py::handle grad_input_obj, py::handle grad_weight_obj,
                         py::handle grad_bias_obj) {
  const NormBackwardArrays a = backward_arrays(grad_out_obj, x_obj, weight_obj, mean_obj, "mean", rstd_obj, "rstd",
                                               grad_input_obj, grad_weight_obj, grad_bias_obj, true);
  require_columns(*a.grad_out, "grad_out");
  const int64_t N = a.grad_out->shape[0], D = a.grad_out->shape[1];
  if (a.grad_out->dtype == DType::Float32)
    run_layer_norm_backward<float>(a, N, D);
  else
    run_layer_norm_backward<double>(a, N, D);
}

}  // namespace

void bind_normalization(py::module_& m) {
  m.def("batch_norm_forward", &batch_norm_forward, py::arg("x"), py::arg("weight"), py::arg("bias"),
        py::arg("running_mean"), py::arg("running_var"), py::arg("out"), py::arg("save_mean"), py::arg("save_invstd"),
        py::arg("training") = true, py::arg("momentum") = 0.1, py::arg("eps") = 1e-5,
        "out(N,C) = (x - mean) / sqrt(var + eps) * weight + bias per column; batch statistics and in-place running "
        "statistics updates when training, running statistics otherwise. See _C.pyi.");
  m.def("batch_norm_backward", &batch_norm_backward, py::arg("grad_out"), py::arg("x"), py::arg("weight"),
        py::arg("save_mean"), py::arg("save_invstd"), py::arg("grad_input"), py::arg("grad_weight"),
        py::arg("grad_bias"), py::arg("training") = true,
        "grad_input(N,C), grad_weight(C,), grad_bias(C,) of batch_norm_forward (each may be None). See _C.pyi.");
  m.def("layer_norm_forward", &layer_norm_forward, py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("out"),
        py::arg("mean"), py::arg("rstd"), py::arg("eps") = 1e-5,
        "out(N,D) = (x - mean) * rstd * weight + bias per row; mean(N,) and rstd(N,) saved. See _C.pyi.");
  m.def("layer_norm_backward", &layer_norm_backward, py::arg("grad_out"), py::arg("x"), py::arg("weight"),
        py::arg("mean"), py::arg("rstd"), py::arg("grad_input"), py::arg("grad_weight"), py::arg("grad_bias"),
        "grad_input(N,D), grad_weight(D,), grad_bias(D,) of layer_norm_forward (each may be None). See _C.pyi.");
}

}  // namespace nnx::bind::cuda
