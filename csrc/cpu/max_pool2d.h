// 2-D max pooling over NCHW planes, forward (max and argmax) and backward, for float and double.
#pragma once
#include <cstdint>

#include "core/max_pool2d_math.h"

namespace nnx::cpu {

// out(planes, OH, OW) = the max of each window of x(planes, H, W) (sizes in g; planes = N * C), and
// argmax(planes, OH, OW) int64 = its flat index h * W + w within the plane (PyTorch's indices; NaN wins).
// Planes are split over threads. out and argmax must not overlap x.
template <class T>
void max_pool2d_forward(T* out, int64_t* argmax, const T* x, int64_t planes, const Pool2dGeometry& g);

// grad_in(planes, H, W) = grad_out(planes, OH, OW) summed into the elements argmax points at (overlapping windows
// add up); every element of grad_in is written. Gathered per input element: deterministic.
template <class T>
void max_pool2d_backward(T* grad_in, const T* grad_out, const int64_t* argmax, int64_t planes,
                         const Pool2dGeometry& g);

}  // namespace nnx::cpu
