// The DeviceArray type of nnx._cuda: creation, host copies, views, properties, DLPack exchange, and
// the allocator statistics. Every argument is validated here; the memory work is in csrc/cuda.
#ifndef NNX_BIND_CUDA
#error "bound on cuda only (csrc/families.txt): compiled with NNX_BIND_CUDA"
#endif
#include <Python.h>
#include <pybind11/numpy.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "bind/device.h"
#include "cuda/dlpack.h"

namespace nnx::bind {
namespace cuda {

// ValueError unless `device` is a visible device; RuntimeError with CUDA's reason when there is none.
// Also used by module.cpp.
void require_device_ordinal(int device, const char* name);

namespace {

std::string type_name(py::handle obj) { return py::str(py::type::of(obj).attr("__name__")).cast<std::string>(); }

// ---- dtypes ----------------------------------------------------------------------------------------------

constexpr const char* kDTypeChoices = "bool, uint8, int32, int64, float32, float64";

bool dtype_from_numpy(const py::dtype& dt, DType* out) {
  if (dt.byteorder() == '>') return false;  // the kernels read native words
  const char kind = dt.kind();
  const py::ssize_t size = dt.itemsize();
  if (kind == 'b' && size == 1) *out = DType::Bool;
  else if (kind == 'u' && size == 1) *out = DType::UInt8;
  else if (kind == 'i' && size == 4) *out = DType::Int32;
  else if (kind == 'i' && size == 8) *out = DType::Int64;
  else if (kind == 'f' && size == 4) *out = DType::Float32;
  else if (kind == 'f' && size == 8) *out = DType::Float64;
  else return false;
  return true;
}

DType require_supported_dtype(const py::dtype& dt, const char* name) {
  DType dtype;
  if (!dtype_from_numpy(dt, &dtype))
    throw py::type_error(std::string(name) + " must have dtype " + kDTypeChoices + ", got " +
                         py::str(dt).cast<std::string>());
  return dtype;
}

// Anything numpy.dtype() accepts: np.float32, "int64", a dtype object.
DType parse_dtype(py::handle obj, const char* name) {
  py::dtype dt;
  DType dtype;
  try {
    dt = py::dtype::from_args(py::reinterpret_borrow<py::object>(obj));
  } catch (py::error_already_set&) {
    throw py::type_error(std::string(name) + " must be a NumPy dtype (" + kDTypeChoices + "), got " + py::repr(obj).cast<std::string>());
  }
  if (!dtype_from_numpy(dt, &dtype))
    throw py::type_error(std::string(name) + " must be one of " + kDTypeChoices + ", got " + py::str(dt).cast<std::string>());
  return dtype;
}

py::dtype numpy_dtype(DType dtype) { return py::dtype(nnx::cuda::dtype_name(dtype)); }

// ---- shapes ------------------------------------------------------------------------------------------------

std::vector<int64_t> parse_int_sequence(py::handle obj, const char* name) {
  if (!py::isinstance<py::sequence>(obj) || py::isinstance<py::str>(obj))
    throw py::type_error(std::string(name) + " must be a sequence of ints, got " + type_name(obj));
  std::vector<int64_t> values;
  for (py::handle item : py::reinterpret_borrow<py::sequence>(obj)) {
    if (!PyIndex_Check(item.ptr()) || PyBool_Check(item.ptr()))
      throw py::type_error(std::string(name) + " must be a sequence of ints, got an item of type " + type_name(item));
    int overflow = 0;
    const long long value = PyLong_AsLongLongAndOverflow(py::reinterpret_steal<py::object>(PyNumber_Index(item.ptr())).ptr(), &overflow);
    if (overflow) throw py::value_error(std::string(name) + " has an item outside the int64 range");
    values.push_back(value);
  }
  return values;
}

std::string tuple_string(const std::vector<int64_t>& values) {
  std::string s = "(";
  for (size_t d = 0; d < values.size(); ++d) s += (d ? ", " : "") + std::to_string(values[d]);
  return s + (values.size() == 1 ? ",)" : ")");
}

py::tuple to_tuple(const std::vector<int64_t>& values) {
  py::tuple t(values.size());
  for (size_t d = 0; d < values.size(); ++d) t[d] = py::int_(values[d]);
  return t;
}

std::vector<int64_t> require_shape_arg(py::handle obj, const char* name) {
  std::vector<int64_t> shape = parse_int_sequence(obj, name);
  for (int64_t extent : shape)
    if (extent < 0) throw py::value_error(std::string(name) + " must not have negative dimensions, got " + tuple_string(shape));
  return shape;
}

// The lowest and highest element offsets (relative to element 0) a strided view reaches; size > 0.
// False when the sums overflow int64.
bool element_extent(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, int64_t* lowest, int64_t* highest) {
  int64_t lo = 0, hi = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    int64_t reach;
    if (__builtin_mul_overflow(shape[d] - 1, strides[d], &reach)) return false;
    if (reach < 0 ? __builtin_add_overflow(lo, reach, &lo) : __builtin_add_overflow(hi, reach, &hi)) return false;
  }
  *lowest = lo;
  *highest = hi;
  return true;
}

bool has_zero_extent(const std::vector<int64_t>& shape) {
  return std::find(shape.begin(), shape.end(), 0) != shape.end();
}

// ---- host arrays ----------------------------------------------------------------------------------------

py::array require_host_array(py::handle obj, const char* name) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + " must be a numpy.ndarray, got " + type_name(obj));
  py::array a = py::reinterpret_borrow<py::array>(obj);
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + " must be C-contiguous (use numpy.ascontiguousarray)");
  return a;
}

