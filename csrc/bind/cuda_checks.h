// Argument checks for the CUDA bindings (the twin of checks.h): every DeviceArray argument is validated
// here before a kernel launcher sees a raw pointer; failures raise TypeError/ValueError naming the
// argument. Binding files include this, never CUDA headers.
#pragma once
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "cuda/device_array.h"
#include "cuda/runtime.h"

namespace nnx::bind::cuda {
namespace py = pybind11;
using nnx::cuda::DeviceArray;
using nnx::cuda::DType;

// The object must be a DeviceArray (a NumPy array is refused: nothing is copied through the host).
inline DeviceArray& require_device_array(py::handle obj, const char* name) {
  if (!py::isinstance<DeviceArray>(obj))
    throw py::type_error(std::string(name) + " must be an nnx._cuda.DeviceArray, got " +
                         py::str(py::type::of(obj).attr("__name__")).cast<std::string>() +
                         " (move it to the GPU first)");
  return obj.cast<DeviceArray&>();
}

inline void require_contiguous(const DeviceArray& a, const char* name) {
  if (!a.is_contiguous()) throw py::value_error(std::string(name) + " must be C-contiguous");
}

inline bool is_float(const DeviceArray& a) { return a.dtype == DType::Float32 || a.dtype == DType::Float64; }

inline void require_float(const DeviceArray& a, const char* name) {
  if (!is_float(a))
    throw py::type_error(std::string(name) + " must have dtype float32 or float64, got " + nnx::cuda::dtype_name(a.dtype));
}

inline void require_dtype(const DeviceArray& a, const char* name, DType dtype) {
  if (a.dtype != dtype)
    throw py::type_error(std::string(name) + " must have dtype " + nnx::cuda::dtype_name(dtype) + ", got " +
                         nnx::cuda::dtype_name(a.dtype));
}

inline void require_dtype_like(const DeviceArray& a, const char* name, const DeviceArray& ref, const char* ref_name) {
  if (a.dtype != ref.dtype)
    throw py::type_error(std::string(name) + " must have the dtype of " + ref_name + " (" +
                         nnx::cuda::dtype_name(ref.dtype) + "), got " + nnx::cuda::dtype_name(a.dtype));
}

inline void require_same_device(const DeviceArray& a, const char* name, const DeviceArray& ref, const char* ref_name) {
  if (a.device() != ref.device())
    throw py::value_error(std::string(name) + " is on cuda:" + std::to_string(a.device()) + " but " + ref_name +
                          " is on cuda:" + std::to_string(ref.device()));
}

inline void require_ndim(const DeviceArray& a, const char* name, int64_t ndim) {
  if (a.ndim() != ndim)
    throw py::value_error(std::string(name) + " must be " + std::to_string(ndim) + "-D, got shape " + a.shape_string());
}

// Each expected extent, or -1 for "any".
inline void require_shape(const DeviceArray& a, const char* name, std::initializer_list<int64_t> shape) {
  bool ok = a.ndim() == static_cast<int64_t>(shape.size());
  std::string expected = "(";
  int d = 0;
  for (int64_t extent : shape) {
    expected += (d ? ", " : "") + (extent < 0 ? std::string("*") : std::to_string(extent));
    if (ok && extent >= 0 && a.shape[d] != extent) ok = false;
    ++d;
  }
  expected += shape.size() == 1 ? ",)" : ")";
  if (!ok) throw py::value_error(std::string(name) + " must have shape " + expected + ", got " + a.shape_string());
}

inline void require_same_shape(const DeviceArray& a, const char* name, const DeviceArray& ref, const char* ref_name) {
  if (a.shape != ref.shape)
    throw py::value_error(std::string(name) + " must have the shape of " + ref_name + " " + ref.shape_string() +
                          ", got " + a.shape_string());
}

// An op-family array argument: a C-contiguous DeviceArray.
inline DeviceArray& require_contiguous_array(py::handle obj, const char* name) {
  DeviceArray& a = require_device_array(obj, name);
  require_contiguous(a, name);
  return a;
}

// outer, length and inner are extents (>= 0) whose product must not overflow; returns the product.
inline int64_t require_extents(int64_t outer, int64_t length, int64_t inner) {
  const std::pair<const char*, int64_t> extents[] = {{"outer", outer}, {"length", length}, {"inner", inner}};
  int64_t product = 1;
  for (const auto& [name, value] : extents) {
    if (value < 0) throw py::value_error(std::string(name) + " must be >= 0, got " + std::to_string(value));
    if (__builtin_mul_overflow(product, value, &product))
      throw py::value_error("outer * length * inner overflows int64 (" + std::to_string(outer) + " * " +
                            std::to_string(length) + " * " + std::to_string(inner) + ")");
  }
  return product;
}

// `a` has `size` elements, `what` saying where that count comes from.
inline void require_size(const DeviceArray& a, const char* name, int64_t size, const char* what) {
  if (a.size() != size)
    throw py::value_error(std::string(name) + " must have " + what + " = " + std::to_string(size) +
                          " elements, got shape " + a.shape_string());
}

// Byte ranges [data, data + span) of two views overlap (span covers every element the strides reach).
bool may_overlap(const DeviceArray& a, const DeviceArray& b);

inline void require_no_overlap(const DeviceArray& out, const char* out_name, const DeviceArray& in, const char* in_name) {
  if (may_overlap(out, in)) throw py::value_error(std::string(out_name) + " must not share memory with " + in_name);
}

template <class T>
inline T* ptr(const DeviceArray& a) { return static_cast<T*>(a.data()); }

// Runs `launch` with the GIL released and `device` current; CUDA errors become RuntimeError.
template <class F>
inline void launch_on(int device, F&& launch) {
  py::gil_scoped_release release;
  nnx::cuda::DeviceGuard guard(device);
  launch();
}

}  // namespace nnx::bind::cuda
