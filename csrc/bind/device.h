// The device a binding source is compiled for. Each csrc/bind/<family>.cpp is compiled once per device listed in
// csrc/families.txt: into nnx._C as is, into nnx._cuda with NNX_BIND_CUDA defined. This header gives it
//   dev::     the kernels' namespace (nnx::cpu or nnx::cuda), so a family calls dev::softmax_forward(...);
//   Device    the array adapter (CpuArrays: NumPy arrays, CudaArrays: DeviceArrays): Device::input/output,
//             Device::launch (the GIL released, the device current), Device::cuda for `if constexpr`.
// What the two devices do differently stays in the family file: `if constexpr (Device::cuda)` where both branches
// compile on both devices (inside the with_float lambdas, and strings), `#ifdef NNX_BIND_CUDA` where one names
// something the other device lacks (DeviceArray-only functions, host reads of NumPy arrays).
#pragma once
#include <type_traits>

#include "bind/array_checks.h"
#include "core/bad_index.h"

namespace nnx::cpu {}
namespace nnx::cuda {}

namespace nnx::bind {

#ifdef NNX_BIND_CUDA
namespace dev = ::nnx::cuda;
using Device = CudaArrays;
#else
namespace dev = ::nnx::cpu;
using Device = CpuArrays;
#endif

// Launches a kernel that reads indices (embedding rows, class targets) and returns the first bad one it met. CPU
// kernels return it; CUDA kernels record it on the device instead (IndexError at the next synchronisation) and
// return nothing, which reads as none here.
template <class A, class Kernel>
BadIndex launch_reading_indices(const A& on, Kernel&& kernel) {
  BadIndex bad;
  Device::launch(on, [&] {
    if constexpr (std::is_void_v<decltype(kernel())>)
      kernel();
    else
      bad = kernel();
  });
  return bad;
}

}  // namespace nnx::bind
