// Loss kernels: fused softmax + cross-entropy (forward, optionally writing its gradient in the same pass),
// mean squared error, L1 and binary cross-entropy on logits. PyTorch semantics throughout.
#pragma once
#include <cstdint>

#include "core/bad_index.h"
#include "core/losses_math.h"

namespace nnx::cpu {

using nnx::Reduction;  // one enum for both devices and the bindings (core/losses_math.h)

// Cross-entropy over class indices with PyTorch's label smoothing:
//   row loss = logsumexp - (1 - smoothing) * x[target] - (smoothing / C) * sum(x),  0 for ignored rows.
// logits(N,C), target(N) in [0, C) or == ignore_index, logsumexp(N) out. A target outside both is not
// used: its row is computed as ignored and the first such target is returned (the binding raises).
// loss: 1 value for mean/sum, N values for none. mean divides by the number of non-ignored rows
// (0/0 gives NaN like PyTorch). grad_logits(N,C), may be null: receives dloss/dlogits for an
// upstream gradient of 1, computed in the same pass over each row.
template <class T>
BadIndex cross_entropy_forward(const T* logits, const int64_t* target, int64_t N, int64_t C, T* loss, T* logsumexp,
                               T* grad_logits, Reduction reduction, int64_t ignore_index, double label_smoothing);

// Elementwise losses over n elements of input/target (any shape, flattened).
// loss: 1 value for mean/sum, n values for none; grad_loss likewise.
template <class T>
void mse_loss_forward(const T* input, const T* target, int64_t n, T* loss, Reduction reduction);
template <class T>
void mse_loss_backward(const T* grad_loss, const T* input, const T* target, int64_t n, T* grad_input,
                       Reduction reduction);

template <class T>
void l1_loss_forward(const T* input, const T* target, int64_t n, T* loss, Reduction reduction);
template <class T>
void l1_loss_backward(const T* grad_loss, const T* input, const T* target, int64_t n, T* grad_input,
                      Reduction reduction);

// loss = (1 - t) x + w * softplus(-x) with w = 1 + (pos_weight - 1) t; pos_weight(C) broadcasts over
// the last axis (element i uses pos_weight[i % C]); null pos_weight means w = 1.
template <class T>
void bce_with_logits_forward(const T* input, const T* target, const T* pos_weight, int64_t n, int64_t C, T* loss,
                             Reduction reduction);
template <class T>
void bce_with_logits_backward(const T* grad_loss, const T* input, const T* target, const T* pos_weight, int64_t n,
                              int64_t C, T* grad_input, Reduction reduction);

}  // namespace nnx::cpu
