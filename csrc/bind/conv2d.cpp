// Bindings of 2-D convolution (csrc/core/conv2d.h): checks of the parameters (PyTorch's rules) and of every array
// against the shapes they give, then the kernel with the GIL released. Compiled once per device
// (csrc/bind/device.h). Inputs are NCHW (the Python layer views a CHW input as N = 1 and turns padding='same' into
// explicit, possibly asymmetric, padding).
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <utility>

#include "bind/device.h"
#include "core/conv2d.h"

namespace nnx::bind {
namespace {

using Pair = std::pair<int64_t, int64_t>;
using Padding = std::array<int64_t, 4>;  // (top, bottom, left, right)

std::string pair_string(Pair p) { return "(" + std::to_string(p.first) + ", " + std::to_string(p.second) + ")"; }

void require_positive(Pair p, const char* name) {
  if (p.first <= 0 || p.second <= 0) throw py::value_error(std::string(name) + " must be > 0, got " + pair_string(p));
}

// The geometry of convolving x (N, C, H, W) with weight (O, C/groups, KH, KW), every parameter checked as PyTorch
// does; x_name is the array the input's shape is read from (x, or grad_x's reference in the backward).
template <class A>
Conv2dGeometry conv_geometry(const A& x, const char* x_name, const A& weight, Pair stride, const Padding& padding,
                             Pair dilation, int64_t groups) {
  require_ndim(x, x_name, 4);
  require_ndim(weight, "weight", 4);
  require_positive(stride, "stride");
  require_positive(dilation, "dilation");
  for (int64_t p : padding)
    if (p < 0)
      throw py::value_error("padding must be >= 0, got (" + std::to_string(padding[0]) + ", " +
                            std::to_string(padding[1]) + ", " + std::to_string(padding[2]) + ", " +
                            std::to_string(padding[3]) + ")");
  if (groups <= 0) throw py::value_error("groups must be > 0, got " + std::to_string(groups));
  Conv2dGeometry g{};
  g.C = extent(x, 1), g.H = extent(x, 2), g.W = extent(x, 3);
  g.O = extent(weight, 0), g.KH = extent(weight, 2), g.KW = extent(weight, 3);
  g.G = groups;
  if (g.C % groups != 0)
    throw py::value_error(std::string(x_name) + " has " + std::to_string(g.C) +
                          " channels, which is not divisible by groups=" + std::to_string(groups));
  if (g.O % groups != 0)
    throw py::value_error("weight has " + std::to_string(g.O) + " output channels (dimension 0), which is not " +
                          "divisible by groups=" + std::to_string(groups));
  require_shape(weight, "weight", {g.O, g.C / groups, g.KH, g.KW});
  if (g.KH <= 0 || g.KW <= 0)
    throw py::value_error("weight must have a kernel of at least 1x1, got shape " + shape_string(weight));
  g.SH = stride.first, g.SW = stride.second, g.DH = dilation.first, g.DW = dilation.second;
  g.PH = padding[0], g.PW = padding[2];
  g.OH = conv_output_size(g.H, g.KH, g.SH, padding[0], padding[1], g.DH);
  g.OW = conv_output_size(g.W, g.KW, g.SW, padding[2], padding[3], g.DW);
  if (g.OH < 1 || g.OW < 1)
    throw py::value_error(std::string(x_name) + " of shape " + shape_string(x) + " and weight of shape " +
                          shape_string(weight) + " give an output size of (" + std::to_string(g.OH) + ", " +
                          std::to_string(g.OW) + "), which is too small");
  return g;
}

// The GEMMs' sizes (per image and group) must fit BLAS's and cuBLAS's 32-bit ints.
template <class Dev>
void require_gemm_sizes(const Conv2dGeometry& g) {
  require_blas_int<Dev>(g.C * g.KH * g.KW, "weight");
  require_blas_int<Dev>(g.OH * g.OW, "x");
  require_blas_int<Dev>(g.O, "weight");
}

// The geometry of the convolution that conv_transpose2d of x (N, C_in, H, W) with weight (C_in, C_out/groups, KH,
// KW) transposes (core/conv2d.h): its input is the transposed output (N, C_out, OH_t, OW_t), OH_t = (H - 1) * stride
// - 2 * padding + dilation * (KH - 1) + output_padding + 1, and its output the transposed input. PyTorch's checks.
template <class A>
Conv2dGeometry transpose_geometry(const A& x, const char* x_name, const A& weight, Pair stride, Pair padding,
                                  Pair output_padding, Pair dilation, int64_t groups) {
  require_ndim(x, x_name, 4);
  require_ndim(weight, "weight", 4);
  require_positive(stride, "stride");
  require_positive(dilation, "dilation");
  if (padding.first < 0 || padding.second < 0)
    throw py::value_error("padding must be >= 0, got " + pair_string(padding));
  if (output_padding.first < 0 || output_padding.second < 0 ||
      output_padding.first >= std::max(stride.first, dilation.first) ||
      output_padding.second >= std::max(stride.second, dilation.second))
    throw py::value_error("output_padding must be >= 0 and smaller than either stride or dilation, got " +
                          pair_string(output_padding) + " with stride " + pair_string(stride) + " and dilation " +
                          pair_string(dilation));
  if (groups <= 0) throw py::value_error("groups must be > 0, got " + std::to_string(groups));
  Conv2dGeometry g{};
  g.O = extent(x, 1), g.OH = extent(x, 2), g.OW = extent(x, 3);
  g.KH = extent(weight, 2), g.KW = extent(weight, 3);
  g.G = groups;
  if (g.O % groups != 0)
    throw py::value_error(std::string(x_name) + " has " + std::to_string(g.O) +
                          " channels, which is not divisible by groups=" + std::to_string(groups));
  g.C = extent(weight, 1) * groups;
  require_shape(weight, "weight", {g.O, g.C / groups, g.KH, g.KW});
  if (g.KH <= 0 || g.KW <= 0 || g.C <= 0)
    throw py::value_error("weight must have a kernel of at least 1x1 and output channels, got shape " +
                          shape_string(weight));
  g.SH = stride.first, g.SW = stride.second, g.DH = dilation.first, g.DW = dilation.second;
  g.PH = padding.first, g.PW = padding.second;
  g.H = (g.OH - 1) * g.SH - 2 * g.PH + g.DH * (g.KH - 1) + output_padding.first + 1;
  g.W = (g.OW - 1) * g.SW - 2 * g.PW + g.DW * (g.KW - 1) + output_padding.second + 1;
  if (g.OH < 1 || g.OW < 1 || g.H < 1 || g.W < 1)
    throw py::value_error(std::string(x_name) + " of shape " + shape_string(x) + " and weight of shape " +
                          shape_string(weight) + " give an output size of (" + std::to_string(g.H) + ", " +
                          std::to_string(g.W) + "), which is too small");
  return g;
}

// The activations conv2d fuses into its output pass: those whose derivative reads the output (linear's fused set
// less the gelus, which would need the pre-activation kept as well).
constexpr std::initializer_list<Activation> kConvActivations = {Activation::none, Activation::relu,
                                                                 Activation::leaky_relu, Activation::sigmoid,
                                                                 Activation::tanh};

Activation parse_activation(const std::string& name, double negative_slope, bool backward) {
  Activation kind;
  if (!activation_from_name(name, kConvActivations, &kind))
    throw py::value_error("activation must be one of " + activation_choices(kConvActivations) + ", got '" + name +
                          "'");
  if (kind == Activation::leaky_relu) {
    if (!std::isfinite(negative_slope))
      throw py::value_error("negative_slope must be a finite number, got " + std::to_string(negative_slope));
    // The backward tells x > 0 from out > 0, which a negative slope would make ambiguous.
    if (backward && negative_slope < 0)
      throw py::value_error("negative_slope must be >= 0 for the backward (it reads the sign of x from out), got " +
                            std::to_string(negative_slope));
  }
  return kind;
}

template <class T>
ActivationParams<T> params_of(double negative_slope) {
  ActivationParams<T> params;
  params.negative_slope = static_cast<T>(negative_slope);
  return params;
}

}  // namespace

void bind_conv2d(py::module_& m) {
  using Array = Device::Array;
  using Named = NamedArray<Device::Value>;
  m.def(
      "conv2d_forward",
      [](py::handle x_obj, py::handle weight_obj, py::handle bias_obj, py::handle out_obj, Pair stride,
         Padding padding, Pair dilation, int64_t groups, const std::string& activation_name, double negative_slope) {
        const Activation activation = parse_activation(activation_name, negative_slope, false);
        Array x = Device::input(x_obj, "x");
        const Float dtype = require_float(x, "x");
        Array weight = Device::input(weight_obj, "weight");
        require_dtype_like(weight, "weight", x, "x");
        require_same_device(weight, "weight", x, "x");
        const Conv2dGeometry g = conv_geometry(x, "x", weight, stride, padding, dilation, groups);
        const int64_t N = extent(x, 0);
        const auto bias = optional_like<Device>(bias_obj, "bias", false, x, "x", {g.O});
        Array out = Device::output(out_obj, "out");
        require_dtype_like(out, "out", x, "x");
        require_shape(out, "out", {N, g.O, g.OH, g.OW});
        require_same_device(out, "out", x, "x");
        require_disjoint_arrays<Device::Value>({Named{&out, "out"}},
                                               {Named{&x, "x"}, Named{&weight, "weight"}, Named{get(bias), "bias"}});
        require_gemm_sizes<Device>(g);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *input = cptr<T>(x), *w = cptr<T>(weight), *b = cptr_or_null<T>(bias);
          T* result = ptr<T>(out);
          const ActivationParams<T> params = params_of<T>(negative_slope);
          Device::launch(x, [&] { dev::conv2d_forward(result, input, w, b, N, g, activation, params); });
        });
      },
      py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("out"), py::arg("stride"), py::arg("padding"),
      py::arg("dilation"), py::arg("groups") = 1, py::arg("activation") = "none", py::arg("negative_slope") = 0.01,
      "out(N,O,OH,OW) = act(conv2d(x(N,C,H,W), weight(O,C/groups,KH,KW)) + bias(O,)) (bias may be None, added in the "
      "output pass; activation one of none, relu, leaky_relu, sigmoid, tanh, applied after it). padding is (top, "
      "bottom, left, right), zeros; stride and dilation (h, w). As torch's conv2d.");
  m.def(
      "conv2d_backward",
      [](py::handle grad_out_obj, py::handle x_obj, py::handle weight_obj, py::handle grad_x_obj,
         py::handle grad_weight_obj, py::handle grad_bias_obj, Pair stride, Padding padding, Pair dilation,
         int64_t groups, py::handle out_obj, const std::string& activation_name, double negative_slope) {
        const Activation activation = parse_activation(activation_name, negative_slope, true);
        Array grad_out = Device::input(grad_out_obj, "grad_out");
        const Float dtype = require_float(grad_out, "grad_out");
        Array x = Device::input(x_obj, "x");
        require_dtype_like(x, "x", grad_out, "grad_out");
        require_same_device(x, "x", grad_out, "grad_out");
        Array weight = Device::input(weight_obj, "weight");
        require_dtype_like(weight, "weight", grad_out, "grad_out");
        require_same_device(weight, "weight", grad_out, "grad_out");
        const Conv2dGeometry g = conv_geometry(x, "x", weight, stride, padding, dilation, groups);
        const int64_t N = extent(x, 0);
        require_shape(grad_out, "grad_out", {N, g.O, g.OH, g.OW});
        auto grad_x = optional_like<Device>(grad_x_obj, "grad_x", true, grad_out, "grad_out", {N, g.C, g.H, g.W});
        auto grad_weight = optional_like<Device>(grad_weight_obj, "grad_weight", true, grad_out, "grad_out",
                                                 {g.O, g.C / g.G, g.KH, g.KW});
        auto grad_bias = optional_like<Device>(grad_bias_obj, "grad_bias", true, grad_out, "grad_out", {g.O});
        const auto out = optional_like<Device>(out_obj, "out", false, grad_out, "grad_out", {N, g.O, g.OH, g.OW});
        if (!out && activation != Activation::none)
          throw py::value_error("out is required for activation '" + activation_name +
                                "' (the backward reads the forward's output)");
        require_disjoint_arrays<Device::Value>(
            {Named{get(grad_x), "grad_x"}, Named{get(grad_weight), "grad_weight"}, Named{get(grad_bias), "grad_bias"}},
            {Named{&grad_out, "grad_out"}, Named{&x, "x"}, Named{&weight, "weight"}, Named{get(out), "out"}});
        require_gemm_sizes<Device>(g);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *g_out = cptr<T>(grad_out), *input = cptr<T>(x), *w = cptr<T>(weight);
          const T* saved = cptr_or_null<T>(out);
          T *gx = ptr_or_null<T>(grad_x), *gw = ptr_or_null<T>(grad_weight), *gb = ptr_or_null<T>(grad_bias);
          const ActivationParams<T> params = params_of<T>(negative_slope);
          Device::launch(grad_out, [&] {
            dev::conv2d_backward(gx, gw, gb, g_out, input, w, N, g, saved, activation, params);
          });
        });
      },
      py::arg("grad_out"), py::arg("x"), py::arg("weight"), py::arg("grad_x"), py::arg("grad_weight"),
      py::arg("grad_bias"), py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("groups") = 1,
      py::arg("out") = py::none(), py::arg("activation") = "none", py::arg("negative_slope") = 0.01,
      "Backward of conv2d_forward: grad_x(N,C,H,W), grad_weight(O,C/groups,KH,KW) and grad_bias(O,), each may be "
      "None and is otherwise overwritten; deterministic (col2im is a gather, the batch is summed in a fixed order). "
      "With an activation, grad_out is first masked by the forward's output out(N,O,OH,OW) (required then).");
  m.def(
      "conv_transpose2d_forward",
      [](py::handle x_obj, py::handle weight_obj, py::handle bias_obj, py::handle out_obj, Pair stride, Pair padding,
         Pair output_padding, Pair dilation, int64_t groups) {
        Array x = Device::input(x_obj, "x");
        const Float dtype = require_float(x, "x");
        Array weight = Device::input(weight_obj, "weight");
        require_dtype_like(weight, "weight", x, "x");
        require_same_device(weight, "weight", x, "x");
        const Conv2dGeometry g =
            transpose_geometry(x, "x", weight, stride, padding, output_padding, dilation, groups);
        const int64_t N = extent(x, 0);
        const auto bias = optional_like<Device>(bias_obj, "bias", false, x, "x", {g.C});
        Array out = Device::output(out_obj, "out");
        require_dtype_like(out, "out", x, "x");
        require_shape(out, "out", {N, g.C, g.H, g.W});
        require_same_device(out, "out", x, "x");
        require_disjoint_arrays<Device::Value>({Named{&out, "out"}},
                                               {Named{&x, "x"}, Named{&weight, "weight"}, Named{get(bias), "bias"}});
        require_gemm_sizes<Device>(g);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *input = cptr<T>(x), *w = cptr<T>(weight), *b = cptr_or_null<T>(bias);
          T* result = ptr<T>(out);
          Device::launch(x, [&] { dev::conv_transpose2d_forward(result, input, w, b, N, g); });
        });
      },
      py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("out"), py::arg("stride"), py::arg("padding"),
      py::arg("output_padding"), py::arg("dilation"), py::arg("groups") = 1,
      "out(N,C_out,OH,OW) = conv_transpose2d(x(N,C_in,H,W), weight(C_in,C_out/groups,KH,KW)) + bias(C_out,), as "
      "torch's conv_transpose2d: OH = (H-1)*stride - 2*padding + dilation*(KH-1) + output_padding + 1. Runs as "
      "conv2d's input gradient (GEMM + col2im gather), the bias added in the gather's pass.");
  m.def(
      "conv_transpose2d_backward",
      [](py::handle grad_out_obj, py::handle x_obj, py::handle weight_obj, py::handle grad_x_obj,
         py::handle grad_weight_obj, py::handle grad_bias_obj, Pair stride, Pair padding, Pair output_padding,
         Pair dilation, int64_t groups) {
        Array grad_out = Device::input(grad_out_obj, "grad_out");
        const Float dtype = require_float(grad_out, "grad_out");
        Array x = Device::input(x_obj, "x");
        require_dtype_like(x, "x", grad_out, "grad_out");
        require_same_device(x, "x", grad_out, "grad_out");
        Array weight = Device::input(weight_obj, "weight");
        require_dtype_like(weight, "weight", grad_out, "grad_out");
        require_same_device(weight, "weight", grad_out, "grad_out");
        const Conv2dGeometry g =
            transpose_geometry(x, "x", weight, stride, padding, output_padding, dilation, groups);
        const int64_t N = extent(x, 0);
        require_shape(grad_out, "grad_out", {N, g.C, g.H, g.W});
        auto grad_x = optional_like<Device>(grad_x_obj, "grad_x", true, grad_out, "grad_out", {N, g.O, g.OH, g.OW});
        auto grad_weight = optional_like<Device>(grad_weight_obj, "grad_weight", true, grad_out, "grad_out",
                                                 {g.O, g.C / g.G, g.KH, g.KW});
        auto grad_bias = optional_like<Device>(grad_bias_obj, "grad_bias", true, grad_out, "grad_out", {g.C});
        require_disjoint_arrays<Device::Value>(
            {Named{get(grad_x), "grad_x"}, Named{get(grad_weight), "grad_weight"}, Named{get(grad_bias), "grad_bias"}},
            {Named{&grad_out, "grad_out"}, Named{&x, "x"}, Named{&weight, "weight"}});
        require_gemm_sizes<Device>(g);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *g_out = cptr<T>(grad_out), *input = cptr<T>(x), *w = cptr<T>(weight);
          T *gx = ptr_or_null<T>(grad_x), *gw = ptr_or_null<T>(grad_weight), *gb = ptr_or_null<T>(grad_bias);
          Device::launch(grad_out, [&] { dev::conv_transpose2d_backward(gx, gw, gb, g_out, input, w, N, g); });
        });
      },
      py::arg("grad_out"), py::arg("x"), py::arg("weight"), py::arg("grad_x"), py::arg("grad_weight"),
      py::arg("grad_bias"), py::arg("stride"), py::arg("padding"), py::arg("output_padding"), py::arg("dilation"),
      py::arg("groups") = 1,
      "Backward of conv_transpose2d_forward: grad_x(N,C_in,H,W) (conv2d's forward), grad_weight(C_in,C_out/groups,"
      "KH,KW) and grad_bias(C_out,), each may be None and is otherwise overwritten; deterministic.");
}

}  // namespace nnx::bind
