// The device array the CUDA bindings pass around: a strided view (offset, shape, strides in elements,
// dtype) of refcounted device memory. Host-compiler clean (no CUDA headers), so pybind11 binding files
// compile with g++; kernels never see this type, only the raw pointers and sizes taken from it.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace nnx::cuda {

enum class DType : int8_t { Bool, UInt8, Int32, Int64, Float32, Float64 };

int64_t itemsize(DType dtype);
const char* dtype_name(DType dtype);  // NumPy's names: "bool", "uint8", ... "float64"

// Device memory: from the caching allocator (returned to its cache when the last owner dies), or
// external memory (a DLPack producer's), released through the producer's deleter.
class Storage {
 public:
  // nbytes may be 0 (a valid, unique, never-dereferenced pointer is not promised: ptr() may be null).
  static std::shared_ptr<Storage> allocate(int64_t nbytes, int device);
  static std::shared_ptr<Storage> external(void* ptr, int64_t nbytes, int device, std::function<void()> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* ptr() const { return ptr_; }
  int64_t nbytes() const { return nbytes_; }
  int device() const { return device_; }

 private:
  Storage() = default;
  void* ptr_ = nullptr;
  int64_t nbytes_ = 0;
  int64_t block_bytes_ = 0;  // the allocator's rounded size (0 for external memory)
  int device_ = 0;
  std::function<void()> release_;  // external memory only
};

struct DeviceArray {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // elements
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // elements; 0 for broadcast dims
  DType dtype = DType::Float32;

  int device() const { return storage->device(); }
  int64_t ndim() const { return static_cast<int64_t>(shape.size()); }
  int64_t size() const;
  int64_t nbytes() const { return size() * itemsize(dtype); }
  void* data() const;  // address of element 0 of the view
  bool is_contiguous() const;  // C order; dims of extent 1 may have any stride
  std::string shape_string() const;  // "(2, 3)"
};

// A new contiguous array from the device's caching allocator.
DeviceArray empty_array(const std::vector<int64_t>& shape, DType dtype, int device);

}  // namespace nnx::cuda
