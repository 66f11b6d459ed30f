// CUDA emulation (tools/cuda_emu): helpers shared by the emulated cub block primitives.
#pragma once
#include <cuda_runtime.h>

#include <limits>
#include <type_traits>

namespace cub {
namespace emu_detail {

inline void check_block_shape(int x, int y, int z) {
  if (static_cast<int>(blockDim.x) != x || static_cast<int>(blockDim.y) != y || static_cast<int>(blockDim.z) != z) {
    std::fprintf(stderr, "[cuda_emu] cub block primitive for (%d, %d, %d) threads used in a (%u, %u, %u) block\n", x, y,
                 z, blockDim.x, blockDim.y, blockDim.z);
    std::abort();
  }
}

// What cub leaves in outputs it does not define: something that shows if it is used.
template <class T>
T poison() {
  if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::quiet_NaN();
  else if constexpr (std::is_integral_v<T>) return static_cast<T>(0x5A5A5A5A5A5A5A5Aull);
  else return T{};
}

}  // namespace emu_detail

struct Sum {
  template <class T>
  T operator()(const T& a, const T& b) const { return a + b; }
};
struct Max {
  template <class T>
  T operator()(const T& a, const T& b) const { return a < b ? b : a; }
};
struct Min {
  template <class T>
  T operator()(const T& a, const T& b) const { return b < a ? b : a; }
};

}  // namespace cub
