// Embedding lookup (a row gather) and its backward (a scatter-add into the weight's gradient), for float and
// double, declared once for the device a translation unit is compiled for (nnx::NNX_DEVICE:
// core/device_namespace.h); host-compiler clean. The kernels check every index they read (the binding checks them
// first where it can read them): an index outside [0, V) is never dereferenced, and it is reported as
// core/bad_index.h's BadIndexReport says. CPU: the first one is returned (the binding raises IndexError). CUDA:
// index values live on the device, so it is recorded in the device's bad-index flag (raised as IndexError at the
// next synchronisation) and nothing is returned.
#pragma once
#include <cstdint>

#include "core/bad_index.h"
#include "core/device_namespace.h"

namespace nnx::NNX_DEVICE {

// out(n,D) = weight(V,D)[indices(n)]. A row whose index is outside [0, V) is written as zeros (and reported).
template <class T>
BadIndexReport embedding_forward(const T* weight, int64_t V, int64_t D, const int64_t* indices, int64_t n, T* out);

// grad_weight(V,D)[indices[i]] += grad_out(n,D)[i] for i in order, skipping indices == padding_idx. Indices
// outside [0, V) are skipped (and reported). CPU: each row accumulates in index order whatever the thread count
// (bitwise deterministic). CUDA: atomic adds, so the order of duplicates' sums, hence the last bits, may vary
// between runs.
template <class T>
BadIndexReport embedding_backward(const T* grad_out, const int64_t* indices, int64_t n, int64_t V, int64_t D,
                                  T* grad_weight, int64_t padding_idx);

}  // namespace nnx::NNX_DEVICE