std::vector<int64_t> host_shape(const py::array& a) {
  return std::vector<int64_t>(a.shape(), a.shape() + a.ndim());
}

DeviceArray from_host(py::handle obj, int device) {
  py::array host = require_host_array(obj, "array");
  const DType dtype = require_supported_dtype(host.dtype(), "array");
  require_device_ordinal(device, "device");
  const std::vector<int64_t> shape = host_shape(host);
  const void* source = host.data();
  py::gil_scoped_release release;
  DeviceArray array = nnx::cuda::empty_array(shape, dtype, device);
  nnx::cuda::copy_host_to_device(array.data(), source, array.nbytes(), device);
  return array;
}

void to_host(const DeviceArray& self, py::handle obj) {
  py::array out = require_host_array(obj, "out");
  if (!out.writeable()) throw py::value_error("out must be writeable");
  const DType dtype = require_supported_dtype(out.dtype(), "out");
  if (dtype != self.dtype)
    throw py::type_error(std::string("out must have dtype ") + nnx::cuda::dtype_name(self.dtype) + ", got " +
                         nnx::cuda::dtype_name(dtype));
  if (host_shape(out) != self.shape)
    throw py::value_error("out must have shape " + self.shape_string() + ", got " + tuple_string(host_shape(out)));
  if (!self.is_contiguous())
    throw py::value_error("to_host needs a contiguous DeviceArray, got strides " + tuple_string(self.strides) +
                          " (copy it into a contiguous array first)");
  void* destination = out.mutable_data();
  py::gil_scoped_release release;
  nnx::cuda::copy_device_to_host(destination, self.data(), self.nbytes(), self.device());
}

// ---- views -----------------------------------------------------------------------------------------------

