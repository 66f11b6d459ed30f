// CUDA emulation (tools/cuda_emu): cub::BlockScan with cub's contract: every thread gets its prefix and the
// block aggregate; an exclusive scan without an initial value leaves thread 0's output undefined (poison
// here); TempStorage may be reused only after a __syncthreads.
#pragma once
#include "cub/block/block_common.cuh"

namespace cub {

template <class T, int kBlockX, int kAlgorithm = 0, int kBlockY = 1, int kBlockZ = 1>
class BlockScan {
 public:
  static constexpr int kThreads = kBlockX * kBlockY * kBlockZ;
  struct TempStorage {
    T slots[kThreads];
  };
  explicit BlockScan(TempStorage& storage) : storage_(storage) {
    emu_detail::check_block_shape(kBlockX, kBlockY, kBlockZ);
  }

  void ExclusiveSum(T input, T& output) {
    T aggregate;
    ExclusiveSum(input, output, aggregate);
  }
  void ExclusiveSum(T input, T& output, T& aggregate) {
    scan(input, Sum{}, output, aggregate, /*inclusive=*/false);
    if (emu::linear_thread() == 0) output = T(0);
  }
  void InclusiveSum(T input, T& output) {
    T aggregate;
    InclusiveSum(input, output, aggregate);
  }
  void InclusiveSum(T input, T& output, T& aggregate) { scan(input, Sum{}, output, aggregate, /*inclusive=*/true); }
  template <class Op>
  void InclusiveScan(T input, T& output, Op op) {
    T aggregate;
    scan(input, op, output, aggregate, true);
  }
  template <class Op>
  void InclusiveScan(T input, T& output, Op op, T& aggregate) { scan(input, op, output, aggregate, true); }
  template <class Op>
  void ExclusiveScan(T input, T& output, T initial, Op op) {
    T aggregate;
    ExclusiveScan(input, output, initial, op, aggregate);
  }
  template <class Op>
  void ExclusiveScan(T input, T& output, T initial, Op op, T& aggregate) {
    scan(input, op, output, aggregate, false);
    const int me = emu::linear_thread();
    output = me == 0 ? initial : op(initial, output);
    aggregate = op(initial, aggregate);
  }

 private:
  template <class Op>
  void scan(T input, Op op, T& output, T& aggregate, bool inclusive) {
    const int me = emu::linear_thread();
    storage_.slots[me] = input;
    __syncthreads();
    T running = storage_.slots[0];
    output = me == 0 ? (inclusive ? running : emu_detail::poison<T>()) : T{};
    for (int t = 1; t < kThreads; ++t) {
      if (t == me) output = inclusive ? op(running, storage_.slots[t]) : running;
      running = op(running, storage_.slots[t]);
    }
    aggregate = running;
  }

  TempStorage& storage_;
};

}  // namespace cub
