// Embedding kernels: one thread per output element (row i, column d), grid-stride over n * D, so
// consecutive threads touch consecutive columns of one row (coalesced). Each row's index is checked
// against [0, V) before it is used as an address; with D == 0 the kernels still run one (empty) column
// per row, so a bad index is reported as the CPU reports it.
#include "core/embedding.h"

#include "cuda/common.cuh"

namespace nnx::cuda {

namespace {

__device__ bool index_in_range(int64_t index, int64_t V) { return index >= 0 && index < V; }

// Records a bad index in the device's flag. The flag's "no bad index" sentinel is INT64_MIN, so that one
// index is recorded as INT64_MIN + 1: an error with a value one off beats no error at all.
__device__ void record_bad_index(int64_t* slot, int64_t index) {
  report_bad_index(slot, index == kNoBadIndex ? index + 1 : index);
}

// Columns walked per row: D, or one column that only checks the index when D == 0.
__host__ __device__ int64_t walked_columns(int64_t D) { return D > 0 ? D : 1; }

template <class T>
__global__ void embedding_forward_kernel(const T* weight, int64_t V, int64_t D, const int64_t* indices, int64_t n,
                                         T* out, int64_t* bad_index) {
  const int64_t width = walked_columns(D), total = n * width;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t i = e / width, d = e - i * width;
    const int64_t row = indices[i];
    const bool valid = index_in_range(row, V);
    if (!valid && d == 0) record_bad_index(bad_index, row);  // once per row is enough: the first one wins anyway
    if (d < D) out[i * D + d] = valid ? weight[row * D + d] : T(0);
  }
}

template <class T>
__global__ void embedding_backward_kernel(const T* grad_out, const int64_t* indices, int64_t n, int64_t V, int64_t D,
                                          T* grad_weight, int64_t padding_idx, int64_t* bad_index) {
  const int64_t width = walked_columns(D), total = n * width;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t i = e / width, d = e - i * width;
    const int64_t row = indices[i];
    if (!index_in_range(row, V)) {
      if (d == 0) record_bad_index(bad_index, row);
      continue;
    }
    if (row == padding_idx || d >= D) continue;
    atomicAdd(grad_weight + row * D + d, grad_out[i * D + d]);
  }
}

}  // namespace

template <class T>
void embedding_forward(const T* weight, int64_t V, int64_t D, const int64_t* indices, int64_t n, T* out) {
  if (n <= 0) return;
  const unsigned blocks = grid_for(n * walked_columns(D));
  embedding_forward_kernel<T><<<blocks, kBlock, 0, current_stream()>>>(weight, V, D, indices, n, out, bad_index_slot());
  check_launch("embedding_forward_kernel");
}

template <class T>
void embedding_backward(const T* grad_out, const int64_t* indices, int64_t n, int64_t V, int64_t D,
                        T* grad_weight, int64_t padding_idx) {
  if (n <= 0) return;
  const unsigned blocks = grid_for(n * walked_columns(D));
  embedding_backward_kernel<T><<<blocks, kBlock, 0, current_stream()>>>(grad_out, indices, n, V, D, grad_weight,
                                                                        padding_idx, bad_index_slot());
  check_launch("embedding_backward_kernel");
}

template void embedding_forward<float>(const float*, int64_t, int64_t, const int64_t*, int64_t, float*);
template void embedding_forward<double>(const double*, int64_t, int64_t, const int64_t*, int64_t, double*);
template void embedding_backward<float>(const float*, const int64_t*, int64_t, int64_t, int64_t, float*, int64_t);
template void embedding_backward<double>(const double*, const int64_t*, int64_t, int64_t, int64_t, double*,
                                         int64_t);

}  // namespace nnx::cuda