DeviceArray make_view(const DeviceArray& self, py::handle shape_obj, py::handle strides_obj, int64_t offset) {
  const std::vector<int64_t> shape = require_shape_arg(shape_obj, "shape");
  const std::vector<int64_t> strides = parse_int_sequence(strides_obj, "strides");
  if (strides.size() != shape.size())
    throw py::value_error("strides must have one entry per dimension of shape " + tuple_string(shape) + ", got " +
                          tuple_string(strides));
  int64_t count = 1;
  for (int64_t extent : shape)
    if (__builtin_mul_overflow(count, extent, &count) || count > std::numeric_limits<int64_t>::max() / 8)
      throw py::value_error("shape " + tuple_string(shape) + " is too large: its byte count overflows int64");
  const int64_t storage_elements = self.storage->nbytes() / nnx::cuda::itemsize(self.dtype);
  if (offset < 0 || offset > storage_elements)
    throw py::value_error("offset must be in [0, " + std::to_string(storage_elements) + "], got " + std::to_string(offset));
  if (!has_zero_extent(shape)) {
    int64_t lowest = 0, highest = 0;
    if (!element_extent(shape, strides, &lowest, &highest) || offset + lowest < 0 ||
        highest >= storage_elements - offset)
      throw py::value_error("view with shape " + tuple_string(shape) + ", strides " + tuple_string(strides) +
                            " and offset " + std::to_string(offset) + " falls outside the storage of " +
                            std::to_string(storage_elements) + " elements");
  }
  DeviceArray view;
  view.storage = self.storage;
  view.offset = offset;
  view.shape = shape;
  view.strides = strides;
  view.dtype = self.dtype;
  return view;
}

std::string repr(const DeviceArray& a) {
  return "DeviceArray(shape=" + a.shape_string() + ", dtype=" + nnx::cuda::dtype_name(a.dtype) + ", device=cuda:" +
         std::to_string(a.device()) + ")";
}

// ---- DLPack ------------------------------------------------------------------------------------------------

constexpr const char* kCapsuleName = "dltensor";
constexpr const char* kUsedCapsuleName = "used_dltensor";

DLDataType dlpack_dtype(DType dtype) {
  switch (dtype) {
    case DType::Bool: return {kDLBool, 8, 1};
    case DType::UInt8: return {kDLUInt, 8, 1};
    case DType::Int32: return {kDLInt, 32, 1};
    case DType::Int64: return {kDLInt, 64, 1};
    case DType::Float32: return {kDLFloat, 32, 1};
    case DType::Float64: return {kDLFloat, 64, 1};
  }
  return {kDLOpaqueHandle, 0, 0};
}

bool dtype_from_dlpack(DLDataType t, DType* out) {
  if (t.lanes != 1) return false;
  if (t.code == kDLBool && t.bits == 8) *out = DType::Bool;
  else if (t.code == kDLUInt && t.bits == 8) *out = DType::UInt8;
  else if (t.code == kDLInt && t.bits == 32) *out = DType::Int32;
  else if (t.code == kDLInt && t.bits == 64) *out = DType::Int64;
  else if (t.code == kDLFloat && t.bits == 32) *out = DType::Float32;
  else if (t.code == kDLFloat && t.bits == 64) *out = DType::Float64;
  else return false;
  return true;
}

// What an exported capsule owns: a view (keeping the storage alive) and the shape/strides arrays.
struct ExportedTensor {
  DeviceArray array;
  std::vector<int64_t> shape, strides;
  DLManagedTensor managed{};
};

// The consumer may still have work queued on its own stream, unknown to nnx: wait for the device before
// the storage can go back to the cache and be reused by nnx's stream.
void delete_exported(DLManagedTensor* self) {
  auto* exported = static_cast<ExportedTensor*>(self->manager_ctx);
  if (exported->array.storage->ptr()) nnx::cuda::synchronize_device_quietly(exported->array.device());
  delete exported;
}

// A capsule nobody consumed still owns its tensor (a consumer renames it "used_dltensor").
void capsule_destructor(PyObject* capsule) {
  if (!PyCapsule_IsValid(capsule, kCapsuleName)) return;
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);  // keep an exception in flight intact
  auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, kCapsuleName));
  if (managed && managed->deleter) managed->deleter(managed);
  PyErr_Restore(type, value, traceback);
}

