// Bindings for batch_norm and layer_norm (forward and backward): validation (dtypes, shapes, aliasing,
// PyTorch's "more than 1 value per channel" rule), then the kernel with the GIL released.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "bind/checks.h"
#include "bind/registry.h"
#include "cpu/normalization.h"

namespace nnx::bind {

namespace {

py::array required_array(py::handle obj, const char* name, bool output, const py::array& ref, const char* ref_name,
                         std::initializer_list<int64_t> shape) {
  py::array a = output ? require_output(obj, name) : require_array(obj, name);
  require_dtype_like(a, name, ref, ref_name);
  require_shape(a, name, shape);
  return a;
}

void require_finite(double value, const char* name) {
  if (!std::isfinite(value))
    throw py::value_error(std::string(name) + " must be a finite number, got " + std::to_string(value));
}

// --- batch_norm -----------------------------------------------------------------------------------------------
struct BatchNormForwardArrays {
  py::array x, out, save_mean, save_invstd;
  py::object weight, bias, running_mean, running_var;  // each a py::array or None
};

template <class T>
void run_batch_norm_forward(BatchNormForwardArrays& a, int64_t N, int64_t C, bool training, double momentum,
                            double eps) {
  const T* x = cptr<T>(a.x);
  const T* weight = input_or_null<T>(a.weight);
  const T* bias = input_or_null<T>(a.bias);
  T* running_mean = output_or_null<T>(a.running_mean);
  T* running_var = output_or_null<T>(a.running_var);
  T* out = ptr<T>(a.out);
  T* save_mean = ptr<T>(a.save_mean);
  T* save_invstd = ptr<T>(a.save_invstd);
  py::gil_scoped_release release;
  cpu::batch_norm_forward(out, save_mean, save_invstd, running_mean, running_var, x, weight, bias, N, C, training,
                          momentum, eps);
}

void batch_norm_forward(py::handle x_obj, py::handle weight_obj, py::handle bias_obj, py::handle running_mean_obj,
                        py::handle running_var_obj, py::handle out_obj, py::handle save_mean_obj,
                        py::handle save_invstd_obj, bool training, double momentum, double eps) {
  BatchNormForwardArrays a;
  a.x = require_array(x_obj, "x");
  const Float dtype = require_float(a.x, "x");
  require_ndim(a.x, "x", 2);
  const int64_t N = a.x.shape(0), C = a.x.shape(1);
  a.weight = optional_array(weight_obj, "weight", false, a.x, "x", {C});
  a.bias = optional_array(bias_obj, "bias", false, a.x, "x", {C});
  a.running_mean = optional_array(running_mean_obj, "running_mean", true, a.x, "x", {C});
  a.running_var = optional_array(running_var_obj, "running_var", true, a.x, "x", {C});
  a.out = required_array(out_obj, "out", true, a.x, "x", {N, C});
  a.save_mean = required_array(save_mean_obj, "save_mean", true, a.x, "x", {C});
  a.save_invstd = required_array(save_invstd_obj, "save_invstd", true, a.x, "x", {C});
  if (a.running_mean.is_none() != a.running_var.is_none())
    throw py::value_error("running_mean and running_var must both be arrays or both be None");
  if (!training && a.running_mean.is_none())
    throw py::value_error("running_mean and running_var are required in evaluation mode (training=False)");
  if (training && N == 1)
    throw py::value_error("Expected more than 1 value per channel when training, got input size " +
                          shape_string(a.x));
  require_finite(momentum, "momentum");
  require_finite_nonnegative(eps, "eps");
  require_disjoint({{a.out, "out"}, {a.save_mean, "save_mean"}, {a.save_invstd, "save_invstd"},
                    {a.running_mean, "running_mean"}, {a.running_var, "running_var"}},
                   {{a.x, "x"}, {a.weight, "weight"}, {a.bias, "bias"}});
  if (dtype == Float::f32)
    run_batch_norm_forward<float>(a, N, C, training, momentum, eps);
  else
    run_batch_norm_forward<double>(a, N, C, training, momentum, eps);
}

struct NormBackwardArrays {
  py::array grad_out, x, saved_mean, saved_scale;  // saved_scale: invstd (batch norm) or rstd (layer norm)
  py::object weight, grad_input, grad_weight, grad_bias;  // each a py::array or None
};

template <class T>
void run_batch_norm_backward(NormBackwardArrays& a, int64_t N, int64_t C, bool training) {
  const T* grad_out = cptr<T>(a.grad_out);
  const T* x = cptr<T>(a.x);
  const T* weight = input_or_null<T>(a.weight);
  const T* save_mean = cptr<T>(a.saved_mean);
  const T* save_invstd = cptr<T>(a.saved_scale);
  T* grad_input = output_or_null<T>(a.grad_input);
  T* grad_weight = output_or_null<T>(a.grad_weight);
  T* grad_bias = output_or_null<T>(a.grad_bias);
  py::gil_scoped_release release;
  cpu::batch_norm_backward(grad_input, grad_weight, grad_bias, grad_out, x, weight, save_mean, save_invstd, N, C,
                           training);
}

// The checks both backwards share: grad_out and x (N, D), weight (D,) or None, the saved (stat_size,) pair,
// and optional outputs grad_input (N, D), grad_weight (D,), grad_bias (D,) disjoint from everything.
NormBackwardArrays backward_arrays(py::handle grad_out_obj, py::handle x_obj, py::handle weight_obj,
                                   py::handle saved_mean_obj, const char* saved_mean_name, py::handle saved_scale_obj,
                                   const char* saved_scale_name, py::handle grad_input_obj, py::handle grad_weight_obj,
                                   py::handle grad_bias_obj, bool per_row) {
  NormBackwardArrays a;
  a.grad_out = require_array(grad_out_obj, "grad_out");
  require_float(a.grad_out, "grad_out");
  require_ndim(a.grad_out, "grad_out", 2);
  const int64_t N = a.grad_out.shape(0), D = a.grad_out.shape(1), stat_size = per_row ? N : D;
  a.x = required_array(x_obj, "x", false, a.grad_out, "grad_out", {N, D});
  a.weight = optional_array(weight_obj, "weight", false, a.grad_out, "grad_out", {D});
  a.saved_mean = required_array(saved_mean_obj, saved_mean_name, false, a.grad_out, "grad_out", {stat_size});
  a.saved_scale = required_array(saved_scale_obj, saved_scale_name, false, a.grad_out, "grad_out", {stat_size});
  a.grad_input = optional_array(grad_input_obj, "grad_input", true, a.grad_out, "grad_out", {N, D});
  a.grad_weight = optional_array(grad_weight_obj, "grad_weight", true, a.grad_out, "grad_out", {D});
  a.grad_bias = optional_array(grad_bias_obj, "grad_bias", true, a.grad_out, "grad_out", {D});
  require_disjoint({{a.grad_input, "grad_input"}, {a.grad_weight, "grad_weight"}, {a.grad_bias, "grad_bias"}},
                   {{a.grad_out, "grad_out"}, {a.x, "x"}, {a.weight, "weight"}, {a.saved_mean, saved_mean_name},
                    {a.saved_scale, saved_scale_name}});
  return a;
}

void batch_norm_backward(py::handle grad_out_obj, py::handle x_obj, py::handle weight_obj, py::handle save_mean_obj,
                         py::handle save_invstd_obj, py::handle grad_input_obj, py::handle grad_weight_obj,
                         py::handle grad_bias_obj, bool training) {
  NormBackwardArrays a = backward_arrays(grad_out_obj, x_obj, weight_obj, save_mean_obj, "save_mean", save_invstd_obj,
                                         "save_invstd", grad_input_obj, grad_weight_obj, grad_bias_obj, false);
  const int64_t N = a.grad_out.shape(0), C = a.grad_out.shape(1);
  if (is_f32(a.grad_out))
    run_batch_norm_backward<float>(a, N, C, training);
  else
    run_batch_norm_backward<double>(a, N, C, training);
}

// --- layer_norm -----------------------------------------------------------------------------------------------
struct LayerNormForwardArrays {
  py::array x, out, mean, rstd;
  py::object weight, bias;  // each a py::array or None
};

template <class T>
void run_layer_norm_forward(LayerNormForwardArrays& a, int64_t N, int64_t D, double eps) {
  const T* x = cptr<T>(a.x);
  const T* weight = input_or_null<T>(a.weight);
  const T* bias = input_or_null<T>(a.bias);
  T* out = ptr<T>(a.out);
  T* mean = ptr<T>(a.mean);
  T* rstd = ptr<T>(a.rstd);
  py::gil_scoped_release release;
  cpu::layer_norm_forward(out, mean, rstd, x, weight, bias, N, D, eps);
}

void require_columns(const py::array& x, const char* name) {
  if (x.shape(1) == 0)
    throw py::value_error(std::string(name) + " must have at least one column to normalise, got shape " +
                          shape_string(x));
}

void layer_norm_forward(py::handle x_obj, py::handle weight_obj, py::handle bias_obj, py::handle out_obj,
                        py::handle mean_obj, py::handle rstd_obj, double eps) {
  LayerNormForwardArrays a;
  a.x = require_array(x_obj, "x");
  const Float dtype = require_float(a.x, "x");
  require_ndim(a.x, "x", 2);
  require_columns(a.x, "x");
  const int64_t N = a.x.shape(0), D = a.x.shape(1);
  a.weight = optional_array(weight_obj, "weight", false, a.x, "x", {D});
  a.bias = optional_array(bias_obj, "bias", false, a.x, "x", {D});
  a.out = required_array(out_obj, "out", true, a.x, "x", {N, D});
  a.mean = required_array(mean_obj, "mean", true, a.x, "x", {N});
  a.rstd = required_array(rstd_obj, "rstd", true, a.x, "x", {N});
  require_finite_nonnegative(eps, "eps");
  require_disjoint({{a.out, "out"}, {a.mean, "mean"}, {a.rstd, "rstd"}},
                   {{a.x, "x"}, {a.weight, "weight"}, {a.bias, "bias"}});
  if (dtype == Float::f32)
    run_layer_norm_forward<float>(a, N, D, eps);
  else
    run_layer_norm_forward<double>(a, N, D, eps);
}

template <class T>
void run_layer_norm_backward(NormBackwardArrays& a, int64_t N, int64_t D) {
  const T* grad_out = cptr<T>(a.grad_out);
  const T* x = cptr<T>(a.x);
  const T* weight = input_or_null<T>(a.weight);
  const T* mean = cptr<T>(a.saved_mean);
  const T* rstd = cptr<T>(a.saved_scale);
  T* grad_input = output_or_null<T>(a.grad_input);
  T* grad_weight = output_or_null<T>(a.grad_weight);
  T* grad_bias = output_or_null<T>(a.grad_bias);
  py::gil_scoped_release release;
  cpu::layer_norm_backward(grad_input, grad_weight, grad_bias, grad_out, x, weight, mean, rstd, N, D);
}

void layer_norm_backward(py::handle grad_out_obj, py::handle x_obj, py::handle weight_obj, py::handle mean_obj,
                         py::handle rstd_obj, py::handle grad_input_obj, py::handle grad_weight_obj,
                         py::handle grad_bias_obj) {
  NormBackwardArrays a = backward_arrays(grad_out_obj, x_obj, weight_obj, mean_obj, "mean", rstd_obj, "rstd",
                                         grad_input_obj, grad_weight_obj, grad_bias_obj, true);
  require_columns(a.grad_out, "grad_out");
  const int64_t N = a.grad_out.shape(0), D = a.grad_out.shape(1);
  if (is_f32(a.grad_out))
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

}  // namespace nnx::bind
