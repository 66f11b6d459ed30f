// Bindings of batch_norm (over (N, C) or (N, C, S), optional fused relu) and layer_norm, forward and backward
// (csrc/core/normalization.h): validation (dtypes, shapes, aliasing, PyTorch's "more than 1 value per channel"
// rule), then the kernel with the GIL released. Compiled once per device (csrc/bind/device.h).
#include <cmath>
#include <string>

#include "bind/device.h"
#include "core/normalization.h"

namespace nnx::bind {

namespace {

inline void require_finite(double value, const char* name) {
  if (!std::isfinite(value))
    throw py::value_error(std::string(name) + " must be a finite number, got " + std::to_string(value));
}

// batch_norm's layouts: (N, C) or (N, C, S); S = 1 for the former.
template <class A>
int64_t channel_positions(const A& x, const char* name) {
  if (ndim_of(x) != 2 && ndim_of(x) != 3)
    throw py::value_error(std::string(name) + " must be 2-D (N, C) or 3-D (N, C, S), got shape " + shape_string(x));
  return ndim_of(x) == 3 ? extent(x, 2) : 1;
}

// An array of x's dtype, device and shape ((N, C) or (N, C, S)).
template <class A>
Device::Optional x_shaped(py::handle obj, const char* name, bool output, bool optional, const A& x,
                          const char* x_name) {
  const int64_t N = extent(x, 0), C = extent(x, 1);
  if (optional && obj.is_none()) return Device::Optional{};
  if (ndim_of(x) == 2) return required_like<Device>(obj, name, output, x, x_name, {N, C});
  return required_like<Device>(obj, name, output, x, x_name, {N, C, extent(x, 2)});
}

// batch_norm_forward's activation: "none" or "relu" (true).
inline bool parse_relu(py::handle name) {
  if (!PyUnicode_Check(name.ptr()))
    throw py::type_error("activation must be a str, got " +
                         py::str(py::type::of(name).attr("__name__")).cast<std::string>());
  const std::string value = name.cast<std::string>();
  if (value != "none" && value != "relu")
    throw py::value_error("activation must be one of 'none', 'relu', got '" + value + "'");
  return value == "relu";
}

template <class A>
void require_columns(const A& x, const char* name) {
  if (extent(x, 1) == 0)
    throw py::value_error(std::string(name) + " must have at least one column to normalise, got shape " +
                          shape_string(x));
}

// The arrays both backwards take: grad_out and x (N, D), weight (D,) or None, the saved (stat_size,) pair,
// and optional outputs grad_input (N, D), grad_weight (D,), grad_bias (D,).
struct NormBackwardArrays {
  using Optional = Device::Optional;
  Float dtype;
  Optional grad_out, x, saved_mean, saved_scale;  // saved_scale: invstd (batch norm) or rstd (layer norm)
  Optional weight, grad_input, grad_weight, grad_bias;
  Optional relu_out;  // batch norm with relu: the forward's output
};

// The checks both backwards share; outputs disjoint from everything.
NormBackwardArrays backward_arrays(py::handle grad_out_obj, py::handle x_obj, py::handle weight_obj,
                                   py::handle saved_mean_obj, const char* saved_mean_name,
                                   py::handle saved_scale_obj, const char* saved_scale_name,
                                   py::handle grad_input_obj, py::handle grad_weight_obj,
                                   py::handle grad_bias_obj, bool per_row, py::handle relu_out_obj = py::none()) {
  using Named = NamedArray<Device::Value>;
  NormBackwardArrays a;
  Device::Array grad_out = Device::input(grad_out_obj, "grad_out");
  a.grad_out = Device::hold(grad_out);
  a.dtype = require_float(grad_out, "grad_out");
  if (per_row)
    require_ndim(grad_out, "grad_out", 2);
  else
    channel_positions(grad_out, "grad_out");
  const int64_t N = extent(grad_out, 0), D = extent(grad_out, 1), stat_size = per_row ? N : D;
  a.x = x_shaped(x_obj, "x", false, false, grad_out, "grad_out");
  a.weight = optional_like<Device>(weight_obj, "weight", false, grad_out, "grad_out", {D});
  a.saved_mean = required_like<Device>(saved_mean_obj, saved_mean_name, false, grad_out, "grad_out", {stat_size});
  a.saved_scale = required_like<Device>(saved_scale_obj, saved_scale_name, false, grad_out, "grad_out", {stat_size});
  a.grad_input = x_shaped(grad_input_obj, "grad_input", true, true, grad_out, "grad_out");
  a.grad_weight = optional_like<Device>(grad_weight_obj, "grad_weight", true, grad_out, "grad_out", {D});
  a.grad_bias = optional_like<Device>(grad_bias_obj, "grad_bias", true, grad_out, "grad_out", {D});
  a.relu_out = x_shaped(relu_out_obj, "relu_out", false, true, grad_out, "grad_out");
  require_disjoint_arrays<Device::Value>(
      {Named{get(a.grad_input), "grad_input"}, Named{get(a.grad_weight), "grad_weight"},
       Named{get(a.grad_bias), "grad_bias"}},
      {Named{get(a.grad_out), "grad_out"}, Named{get(a.x), "x"}, Named{get(a.weight), "weight"},
       Named{get(a.saved_mean), saved_mean_name}, Named{get(a.saved_scale), saved_scale_name},
       Named{get(a.relu_out), "relu_out"}});
  return a;
}

}  // namespace

void bind_normalization(py::module_& m) {
  using Named = NamedArray<Device::Value>;
  m.def(
      "batch_norm_forward",
      [](py::handle x_obj, py::handle weight_obj, py::handle bias_obj, py::handle running_mean_obj,
         py::handle running_var_obj, py::handle out_obj, py::handle save_mean_obj, py::handle save_invstd_obj,
         bool training, double momentum, double eps, py::handle activation_obj) {
        Device::Array x = Device::input(x_obj, "x");
        const Float dtype = require_float(x, "x");
        const int64_t S = channel_positions(x, "x");
        const int64_t N = extent(x, 0), C = extent(x, 1);
        auto weight = optional_like<Device>(weight_obj, "weight", false, x, "x", {C});
        auto bias = optional_like<Device>(bias_obj, "bias", false, x, "x", {C});
        auto running_mean = optional_like<Device>(running_mean_obj, "running_mean", true, x, "x", {C});
        auto running_var = optional_like<Device>(running_var_obj, "running_var", true, x, "x", {C});
        auto out = x_shaped(out_obj, "out", true, false, x, "x");
        auto save_mean = required_like<Device>(save_mean_obj, "save_mean", true, x, "x", {C});
        auto save_invstd = required_like<Device>(save_invstd_obj, "save_invstd", true, x, "x", {C});
        if (bool(running_mean) != bool(running_var))
          throw py::value_error("running_mean and running_var must both be arrays or both be None");
        if (!training && !running_mean)
          throw py::value_error("running_mean and running_var are required in evaluation mode (training=False)");
        const bool relu = parse_relu(activation_obj);
        if (training && N * S == 1)
          throw py::value_error("Expected more than 1 value per channel when training, got input size " +
                                shape_string(x));
        require_finite(momentum, "momentum");
        require_finite_nonnegative(eps, "eps");
        require_disjoint_arrays<Device::Value>(
            {Named{get(out), "out"}, Named{get(save_mean), "save_mean"}, Named{get(save_invstd), "save_invstd"},
             Named{get(running_mean), "running_mean"}, Named{get(running_var), "running_var"}},
            {Named{&x, "x"}, Named{get(weight), "weight"}, Named{get(bias), "bias"}});
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *input = cptr<T>(x), *w = cptr_or_null<T>(weight), *b = cptr_or_null<T>(bias);
          T *rm = ptr_or_null<T>(running_mean), *rv = ptr_or_null<T>(running_var);
          T *result = ptr<T>(*out), *mean = ptr<T>(*save_mean), *invstd = ptr<T>(*save_invstd);
          Device::launch(x, [&] {
            dev::batch_norm_forward(result, mean, invstd, rm, rv, input, w, b, N, C, S, training, momentum, eps,
                                    relu);
          });
        });
      },
      py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("running_mean"), py::arg("running_var"),
      py::arg("out"), py::arg("save_mean"), py::arg("save_invstd"), py::arg("training") = true,
      py::arg("momentum") = 0.1, py::arg("eps") = 1e-5, py::arg("activation") = "none",
      "out(N,C[,S]) = act((x - mean) / sqrt(var + eps) * weight + bias) per channel; batch statistics and in-place "
      "running statistics updates when training, running statistics otherwise. See _C.pyi.");
  m.def(
      "batch_norm_backward",
      [](py::handle grad_out_obj, py::handle x_obj, py::handle weight_obj, py::handle save_mean_obj,
         py::handle save_invstd_obj, py::handle grad_input_obj, py::handle grad_weight_obj, py::handle grad_bias_obj,
         bool training, py::handle relu_out_obj) {
        NormBackwardArrays a =
            backward_arrays(grad_out_obj, x_obj, weight_obj, save_mean_obj, "save_mean", save_invstd_obj,
                            "save_invstd", grad_input_obj, grad_weight_obj, grad_bias_obj, false, relu_out_obj);
        const int64_t N = extent(*a.grad_out, 0), C = extent(*a.grad_out, 1);
        const int64_t S = ndim_of(*a.grad_out) == 3 ? extent(*a.grad_out, 2) : 1;
        with_float(a.dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *g = cptr<T>(*a.grad_out), *x = cptr<T>(*a.x), *w = cptr_or_null<T>(a.weight);
          const T *mean = cptr<T>(*a.saved_mean), *invstd = cptr<T>(*a.saved_scale);
          const T* relu_out = cptr_or_null<T>(a.relu_out);
          T *gi = ptr_or_null<T>(a.grad_input), *gw = ptr_or_null<T>(a.grad_weight), *gb = ptr_or_null<T>(a.grad_bias);
          Device::launch(*a.grad_out, [&] {
            dev::batch_norm_backward(gi, gw, gb, g, relu_out, x, w, mean, invstd, N, C, S, training);
          });
        });
      },
      py::arg("grad_out"), py::arg("x"), py::arg("weight"), py::arg("save_mean"), py::arg("save_invstd"),
      py::arg("grad_input"), py::arg("grad_weight"), py::arg("grad_bias"), py::arg("training") = true,
      py::arg("relu_out") = py::none(),
      "grad_input(N,C[,S]), grad_weight(C,), grad_bias(C,) of batch_norm_forward (each may be None); relu_out: the "
      "forward's output when it applied relu. See _C.pyi.");
  m.def(
      "layer_norm_forward",
      [](py::handle x_obj, py::handle weight_obj, py::handle bias_obj, py::handle out_obj, py::handle mean_obj,
         py::handle rstd_obj, double eps) {
        Device::Array x = Device::input(x_obj, "x");
        const Float dtype = require_float(x, "x");
        require_ndim(x, "x", 2);
        require_columns(x, "x");
        const int64_t N = extent(x, 0), D = extent(x, 1);
        auto weight = optional_like<Device>(weight_obj, "weight", false, x, "x", {D});
        auto bias = optional_like<Device>(bias_obj, "bias", false, x, "x", {D});
        auto out = required_like<Device>(out_obj, "out", true, x, "x", {N, D});
        auto mean = required_like<Device>(mean_obj, "mean", true, x, "x", {N});
        auto rstd = required_like<Device>(rstd_obj, "rstd", true, x, "x", {N});
        require_finite_nonnegative(eps, "eps");
        require_disjoint_arrays<Device::Value>(
            {Named{get(out), "out"}, Named{get(mean), "mean"}, Named{get(rstd), "rstd"}},
            {Named{&x, "x"}, Named{get(weight), "weight"}, Named{get(bias), "bias"}});
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *input = cptr<T>(x), *w = cptr_or_null<T>(weight), *b = cptr_or_null<T>(bias);
          T *result = ptr<T>(*out), *mu = ptr<T>(*mean), *r = ptr<T>(*rstd);
          Device::launch(x, [&] { dev::layer_norm_forward(result, mu, r, input, w, b, N, D, eps); });
        });
      },
      py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("out"), py::arg("mean"), py::arg("rstd"),
      py::arg("eps") = 1e-5,
      "out(N,D) = (x - mean) * rstd * weight + bias per row; mean(N,) and rstd(N,) saved. See _C.pyi.");
  m.def(
      "layer_norm_backward",
      [](py::handle grad_out_obj, py::handle x_obj, py::handle weight_obj, py::handle mean_obj, py::handle rstd_obj,
         py::handle grad_input_obj, py::handle grad_weight_obj, py::handle grad_bias_obj) {
        NormBackwardArrays a = backward_arrays(grad_out_obj, x_obj, weight_obj, mean_obj, "mean",
                                                               rstd_obj, "rstd", grad_input_obj, grad_weight_obj,
                                                               grad_bias_obj, true);
        require_columns(*a.grad_out, "grad_out");
        const int64_t N = extent(*a.grad_out, 0), D = extent(*a.grad_out, 1);
        with_float(a.dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *g = cptr<T>(*a.grad_out), *x = cptr<T>(*a.x), *w = cptr_or_null<T>(a.weight);
          const T *mean = cptr<T>(*a.saved_mean), *rstd = cptr<T>(*a.saved_scale);
          T *gi = ptr_or_null<T>(a.grad_input), *gw = ptr_or_null<T>(a.grad_weight), *gb = ptr_or_null<T>(a.grad_bias);
          Device::launch(*a.grad_out, [&] { dev::layer_norm_backward(gi, gw, gb, g, x, w, mean, rstd, N, D); });
        });
      },
      py::arg("grad_out"), py::arg("x"), py::arg("weight"), py::arg("mean"), py::arg("rstd"), py::arg("grad_input"),
      py::arg("grad_weight"), py::arg("grad_bias"),
      "grad_input(N,D), grad_weight(D,), grad_bias(D,) of layer_norm_forward (each may be None). See _C.pyi.");
}

}  // namespace nnx::bind
