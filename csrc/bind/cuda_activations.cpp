// CUDA bindings for the elementwise activations: the checks of cpu_activations.cpp (same messages, same
// order) on DeviceArrays, then the launcher on the arrays' device with the GIL released.
#include <cmath>
#include <string>
#include <string_view>

#include "bind/cuda_checks.h"
#include "bind/cuda_registry.h"
#include "cuda/activations.h"

namespace nnx::bind::cuda {

namespace {

constexpr std::initializer_list<Activation> kElementwise = {
    Activation::relu, Activation::tanh,      Activation::sigmoid, Activation::leaky_relu,
    Activation::gelu, Activation::gelu_tanh, Activation::silu,    Activation::softplus};

// An op-family array argument: a C-contiguous DeviceArray.
DeviceArray& require_array(py::handle obj, const char* name) {
  DeviceArray& a = require_device_array(obj, name);
  require_contiguous(a, name);
  return a;
}

Activation parse_kind(py::handle name) {
  if (!PyUnicode_Check(name.ptr()))
    throw py::type_error("kind must be a str, got " + py::str(py::type::of(name).attr("__name__")).cast<std::string>());
  Py_ssize_t size = 0;
  const char* utf8 = PyUnicode_AsUTF8AndSize(name.ptr(), &size);
  if (!utf8) throw py::error_already_set();
  Activation kind;
  if (!activation_from_name(std::string_view(utf8, size), kElementwise, &kind))
    throw py::value_error("kind must be one of " + activation_choices(kElementwise) + ", got '" +
                          std::string(utf8, size) + "'");
  return kind;
}

// The parameters the activation uses must be numbers it can use; the others are ignored.
void check_params(Activation kind, double negative_slope, double beta, double threshold, bool backward) {
  if (kind == Activation::leaky_relu) {
    if (!std::isfinite(negative_slope))
      throw py::value_error("negative_slope must be a finite number, got " + std::to_string(negative_slope));
    // The backward tells x > 0 from out > 0, which a negative slope would make ambiguous.
    if (backward && negative_slope < 0)
      throw py::value_error("negative_slope must be >= 0 for the backward (it reads the sign of x from out), got " +
                            std::to_string(negative_slope));
  }
  if (kind == Activation::softplus) {
    if (!std::isfinite(beta) || beta == 0)
      throw py::value_error("beta must be a finite nonzero number, got " + std::to_string(beta));
    if (std::isnan(threshold)) throw py::value_error("threshold must be a number, got nan");
  }
}

// `out` may be exactly `in` (in place) but must not overlap it partially.
void require_same_or_disjoint(const DeviceArray& out, const char* out_name, const DeviceArray& in,
                              const char* in_name) {
  if (out.data() == in.data()) return;  // same shape and dtype are checked by the caller
  require_no_overlap(out, out_name, in, in_name);
}

template <class T>
ActivationParams<T> params_of(double negative_slope, double beta, double threshold) {
  return {static_cast<T>(negative_slope), static_cast<T>(beta), static_cast<T>(threshold)};
}

void activation_forward(py::handle kind_obj, py::handle x_obj, py::handle out_obj, double negative_slope, double beta,
                        double threshold) {
  const Activation kind = parse_kind(kind_obj);
  DeviceArray& x = require_array(x_obj, "x");
  DeviceArray& out = require_array(out_obj, "out");
  require_float(x, "x");
  require_dtype_like(out, "out", x, "x");
  require_same_shape(out, "out", x, "x");
  require_same_device(out, "out", x, "x");
  require_same_or_disjoint(out, "out", x, "x");
  check_params(kind, negative_slope, beta, threshold, false);
  const int64_t n = x.size();
  launch_on(x.device(), [&] {
    if (x.dtype == DType::Float32)
      nnx::cuda::activation_forward(ptr<float>(out), ptr<const float>(x), n, kind,
                                    params_of<float>(negative_slope, beta, threshold));
    else
      nnx::cuda::activation_forward(ptr<double>(out), ptr<const double>(x), n, kind,
                                    params_of<double>(negative_slope, beta, threshold));
  });
}

void activation_backward(py::handle kind_obj, py::handle grad_out_obj, py::handle x_obj, py::handle out_obj,
                         py::handle grad_in_obj, double negative_slope, double beta, double threshold) {
  const Activation kind = parse_kind(kind_obj);
  DeviceArray& grad_out = require_array(grad_out_obj, "grad_out");
  DeviceArray& x = require_array(x_obj, "x");
  DeviceArray& out = require_array(out_obj, "out");
  DeviceArray& grad_in = require_array(grad_in_obj, "grad_in");
  require_float(grad_out, "grad_out");
  require_dtype_like(x, "x", grad_out, "grad_out");
  require_dtype_like(out, "out", grad_out, "grad_out");
  require_dtype_like(grad_in, "grad_in", grad_out, "grad_out");
  require_same_shape(x, "x", grad_out, "grad_out");
  require_same_shape(out, "out", grad_out, "grad_out");
  require_same_shape(grad_in, "grad_in", grad_out, "grad_out");
  require_same_device(x, "x", grad_out, "grad_out");
  require_same_device(out, "out", grad_out, "grad_out");
  require_same_device(grad_in, "grad_in", grad_out, "grad_out");
  require_same_or_disjoint(grad_in, "grad_in", grad_out, "grad_out");
  require_no_overlap(grad_in, "grad_in", x, "x");
  require_no_overlap(grad_in, "grad_in", out, "out");
  check_params(kind, negative_slope, beta, threshold, true);
  const int64_t n = grad_out.size();
  launch_on(grad_out.device(), [&] {
    if (grad_out.dtype == DType::Float32)
      nnx::cuda::activation_backward(ptr<float>(grad_in), ptr<const float>(grad_out), ptr<const float>(x),
                                     ptr<const float>(out), n, kind, params_of<float>(negative_slope, beta, threshold));
    else
      nnx::cuda::activation_backward(ptr<double>(grad_in), ptr<const double>(grad_out), ptr<const double>(x),
                                     ptr<const double>(out), n, kind,
                                     params_of<double>(negative_slope, beta, threshold));
  });
}

}  // namespace

void bind_activations(py::module_& m) {
  m.def("activation_forward", &activation_forward, py::arg("kind"), py::arg("x"), py::arg("out"),
        py::arg("negative_slope") = 0.01, py::arg("beta") = 1.0, py::arg("threshold") = 20.0,
        "out = act(x) elementwise (any shape, float32/float64 DeviceArrays); out may be x itself. kind: relu, "
        "leaky_relu, sigmoid, tanh, gelu (erf), gelu_tanh, silu, softplus (log(1 + exp(beta x)) / beta, x where "
        "beta x > threshold).");
  m.def("activation_backward", &activation_backward, py::arg("kind"), py::arg("grad_out"), py::arg("x"),
        py::arg("out"), py::arg("grad_in"), py::arg("negative_slope") = 0.01, py::arg("beta") = 1.0,
        py::arg("threshold") = 20.0,
        "grad_in = grad_out * act'(x). relu/leaky_relu/sigmoid/tanh read the forward's out, the others its x. "
        "grad_in may be grad_out itself.");
}

}  // namespace nnx::bind::cuda
