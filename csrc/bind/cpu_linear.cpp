// Bindings for the fused linear layer: validation (shapes, dtypes, aliasing), then the kernel with the
// GIL released.
#include <cmath>
#include <string_view>
#include <utility>
#include <vector>

#include "bind/checks.h"
#include "bind/registry.h"
#include "cpu/linear.h"

namespace nnx::bind {

namespace {

using cpu::Activation;

constexpr std::initializer_list<Activation> kLinearActivations = {
    Activation::none, Activation::relu, Activation::leaky_relu, Activation::sigmoid,
    Activation::tanh, Activation::gelu, Activation::gelu_tanh};

Activation parse_activation(py::handle name) {
  if (!PyUnicode_Check(name.ptr()))
    throw py::type_error("activation must be a str, got " +
                         py::str(py::type::of(name).attr("__name__")).cast<std::string>());
  Py_ssize_t size = 0;
  const char* utf8 = PyUnicode_AsUTF8AndSize(name.ptr(), &size);
  if (!utf8) throw py::error_already_set();
  Activation kind;
  if (!cpu::activation_from_name(std::string_view(utf8, size), kLinearActivations, &kind))
    throw py::value_error("activation must be one of " + cpu::activation_choices(kLinearActivations) + ", got '" +
                          std::string(utf8, size) + "'");
  return kind;
}

bool needs_preact(Activation kind) { return kind == Activation::gelu || kind == Activation::gelu_tanh; }

void check_negative_slope(Activation kind, double negative_slope, bool backward) {
  if (kind != Activation::leaky_relu) return;
  if (!std::isfinite(negative_slope))
    throw py::value_error("negative_slope must be a finite number, got " + std::to_string(negative_slope));
  // The backward tells x > 0 from out > 0, which a negative slope would make ambiguous.
  if (backward && negative_slope < 0)
    throw py::value_error("negative_slope must be >= 0 for the backward (it reads the sign of x from out), got " +
                          std::to_string(negative_slope));
}

template <class T>
void run_forward(py::array& x, py::array& weight, const py::object& bias, py::array& out, const py::object& preact,
                 int64_t N, int64_t K, int64_t M, Activation activation, double negative_slope) {
  const T* input = cptr<T>(x);
  const T* w = cptr<T>(weight);
  const T* b = input_or_null<T>(bias);
  T* result = ptr<T>(out);
  T* pre = output_or_null<T>(preact);
  cpu::ActivationParams<T> params;
  params.negative_slope = static_cast<T>(negative_slope);
  py::gil_scoped_release release;
  cpu::linear_forward(result, pre, input, w, b, N, K, M, activation, params);
}

void linear_forward(py::handle x_obj, py::handle weight_obj, py::handle bias_obj, py::handle out_obj,
                    py::handle activation_obj, double negative_slope, py::handle preact_obj) {
  const Activation activation = parse_activation(activation_obj);
  py::array x = require_array(x_obj, "x");
  const Float dtype = require_float(x, "x");
  require_ndim(x, "x", 2);
  const int64_t N = x.shape(0), K = x.shape(1);
  py::array weight = require_array(weight_obj, "weight");
  require_dtype_like(weight, "weight", x, "x");
  require_ndim(weight, "weight", 2);
  const int64_t M = weight.shape(0);
  require_shape(weight, "weight", {M, K});
  py::object bias = optional_array(bias_obj, "bias", false, x, "x", {M});
  py::array out = require_output(out_obj, "out");
  require_dtype_like(out, "out", x, "x");
  require_shape(out, "out", {N, M});
  py::object preact = optional_array(preact_obj, "preact", true, x, "x", {N, M});
  if (preact.is_none() && needs_preact(activation))
    throw py::value_error(std::string("preact is required for activation '") +
                          std::string(cpu::kActivationNames[static_cast<int>(activation)]) +
                          "' (its backward reads it)");
  check_negative_slope(activation, negative_slope, false);
  require_disjoint({{out, "out"}, {preact, "preact"}}, {{x, "x"}, {weight, "weight"}, {bias, "bias"}});
  blas_int(N, "x");
  blas_int(K, "x");
  blas_int(M, "weight");
  if (dtype == Float::f32)
    run_forward<float>(x, weight, bias, out, preact, N, K, M, activation, negative_slope);
  else
    run_forward<double>(x, weight, bias, out, preact, N, K, M, activation, negative_slope);
}

struct BackwardArrays {
  py::array grad_out, x, weight, grad_preact;
  py::object saved, grad_x, grad_weight, grad_bias;  // each a py::array or None
};

template <class T>
void run_backward(BackwardArrays& a, int64_t N, int64_t K, int64_t M, Activation activation, double negative_slope,
                  bool accumulate) {
  const T* grad_out = cptr<T>(a.grad_out);
  const T* x = cptr<T>(a.x);
  const T* weight = cptr<T>(a.weight);
  const T* saved = input_or_null<T>(a.saved);
  T* grad_preact = ptr<T>(a.grad_preact);
  T* grad_x = output_or_null<T>(a.grad_x);
  T* grad_weight = output_or_null<T>(a.grad_weight);
  T* grad_bias = output_or_null<T>(a.grad_bias);
  cpu::ActivationParams<T> params;
  params.negative_slope = static_cast<T>(negative_slope);
  py::gil_scoped_release release;
  cpu::linear_backward(grad_preact, grad_x, grad_weight, grad_bias, grad_out, x, weight, saved, N, K, M, activation,
                       params, accumulate);
}

void linear_backward(py::handle grad_out_obj, py::handle x_obj, py::handle weight_obj, py::handle saved_obj,
                     py::handle grad_preact_obj, py::handle grad_x_obj, py::handle grad_weight_obj,
                     py::handle grad_bias_obj, py::handle activation_obj, double negative_slope, bool accumulate) {
  const Activation activation = parse_activation(activation_obj);
  BackwardArrays a;
  a.grad_out = require_array(grad_out_obj, "grad_out");
  const Float dtype = require_float(a.grad_out, "grad_out");
  require_ndim(a.grad_out, "grad_out", 2);
  const int64_t N = a.grad_out.shape(0), M = a.grad_out.shape(1);
  a.x = require_array(x_obj, "x");
  require_dtype_like(a.x, "x", a.grad_out, "grad_out");
  require_ndim(a.x, "x", 2);
  const int64_t K = a.x.shape(1);
  require_shape(a.x, "x", {N, K});
  a.weight = require_array(weight_obj, "weight");
  require_dtype_like(a.weight, "weight", a.grad_out, "grad_out");
  require_shape(a.weight, "weight", {M, K});
  a.saved = optional_array(saved_obj, "saved", false, a.grad_out, "grad_out", {N, M});
  if (a.saved.is_none() && activation != Activation::none)
    throw py::value_error(std::string("saved is required for activation '") +
                          std::string(cpu::kActivationNames[static_cast<int>(activation)]) +
                          "' (the forward's out, or its preact for gelu/gelu_tanh)");
  a.grad_preact = require_output(grad_preact_obj, "grad_preact");
  require_dtype_like(a.grad_preact, "grad_preact", a.grad_out, "grad_out");
  require_shape(a.grad_preact, "grad_preact", {N, M});
  a.grad_x = optional_array(grad_x_obj, "grad_x", true, a.grad_out, "grad_out", {N, K});
  a.grad_weight = optional_array(grad_weight_obj, "grad_weight", true, a.grad_out, "grad_out", {M, K});
  a.grad_bias = optional_array(grad_bias_obj, "grad_bias", true, a.grad_out, "grad_out", {M});
  check_negative_slope(activation, negative_slope, true);
  // grad_preact may be grad_out itself (computed in place), but must not overlap it otherwise.
  if (a.grad_preact.data() != a.grad_out.data())
    require_no_overlap(a.grad_preact, "grad_preact", a.grad_out, "grad_out");
  require_disjoint({{a.grad_preact, "grad_preact"}}, {{a.x, "x"}, {a.weight, "weight"}, {a.saved, "saved"}});
  require_disjoint({{a.grad_x, "grad_x"}, {a.grad_weight, "grad_weight"}, {a.grad_bias, "grad_bias"}},
                   {{a.grad_out, "grad_out"}, {a.x, "x"}, {a.weight, "weight"}, {a.saved, "saved"},
                    {a.grad_preact, "grad_preact"}});
  blas_int(N, "grad_out");
  blas_int(M, "grad_out");
  blas_int(K, "x");
  if (dtype == Float::f32)
    run_backward<float>(a, N, K, M, activation, negative_slope, accumulate);
  else
    run_backward<double>(a, N, K, M, activation, negative_slope, accumulate);
}

}  // namespace

void bind_linear(py::module_& m) {
  m.def("linear_forward", &linear_forward, py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("out"),
        py::arg("activation") = "none", py::arg("negative_slope") = 0.01, py::arg("preact") = py::none(),
        "out(N,M) = act(x(N,K) @ weight(M,K).T + bias(M,)), bias and activation fused into one pass over out. "
        "preact(N,M) receives the value before the activation; required for gelu/gelu_tanh.");
  m.def("linear_backward", &linear_backward, py::arg("grad_out"), py::arg("x"), py::arg("weight"), py::arg("saved"),
        py::arg("grad_preact"), py::arg("grad_x"), py::arg("grad_weight"), py::arg("grad_bias"),
        py::arg("activation") = "none", py::arg("negative_slope") = 0.01, py::arg("accumulate") = false,
        "Backward of linear_forward: grad_preact = grad_out * act'(saved) (may be grad_out itself), then grad_x, "
        "grad_weight and grad_bias (each may be None; accumulate=True adds into grad_weight and grad_bias).");
}

}  // namespace nnx::bind
