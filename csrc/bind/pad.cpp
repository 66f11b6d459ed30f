// Bindings of reflect/replicate/circular padding (csrc/core/pad.h): the mode, the padding against each mode's rule
// and every array against the sizes they give, then the kernel with the GIL released. Compiled once per device
// (csrc/bind/device.h). x is (B, D, H, W): the Python layer views the padded dimensions (the last one to three) and
// everything before them that way.
#include <array>
#include <string>

#include "bind/device.h"
#include "core/pad.h"

namespace nnx::bind {
namespace {

using Padding = std::array<int64_t, 6>;  // PyTorch's order: (w_before, w_after, h_before, h_after, d_before, d_after)

std::string padding_string(const Padding& p) {
  std::string text = "(";
  for (size_t i = 0; i < p.size(); ++i) text += (i ? ", " : "") + std::to_string(p[i]);
  return text + ")";
}

PadMode parse_mode(py::handle mode) {
  if (!PyUnicode_Check(mode.ptr()))
    throw py::type_error("mode must be a str, got " + py::str(py::type::of(mode).attr("__name__")).cast<std::string>());
  const std::string name = mode.cast<std::string>();
  if (name == "reflect") return PadMode::reflect;
  if (name == "replicate") return PadMode::replicate;
  if (name == "circular") return PadMode::circular;
  throw py::value_error("mode must be one of 'reflect', 'replicate', 'circular', got '" + name + "'");
}

// One axis, checked against the mode's rule (core/pad.h's PadAxis) so that every index the kernels form is in range.
PadAxis checked_axis(int64_t size, int64_t before, int64_t after, PadMode mode, const char* axis,
                     const Padding& padding) {
  const PadAxis a{size, before, after};
  const std::string where = std::string(" on the ") + axis + " axis (size " + std::to_string(size) + "), got padding " +
                            padding_string(padding);
  if (a.out_size() < 0) throw py::value_error("padding gives a negative output size" + where);
  if (mode == PadMode::reflect && (before >= size || after >= size) && a.out_size() > 0)
    throw py::value_error("padding must be smaller than the input size for mode 'reflect'" + where);
  if (mode == PadMode::replicate && size == 0 && a.out_size() > 0)
    throw py::value_error("padding cannot replicate an empty axis" + where);
  if (mode == PadMode::circular && (a.cropped_size() < 0 || before > a.cropped_size() || after > a.cropped_size()))
    throw py::value_error("padding must be at most the (cropped) input size for mode 'circular'" + where);
  return a;
}

template <class A>
PadGeometry geometry(const A& x, const char* name, const Padding& padding, PadMode mode) {
  require_ndim(x, name, 4);
  PadGeometry g{};
  g.w = checked_axis(extent(x, 3), padding[0], padding[1], mode, "W", padding);
  g.h = checked_axis(extent(x, 2), padding[2], padding[3], mode, "H", padding);
  g.d = checked_axis(extent(x, 1), padding[4], padding[5], mode, "D", padding);
  return g;
}

}  // namespace

void bind_pad(py::module_& m) {
  m.def(
      "pad_forward",
      [](py::handle x_obj, py::handle out_obj, const Padding& padding, py::handle mode_obj) {
        Device::Array x = Device::input(x_obj, "x");
        Device::Array out = Device::output(out_obj, "out");
        const Float dtype = require_float(x, "x");
        const PadMode mode = parse_mode(mode_obj);
        const PadGeometry g = geometry(x, "x", padding, mode);
        const int64_t B = extent(x, 0);
        require_dtype_like(out, "out", x, "x");
        require_shape(out, "out", {B, g.d.out_size(), g.h.out_size(), g.w.out_size()});
        require_same_device(out, "out", x, "x");
        require_no_overlap(out, "out", x, "x");
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* input = cptr<T>(x);
          T* result = ptr<T>(out);
          Device::launch(x, [&] { dev::pad_forward(result, input, B, g, mode); });
        });
      },
      py::arg("x"), py::arg("out"), py::arg("padding"), py::arg("mode"),
      "out(B, D', H', W') = x(B, D, H, W) padded on its last three axes by padding (w_before, w_after, h_before, "
      "h_after, d_before, d_after; negative crops) with mode 'reflect', 'replicate' or 'circular'. See _C.pyi.");
  m.def(
      "pad_backward",
      [](py::handle grad_out_obj, py::handle grad_in_obj, const Padding& padding, py::handle mode_obj) {
        Device::Array grad_out = Device::input(grad_out_obj, "grad_out");
        Device::Array grad_in = Device::output(grad_in_obj, "grad_in");
        const Float dtype = require_float(grad_out, "grad_out");
        const PadMode mode = parse_mode(mode_obj);
        require_dtype_like(grad_in, "grad_in", grad_out, "grad_out");
        const PadGeometry g = geometry(grad_in, "grad_in", padding, mode);
        const int64_t B = extent(grad_in, 0);
        require_shape(grad_out, "grad_out", {B, g.d.out_size(), g.h.out_size(), g.w.out_size()});
        require_same_device(grad_in, "grad_in", grad_out, "grad_out");
        require_no_overlap(grad_in, "grad_in", grad_out, "grad_out");
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* g_out = cptr<T>(grad_out);
          T* g_in = ptr<T>(grad_in);
          Device::launch(grad_out, [&] { dev::pad_backward(g_in, g_out, B, g, mode); });
        });
      },
      py::arg("grad_out"), py::arg("grad_in"), py::arg("padding"), py::arg("mode"),
      "grad_in(B, D, H, W) = the sum of grad_out over the output elements that read each input element (a gather, "
      "deterministic). See _C.pyi.");
}

}  // namespace nnx::bind
