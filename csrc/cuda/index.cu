// Gathers, scatters and nonzero on the GPU. Gathers copy raw elements (one instantiation per item size,
// whatever the dtype); scatter-adds use atomics (a compare-and-swap loop for uint8, a logical or for bool). Every index is checked on the device: a bad one is
// recorded in the bad-index flag and its element skipped, never read or written out of bounds.
#include "cuda/index.h"

#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "cuda/common.cuh"
#include "cuda/runtime.h"

namespace nnx::cuda {
namespace {

// The row an index selects on an axis of `length`, negative indices counting from the end; false when
// the index is outside [-length, length).
__device__ __forceinline__ bool wrap_index(int64_t index, int64_t length, int64_t& row) {
  if (index < -length || index >= length) return false;
  row = index < 0 ? index + length : index;
  return true;
}

__device__ __forceinline__ void atomic_add(float* target, float value) { atomicAdd(target, value); }
__device__ __forceinline__ void atomic_add(double* target, double value) { atomicAdd(target, value); }  // sm_60+
__device__ __forceinline__ void atomic_add(int32_t* target, int32_t value) { atomicAdd(target, value); }
__device__ __forceinline__ void atomic_add(int64_t* target, int64_t value) {
  // Two's complement: an unsigned add gives the signed sum (wrapping like NumPy's int64).
  atomicAdd(reinterpret_cast<unsigned long long*>(target), static_cast<unsigned long long>(value));
}
// No byte atomics exist: compare-and-swap the aligned 32-bit word holding the byte (as PyTorch does; device
// allocations are 256-byte aligned, so the word never leaves the allocation).
__device__ __forceinline__ void atomic_add(uint8_t* target, uint8_t value) {
  const auto address = reinterpret_cast<uintptr_t>(target);
  auto* word = reinterpret_cast<unsigned int*>(address & ~uintptr_t{3});
  const unsigned int shift = (address & 3) * 8;
  unsigned int seen = *word, expected;
  do {
    expected = seen;
    const unsigned int sum = ((expected >> shift) + value) & 0xffu;  // wraps like NumPy's uint8
    seen = atomicCAS(word, expected, (expected & ~(0xffu << shift)) | (sum << shift));
  } while (seen != expected);
}
// NumPy's bool addition is a logical or: a true value sets the element; a false one leaves it.
__device__ __forceinline__ void atomic_add(bool* target, bool value) {
  if (value) *target = true;
}

// Grid-stride loop over the (outer, count, inner) elements e; o, j, i are e's coordinates.
#define FOR_EACH_ELEMENT(e, total)                                                                  \
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < (total); e += int64_t{gridDim.x} * blockDim.x)

template <class W>
__global__ void index_select_kernel(const W* src, const int64_t* indices, W* out, int64_t outer, int64_t length,
                                    int64_t inner, int64_t count, int64_t* bad_index) {
  FOR_EACH_ELEMENT(e, outer * count * inner) {
    const int64_t i = e % inner, j = e / inner % count, o = e / (inner * count);
    const int64_t index = indices[j];
    int64_t row;
    if (wrap_index(index, length, row)) {
      out[e] = src[(o * length + row) * inner + i];
    } else {
      out[e] = W(0);
      if (o == 0 && i == 0) report_bad_index(bad_index, index);  // one report per bad index is enough
    }
  }
}

template <class T>
__global__ void index_add_kernel(const T* grad, const int64_t* indices, T* out, int64_t outer, int64_t length,
                                 int64_t inner, int64_t count, int64_t* bad_index) {
  FOR_EACH_ELEMENT(e, outer * count * inner) {
    const int64_t i = e % inner, j = e / inner % count, o = e / (inner * count);
    const int64_t index = indices[j];
    int64_t row;
    if (wrap_index(index, length, row))
      atomic_add(&out[(o * length + row) * inner + i], grad[e]);
    else if (o == 0 && i == 0)
      report_bad_index(bad_index, index);
  }
}

template <class W>
__global__ void take_along_kernel(const W* src, const int64_t* indices, W* out, int64_t outer, int64_t length,
                                  int64_t inner, int64_t count, int64_t* bad_index) {
  FOR_EACH_ELEMENT(e, outer * count * inner) {
    const int64_t i = e % inner, o = e / (inner * count);
    const int64_t index = indices[e];
    int64_t row;
    if (wrap_index(index, length, row)) {
      out[e] = src[(o * length + row) * inner + i];
    } else {
      out[e] = W(0);
      report_bad_index(bad_index, index);
    }
  }
}

template <class T, bool kAccumulate>
__global__ void put_along_kernel(const T* values, const int64_t* indices, T* out, int64_t outer, int64_t length,
                                 int64_t inner, int64_t count, int64_t* bad_index) {
  FOR_EACH_ELEMENT(e, outer * count * inner) {
    const int64_t i = e % inner, o = e / (inner * count);
    const int64_t index = indices[e];
    int64_t row;
    if (!wrap_index(index, length, row)) {
      report_bad_index(bad_index, index);
      continue;
    }
    T* target = &out[(o * length + row) * inner + i];
    if constexpr (kAccumulate)
      atomic_add(target, values[e]);
    else
      *target = values[e];
  }
}

#undef FOR_EACH_ELEMENT

// Raw element copies only need the item size: bool/uint8, int32/float32 and int64/float64 share kernels.
template <class F>
void dispatch_itemsize(DType dtype, F&& run) {
  switch (itemsize(dtype)) {
    case 1: return run(uint8_t{});
    case 4: return run(uint32_t{});
    case 8: return run(uint64_t{});
  }
  throw std::invalid_argument(std::string("index kernels: unsupported dtype ") + dtype_name(dtype));
}

template <class F>
void dispatch_atomic(DType dtype, F&& run) {
  switch (dtype) {
    case DType::Bool: return run(bool{});
    case DType::UInt8: return run(uint8_t{});
    case DType::Int32: return run(int32_t{});
    case DType::Int64: return run(int64_t{});
    case DType::Float32: return run(float{});
    case DType::Float64: return run(double{});
  }
  throw std::invalid_argument(std::string("index_add/put_along: unsupported dtype ") + dtype_name(dtype));
}

// --- nonzero ----------------------------------------------------------------------------------------------

__global__ void count_nonzero_kernel(const uint8_t* mask, int64_t size, unsigned long long* total) {
  unsigned long long local = 0;
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < size; e += int64_t{gridDim.x} * blockDim.x)
    local += mask[e] != 0;
  for (int offset = 16; offset > 0; offset /= 2) local += __shfl_down_sync(0xffffffffu, local, offset);
  if (threadIdx.x % 32 == 0 && local) atomicAdd(total, local);
}