// The consumer's stream as an integer (-1: do not synchronise); DLPack's rules for CUDA.
int64_t consumer_stream(py::handle stream) {
  if (stream.is_none()) return 1;  // the legacy default stream
  if (!PyIndex_Check(stream.ptr()) || PyBool_Check(stream.ptr()))
    throw py::type_error("stream must be None or an int, got " + type_name(stream));
  const int64_t value = py::cast<int64_t>(py::reinterpret_steal<py::object>(PyNumber_Index(stream.ptr())));
  if (value == 0) throw py::value_error("stream must not be 0 for CUDA (ambiguous in DLPack): use 1 for the legacy default stream");
  if (value < -1) throw py::value_error("stream must be -1, 1, 2 or a cudaStream_t, got " + std::to_string(value));
  return value;
}

py::object to_dlpack(const DeviceArray& self, py::handle stream, py::handle max_version, py::handle dl_device, py::handle copy) {
  (void)max_version;  // only the unversioned 0.8 capsule is produced, which every consumer accepts
  if (!dl_device.is_none()) {
    const auto requested = py::cast<std::pair<int, int>>(dl_device);
    if (requested != std::make_pair(static_cast<int>(kDLCUDA), self.device()))
      throw py::buffer_error("dl_device (" + std::to_string(requested.first) + ", " + std::to_string(requested.second) +
                             ") is not this array's device (2, " + std::to_string(self.device()) + "): nnx exports in place only");
  }
  if (!copy.is_none() && py::cast<bool>(copy)) throw py::buffer_error("copy=True is not supported: nnx exports in place only");
  const int64_t stream_value = consumer_stream(stream);
  if (stream_value != -1) {
    py::gil_scoped_release release;
    nnx::cuda::make_stream_wait_for_nnx(self.device(), stream_value);
  }
  auto* exported = new ExportedTensor{self, self.shape, self.strides, {}};
  DLTensor& t = exported->managed.dl_tensor;
  t.data = self.data();
  t.device = {kDLCUDA, self.device()};
  t.ndim = static_cast<int32_t>(self.ndim());
  t.dtype = dlpack_dtype(self.dtype);
  t.shape = exported->shape.data();
  t.strides = exported->strides.data();
  t.byte_offset = 0;
  exported->managed.manager_ctx = exported;
  exported->managed.deleter = delete_exported;
  PyObject* capsule = PyCapsule_New(&exported->managed, kCapsuleName, capsule_destructor);
  if (!capsule) {
    delete exported;
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::object>(capsule);
}

DeviceArray from_dlpack(py::handle capsule) {
  if (!PyCapsule_CheckExact(capsule.ptr()))
    throw py::type_error("capsule must be a DLPack 'dltensor' PyCapsule (from x.__dlpack__()), got " + type_name(capsule));
  if (PyCapsule_IsValid(capsule.ptr(), kUsedCapsuleName))
    throw py::value_error("capsule has already been consumed (a DLPack capsule can be imported once)");
  if (!PyCapsule_IsValid(capsule.ptr(), kCapsuleName))
    throw py::type_error("capsule must be named 'dltensor' (an unversioned DLPack capsule; call __dlpack__() without max_version)");
  auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule.ptr(), kCapsuleName));
  const DLTensor& t = managed->dl_tensor;
  if (t.device.device_type != kDLCUDA)
    throw py::value_error("capsule holds memory of DLPack device type " + std::to_string(t.device.device_type) +
                          "; from_dlpack needs CUDA device memory (kDLCUDA = 2)");
  DType dtype;
  if (!dtype_from_dlpack(t.dtype, &dtype))
    throw py::type_error("capsule has an unsupported dtype (DLPack code " + std::to_string(t.dtype.code) + ", " +
                         std::to_string(t.dtype.bits) + " bits, " + std::to_string(t.dtype.lanes) +
                         " lanes); supported: " + kDTypeChoices);
  require_device_ordinal(t.device.device_id, "capsule's device");
  if (t.ndim < 0) throw py::value_error("capsule has a negative ndim");
  std::vector<int64_t> shape(t.shape, t.shape + t.ndim), strides(static_cast<size_t>(t.ndim));
  for (int64_t extent : shape)
    if (extent < 0) throw py::value_error("capsule has a negative dimension in shape " + tuple_string(shape));
  if (t.strides) {
    strides.assign(t.strides, t.strides + t.ndim);
  } else {  // compact row-major
    int64_t stride = 1;
    for (int32_t d = t.ndim - 1; d >= 0; --d) {
      strides[d] = stride;
      stride *= std::max<int64_t>(shape[d], 1);
    }
  }
  const int64_t item = nnx::cuda::itemsize(dtype);
  char* element0 = static_cast<char*>(t.data) + t.byte_offset;
  // The storage starts at the lowest element the view reaches, so the view's offset is never negative.
  int64_t lowest = 0, highest = -1;
  if (!has_zero_extent(shape) && !element_extent(shape, strides, &lowest, &highest))
    throw py::value_error("capsule's shape and strides overflow int64");
  // The producer's writes may still be queued on its stream, and nnx's kernels on nnx's stream when the
  // last view dies: wait for the device at both ends.
  const int device = t.device.device_id;
  {
    py::gil_scoped_release release;
    nnx::cuda::synchronize_device(device);
  }
  auto storage = nnx::cuda::Storage::external(element0 + lowest * item, (highest - lowest + 1) * item, device,
                                              [managed, device] {
                                                nnx::cuda::synchronize_device_quietly(device);
                                                if (managed->deleter) managed->deleter(managed);
                                              });
  DeviceArray array;
  array.storage = std::move(storage);
  array.offset = -lowest;
  array.shape = std::move(shape);
  array.strides = std::move(strides);
  array.dtype = dtype;
  if (PyCapsule_SetName(capsule.ptr(), kUsedCapsuleName) != 0) throw py::error_already_set();
  return array;
}

}  // namespace

