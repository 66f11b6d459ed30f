// One vocabulary of argument checks for NumPy arrays (CPU) and DeviceArrays (CUDA), plus the two device
// policies, so that each op family's validation (csrc/bind/<family>.cpp) is written once for both.
// Messages are those of checks.h / cuda_checks.h unchanged; this header only chooses between them.
#pragma once
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "bind/checks.h"
#include "bind/cuda_checks.h"  // host-compiler clean: DeviceArray and the runtime's declarations only

namespace nnx::bind {

using nnx::cuda::DeviceArray;

// --- the DeviceArray overloads of checks.h's functions --------------------------------------------

inline Float require_float(const DeviceArray& a, const char* name) {
  cuda::require_float(a, name);
  return a.dtype == nnx::cuda::DType::Float32 ? Float::f32 : Float::f64;
}
inline void require_int64(const DeviceArray& a, const char* name) { cuda::require_dtype(a, name, nnx::cuda::DType::Int64); }
inline void require_uint8(const DeviceArray& a, const char* name) { cuda::require_dtype(a, name, nnx::cuda::DType::UInt8); }
using cuda::require_dtype_like;
using cuda::require_ndim;
using cuda::require_no_overlap;
using cuda::require_same_shape;
using cuda::require_shape;

// Arrays on two GPUs cannot meet in one kernel; NumPy arrays are all on the host.
inline void require_same_device(const py::array&, const char*, const py::array&, const char*) {}
using cuda::require_same_device;

inline std::string shape_string(const DeviceArray& a) { return a.shape_string(); }
inline int64_t ndim_of(const py::array& a) { return a.ndim(); }
inline int64_t ndim_of(const DeviceArray& a) { return a.ndim(); }
inline int64_t extent(const py::array& a, int64_t d) { return a.shape(d); }
inline int64_t extent(const DeviceArray& a, int64_t d) { return a.shape[d]; }
inline int64_t size_of(const py::array& a) { return a.size(); }
inline int64_t size_of(const DeviceArray& a) { return a.size(); }
inline int64_t nbytes_of(const py::array& a) { return a.nbytes(); }
inline int64_t nbytes_of(const DeviceArray& a) { return a.nbytes(); }
inline const void* address(const py::array& a) { return a.data(); }
inline const void* address(const DeviceArray& a) { return a.data(); }

template <class T>
inline T* ptr(const DeviceArray& a) { return static_cast<T*>(a.data()); }
template <class T>
inline const T* cptr(const DeviceArray& a) { return static_cast<const T*>(a.data()); }

// Optional arguments: CpuArrays::Optional (std::optional<py::array>) or CudaArrays::Optional (DeviceArray*).
inline const py::array* get(const std::optional<py::array>& a) { return a ? &*a : nullptr; }
inline const DeviceArray* get(const DeviceArray* a) { return a; }
template <class T>
inline const T* cptr_or_null(const std::optional<py::array>& a) { return a ? cptr<T>(*a) : nullptr; }
template <class T>
inline const T* cptr_or_null(const DeviceArray* a) { return a ? cptr<T>(*a) : nullptr; }
template <class T>
inline T* ptr_or_null(std::optional<py::array>& a) { return a ? ptr<T>(*a) : nullptr; }
template <class T>
inline T* ptr_or_null(DeviceArray* a) { return a ? ptr<T>(*a) : nullptr; }

template <class A>
struct NamedArray {
  const A* array;  // null for an absent optional argument
  const char* name;
};

// No output may share memory with an input or with another output.
template <class A>
void require_disjoint_arrays(const std::vector<NamedArray<A>>& outputs, const std::vector<NamedArray<A>>& inputs) {
  for (size_t o = 0; o < outputs.size(); ++o) {
    if (!outputs[o].array) continue;
    for (const NamedArray<A>& in : inputs)
      if (in.array) require_no_overlap(*outputs[o].array, outputs[o].name, *in.array, in.name);
    for (size_t other = o + 1; other < outputs.size(); ++other)
      if (outputs[other].array)
        require_no_overlap(*outputs[o].array, outputs[o].name, *outputs[other].array, outputs[other].name);
  }
}

// Runs fn(T{}) with T the C++ type of `dtype`.
template <class F>
inline void with_float(Float dtype, F&& fn) {
  if (dtype == Float::f32)
    fn(float{});
  else
    fn(double{});
}

// --- device policies --------------------------------------------------------------------------------

struct CpuArrays {
  using Array = py::array;
  using Value = py::array;
  using Optional = std::optional<py::array>;
  static constexpr bool cuda = false;
  static constexpr const char* array_type = "numpy.ndarray";
  static constexpr const char* blas = "BLAS";
  static py::array input(py::handle obj, const char* name) { return require_array(obj, name); }
  static py::array output(py::handle obj, const char* name) { return require_output(obj, name); }
  static Optional hold(const py::array& a) { return a; }
  static Optional optional_input(py::handle obj, const char* name) {
    if (obj.is_none()) return std::nullopt;
    return input(obj, name);
  }
  static Optional optional_output(py::handle obj, const char* name) {
    if (obj.is_none()) return std::nullopt;
    return output(obj, name);
  }
  // The kernel runs with the GIL released (pointers are taken before, while Python objects may be touched).
  template <class F>
  static void launch(const py::array&, F&& kernel) {
    py::gil_scoped_release release;
    kernel();
  }
};

struct CudaArrays {
  using Array = DeviceArray&;
  using Value = DeviceArray;
  using Optional = DeviceArray*;
  static constexpr bool cuda = true;
  static constexpr const char* array_type = "nnx._cuda.DeviceArray";
  static constexpr const char* blas = "cuBLAS";
  // Inputs and outputs alike: a C-contiguous DeviceArray (device memory has no read-only flag).
  static DeviceArray& input(py::handle obj, const char* name) {
    return cuda::require_contiguous_array(obj, name);
  }
  static DeviceArray& output(py::handle obj, const char* name) { return input(obj, name); }
  static DeviceArray* hold(DeviceArray& a) { return &a; }
  static DeviceArray* optional_input(py::handle obj, const char* name) {
    return obj.is_none() ? nullptr : &input(obj, name);
  }
  static DeviceArray* optional_output(py::handle obj, const char* name) { return optional_input(obj, name); }
  // The launcher is queued on `on`'s device with the GIL released.
  template <class F>
  static void launch(const DeviceArray& on, F&& kernel) {
    cuda::launch_on(on.device(), kernel);
  }
};

// An optional array (None -> empty) with ref's dtype and device and the given shape.
template <class Device, class A>
typename Device::Optional optional_like(py::handle obj, const char* name, bool output, const A& ref,
                                        const char* ref_name, std::initializer_list<int64_t> shape) {
  typename Device::Optional a = output ? Device::optional_output(obj, name) : Device::optional_input(obj, name);
  if (!a) return a;
  require_dtype_like(*a, name, ref, ref_name);
  require_shape(*a, name, shape);
  require_same_device(*a, name, ref, ref_name);
  return a;
}

// As optional_like, but None is refused like any other non-array; held as an Optional that is never empty.
template <class Device, class A>
typename Device::Optional required_like(py::handle obj, const char* name, bool output, const A& ref,
                                        const char* ref_name, std::initializer_list<int64_t> shape) {
  typename Device::Array a = output ? Device::output(obj, name) : Device::input(obj, name);
  require_dtype_like(a, name, ref, ref_name);
  require_shape(a, name, shape);
  require_same_device(a, name, ref, ref_name);
  return Device::hold(a);
}

// BLAS and cuBLAS take 32-bit sizes: refuse anything larger instead of wrapping around.
template <class Device>
void require_blas_int(int64_t value, const char* name) {
  if (value > std::numeric_limits<int>::max())
    throw py::value_error(std::string(name) + " has an extent of " + std::to_string(value) + ", above the " +
                          Device::blas + " limit of 2^31-1");
}

}  // namespace nnx::bind
