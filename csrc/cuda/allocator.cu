// The caching device allocator behind Storage (device_array.h) and the small DeviceArray methods.
// Freed blocks wait in per-device free lists keyed by rounded size and are handed out again at once:
// every kernel runs on nnx's single stream per device, so reuse is ordered after the last use.
#include <cuda_runtime.h>

#include <cstdint>
#include <limits>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "cuda/common.cuh"
#include "cuda/device_array.h"
#include "cuda/runtime.h"

namespace nnx::cuda {
namespace {

constexpr int64_t kSmallGranule = 512;              // small blocks round up to 512 B ...
constexpr int64_t kLargeThreshold = 1 << 20;        // ... up to 1 MiB;
constexpr int64_t kLargeGranule = int64_t(2) << 20;  // larger ones to 2 MiB multiples

int64_t round_block_size(int64_t nbytes) {
  const int64_t granule = nbytes <= kLargeThreshold ? kSmallGranule : kLargeGranule;
  return (nbytes + granule - 1) / granule * granule;
}

// std::bad_alloc with a message: pybind11 raises MemoryError(what()).
class DeviceOutOfMemory : public std::bad_alloc {
 public:
  explicit DeviceOutOfMemory(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

struct DevicePool {
  std::unordered_map<int64_t, std::vector<void*>> free_blocks;  // rounded size -> cached blocks
  int64_t allocated = 0;  // bytes in live blocks
  int64_t reserved = 0;   // bytes held from cudaMalloc (live + cached)
  int64_t mallocs = 0;
};

class CachingAllocator {
 public:
  // A block of `block_bytes` (already rounded) on the current device `device`.
  void* allocate(int64_t block_bytes, int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    DevicePool& pool = pool_of(device);
    auto cached = pool.free_blocks.find(block_bytes);
    if (cached != pool.free_blocks.end() && !cached->second.empty()) {
      void* block = cached->second.back();
      cached->second.pop_back();
      pool.allocated += block_bytes;
      return block;
    }
    void* block = nullptr;
    cudaError_t status = cudaMalloc(&block, static_cast<size_t>(block_bytes));
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      release_cached_locked(pool);  // other sizes may be sitting idle in the cache
      status = cudaMalloc(&block, static_cast<size_t>(block_bytes));
      if (status == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        throw DeviceOutOfMemory("CUDA out of memory: tried to allocate " + std::to_string(block_bytes) +
                                " bytes on cuda:" + std::to_string(device) + " (" + std::to_string(pool.allocated) +
                                " bytes allocated by nnx, " + std::to_string(pool.reserved) + " reserved)");
      }
    }
    check(status, "cudaMalloc");
    pool.mallocs += 1;
    pool.reserved += block_bytes;
    pool.allocated += block_bytes;
    return block;
  }

  // Returns a block to its device's cache; never calls CUDA, never throws (a failure leaks the block).
  void release(void* block, int64_t block_bytes, int device) noexcept {
    try {
      std::lock_guard<std::mutex> lock(mutex_);
      DevicePool& pool = pool_of(device);
      pool.free_blocks[block_bytes].push_back(block);
      pool.allocated -= block_bytes;
    } catch (...) {
    }
  }

  // Synchronises each device with cached blocks and cudaFree's them.
  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t device = 0; device < pools_.size(); ++device) {
      DevicePool& pool = pools_[device];
      if (pool.free_blocks.empty()) continue;
      DeviceGuard guard(static_cast<int>(device));
      check(cudaDeviceSynchronize(), "cudaDeviceSynchronize (empty_cache)");  // report what queued work raised
      release_cached_locked(pool);
    }
  }

  int64_t allocated(int device) { return stat(device, &DevicePool::allocated); }
  int64_t reserved(int device) { return stat(device, &DevicePool::reserved); }
  int64_t mallocs(int device) { return stat(device, &DevicePool::mallocs); }

 private:
  DevicePool& pool_of(int device) {
    if (static_cast<size_t>(device) >= pools_.size()) pools_.resize(static_cast<size_t>(device) + 1);
    return pools_[static_cast<size_t>(device)];
  }

  int64_t stat(int device, int64_t DevicePool::*field) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (device < 0 || static_cast<size_t>(device) >= pools_.size()) return 0;
    return pools_[static_cast<size_t>(device)].*field;
  }

