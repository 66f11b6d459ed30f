// 2-D max pooling over NCHW planes on the GPU, forward (max and argmax) and backward, for float and double.
// Host-compiler clean; the contracts are those of cpu/max_pool2d.h. Launchers queue on current_stream().
#pragma once
#include <cstdint>

#include "core/max_pool2d_math.h"

namespace nnx::cuda {

// out(planes, OH, OW) = the max of each window of x(planes, H, W), argmax(planes, OH, OW) int64 = its flat index
// h * W + w within the plane (PyTorch's indices; NaN wins). One thread per output element.
template <class T>
void max_pool2d_forward(T* out, int64_t* argmax, const T* x, int64_t planes, const Pool2dGeometry& g);

// grad_in(planes, H, W) = grad_out summed into the elements argmax points at. One thread per input element gathers
// the outputs that picked it (no atomics: deterministic, and the same sums as the CPU's).
template <class T>
void max_pool2d_backward(T* grad_in, const T* grad_out, const int64_t* argmax, int64_t planes,
                         const Pool2dGeometry& g);

}  // namespace nnx::cuda
