// CUDA runtime queries used by nnx.cuda: device count and synchronisation.
#include "cuda/runtime.h"

#include <cuda_runtime.h>

namespace nnx::cuda {

int device_count() {
  int count = 0;
  // No driver or no device both mean "no CUDA here": report zero rather than fail.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

const char* synchronize() {
  const cudaError_t status = cudaDeviceSynchronize();
  return status == cudaSuccess ? nullptr : cudaGetErrorString(status);
}

}  // namespace nnx::cuda