// ---- shared with module.cpp and cuda_checks.h -----------------------------------------------------------

void require_device_ordinal(int device, const char* name) {
  if (device < 0) throw py::value_error(std::string(name) + " must be a CUDA device index >= 0, got " + std::to_string(device));
  const int count = nnx::cuda::device_count();
  if (count == 0) nnx::cuda::DeviceGuard guard(device);  // raises RuntimeError with CUDA's reason
  if (device >= count)
    throw py::value_error(std::string(name) + " must be < " + std::to_string(count) + " (the visible CUDA devices), got " +
                          std::to_string(device));
}

bool may_overlap(const DeviceArray& a, const DeviceArray& b) {
  if (a.size() == 0 || b.size() == 0) return false;
  const auto byte_range = [](const DeviceArray& v, uintptr_t* begin, uintptr_t* end) {
    int64_t lowest = 0, highest = 0;
    element_extent(v.shape, v.strides, &lowest, &highest);  // validated views never overflow
    const int64_t item = nnx::cuda::itemsize(v.dtype);
    const uintptr_t base = reinterpret_cast<uintptr_t>(v.data());
    *begin = base + lowest * item;
    *end = base + (highest + 1) * item;
  };
  uintptr_t a_begin, a_end, b_begin, b_end;
  byte_range(a, &a_begin, &a_end);
  byte_range(b, &b_begin, &b_end);
  return a_begin < b_end && b_begin < a_end;
}

}  // namespace cuda

