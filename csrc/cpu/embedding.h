// Embedding lookup (a row gather) and its backward (a scatter-add into the weight's gradient).
#pragma once
#include <cstdint>

namespace nnx::cpu {

// out(n,D) = weight(V,D)[indices(n)]; every index is in [0, V) (the binding checks).
template <class T>
void embedding_forward(const T* weight, int64_t V, int64_t D, const int64_t* indices, int64_t n, T* out);

// grad_weight(V,D)[indices[i]] += grad_out(n,D)[i] for i in order, skipping indices == padding_idx.
// Each row accumulates in index order whatever the thread count (bitwise deterministic).
template <class T>
void embedding_backward(const T* grad_out, const int64_t* indices, int64_t n, int64_t V, int64_t D,
                        T* grad_weight, int64_t padding_idx);

}  // namespace nnx::cpu
