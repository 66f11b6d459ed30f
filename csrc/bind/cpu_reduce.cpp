// Bindings for the reductions column_sum (bias gradients) and row_argmax (predictions); checks in
// reduce_binding.h, CPU kernels.
#include "bind/reduce_binding.h"
#include "bind/registry.h"
#include "cpu/reduce.h"

namespace nnx::bind {

namespace {
struct CpuReduce {
  template <class T>
  static void column_sum(const T* x, int64_t N, int64_t M, T* out, bool accumulate) {
    cpu::column_sum(x, N, M, out, accumulate);
  }
  template <class T>
  static void row_argmax(const T* x, int64_t N, int64_t M, int64_t* out) {
    cpu::row_argmax(x, N, M, out);
  }
};
}  // namespace

void bind_reduce(py::module_& m) { bind_reduce_family<CpuArrays, CpuReduce>(m); }

}  // namespace nnx::bind
