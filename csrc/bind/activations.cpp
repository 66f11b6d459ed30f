// Bindings of the elementwise activations (csrc/core/activations.h): checks, then the
// kernel with the GIL released. Compiled once per device (csrc/bind/device.h).
#include <cmath>
#include <string>
#include <string_view>

#include "bind/device.h"
#include "core/activations.h"

namespace nnx::bind {

namespace {

constexpr std::initializer_list<Activation> kElementwise = {
    Activation::relu, Activation::tanh,      Activation::sigmoid, Activation::leaky_relu,
    Activation::gelu, Activation::gelu_tanh, Activation::silu,    Activation::softplus};

// Reads the name without building a std::string (tiny calls are dominated by such overheads).
inline Activation parse_kind(py::handle name) {
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
inline void check_params(Activation kind, double negative_slope, double beta, double threshold, bool backward) {
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
template <class A>
void require_same_or_disjoint(const A& out, const char* out_name, const A& in, const char* in_name) {
  if (address(out) == address(in)) return;  // same shape and dtype are checked by the caller
  require_no_overlap(out, out_name, in, in_name);
}

template <class T>
ActivationParams<T> params_of(double negative_slope, double beta, double threshold) {
  return {static_cast<T>(negative_slope), static_cast<T>(beta), static_cast<T>(threshold)};
}

}  // namespace

void bind_activations(py::module_& m) {
  static const std::string forward_doc =
      std::string("out = act(x) elementwise (any shape, float32/float64") + (Device::cuda ? " DeviceArrays" : "") +
      "); out may be x itself. kind: relu, leaky_relu, sigmoid, tanh, gelu (erf), gelu_tanh, silu, softplus "
      "(log(1 + exp(beta x)) / beta, x where beta x > threshold).";
  m.def(
      "activation_forward",
      [](py::handle kind_obj, py::handle x_obj, py::handle out_obj, double negative_slope, double beta,
         double threshold) {
        const Activation kind = parse_kind(kind_obj);
        Device::Array x = Device::input(x_obj, "x");
        Device::Array out = Device::output(out_obj, "out");
        const Float dtype = require_float(x, "x");
        require_dtype_like(out, "out", x, "x");
        require_same_shape(out, "out", x, "x");
        require_same_device(out, "out", x, "x");
        require_same_or_disjoint(out, "out", x, "x");
        check_params(kind, negative_slope, beta, threshold, false);
        const int64_t n = size_of(x);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* input = cptr<T>(x);
          T* result = ptr<T>(out);
          const ActivationParams<T> params = params_of<T>(negative_slope, beta, threshold);
          Device::launch(x, [&] { dev::activation_forward(result, input, n, kind, params); });
        });
      },
      py::arg("kind"), py::arg("x"), py::arg("out"), py::arg("negative_slope") = 0.01, py::arg("beta") = 1.0,
      py::arg("threshold") = 20.0, forward_doc.c_str());
  m.def(
      "activation_backward",
      [](py::handle kind_obj, py::handle grad_out_obj, py::handle x_obj, py::handle out_obj, py::handle grad_in_obj,
         double negative_slope, double beta, double threshold) {
        const Activation kind = parse_kind(kind_obj);
        Device::Array grad_out = Device::input(grad_out_obj, "grad_out");
        Device::Array x = Device::input(x_obj, "x");
        Device::Array out = Device::input(out_obj, "out");
        Device::Array grad_in = Device::output(grad_in_obj, "grad_in");
        const Float dtype = require_float(grad_out, "grad_out");
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
        const int64_t n = size_of(grad_out);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* g = cptr<T>(grad_out);
          const T* input = cptr<T>(x);
          const T* output = cptr<T>(out);
          T* result = ptr<T>(grad_in);
          const ActivationParams<T> params = params_of<T>(negative_slope, beta, threshold);
          Device::launch(grad_out, [&] { dev::activation_backward(result, g, input, output, n, kind, params); });
        });
      },
      py::arg("kind"), py::arg("grad_out"), py::arg("x"), py::arg("out"), py::arg("grad_in"),
      py::arg("negative_slope") = 0.01, py::arg("beta") = 1.0, py::arg("threshold") = 20.0,
      "grad_in = grad_out * act'(x). relu/leaky_relu/sigmoid/tanh read the forward's out, the others its x. "
      "grad_in may be grad_out itself.");
}

}  // namespace nnx::bind
