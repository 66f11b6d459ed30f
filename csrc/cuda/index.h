// Gathers and scatters on the GPU along the middle axis of contiguous (outer, length, inner) views, and
// nonzero: what nnx.backend's CUDA arrays build NumPy's fancy indexing on. Host-compiler clean.
//
// Indices are int64 on the device; negative ones count from the end. An index outside [-length, length)
// is recorded in the device's bad-index flag (the next synchronising call raises IndexError) and its
// element is skipped: a gather writes 0 there, a scatter writes nothing.
#pragma once
#include <cstdint>
#include <vector>

#include "cuda/device_array.h"

namespace nnx::cuda {

// out(outer, count, inner) = src(outer, length, inner)[:, indices(count), :]. Copies elements of any dtype.
void index_select(DType dtype, const void* src, const int64_t* indices, void* out, int64_t outer, int64_t length,
                  int64_t inner, int64_t count);

// out(outer, length, inner)[:, indices(count), :] += grad(outer, count, inner), duplicates accumulating
// (atomics) with NumPy's np.add.at semantics: integers wrap, bool addition is a logical or.
void index_add(DType dtype, const void* grad, const int64_t* indices, void* out, int64_t outer, int64_t length,
               int64_t inner, int64_t count);

// numpy.take_along_axis: out[o, j, i] = src[o, indices[o, j, i], i], indices and out (outer, count, inner).
void take_along(DType dtype, const void* src, const int64_t* indices, void* out, int64_t outer, int64_t length,
                int64_t inner, int64_t count);

// out[o, indices[o, j, i], i] = values[o, j, i] (+= atomically when accumulate, as index_add). Without
// accumulate, which of several values aimed at one element lands is unspecified.
void put_along(DType dtype, const void* values, const int64_t* indices, void* out, int64_t outer, int64_t length,
               int64_t inner, int64_t count, bool accumulate);

// Number of nonzero bytes of mask(size) (a bool array). Synchronises nnx's stream (the count is a host
// value), so queued errors and recorded bad indices surface here.
int64_t nonzero_count(const uint8_t* mask, int64_t size);

// out(rows, shape.size()) int64 = the C-order coordinates of the true elements of mask(shape), in order;
// rows comes from nonzero_count, and true elements past `rows` are not written. At most kMaxNonzeroDims dims.
constexpr int kMaxNonzeroDims = 64;
void nonzero(const uint8_t* mask, const std::vector<int64_t>& shape, int64_t* out, int64_t rows);

}  // namespace nnx::cuda
