// CUDA-only part of the reduce family (column_sum and row_argmax, on both devices, are core/reduce.h): the generic
// reduce/cumsum over the middle axis of an (outer, length, inner) view that nnx.backend's CUDA arrays build NumPy's
// reductions on; the CPU leaves those to NumPy. Host-compiler clean: the binding includes this.
#pragma once
#include <cstdint>

#include "cuda/device_array.h"

namespace nnx::cuda {

enum class ReduceOp { Sum, Prod, Max, Min, Argmax, Argmin, Any, All, Mean };

// The dtype reduce(op, ...) writes for an input dtype (the binding checks out against it):
// sum/prod/mean: int64 for bool and integers (mean truncated toward zero), else x's; max/min: x's;
// argmax/argmin: int64; any/all: bool.
DType reduce_result_dtype(ReduceOp op, DType x_dtype);

// out(outer, inner) = op over the middle axis of x(outer, length, inner), both contiguous. Sums and
// products of floats accumulate in double, of integers in int64 (wrapping like NumPy); max/min propagate
// NaN; argmax/argmin give the first extreme, NaN counting as the extreme. length == 0 gives sum 0,
// prod 1, mean NaN (0 for integers), any false, all true; max/min/arg* need length >= 1 (the binding
// refuses 0).
// Few outputs over a long axis split the axis over blocks (scratch from the caching allocator).
void reduce(ReduceOp op, DType x_dtype, const void* x, void* out, int64_t outer, int64_t length, int64_t inner);

// Inclusive prefix sums along the middle axis; out has x's dtype, which is not bool (the caller casts
// bool to int64 first, as numpy.cumsum does). Floats accumulate in double, integers in int64.
void cumsum(DType x_dtype, const void* x, void* out, int64_t outer, int64_t length, int64_t inner);

}  // namespace nnx::cuda
