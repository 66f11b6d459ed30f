// Bindings of the fused linear layer (csrc/core/linear.h): validation (shapes, dtypes,
// aliasing), then the kernel with the GIL released. Compiled once per device (csrc/bind/device.h).
#include <cmath>
#include <string>
#include <string_view>

#include "bind/device.h"
#include "core/linear.h"

namespace nnx::bind {

namespace {

constexpr std::initializer_list<Activation> kLinearActivations = {
    Activation::none, Activation::relu, Activation::leaky_relu, Activation::sigmoid,
    Activation::tanh, Activation::gelu, Activation::gelu_tanh};

inline Activation parse_activation(py::handle name) {
  if (!PyUnicode_Check(name.ptr()))
    throw py::type_error("activation must be a str, got " +
                         py::str(py::type::of(name).attr("__name__")).cast<std::string>());
  Py_ssize_t size = 0;
  const char* utf8 = PyUnicode_AsUTF8AndSize(name.ptr(), &size);
  if (!utf8) throw py::error_already_set();
  Activation kind;
  if (!activation_from_name(std::string_view(utf8, size), kLinearActivations, &kind))
    throw py::value_error("activation must be one of " + activation_choices(kLinearActivations) + ", got '" +
                          std::string(utf8, size) + "'");
  return kind;
}

inline std::string name_of(Activation kind) { return std::string(kActivationNames[static_cast<int>(kind)]); }

inline bool needs_preact(Activation kind) { return kind == Activation::gelu || kind == Activation::gelu_tanh; }

inline void check_negative_slope(Activation kind, double negative_slope, bool backward) {
  if (kind != Activation::leaky_relu) return;
  if (!std::isfinite(negative_slope))
    throw py::value_error("negative_slope must be a finite number, got " + std::to_string(negative_slope));
  // The backward tells x > 0 from out > 0, which a negative slope would make ambiguous.
  if (backward && negative_slope < 0)
    throw py::value_error("negative_slope must be >= 0 for the backward (it reads the sign of x from out), got " +
                          std::to_string(negative_slope));
}

template <class T>
ActivationParams<T> params_of(double negative_slope) {
  ActivationParams<T> params;
  params.negative_slope = static_cast<T>(negative_slope);
  return params;
}

}  // namespace

void bind_linear(py::module_& m) {
  using Array = Device::Array;
  using Named = NamedArray<Device::Value>;
  m.def(
      "linear_forward",
      [](py::handle x_obj, py::handle weight_obj, py::handle bias_obj, py::handle out_obj, py::handle activation_obj,
         double negative_slope, py::handle preact_obj) {
        const Activation activation = parse_activation(activation_obj);
        Array x = Device::input(x_obj, "x");
        const Float dtype = require_float(x, "x");
        require_ndim(x, "x", 2);
        const int64_t N = extent(x, 0), K = extent(x, 1);
        Array weight = Device::input(weight_obj, "weight");
        require_dtype_like(weight, "weight", x, "x");
        require_ndim(weight, "weight", 2);
        const int64_t M = extent(weight, 0);
        require_shape(weight, "weight", {M, K});
        require_same_device(weight, "weight", x, "x");
        const auto bias = optional_like<Device>(bias_obj, "bias", false, x, "x", {M});
        Array out = Device::output(out_obj, "out");
        require_dtype_like(out, "out", x, "x");
        require_shape(out, "out", {N, M});
        require_same_device(out, "out", x, "x");
        auto preact = optional_like<Device>(preact_obj, "preact", true, x, "x", {N, M});
        if (!preact && needs_preact(activation))
          throw py::value_error("preact is required for activation '" + name_of(activation) +
                                "' (its backward reads it)");
        check_negative_slope(activation, negative_slope, false);
        require_disjoint_arrays<Device::Value>(
            {Named{&out, "out"}, Named{get(preact), "preact"}},
            {Named{&x, "x"}, Named{&weight, "weight"}, Named{get(bias), "bias"}});
        require_blas_int<Device>(N, "x");
        require_blas_int<Device>(K, "x");
        require_blas_int<Device>(M, "weight");
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *input = cptr<T>(x), *w = cptr<T>(weight), *b = cptr_or_null<T>(bias);
          T *result = ptr<T>(out), *pre = ptr_or_null<T>(preact);
          const ActivationParams<T> params = params_of<T>(negative_slope);
          Device::launch(x, [&] { dev::linear_forward(result, pre, input, w, b, N, K, M, activation, params); });
        });
      },
      py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("out"), py::arg("activation") = "none",
      py::arg("negative_slope") = 0.01, py::arg("preact") = py::none(),
      "out(N,M) = act(x(N,K) @ weight(M,K).T + bias(M,)), bias and activation fused into one pass over out. "
      "preact(N,M) receives the value before the activation; required for gelu/gelu_tanh.");
  m.def(
      "linear_backward",
      [](py::handle grad_out_obj, py::handle x_obj, py::handle weight_obj, py::handle saved_obj,
         py::handle grad_preact_obj, py::handle grad_x_obj, py::handle grad_weight_obj, py::handle grad_bias_obj,
         py::handle activation_obj, double negative_slope, bool accumulate) {
        const Activation activation = parse_activation(activation_obj);
        Array grad_out = Device::input(grad_out_obj, "grad_out");
        const Float dtype = require_float(grad_out, "grad_out");
        require_ndim(grad_out, "grad_out", 2);
        const int64_t N = extent(grad_out, 0), M = extent(grad_out, 1);
        Array x = Device::input(x_obj, "x");
        require_dtype_like(x, "x", grad_out, "grad_out");
        require_ndim(x, "x", 2);
        const int64_t K = extent(x, 1);
        require_shape(x, "x", {N, K});
        require_same_device(x, "x", grad_out, "grad_out");
        Array weight = Device::input(weight_obj, "weight");
        require_dtype_like(weight, "weight", grad_out, "grad_out");
        require_shape(weight, "weight", {M, K});
        require_same_device(weight, "weight", grad_out, "grad_out");
        const auto saved = optional_like<Device>(saved_obj, "saved", false, grad_out, "grad_out", {N, M});
        if (!saved && activation != Activation::none)
          throw py::value_error("saved is required for activation '" + name_of(activation) +
                                "' (the forward's out, or its preact for gelu/gelu_tanh)");
        Array grad_preact = Device::output(grad_preact_obj, "grad_preact");
        require_dtype_like(grad_preact, "grad_preact", grad_out, "grad_out");
        require_shape(grad_preact, "grad_preact", {N, M});
        require_same_device(grad_preact, "grad_preact", grad_out, "grad_out");
        auto grad_x = optional_like<Device>(grad_x_obj, "grad_x", true, grad_out, "grad_out", {N, K});
        auto grad_weight = optional_like<Device>(grad_weight_obj, "grad_weight", true, grad_out, "grad_out", {M, K});
        auto grad_bias = optional_like<Device>(grad_bias_obj, "grad_bias", true, grad_out, "grad_out", {M});
        check_negative_slope(activation, negative_slope, true);
        // grad_preact may be grad_out itself (computed in place), but must not overlap it otherwise.
        if (address(grad_preact) != address(grad_out))
          require_no_overlap(grad_preact, "grad_preact", grad_out, "grad_out");
        require_disjoint_arrays<Device::Value>(
            {Named{&grad_preact, "grad_preact"}},
            {Named{&x, "x"}, Named{&weight, "weight"}, Named{get(saved), "saved"}});
        require_disjoint_arrays<Device::Value>(
            {Named{get(grad_x), "grad_x"}, Named{get(grad_weight), "grad_weight"}, Named{get(grad_bias), "grad_bias"}},
            {Named{&grad_out, "grad_out"}, Named{&x, "x"}, Named{&weight, "weight"}, Named{get(saved), "saved"},
             Named{&grad_preact, "grad_preact"}});
        require_blas_int<Device>(N, "grad_out");
        require_blas_int<Device>(M, "grad_out");
        require_blas_int<Device>(K, "x");
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *g = cptr<T>(grad_out), *input = cptr<T>(x), *w = cptr<T>(weight), *s = cptr_or_null<T>(saved);
          T *gp = ptr<T>(grad_preact), *gx = ptr_or_null<T>(grad_x), *gw = ptr_or_null<T>(grad_weight);
          T* gb = ptr_or_null<T>(grad_bias);
          const ActivationParams<T> params = params_of<T>(negative_slope);
          Device::launch(grad_out, [&] {
            dev::linear_backward(gp, gx, gw, gb, g, input, w, s, N, K, M, activation, params, accumulate);
          });
        });
      },
      py::arg("grad_out"), py::arg("x"), py::arg("weight"), py::arg("saved"), py::arg("grad_preact"),
      py::arg("grad_x"), py::arg("grad_weight"), py::arg("grad_bias"), py::arg("activation") = "none",
      py::arg("negative_slope") = 0.01, py::arg("accumulate") = false,
      "Backward of linear_forward: grad_preact = grad_out * act'(saved) (may be grad_out itself), then grad_x, "
      "grad_weight and grad_bias (each may be None; accumulate=True adds into grad_weight and grad_bias).");
}

}  // namespace nnx::bind
