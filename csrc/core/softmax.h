// softmax and log_softmax over the last axis, forward and backward, for float and double. Declared once for the
// device a translation unit is compiled for (nnx::NNX_DEVICE: core/device_namespace.h); host-compiler clean.
// CPU: vectorised passes per row, rows split over threads. CUDA: launchers queue on current_stream().
#pragma once
#include <cstdint>

#include "core/device_namespace.h"

namespace nnx::NNX_DEVICE {

// out(rows, cols) = softmax of each row of x(rows, cols), or log_softmax when log. Numerically stable
// (the row maximum is subtracted first); a row of only -inf gives NaN, as in PyTorch. out must not
// overlap x.
template <class T>
void softmax_forward(T* out, const T* x, int64_t rows, int64_t cols, bool log);

// grad_in(rows, cols) from the forward's out(rows, cols) and grad_out(rows, cols):
//   softmax:     grad_in = out * (grad_out - sum(grad_out * out))
//   log_softmax: grad_in = grad_out - exp(out) * sum(grad_out)
// grad_in must not overlap grad_out or out.
template <class T>
void softmax_backward(T* grad_in, const T* grad_out, const T* out, int64_t rows, int64_t cols, bool log);

}  // namespace nnx::NNX_DEVICE
