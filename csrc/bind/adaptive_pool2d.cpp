// Bindings of 2-D adaptive pooling (csrc/core/adaptive_pool2d.h), average and max: the output size is read from the
// output (forward) or grad_out (backward), the input size from x or grad_in; every array is checked against them,
// then the kernel runs with the GIL released. Compiled once per device (csrc/bind/device.h). Inputs are NCHW (the
// Python layer views a CHW input as N = 1).
#include <string>

#include "bind/device.h"
#include "core/adaptive_pool2d.h"

namespace nnx::bind {
namespace {

// The geometry of pooling `in` (N, C, H, W) into `out` (N, C, OH, OW): both 4-D, the same N and C, H and W >= 1
// (PyTorch refuses empty planes), OH and OW >= 0 (PyTorch allows an empty output).
template <class A>
AdaptivePool2dGeometry adaptive_geometry(const A& in, const char* in_name, const A& out, const char* out_name) {
  require_ndim(in, in_name, 4);
  require_ndim(out, out_name, 4);
  if (extent(in, 2) < 1 || extent(in, 3) < 1)
    throw py::value_error(std::string(in_name) + " must have non-zero H and W, got shape " + shape_string(in));
  require_shape(out, out_name, {extent(in, 0), extent(in, 1), extent(out, 2), extent(out, 3)});
  return AdaptivePool2dGeometry{extent(in, 2), extent(in, 3), extent(out, 2), extent(out, 3)};
}

}  // namespace

void bind_adaptive_pool2d(py::module_& m) {
  m.def(
      "adaptive_avg_pool2d_forward",
      [](py::handle x_obj, py::handle out_obj) {
        Device::Array x = Device::input(x_obj, "x");
        Device::Array out = Device::output(out_obj, "out");
        const Float dtype = require_float(x, "x");
        require_dtype_like(out, "out", x, "x");
        const AdaptivePool2dGeometry g = adaptive_geometry(x, "x", out, "out");
        require_same_device(out, "out", x, "x");
        require_no_overlap(out, "out", x, "x");
        const int64_t planes = extent(x, 0) * extent(x, 1);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* input = cptr<T>(x);
          T* result = ptr<T>(out);
          Device::launch(x, [&] { dev::adaptive_avg_pool2d_forward(result, input, planes, g); });
        });
      },
      py::arg("x"), py::arg("out"),
      "out(N, C, OH, OW) = the average of each adaptive window of x(N, C, H, W) (PyTorch's windows: rows "
      "[floor(i * H / OH), ceil((i + 1) * H / OH)), columns alike); OH, OW are out's.");
  m.def(
      "adaptive_avg_pool2d_backward",
      [](py::handle grad_out_obj, py::handle grad_in_obj) {
        Device::Array grad_out = Device::input(grad_out_obj, "grad_out");
        Device::Array grad_in = Device::output(grad_in_obj, "grad_in");
        const Float dtype = require_float(grad_out, "grad_out");
        require_dtype_like(grad_in, "grad_in", grad_out, "grad_out");
        const AdaptivePool2dGeometry g = adaptive_geometry(grad_in, "grad_in", grad_out, "grad_out");
        require_same_device(grad_in, "grad_in", grad_out, "grad_out");
        require_no_overlap(grad_in, "grad_in", grad_out, "grad_out");
        const int64_t planes = extent(grad_in, 0) * extent(grad_in, 1);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* g_out = cptr<T>(grad_out);
          T* result = ptr<T>(grad_in);
          Device::launch(grad_out, [&] { dev::adaptive_avg_pool2d_backward(result, g_out, planes, g); });
        });
      },
      py::arg("grad_out"), py::arg("grad_in"),
      "grad_in(N, C, H, W) = grad_out / window size summed over the adaptive windows holding each element; every "
      "element of grad_in is written, deterministically.");
  m.def(
      "adaptive_max_pool2d_forward",
      [](py::handle x_obj, py::handle out_obj, py::handle argmax_obj) {
        Device::Array x = Device::input(x_obj, "x");
        Device::Array out = Device::output(out_obj, "out");
        Device::Array argmax = Device::output(argmax_obj, "argmax");
        const Float dtype = require_float(x, "x");
        require_dtype_like(out, "out", x, "x");
        require_int64(argmax, "argmax");
        const AdaptivePool2dGeometry g = adaptive_geometry(x, "x", out, "out");
        require_shape(argmax, "argmax", {extent(out, 0), extent(out, 1), g.OH, g.OW});
        require_same_device(out, "out", x, "x");
        require_same_device(argmax, "argmax", x, "x");
        require_no_overlap(out, "out", x, "x");
        require_no_overlap(argmax, "argmax", x, "x");
        require_no_overlap(argmax, "argmax", out, "out");
        const int64_t planes = extent(x, 0) * extent(x, 1);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* input = cptr<T>(x);
          T* result = ptr<T>(out);
          int64_t* index = ptr<int64_t>(argmax);
          Device::launch(x, [&] { dev::adaptive_max_pool2d_forward(result, index, input, planes, g); });
        });
      },
      py::arg("x"), py::arg("out"), py::arg("argmax"),
      "out(N, C, OH, OW) = the max of each adaptive window of x(N, C, H, W); argmax (int64, out's shape) = its flat "
      "index h * W + w within the plane, as PyTorch's indices (the first maximum; a NaN wins).");
  m.def(
      "adaptive_max_pool2d_backward",
      [](py::handle grad_out_obj, py::handle argmax_obj, py::handle grad_in_obj) {
        Device::Array grad_out = Device::input(grad_out_obj, "grad_out");
        Device::Array argmax = Device::input(argmax_obj, "argmax");
        Device::Array grad_in = Device::output(grad_in_obj, "grad_in");
        const Float dtype = require_float(grad_out, "grad_out");
        require_int64(argmax, "argmax");
        require_dtype_like(grad_in, "grad_in", grad_out, "grad_out");
        const AdaptivePool2dGeometry g = adaptive_geometry(grad_in, "grad_in", grad_out, "grad_out");
        require_shape(argmax, "argmax", {extent(grad_out, 0), extent(grad_out, 1), g.OH, g.OW});
        require_same_device(argmax, "argmax", grad_out, "grad_out");
        require_same_device(grad_in, "grad_in", grad_out, "grad_out");
        require_no_overlap(grad_in, "grad_in", grad_out, "grad_out");
        require_no_overlap(grad_in, "grad_in", argmax, "argmax");
        const int64_t planes = extent(grad_in, 0) * extent(grad_in, 1);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* g_out = cptr<T>(grad_out);
          const int64_t* index = cptr<int64_t>(argmax);
          T* result = ptr<T>(grad_in);
          Device::launch(grad_out, [&] { dev::adaptive_max_pool2d_backward(result, g_out, index, planes, g); });
        });
      },
      py::arg("grad_out"), py::arg("argmax"), py::arg("grad_in"),
      "grad_in(N, C, H, W) = grad_out summed into the elements argmax points at (overlapping windows add up; an "
      "argmax outside the plane adds nothing); every element of grad_in is written, deterministically.");
}

}  // namespace nnx::bind
