// CUDA runtime services for the bindings (host-compiler clean: no CUDA headers here).
#pragma once
#include <cstdint>
#include <string>
#include <utility>

namespace nnx::cuda {
int device_count();  // 0 without a driver or device; never throws

// Waits for nnx's stream on `device` (-1: every device used so far). Throws std::runtime_error with
// CUDA's message when queued work failed, and nnx::cuda::BadIndex when a kernel recorded a bad index.
void synchronize(int device);

struct BadIndex {
  int64_t index;
};

std::string device_name(int device);
std::pair<int, int> device_capability(int device);

// Makes `device` current for the scope (restores the previous one); throws std::out_of_range for an
// invalid ordinal.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

// Allocator statistics (allocator.cu).
int64_t memory_allocated(int device);
int64_t memory_reserved(int device);
int64_t malloc_count(int device);
void empty_cache();

// Copies (runtime.cu): host <-> device on nnx's stream. to_host synchronises.
void copy_host_to_device(void* dst, const void* src, int64_t nbytes, int device);
void copy_device_to_host(void* dst, const void* src, int64_t nbytes, int device);
}  // namespace nnx::cuda