  // The caller made the pool's device current. A cached block's last kernels may still be queued, so
  // the device drains first (cudaFree would wait too, but that is not a documented promise).
  void release_cached_locked(DevicePool& pool) {
    if (pool.free_blocks.empty()) return;
    cudaDeviceSynchronize();
    for (auto& [block_bytes, blocks] : pool.free_blocks) {
      for (void* block : blocks) {
        cudaFree(block);
        pool.reserved -= block_bytes;
      }
    }
    pool.free_blocks.clear();
    cudaGetLastError();
  }

  std::mutex mutex_;
  std::vector<DevicePool> pools_;
};

// Never destroyed: storages may die during interpreter exit, after static destructors have run.
CachingAllocator& allocator() {
  static CachingAllocator* instance = new CachingAllocator;
  return *instance;
}

}  // namespace

// ---- Storage -----------------------------------------------------------------------------------------

std::shared_ptr<Storage> Storage::allocate(int64_t nbytes, int device) {
  if (nbytes < 0) throw std::invalid_argument("Storage::allocate: negative size " + std::to_string(nbytes));
  if (nbytes > std::numeric_limits<int64_t>::max() - kLargeGranule)
    throw std::invalid_argument("Storage::allocate: " + std::to_string(nbytes) + " bytes is too large");
  DeviceGuard guard(device);  // also the device cudaMalloc allocates on
  std::shared_ptr<Storage> storage(new Storage());
  storage->device_ = device;
  storage->nbytes_ = nbytes;
  if (nbytes > 0) {
    const int64_t block_bytes = round_block_size(nbytes);
    storage->ptr_ = allocator().allocate(block_bytes, device);
    storage->block_bytes_ = block_bytes;
  }
  return storage;
}

std::shared_ptr<Storage> Storage::external(void* ptr, int64_t nbytes, int device, std::function<void()> release) {
  std::shared_ptr<Storage> storage(new Storage());
  storage->ptr_ = ptr;
  storage->nbytes_ = nbytes;
  storage->device_ = device;
  storage->release_ = std::move(release);
  return storage;
}

Storage::~Storage() {
  if (release_) {
    try {
      release_();
    } catch (...) {  // a producer's deleter must not take the interpreter down
    }
  } else if (block_bytes_ > 0) {
    allocator().release(ptr_, block_bytes_, device_);
  }
}

int64_t memory_allocated(int device) { return allocator().allocated(device); }
int64_t memory_reserved(int device) { return allocator().reserved(device); }
int64_t malloc_count(int device) { return allocator().mallocs(device); }
void empty_cache() { allocator().empty_cache(); }

// ---- DType and DeviceArray ------------------------------------------------------------------------------

int64_t itemsize(DType dtype) {
  switch (dtype) {
    case DType::Bool:
    case DType::UInt8: return 1;
    case DType::Int32:
    case DType::Float32: return 4;
    case DType::Int64:
    case DType::Float64: return 8;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Bool: return "bool";
    case DType::UInt8: return "uint8";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
  }
  return "unknown";
}

int64_t DeviceArray::size() const {
  int64_t n = 1;
  for (int64_t extent : shape) n *= extent;
  return n;
}

void* DeviceArray::data() const {
  char* base = static_cast<char*>(storage->ptr());
  return base ? base + offset * itemsize(dtype) : nullptr;
}

bool DeviceArray::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t d = ndim() - 1; d >= 0; --d) {
    if (shape[d] == 0) return true;
    if (shape[d] != 1 && strides[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

std::string DeviceArray::shape_string() const {
  std::string s = "(";
  for (size_t d = 0; d < shape.size(); ++d) s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

DeviceArray empty_array(const std::vector<int64_t>& shape, DType dtype, int device) {
  int64_t count = 1;
  for (int64_t extent : shape) {
    if (extent < 0) throw std::invalid_argument("shape must not have negative dimensions");
    if (extent > 0 && count > std::numeric_limits<int64_t>::max() / itemsize(dtype) / extent)
      throw std::invalid_argument("shape is too large: its byte count overflows int64");
    count *= extent;
  }
  DeviceArray array;
  array.storage = Storage::allocate(count * itemsize(dtype), device);
  array.shape = shape;
  array.strides.assign(shape.size(), 0);
  int64_t stride = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    array.strides[d] = stride;
    stride *= shape[d] > 0 ? shape[d] : 1;
  }
  array.dtype = dtype;
  return array;
}

}  // namespace nnx::cuda
