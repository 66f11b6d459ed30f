// Argument checks for the binding layer: every array argument is validated here before a kernel sees
// a raw pointer. Each failure raises TypeError/ValueError naming the argument and what was expected.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>

namespace nnx::bind {
namespace py = pybind11;

enum class Float { f32, f64 };

inline std::string shape_string(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

inline std::string dtype_string(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

// The object must already be a NumPy array: lists are never converted here, because converting an
// output would silently write into a temporary.
inline py::array require_array(py::handle obj, const char* name) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + " must be a numpy.ndarray, got " +
                         py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  py::array a = py::reinterpret_borrow<py::array>(obj);
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + " must be C-contiguous (use numpy.ascontiguousarray)");
  return a;
}

inline py::array require_output(py::handle obj, const char* name) {
  py::array a = require_array(obj, name);
  if (!a.writeable()) throw py::value_error(std::string(name) + " must be writeable");
  return a;
}

// dtypes compare by kind, size and byte order, never by object identity: an unpickled array carries an
// equal but distinct dtype object. Non-native byte order is refused (the kernels read native words).
inline bool has_dtype(const py::array& a, char kind, py::ssize_t itemsize) {
  const py::dtype dt = a.dtype();
  return dt.kind() == kind && dt.itemsize() == itemsize && dt.byteorder() != '>';
}
inline bool is_f32(const py::array& a) { return has_dtype(a, 'f', 4); }
inline bool is_f64(const py::array& a) { return has_dtype(a, 'f', 8); }
inline bool same_dtype(const py::array& a, const py::array& b) {
  const py::dtype x = a.dtype(), y = b.dtype();
  return x.kind() == y.kind() && x.itemsize() == y.itemsize() && x.byteorder() != '>' && y.byteorder() != '>';
}

// The float type of the first array decides; the others must match it.
inline Float require_float(const py::array& a, const char* name) {
  if (is_f32(a)) return Float::f32;
  if (is_f64(a)) return Float::f64;
  throw py::type_error(std::string(name) + " must have dtype float32 or float64, got " + dtype_string(a));
}

inline void require_dtype_like(const py::array& a, const char* name, const py::array& ref, const char* ref_name) {
  if (!same_dtype(a, ref))
    throw py::type_error(std::string(name) + " must have the dtype of " + ref_name + " (" + dtype_string(ref) +
                         "), got " + dtype_string(a));
}

inline void require_int64(const py::array& a, const char* name) {
  if (!has_dtype(a, 'i', 8))
    throw py::type_error(std::string(name) + " must have dtype int64, got " + dtype_string(a));
}

inline void require_uint8(const py::array& a, const char* name) {
  if (!has_dtype(a, 'u', 1))
    throw py::type_error(std::string(name) + " must have dtype uint8, got " + dtype_string(a));
}

inline void require_ndim(const py::array& a, const char* name, py::ssize_t ndim) {
  if (a.ndim() != ndim)
    throw py::value_error(std::string(name) + " must be " + std::to_string(ndim) + "-D, got shape " + shape_string(a));
}

// Each expected extent, or -1 for "any".
inline void require_shape(const py::array& a, const char* name, std::initializer_list<int64_t> shape) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  std::string expected = "(";
  int d = 0;
  for (int64_t extent : shape) {
    expected += (d ? ", " : "") + (extent < 0 ? std::string("*") : std::to_string(extent));
    if (ok && extent >= 0 && a.shape(d) != extent) ok = false;
    ++d;
  }
  expected += shape.size() == 1 ? ",)" : ")";
  if (!ok) throw py::value_error(std::string(name) + " must have shape " + expected + ", got " + shape_string(a));
}

inline void require_same_shape(const py::array& a, const char* name, const py::array& ref, const char* ref_name) {
  bool same = a.ndim() == ref.ndim();
  for (py::ssize_t d = 0; same && d < a.ndim(); ++d) same = a.shape(d) == ref.shape(d);
  if (!same)
    throw py::value_error(std::string(name) + " must have the shape of " + ref_name + " " + shape_string(ref) +
                          ", got " + shape_string(a));
}

// Outputs must not share memory with inputs unless a kernel documents that it allows it.
inline void require_no_overlap(const py::array& out, const char* out_name, const py::array& in, const char* in_name) {
  if (out.nbytes() == 0 || in.nbytes() == 0) return;
  const auto* o = static_cast<const char*>(out.data());
  const auto* i = static_cast<const char*>(in.data());
  if (o < i + in.nbytes() && i < o + out.nbytes())
    throw py::value_error(std::string(out_name) + " must not share memory with " + in_name);
}

inline std::string require_choice(const std::string& value, const char* name, std::initializer_list<const char*> choices) {
  std::string list;
  for (const char* c : choices) {
    if (value == c) return value;
    list += (list.empty() ? "'" : ", '") + std::string(c) + "'";
  }
  throw py::value_error(std::string(name) + " must be one of " + list + ", got '" + value + "'");
}

inline void require_finite_nonnegative(double value, const char* name) {
  if (!(value >= 0.0) || value == std::numeric_limits<double>::infinity())
    throw py::value_error(std::string(name) + " must be a finite number >= 0, got " + std::to_string(value));
}

// BLAS takes 32-bit sizes: refuse anything larger instead of wrapping around.
inline int blas_int(py::ssize_t value, const char* name) {
  if (value > std::numeric_limits<int>::max())
    throw py::value_error(std::string(name) + " has an extent of " + std::to_string(value) +
                          ", above the BLAS limit of 2^31-1");
  return static_cast<int>(value);
}

template <class T>
inline T* ptr(py::array& a) { return static_cast<T*>(a.mutable_data()); }
template <class T>
inline const T* cptr(const py::array& a) { return static_cast<const T*>(a.data()); }

}  // namespace nnx::bind