// nonzero keeps C order with three passes over chunks of the mask: count each chunk, turn the counts
// into each chunk's first output row (an exclusive scan), then let each chunk write its coordinates.
constexpr int64_t kChunk = int64_t{kBlock} * 8;

struct Extents {
  int64_t extent[kMaxNonzeroDims];
  int ndim;
};

__global__ void count_chunks_kernel(const uint8_t* mask, int64_t size, int64_t* chunk_counts, int64_t chunks) {
  using BlockReduce = cub::BlockReduce<int64_t, kBlock>;
  __shared__ typename BlockReduce::TempStorage reduce_storage;
  for (int64_t chunk = blockIdx.x; chunk < chunks; chunk += gridDim.x) {
    const int64_t begin = chunk * kChunk, end = min(size, begin + kChunk);
    int64_t local = 0;
    for (int64_t e = begin + threadIdx.x; e < end; e += kBlock) local += mask[e] != 0;
    const int64_t total = BlockReduce(reduce_storage).Sum(local);
    if (threadIdx.x == 0) chunk_counts[chunk] = total;
    __syncthreads();  // reduce_storage is reused by the next chunk
  }
}

// One block: counts[c] becomes the sum of counts[0..c).
__global__ void exclusive_scan_kernel(int64_t* counts, int64_t chunks) {
  using BlockScan = cub::BlockScan<int64_t, kBlock>;
  __shared__ typename BlockScan::TempStorage scan_storage;
  int64_t carry = 0;
  for (int64_t start = 0; start < chunks; start += kBlock) {
    const int64_t c = start + threadIdx.x;
    int64_t before, tile_total;
    BlockScan(scan_storage).ExclusiveSum(c < chunks ? counts[c] : 0, before, tile_total);
    if (c < chunks) counts[c] = carry + before;
    carry += tile_total;
    __syncthreads();
  }
}

__global__ void write_coordinates_kernel(const uint8_t* mask, int64_t size, const int64_t* chunk_rows, int64_t chunks,
                                         Extents shape, int64_t* out, int64_t rows) {
  using BlockScan = cub::BlockScan<int64_t, kBlock>;
  __shared__ typename BlockScan::TempStorage scan_storage;
  for (int64_t chunk = blockIdx.x; chunk < chunks; chunk += gridDim.x) {
    const int64_t begin = chunk * kChunk, end = min(size, begin + kChunk);
    int64_t next_row = chunk_rows[chunk];
    for (int64_t start = begin; start < end; start += kBlock) {  // uniform across the block
      const int64_t e = start + threadIdx.x;
      const bool is_true = e < end && mask[e] != 0;
      int64_t before, tile_total;
      BlockScan(scan_storage).ExclusiveSum(is_true ? 1 : 0, before, tile_total);
      const int64_t row = next_row + before;
      if (is_true && row < rows) {
        int64_t rest = e;
        for (int d = shape.ndim - 1; d >= 0; --d) {
          out[row * shape.ndim + d] = rest % shape.extent[d];
          rest /= shape.extent[d];
        }
      }
      next_row += tile_total;
      __syncthreads();
    }
  }
}

int current_device_ordinal() {
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  return device;
}

}  // namespace

