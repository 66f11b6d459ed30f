// Shared by every .cu file: the stream nnx queues work on, launch-error checks, grid sizing, and the
// device-side bad-index flag. Include only from .cu files (it needs the CUDA runtime headers).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace nnx::cuda {

// nnx's stream on the *current* device (created on first use, cudaStreamNonBlocking). Bindings set the
// current device to the arrays' device before calling a kernel launcher (DeviceGuard in runtime.h).
cudaStream_t current_stream();

// Throws std::runtime_error("CUDA error: <what>: <message>") when status is not cudaSuccess.
void check(cudaError_t status, const char* what);

// Call right after a <<<>>> launch: turns a launch failure into an exception naming the kernel.
inline void check_launch(const char* kernel_name) { check(cudaGetLastError(), kernel_name); }

constexpr int kBlock = 256;

// Blocks for n elements at kBlock threads, capped (kernels use grid-stride loops past the cap).
inline unsigned grid_for(int64_t n, int block = kBlock) {
  const int64_t blocks = (n + block - 1) / block;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 * 8 ? 65535 * 8 : blocks));
}

// Device-side index errors: a kernel that meets an out-of-range index stores it here (first one wins,
// via atomicCAS from the sentinel) and skips the element; synchronize() reads and clears it and raises
// IndexError. bad_index_slot() is this device's flag (device memory, int64, sentinel INT64_MIN).
int64_t* bad_index_slot();
constexpr long long kNoBadIndex = static_cast<long long>(INT64_MIN);

__device__ inline void report_bad_index(int64_t* slot, int64_t index) {
  atomicCAS(reinterpret_cast<unsigned long long*>(slot), static_cast<unsigned long long>(kNoBadIndex),
            static_cast<unsigned long long>(index));
}

}  // namespace nnx::cuda
