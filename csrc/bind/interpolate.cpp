// Bindings of interpolate (csrc/core/interpolate.h): the mode, scales and every array checked (PyTorch's rules:
// sizes > 0), then the kernel with the GIL released. Compiled once per device (csrc/bind/device.h). Arrays are NCHW
// (the Python layer views 3-D input as H = 1); the output size is out's (grad_out's) shape.
#include <cmath>
#include <string>

#include "bind/device.h"
#include "core/interpolate.h"

namespace nnx::bind {
namespace {

InterpolateMode parse_mode(const std::string& mode) {
  if (mode == "nearest") return InterpolateMode::nearest;
  if (mode == "nearest-exact") return InterpolateMode::nearest_exact;
  if (mode == "bilinear") return InterpolateMode::linear;
  throw py::value_error("mode must be one of 'nearest', 'nearest-exact', 'bilinear', got '" + mode + "'");
}

void require_scale(double scale, const char* name) {
  if (!std::isfinite(scale) || scale < 0)
    throw py::value_error(std::string(name) + " must be a finite number >= 0 (0: none), got " +
                          std::to_string(scale));
}

// The two axes of resampling `small` (input) to `large` (output), both (N, C, H, W) with the same N and C.
template <class A>
void axes_of(const A& in, const char* in_name, const A& out, const char* out_name, double scale_h, double scale_w,
             bool align_corners, InterpolateAxis* ah, InterpolateAxis* aw) {
  require_ndim(in, in_name, 4);
  require_ndim(out, out_name, 4);
  require_scale(scale_h, "scale_h");
  require_scale(scale_w, "scale_w");
  if (extent(in, 2) < 1 || extent(in, 3) < 1 || extent(out, 2) < 1 || extent(out, 3) < 1)
    throw py::value_error("Input and output sizes should be greater than 0, but got " + std::string(in_name) +
                          " of shape " + shape_string(in) + " and " + out_name + " of shape " + shape_string(out));
  require_shape(out, out_name, {extent(in, 0), extent(in, 1), extent(out, 2), extent(out, 3)});
  *ah = InterpolateAxis{extent(in, 2), extent(out, 2), scale_h, align_corners};
  *aw = InterpolateAxis{extent(in, 3), extent(out, 3), scale_w, align_corners};
}

}  // namespace

void bind_interpolate(py::module_& m) {
  m.def(
      "interpolate_forward",
      [](py::handle x_obj, py::handle out_obj, const std::string& mode_name, bool align_corners, double scale_h,
         double scale_w) {
        const InterpolateMode mode = parse_mode(mode_name);
        Device::Array x = Device::input(x_obj, "x");
        Device::Array out = Device::output(out_obj, "out");
        const Float dtype = require_float(x, "x");
        require_dtype_like(out, "out", x, "x");
        InterpolateAxis ah{}, aw{};
        axes_of(x, "x", out, "out", scale_h, scale_w, align_corners, &ah, &aw);
        require_same_device(out, "out", x, "x");
        require_no_overlap(out, "out", x, "x");
        const int64_t planes = extent(x, 0) * extent(x, 1);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* input = cptr<T>(x);
          T* result = ptr<T>(out);
          Device::launch(x, [&] { dev::interpolate_forward(result, input, planes, ah, aw, mode); });
        });
      },
      py::arg("x"), py::arg("out"), py::arg("mode"), py::arg("align_corners") = false, py::arg("scale_h") = 0.0,
      py::arg("scale_w") = 0.0,
      "out(N, C, OH, OW) = x(N, C, H, W) resampled as torch's interpolate: mode 'nearest', 'nearest-exact' or "
      "'bilinear' (align_corners); scale_h/scale_w the scale factors given (> 0, used for the source index) or 0 "
      "(input / output size).");
  m.def(
      "interpolate_backward",
      [](py::handle grad_out_obj, py::handle grad_in_obj, const std::string& mode_name, bool align_corners,
         double scale_h, double scale_w) {
        const InterpolateMode mode = parse_mode(mode_name);
        Device::Array grad_out = Device::input(grad_out_obj, "grad_out");
        Device::Array grad_in = Device::output(grad_in_obj, "grad_in");
        const Float dtype = require_float(grad_out, "grad_out");
        require_dtype_like(grad_in, "grad_in", grad_out, "grad_out");
        InterpolateAxis ah{}, aw{};
        axes_of(grad_in, "grad_in", grad_out, "grad_out", scale_h, scale_w, align_corners, &ah, &aw);
        require_same_device(grad_in, "grad_in", grad_out, "grad_out");
        require_no_overlap(grad_in, "grad_in", grad_out, "grad_out");
        const int64_t planes = extent(grad_in, 0) * extent(grad_in, 1);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* g_out = cptr<T>(grad_out);
          T* result = ptr<T>(grad_in);
          Device::launch(grad_out, [&] { dev::interpolate_backward(result, g_out, planes, ah, aw, mode); });
        });
      },
      py::arg("grad_out"), py::arg("grad_in"), py::arg("mode"), py::arg("align_corners") = false,
      py::arg("scale_h") = 0.0, py::arg("scale_w") = 0.0,
      "grad_in(N, C, H, W) of interpolate_forward from grad_out(N, C, OH, OW): a gather per input element over the "
      "outputs that read it (deterministic, no atomics). Overwrites grad_in.");
}

}  // namespace nnx::bind
