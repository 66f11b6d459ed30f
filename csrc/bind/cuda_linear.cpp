// CUDA bindings for the fused linear layer: the checks of cpu_linear.cpp (same messages, same order) on
// DeviceArrays, then the launcher on the arrays' device with the GIL released.
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "bind/cuda_checks.h"
#include "bind/cuda_registry.h"
#include "cuda/linear.h"

namespace nnx::bind::cuda {

namespace {

constexpr std::initializer_list<Activation> kLinearActivations = {
    Activation::none, Activation::relu, Activation::leaky_relu, Activation::sigmoid,
    Activation::tanh, Activation::gelu, Activation::gelu_tanh};

// An op-family array argument: a C-contiguous DeviceArray.
DeviceArray& require_array(py::handle obj, const char* name) {
  DeviceArray& a = require_device_array(obj, name);
  require_contiguous(a, name);
  return a;
}

// An optional float array: null for None, else a DeviceArray of `ref`'s dtype, the given shape and
// `ref`'s device.
DeviceArray* optional_array(py::handle obj, const char* name, const DeviceArray& ref, const char* ref_name,
                            std::initializer_list<int64_t> shape) {
  if (obj.is_none()) return nullptr;
  DeviceArray& a = require_array(obj, name);
  require_dtype_like(a, name, ref, ref_name);
  require_shape(a, name, shape);
  require_same_device(a, name, ref, ref_name);
  return &a;
}

Activation parse_activation(py::handle name) {
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

std::string name_of(Activation kind) { return std::string(kActivationNames[static_cast<int>(kind)]); }

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

// cuBLAS takes 32-bit sizes: refuse anything larger instead of wrapping around.
void require_cublas_int(int64_t value, const char* name) {
  if (value > std::numeric_limits<int>::max())
    throw py::value_error(std::string(name) + " has an extent of " + std::to_string(value) +
                          ", above the cuBLAS limit of 2^31-1");
}

struct Named {
  const DeviceArray* array;  // null for an absent optional argument
  const char* name;
};

// No output may share memory with an input or with another output.
void require_disjoint(const std::vector<Named>& outputs, const std::vector<Named>& inputs) {
  for (size_t o = 0; o < outputs.size(); ++o) {
    if (!outputs[o].array) continue;
    for (const Named& in : inputs)
      if (in.array) require_no_overlap(*outputs[o].array, outputs[o].name, *in.array, in.name);
    for (size_t other = o + 1; other < outputs.size(); ++other)
      if (outputs[other].array)
        require_no_overlap(*outputs[o].array, outputs[o].name, *outputs[other].array, outputs[other].name);
  }
}

template <class T>
ActivationParams<T> params_of(double negative_slope) {
  ActivationParams<T> params;
  params.negative_slope = static_cast<T>(negative_slope);
  return params;
}

void linear_forward(py::handle x_obj, py::handle weight_obj, py::handle bias_obj, py::handle out_obj,
                    py::handle activation_obj, double negative_slope, py::handle preact_obj) {
  const Activation activation = parse_activation(activation_obj);
  DeviceArray& x = require_array(x_obj, "x");
  require_float(x, "x");
  require_ndim(x, "x", 2);
  const int64_t N = x.shape[0], K = x.shape[1];
  DeviceArray& weight = require_array(weight_obj, "weight");
  require_dtype_like(weight, "weight", x, "x");
  require_ndim(weight, "weight", 2);
  const int64_t M = weight.shape[0];
  require_shape(weight, "weight", {M, K});
  require_same_device(weight, "weight", x, "x");
  const DeviceArray* bias = optional_array(bias_obj, "bias", x, "x", {M});
  DeviceArray& out = require_array(out_obj, "out");
  require_dtype_like(out, "out", x, "x");
  require_shape(out, "out", {N, M});
  require_same_device(out, "out", x, "x");
  DeviceArray* preact = optional_array(preact_obj, "preact", x, "x", {N, M});
  if (!preact && needs_preact(activation))
    throw py::value_error("preact is required for activation '" + name_of(activation) + "' (its backward reads it)");
  check_negative_slope(activation, negative_slope, false);
  require_disjoint({{&out, "out"}, {preact, "preact"}}, {{&x, "x"}, {&weight, "weight"}, {bias, "bias"}});
  require_cublas_int(N, "x");
  require_cublas_int(K, "x");
  require_cublas_int(M, "weight");
  launch_on(x.device(), [&] {
    if (x.dtype == DType::Float32)
      nnx::cuda::linear_forward(ptr<float>(out), ptr_or_null<float>(preact), ptr<const float>(x),
                                ptr<const float>(weight), ptr_or_null<const float>(bias), N, K, M, activation,
                                params_of<float>(negative_slope));
    else
      nnx::cuda::linear_forward(ptr<double>(out), ptr_or_null<double>(preact), ptr<const double>(x),
                                ptr<const double>(weight), ptr_or_null<const double>(bias), N, K, M, activation,
                                params_of<double>(negative_slope));
  });
}

struct BackwardArrays {
  const DeviceArray *grad_out, *x, *weight, *saved;  // saved may be null
  DeviceArray *grad_preact, *grad_x, *grad_weight, *grad_bias;  // the last three may be null
};

template <class T>
void run_backward(const BackwardArrays& a, int64_t N, int64_t K, int64_t M, Activation activation,
                  double negative_slope, bool accumulate) {
  nnx::cuda::linear_backward(ptr<T>(*a.grad_preact), ptr_or_null<T>(a.grad_x), ptr_or_null<T>(a.grad_weight),
                             ptr_or_null<T>(a.grad_bias), ptr<const T>(*a.grad_out), ptr<const T>(*a.x),
                             ptr<const T>(*a.weight), ptr_or_null<const T>(a.saved), N, K, M, activation,
                             params_of<T>(negative_slope), accumulate);
}

void linear_backward(py::handle grad_out_obj, py::handle x_obj, py::handle weight_obj, py::handle saved_obj,
                     py::handle grad_preact_obj, py::handle grad_x_obj, py::handle grad_weight_obj,
                     py::handle grad_bias_obj, py::handle activation_obj, double negative_slope, bool accumulate) {
  const Activation activation = parse_activation(activation_obj);
  BackwardArrays a;
  DeviceArray& grad_out = require_array(grad_out_obj, "grad_out");
  a.grad_out = &grad_out;
  require_float(grad_out, "grad_out");
  require_ndim(grad_out, "grad_out", 2);
  const int64_t N = grad_out.shape[0], M = grad_out.shape[1];
  DeviceArray& x = require_array(x_obj, "x");
  a.x = &x;
  require_dtype_like(x, "x", grad_out, "grad_out");
  require_ndim(x, "x", 2);
  const int64_t K = x.shape[1];
  require_shape(x, "x", {N, K});
  require_same_device(x, "x", grad_out, "grad_out");
  DeviceArray& weight = require_array(weight_obj, "weight");
  a.weight = &weight;
  require_dtype_like(weight, "weight", grad_out, "grad_out");
  require_shape(weight, "weight", {M, K});
  require_same_device(weight, "weight", grad_out, "grad_out");
  a.saved = optional_array(saved_obj, "saved", grad_out, "grad_out", {N, M});
  if (!a.saved && activation != Activation::none)
    throw py::value_error("saved is required for activation '" + name_of(activation) +
                          "' (the forward's out, or its preact for gelu/gelu_tanh)");
  DeviceArray& grad_preact = require_array(grad_preact_obj, "grad_preact");
  a.grad_preact = &grad_preact;
  require_dtype_like(grad_preact, "grad_preact", grad_out, "grad_out");
  require_shape(grad_preact, "grad_preact", {N, M});
  require_same_device(grad_preact, "grad_preact", grad_out, "grad_out");
  a.grad_x = optional_array(grad_x_obj, "grad_x", grad_out, "grad_out", {N, K});
  a.grad_weight = optional_array(grad_weight_obj, "grad_weight", grad_out, "grad_out", {M, K});
  a.grad_bias = optional_array(grad_bias_obj, "grad_bias", grad_out, "grad_out", {M});
  check_negative_slope(activation, negative_slope, true);
  // grad_preact may be grad_out itself (computed in place), but must not overlap it otherwise.
  if (grad_preact.data() != grad_out.data()) require_no_overlap(grad_preact, "grad_preact", grad_out, "grad_out");
  require_disjoint({{&grad_preact, "grad_preact"}}, {{&x, "x"}, {&weight, "weight"}, {a.saved, "saved"}});
  require_disjoint({{a.grad_x, "grad_x"}, {a.grad_weight, "grad_weight"}, {a.grad_bias, "grad_bias"}},
                   {{&grad_out, "grad_out"}, {&x, "x"}, {&weight, "weight"}, {a.saved, "saved"},
                    {&grad_preact, "grad_preact"}});
  require_cublas_int(N, "grad_out");
  require_cublas_int(M, "grad_out");
  require_cublas_int(K, "x");
  launch_on(grad_out.device(), [&] {
    if (grad_out.dtype == DType::Float32)
      run_backward<float>(a, N, K, M, activation, negative_slope, accumulate);
    else
      run_backward<double>(a, N, K, M, activation, negative_slope, accumulate);
  });
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

}  // namespace nnx::bind::cuda