void index_select(DType dtype, const void* src, const int64_t* indices, void* out, int64_t outer, int64_t length,
                  int64_t inner, int64_t count) {
  const int64_t total = outer * count * inner;
  if (total == 0) return;
  dispatch_itemsize(dtype, [&](auto word) {
    using W = decltype(word);
    index_select_kernel<W><<<grid_for(total), kBlock, 0, current_stream()>>>(
        static_cast<const W*>(src), indices, static_cast<W*>(out), outer, length, inner, count, bad_index_slot());
    check_launch("index_select_kernel");
  });
}

void index_add(DType dtype, const void* grad, const int64_t* indices, void* out, int64_t outer, int64_t length,
               int64_t inner, int64_t count) {
  const int64_t total = outer * count * inner;
  if (total == 0) return;
  dispatch_atomic(dtype, [&](auto value) {
    using T = decltype(value);
    index_add_kernel<T><<<grid_for(total), kBlock, 0, current_stream()>>>(
        static_cast<const T*>(grad), indices, static_cast<T*>(out), outer, length, inner, count, bad_index_slot());
    check_launch("index_add_kernel");
  });
}

void take_along(DType dtype, const void* src, const int64_t* indices, void* out, int64_t outer, int64_t length,
                int64_t inner, int64_t count) {
  const int64_t total = outer * count * inner;
  if (total == 0) return;
  dispatch_itemsize(dtype, [&](auto word) {
    using W = decltype(word);
    take_along_kernel<W><<<grid_for(total), kBlock, 0, current_stream()>>>(
        static_cast<const W*>(src), indices, static_cast<W*>(out), outer, length, inner, count, bad_index_slot());
    check_launch("take_along_kernel");
  });
}

void put_along(DType dtype, const void* values, const int64_t* indices, void* out, int64_t outer, int64_t length,
               int64_t inner, int64_t count, bool accumulate) {
  const int64_t total = outer * count * inner;
  if (total == 0) return;
  cudaStream_t stream = current_stream();
  if (accumulate) {
    dispatch_atomic(dtype, [&](auto value) {
      using T = decltype(value);
      put_along_kernel<T, true><<<grid_for(total), kBlock, 0, stream>>>(
          static_cast<const T*>(values), indices, static_cast<T*>(out), outer, length, inner, count, bad_index_slot());
    });
  } else {
    dispatch_itemsize(dtype, [&](auto word) {
      using W = decltype(word);
      put_along_kernel<W, false><<<grid_for(total), kBlock, 0, stream>>>(
          static_cast<const W*>(values), indices, static_cast<W*>(out), outer, length, inner, count, bad_index_slot());
    });
  }
  check_launch("put_along_kernel");
}

int64_t nonzero_count(const uint8_t* mask, int64_t size) {
  const int device = current_device_ordinal();
  auto scratch = Storage::allocate(sizeof(unsigned long long), device);
  auto* total = static_cast<unsigned long long*>(scratch->ptr());
  cudaStream_t stream = current_stream();
  check(cudaMemsetAsync(total, 0, sizeof(*total), stream), "cudaMemsetAsync (nonzero_count)");
  if (size > 0) {
    count_nonzero_kernel<<<grid_for(size), kBlock, 0, stream>>>(mask, size, total);
    check_launch("count_nonzero_kernel");
  }
  unsigned long long count = 0;
  copy_device_to_host(&count, total, sizeof(count), device);  // synchronises; raises queued errors
  return static_cast<int64_t>(count);
}

void nonzero(const uint8_t* mask, const std::vector<int64_t>& shape, int64_t* out, int64_t rows) {
  if (shape.size() > static_cast<size_t>(kMaxNonzeroDims))
    throw std::invalid_argument("nonzero: at most " + std::to_string(kMaxNonzeroDims) + " dimensions");
  Extents extents{};
  extents.ndim = static_cast<int>(shape.size());
  int64_t size = 1;
  for (int d = 0; d < extents.ndim; ++d) size *= (extents.extent[d] = shape[d]);
  if (size == 0 || rows == 0 || extents.ndim == 0) return;  // a 0-d mask has (rows, 0) coordinates: nothing to write
  const int64_t chunks = (size + kChunk - 1) / kChunk;
  auto scratch = Storage::allocate(chunks * static_cast<int64_t>(sizeof(int64_t)), current_device_ordinal());
  auto* chunk_rows = static_cast<int64_t*>(scratch->ptr());
  cudaStream_t stream = current_stream();
  const unsigned grid = static_cast<unsigned>(std::min<int64_t>(chunks, 65535 * 8));
  count_chunks_kernel<<<grid, kBlock, 0, stream>>>(mask, size, chunk_rows, chunks);
  check_launch("count_chunks_kernel");
  exclusive_scan_kernel<<<1, kBlock, 0, stream>>>(chunk_rows, chunks);
  check_launch("exclusive_scan_kernel");
  write_coordinates_kernel<<<grid, kBlock, 0, stream>>>(mask, size, chunk_rows, chunks, extents, out, rows);
  check_launch("write_coordinates_kernel");
}

}  // namespace nnx::cuda
