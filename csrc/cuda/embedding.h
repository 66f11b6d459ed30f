// CUDA embedding lookup (a row gather) and its backward (an atomic scatter-add into the weight's gradient).
// Index values live on the device, so the kernels check them: an index outside [0, V) is recorded in the
// device's bad-index flag (raised as IndexError at the next synchronisation) and never dereferenced.
#pragma once
#include <cstdint>

namespace nnx::cuda {

// out(n,D) = weight(V,D)[indices(n)]; a row whose index is outside [0, V) is recorded and written as zeros.
template <class T>
void embedding_forward(const T* weight, int64_t V, int64_t D, const int64_t* indices, int64_t n, T* out);

// grad_weight(V,D)[indices[i]] += grad_out(n,D)[i], skipping indices == padding_idx (atomic adds: the order
// of duplicates' sums, hence the last bits, may vary between runs). Out-of-range indices are recorded
// and skipped.
template <class T>
void embedding_backward(const T* grad_out, const int64_t* indices, int64_t n, int64_t V, int64_t D,
                        T* grad_weight, int64_t padding_idx);

}  // namespace nnx::cuda
