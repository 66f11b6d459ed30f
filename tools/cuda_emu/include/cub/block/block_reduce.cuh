// CUDA emulation (tools/cuda_emu): cub::BlockReduce with cub's contract, in the emulator's terms. As in cub,
// the aggregate is valid only in thread 0 (other threads get a poison value, so code that relies on it
// fails), and TempStorage may be reused only after a __syncthreads.
#pragma once
#include "cub/block/block_common.cuh"

namespace cub {

template <class T, int kBlockX, int kAlgorithm = 0, int kBlockY = 1, int kBlockZ = 1>
class BlockReduce {
 public:
  struct TempStorage {
    T slots[kBlockX * kBlockY * kBlockZ];
  };
  explicit BlockReduce(TempStorage& storage) : storage_(storage) {
    emu_detail::check_block_shape(kBlockX, kBlockY, kBlockZ);
  }
  T Sum(T value) {
    return Reduce(value, [](const T& a, const T& b) { return a + b; });
  }
  template <class Op>
  T Reduce(T value, Op op) {
    const int me = emu::linear_thread();
    storage_.slots[me] = value;
    __syncthreads();
    if (me != 0) return emu_detail::poison<T>();
    T total = storage_.slots[0];
    for (int t = 1; t < kBlockX * kBlockY * kBlockZ; ++t) total = op(total, storage_.slots[t]);
    return total;
  }
  template <class Op>
  T Reduce(T value, Op op, int valid) {
    const int me = emu::linear_thread();
    storage_.slots[me] = value;
    __syncthreads();
    if (me != 0) return emu_detail::poison<T>();
    T total = storage_.slots[0];
    for (int t = 1; t < valid; ++t) total = op(total, storage_.slots[t]);
    return total;
  }
  T Sum(T value, int valid) {
    return Reduce(value, [](const T& a, const T& b) { return a + b; }, valid);
  }

 private:
  TempStorage& storage_;
};

}  // namespace cub
