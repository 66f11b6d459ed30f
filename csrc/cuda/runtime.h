// CUDA runtime queries (no CUDA headers here, so the binding compiles with the host compiler).
#pragma once

namespace nnx::cuda {
int device_count();
// nullptr on success, else the CUDA error message.
const char* synchronize();
}  // namespace nnx::cuda
