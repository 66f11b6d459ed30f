// Bindings of 2-D average pooling (csrc/core/avg_pool2d.h): checks of the pooling parameters (PyTorch's rules) and
// of every array against the output size they give, then the kernel with the GIL released. Compiled once per
// device (csrc/bind/device.h). Inputs are NCHW (the Python layer views a CHW input as N = 1).
#include <string>
#include <utility>

#include "bind/device.h"
#include "core/avg_pool2d.h"

namespace nnx::bind {
namespace {

using Pair = std::pair<int64_t, int64_t>;

std::string pair_string(Pair p) { return "(" + std::to_string(p.first) + ", " + std::to_string(p.second) + ")"; }

void require_positive(Pair p, const char* name) {
  if (p.first <= 0 || p.second <= 0) throw py::value_error(std::string(name) + " must be > 0, got " + pair_string(p));
}

// The geometry of average-pooling an (N, C, H, W) array `a` (H, W read from it), every parameter checked as
// PyTorch does. divisor_override 0 means none.
template <class A>
AvgPool2dGeometry avg_pool_geometry(const A& a, const char* name, Pair kernel, Pair stride, Pair padding,
                                    bool ceil_mode, bool count_include_pad, int64_t divisor_override) {
  require_ndim(a, name, 4);
  require_positive(kernel, "kernel_size");
  require_positive(stride, "stride");
  if (padding.first < 0 || padding.second < 0)
    throw py::value_error("padding must be >= 0, got " + pair_string(padding));
  if (padding.first > kernel.first / 2 || padding.second > kernel.second / 2)
    throw py::value_error("padding must be at most half of kernel_size, got padding=" + pair_string(padding) +
                          " and kernel_size=" + pair_string(kernel));
  AvgPool2dGeometry g{};
  g.H = extent(a, 2);
  g.W = extent(a, 3);
  g.KH = kernel.first, g.KW = kernel.second, g.SH = stride.first, g.SW = stride.second;
  g.PH = padding.first, g.PW = padding.second;
  g.count_include_pad = count_include_pad;
  g.divisor_override = divisor_override;
  g.OH = pool_output_size(g.H, g.KH, g.SH, g.PH, 1, ceil_mode);
  g.OW = pool_output_size(g.W, g.KW, g.SW, g.PW, 1, ceil_mode);
  if (g.OH < 1 || g.OW < 1)
    throw py::value_error(std::string(name) + " of shape " + shape_string(a) + " gives an output size of (" +
                          std::to_string(g.OH) + ", " + std::to_string(g.OW) + "), which is too small");
  return g;
}

}  // namespace

void bind_avg_pool2d(py::module_& m) {
  m.def(
      "avg_pool2d_forward",
      [](py::handle x_obj, py::handle out_obj, Pair kernel_size, Pair stride, Pair padding, bool ceil_mode,
         bool count_include_pad, int64_t divisor_override) {
        Device::Array x = Device::input(x_obj, "x");
        Device::Array out = Device::output(out_obj, "out");
        const Float dtype = require_float(x, "x");
        require_dtype_like(out, "out", x, "x");
        const AvgPool2dGeometry g = avg_pool_geometry(x, "x", kernel_size, stride, padding, ceil_mode,
                                                      count_include_pad, divisor_override);
        const int64_t N = extent(x, 0), C = extent(x, 1);
        require_shape(out, "out", {N, C, g.OH, g.OW});
        require_same_device(out, "out", x, "x");
        require_no_overlap(out, "out", x, "x");
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* input = cptr<T>(x);
          T* result = ptr<T>(out);
          Device::launch(x, [&] { dev::avg_pool2d_forward(result, input, N * C, g); });
        });
      },
      py::arg("x"), py::arg("out"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"),
      py::arg("ceil_mode") = false, py::arg("count_include_pad") = true, py::arg("divisor_override") = 0,
      "out(N, C, OH, OW) = the average of each window of x(N, C, H, W), parameters as torch's avg_pool2d "
      "(divisor_override 0: none).");
  m.def(
      "avg_pool2d_backward",
      [](py::handle grad_out_obj, py::handle grad_in_obj, Pair kernel_size, Pair stride, Pair padding,
         bool ceil_mode, bool count_include_pad, int64_t divisor_override) {
        Device::Array grad_out = Device::input(grad_out_obj, "grad_out");
        Device::Array grad_in = Device::output(grad_in_obj, "grad_in");
        const Float dtype = require_float(grad_out, "grad_out");
        require_dtype_like(grad_in, "grad_in", grad_out, "grad_out");
        const AvgPool2dGeometry g = avg_pool_geometry(grad_in, "grad_in", kernel_size, stride, padding, ceil_mode,
                                                      count_include_pad, divisor_override);
        const int64_t N = extent(grad_in, 0), C = extent(grad_in, 1);
        require_shape(grad_out, "grad_out", {N, C, g.OH, g.OW});
        require_same_device(grad_in, "grad_in", grad_out, "grad_out");
        require_no_overlap(grad_in, "grad_in", grad_out, "grad_out");
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* g_out = cptr<T>(grad_out);
          T* result = ptr<T>(grad_in);
          Device::launch(grad_out, [&] { dev::avg_pool2d_backward(result, g_out, N * C, g); });
        });
      },
      py::arg("grad_out"), py::arg("grad_in"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"),
      py::arg("ceil_mode") = false, py::arg("count_include_pad") = true, py::arg("divisor_override") = 0,
      "grad_in(N, C, H, W) = grad_out / divisor summed over the windows holding each element; every element of "
      "grad_in is written, deterministically.");
}

}  // namespace nnx::bind
