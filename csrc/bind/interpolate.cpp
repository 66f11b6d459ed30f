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

// One binding body for both directions, the same checks in the same order: `source` is read and `target` written.
// The forward reads the input-sized array (N, C, H, W) and writes the output-sized one; the backward the reverse.
void resample(py::handle source_obj, const char* source_name, py::handle target_obj, const char* target_name,
              bool forward, const std::string& mode_name, bool align_corners, double scale_h, double scale_w) {
  const InterpolateMode mode = parse_mode(mode_name);
  Device::Array source = Device::input(source_obj, source_name);
  Device::Array target = Device::output(target_obj, target_name);
  const Float dtype = require_float(source, source_name);
  require_dtype_like(target, target_name, source, source_name);
  const Device::Array& in = forward ? source : target;
  const Device::Array& out = forward ? target : source;
  InterpolateAxis ah{}, aw{};
  axes_of(in, forward ? source_name : target_name, out, forward ? target_name : source_name, scale_h, scale_w,
          align_corners, &ah, &aw);
  require_same_device(target, target_name, source, source_name);
  require_no_overlap(target, target_name, source, source_name);
  const int64_t planes = extent(in, 0) * extent(in, 1);
  with_float(dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* from = cptr<T>(source);
    T* to = ptr<T>(target);
    Device::launch(source, [&] {
      if (forward)
        dev::interpolate_forward(to, from, planes, ah, aw, mode);
      else
        dev::interpolate_backward(to, from, planes, ah, aw, mode);
    });
  });
}

}  // namespace

void bind_interpolate(py::module_& m) {
  m.def(
      "interpolate_forward",
      [](py::handle x, py::handle out, const std::string& mode, bool align_corners, double scale_h, double scale_w) {
        resample(x, "x", out, "out", true, mode, align_corners, scale_h, scale_w);
      },
      py::arg("x"), py::arg("out"), py::arg("mode"), py::arg("align_corners") = false, py::arg("scale_h") = 0.0,
      py::arg("scale_w") = 0.0,
      "out(N, C, OH, OW) = x(N, C, H, W) resampled as torch's interpolate: mode 'nearest', 'nearest-exact' or "
      "'bilinear' (align_corners); scale_h/scale_w the scale factors given (> 0, used for the source index) or 0 "
      "(input / output size).");
  m.def(
      "interpolate_backward",
      [](py::handle grad_out, py::handle grad_in, const std::string& mode, bool align_corners, double scale_h,
         double scale_w) { resample(grad_out, "grad_out", grad_in, "grad_in", false, mode, align_corners, scale_h,
                                    scale_w); },
      py::arg("grad_out"), py::arg("grad_in"), py::arg("mode"), py::arg("align_corners") = false,
      py::arg("scale_h") = 0.0, py::arg("scale_w") = 0.0,
      "grad_in(N, C, H, W) of interpolate_forward from grad_out(N, C, OH, OW): a gather per input element over the "
      "outputs that read it (deterministic, no atomics). Overwrites grad_in.");
}

}  // namespace nnx::bind
