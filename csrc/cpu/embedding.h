// Embedding lookup (a row gather) and its backward (a scatter-add into the weight's gradient).
#pragma once
#include <cstdint>

#include "core/bad_index.h"

namespace nnx::cpu {

// out(n,D) = weight(V,D)[indices(n)]. A row whose index is outside [0, V) is written as zeros; the first
// such index is returned (the binding raises IndexError).
template <class T>
BadIndex embedding_forward(const T* weight, int64_t V, int64_t D, const int64_t* indices, int64_t n, T* out);

// grad_weight(V,D)[indices[i]] += grad_out(n,D)[i] for i in order, skipping indices == padding_idx.
// Each row accumulates in index order whatever the thread count (bitwise deterministic). Indices outside
// [0, V) are skipped; the first is returned.
template <class T>
BadIndex embedding_backward(const T* grad_out, const int64_t* indices, int64_t n, int64_t V, int64_t D,
                            T* grad_weight, int64_t padding_idx);

}  // namespace nnx::cpu
