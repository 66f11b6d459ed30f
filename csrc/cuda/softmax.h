// softmax and log_softmax over the last axis on the GPU, forward and backward, for float and double.
// Host-compiler clean; the contracts are those of cpu/softmax.h. Launchers queue on current_stream().
#pragma once
#include <cstdint>

namespace nnx::cuda {

// out(rows, cols) = softmax of each row of x(rows, cols), or log_softmax when log. The row maximum is
// subtracted first; a row of only -inf gives NaN, as in PyTorch. out must not overlap x.
template <class T>
void softmax_forward(T* out, const T* x, int64_t rows, int64_t cols, bool log);

// grad_in(rows, cols) from the forward's out and grad_out:
//   softmax:     grad_in = out * (grad_out - sum(grad_out * out))
//   log_softmax: grad_in = grad_out - exp(out) * sum(grad_out)
// grad_in must not overlap grad_out or out.
template <class T>
void softmax_backward(T* grad_in, const T* grad_out, const T* out, int64_t rows, int64_t cols, bool log);

}  // namespace nnx::cuda