void bind_device_array(py::module_& m) {
  using namespace cuda;  // the helpers above
  py::class_<DeviceArray>(m, "DeviceArray",
                          "A strided view of device memory: refcounted storage, element offset, shape, strides in "
                          "elements (may be 0 or negative), dtype, device.")
      .def_static(
          "empty",
          [](py::handle shape, py::handle dtype, int device) {
            const std::vector<int64_t> extents = require_shape_arg(shape, "shape");
            const DType parsed = parse_dtype(dtype, "dtype");
            int64_t count = 1;
            for (int64_t extent : extents)
              if (extent > 0 && __builtin_mul_overflow(count, extent, &count))
                throw py::value_error("shape " + tuple_string(extents) + " is too large: its byte count overflows int64");
            if (count > std::numeric_limits<int64_t>::max() / nnx::cuda::itemsize(parsed))
              throw py::value_error("shape " + tuple_string(extents) + " is too large: its byte count overflows int64");
            require_device_ordinal(device, "device");
            py::gil_scoped_release release;
            return nnx::cuda::empty_array(extents, parsed, device);
          },
          py::arg("shape"), py::arg("dtype"), py::arg("device") = 0, "Uninitialised C-contiguous array from the caching allocator.")
      .def_static("from_host", &from_host, py::arg("array"), py::arg("device") = 0,
                  "A new C-contiguous device copy of a C-contiguous host array.")
      .def("to_host", &to_host, py::arg("out"), "Copies this contiguous array into `out`; synchronises the stream.")
      .def("view", &make_view, py::arg("shape"), py::arg("strides"), py::arg("offset"),
           "A view of the same storage (offset and strides in elements).")
      .def_property_readonly("shape", [](const DeviceArray& a) { return to_tuple(a.shape); })
      .def_property_readonly("strides", [](const DeviceArray& a) { return to_tuple(a.strides); }, "In elements.")
      .def_property_readonly("offset", [](const DeviceArray& a) { return a.offset; })
      .def_property_readonly("dtype", [](const DeviceArray& a) { return numpy_dtype(a.dtype); })
      .def_property_readonly("device", [](const DeviceArray& a) { return a.device(); })
      .def_property_readonly("ndim", [](const DeviceArray& a) { return a.ndim(); })
      .def_property_readonly("size", [](const DeviceArray& a) { return a.size(); })
      .def_property_readonly("itemsize", [](const DeviceArray& a) { return nnx::cuda::itemsize(a.dtype); })
      .def_property_readonly("nbytes", [](const DeviceArray& a) { return a.nbytes(); })
      .def_property_readonly("data_ptr", [](const DeviceArray& a) { return reinterpret_cast<uintptr_t>(a.data()); })
      .def_property_readonly("storage_ptr", [](const DeviceArray& a) { return reinterpret_cast<uintptr_t>(a.storage->ptr()); })
      .def_property_readonly("storage_nbytes", [](const DeviceArray& a) { return a.storage->nbytes(); })
      .def_property_readonly("is_contiguous", [](const DeviceArray& a) { return a.is_contiguous(); })
      .def("__repr__", &repr)
      .def("__dlpack__", &to_dlpack, py::kw_only(), py::arg("stream") = py::none(), py::arg("max_version") = py::none(),
           py::arg("dl_device") = py::none(), py::arg("copy") = py::none(),
           "A 'dltensor' capsule sharing this memory; the consumer's stream waits for nnx's queued work.")
      .def("__dlpack_device__", [](const DeviceArray& a) { return py::make_tuple(static_cast<int>(kDLCUDA), a.device()); });

  m.def("from_dlpack", &from_dlpack, py::arg("capsule"),
        "Zero-copy DeviceArray over a 'dltensor' capsule of CUDA memory; waits for the device first, since the "
        "capsule does not say which stream wrote it.");

  m.def(
      "memory_allocated",
      [](int device) {
        require_device_ordinal(device, "device");
        return nnx::cuda::memory_allocated(device);
      },
      py::arg("device") = 0, "Bytes in live blocks (rounded sizes).");
  m.def(
      "memory_reserved",
      [](int device) {
        require_device_ordinal(device, "device");
        return nnx::cuda::memory_reserved(device);
      },
      py::arg("device") = 0, "Bytes obtained from cudaMalloc and not yet returned (live + cached).");
  m.def(
      "malloc_count",
      [](int device) {
        require_device_ordinal(device, "device");
        return nnx::cuda::malloc_count(device);
      },
      py::arg("device") = 0, "How many times the allocator has called cudaMalloc.");
  m.def(
      "empty_cache",
      []() {
        py::gil_scoped_release release;
        nnx::cuda::empty_cache();
      },
      "Synchronises and returns every cached, unused block to CUDA (cudaFree).");
}

}  // namespace nnx::bind
