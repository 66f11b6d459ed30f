// Bindings of 2-D grid sampling (csrc/core/grid_sample.h): checks of the arrays (input NCHW, grid (N, OH, OW, 2))
// and of the mode/padding codes (torch's: mode 0 bilinear, 1 nearest; padding_mode 0 zeros, 1 border,
// 2 reflection), then the kernel with the GIL released. Compiled once per device (csrc/bind/device.h).
#include <string>

#include "bind/device.h"
#include "core/grid_sample.h"

namespace nnx::bind {
namespace {

// The geometry of sampling `input` (N, C, H, W) at `grid` (N, OH, OW, 2), both checked, and the codes.
template <class A>
GridSampleGeometry sample_geometry(const A& input, const char* input_name, const A& grid, int64_t mode,
                                   int64_t padding_mode, bool align_corners) {
  require_ndim(input, input_name, 4);
  require_ndim(grid, "grid", 4);
  if (mode != kGridBilinear && mode != kGridNearest)
    throw py::value_error("mode must be 0 (bilinear) or 1 (nearest), got " + std::to_string(mode));
  if (padding_mode != kGridZeros && padding_mode != kGridBorder && padding_mode != kGridReflection)
    throw py::value_error("padding_mode must be 0 (zeros), 1 (border) or 2 (reflection), got " +
                          std::to_string(padding_mode));
  GridSampleGeometry g{};
  g.N = extent(input, 0), g.C = extent(input, 1), g.H = extent(input, 2), g.W = extent(input, 3);
  if (g.H < 1 || g.W < 1)
    throw py::value_error(std::string(input_name) + " must have non-empty spatial dimensions, got shape " +
                          shape_string(input));
  g.OH = extent(grid, 1), g.OW = extent(grid, 2);
  require_shape(grid, "grid", {g.N, g.OH, g.OW, 2});
  g.mode = mode, g.padding = padding_mode, g.align_corners = align_corners;
  return g;
}

}  // namespace

void bind_grid_sample(py::module_& m) {
  using Array = Device::Array;
  using Named = NamedArray<Device::Value>;
  m.def(
      "grid_sample_forward",
      [](py::handle input_obj, py::handle grid_obj, py::handle out_obj, int64_t mode, int64_t padding_mode,
         bool align_corners) {
        Array input = Device::input(input_obj, "input");
        const Float dtype = require_float(input, "input");
        Array grid = Device::input(grid_obj, "grid");
        require_dtype_like(grid, "grid", input, "input");
        require_same_device(grid, "grid", input, "input");
        const GridSampleGeometry g = sample_geometry(input, "input", grid, mode, padding_mode, align_corners);
        Array out = Device::output(out_obj, "out");
        require_dtype_like(out, "out", input, "input");
        require_shape(out, "out", {g.N, g.C, g.OH, g.OW});
        require_same_device(out, "out", input, "input");
        require_disjoint_arrays<Device::Value>({Named{&out, "out"}}, {Named{&input, "input"}, Named{&grid, "grid"}});
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *x = cptr<T>(input), *points = cptr<T>(grid);
          T* result = ptr<T>(out);
          Device::launch(input, [&] { dev::grid_sample_forward(result, x, points, g); });
        });
      },
      py::arg("input"), py::arg("grid"), py::arg("out"), py::arg("mode") = 0, py::arg("padding_mode") = 0,
      py::arg("align_corners") = false,
      "out(N,C,OH,OW) = input(N,C,H,W) sampled at grid(N,OH,OW,2) = (x, y) in [-1, 1], as torch's grid_sample: "
      "mode 0 bilinear / 1 nearest, padding_mode 0 zeros / 1 border / 2 reflection.");
  m.def(
      "grid_sample_backward",
      [](py::handle grad_out_obj, py::handle input_obj, py::handle grid_obj, py::handle grad_input_obj,
         py::handle grad_grid_obj, int64_t mode, int64_t padding_mode, bool align_corners) {
        Array grad_out = Device::input(grad_out_obj, "grad_out");
        const Float dtype = require_float(grad_out, "grad_out");
        Array input = Device::input(input_obj, "input");
        require_dtype_like(input, "input", grad_out, "grad_out");
        require_same_device(input, "input", grad_out, "grad_out");
        Array grid = Device::input(grid_obj, "grid");
        require_dtype_like(grid, "grid", grad_out, "grad_out");
        require_same_device(grid, "grid", grad_out, "grad_out");
        const GridSampleGeometry g = sample_geometry(input, "input", grid, mode, padding_mode, align_corners);
        require_shape(grad_out, "grad_out", {g.N, g.C, g.OH, g.OW});
        auto grad_input =
            optional_like<Device>(grad_input_obj, "grad_input", true, grad_out, "grad_out", {g.N, g.C, g.H, g.W});
        auto grad_grid =
            optional_like<Device>(grad_grid_obj, "grad_grid", true, grad_out, "grad_out", {g.N, g.OH, g.OW, 2});
        require_disjoint_arrays<Device::Value>(
            {Named{get(grad_input), "grad_input"}, Named{get(grad_grid), "grad_grid"}},
            {Named{&grad_out, "grad_out"}, Named{&input, "input"}, Named{&grid, "grid"}});
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *g_out = cptr<T>(grad_out), *x = cptr<T>(input), *points = cptr<T>(grid);
          T *gi = ptr_or_null<T>(grad_input), *gg = ptr_or_null<T>(grad_grid);
          Device::launch(grad_out, [&] { dev::grid_sample_backward(gi, gg, g_out, x, points, g); });
        });
      },
      py::arg("grad_out"), py::arg("input"), py::arg("grid"), py::arg("grad_input"), py::arg("grad_grid"),
      py::arg("mode") = 0, py::arg("padding_mode") = 0, py::arg("align_corners") = false,
      "Backward of grid_sample_forward: grad_input(N,C,H,W) (CPU: deterministic, whole planes per thread; CUDA: "
      "atomicAdd) and grad_grid(N,OH,OW,2) (zeros in the nearest mode), each may be None and is otherwise "
      "overwritten.");
}

}  // namespace nnx::bind
