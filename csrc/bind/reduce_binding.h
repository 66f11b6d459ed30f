// column_sum (bias gradients) and row_argmax (predictions), bound once for both devices: validation and
// m.def here, the kernels from Kernels (cpu_reduce.cpp, cuda_reduce.cpp).
#pragma once
#include <string>

#include "bind/array_checks.h"

namespace nnx::bind {

// Kernels: template <class T> static column_sum(x, N, M, out, accumulate) and row_argmax(x, N, M, out),
// as csrc/cpu/reduce.h declares them.
template <class Device, class Kernels>
void bind_reduce_family(py::module_& m) {
  m.def(
      "column_sum",
      [](py::handle x_obj, py::handle out_obj, bool accumulate) {
        typename Device::Array x = Device::input(x_obj, "x");
        typename Device::Array out = Device::output(out_obj, "out");
        const Float dtype = require_float(x, "x");
        require_dtype_like(out, "out", x, "x");
        require_ndim(x, "x", 2);
        const int64_t N = extent(x, 0), M = extent(x, 1);
        require_shape(out, "out", {M});
        require_same_device(out, "out", x, "x");
        require_no_overlap(out, "out", x, "x");
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* input = cptr<T>(x);
          T* result = ptr<T>(out);
          Device::launch(x, [&] { Kernels::column_sum(input, N, M, result, accumulate); });
        });
      },
      py::arg("x"), py::arg("out"), py::arg("accumulate") = false,
      "out(M,) = x(N, M).sum(axis=0) (+ out when accumulate); float sums accumulate in double.");
  m.def(
      "row_argmax",
      [](py::handle x_obj, py::handle out_obj) {
        typename Device::Array x = Device::input(x_obj, "x");
        typename Device::Array out = Device::output(out_obj, "out");
        const Float dtype = require_float(x, "x");
        require_int64(out, "out");
        require_ndim(x, "x", 2);
        const int64_t N = extent(x, 0), M = extent(x, 1);
        if (M == 0 && N > 0)
          throw py::value_error("x must have at least one column to take an argmax, got shape " + shape_string(x));
        require_shape(out, "out", {N});
        require_same_device(out, "out", x, "x");
        require_no_overlap(out, "out", x, "x");  // the kernel would overwrite rows of x it has yet to read
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* input = cptr<T>(x);
          int64_t* result = ptr<int64_t>(out);
          Device::launch(x, [&] { Kernels::row_argmax(input, N, M, result); });
        });
      },
      py::arg("x"), py::arg("out"),
      "out(N,) int64 = x(N, M).argmax(axis=1); the first NaN of a row counts as its maximum, as in NumPy.");
}

}  // namespace nnx::bind
