// How a CPU kernel reports an index (an embedding row, a class target) outside its range. The binding
// checks indices before the kernel (a clean error, outputs untouched), but it cannot stop another Python
// thread from changing them once the GIL is released: every kernel reads each index once into a local,
// checks that local and uses only it, and returns the first bad one it met (lowest flat position) for the
// binding to raise IndexError.
#pragma once
#include <cstdint>
#include <mutex>

namespace nnx {

// position < 0: every index read was in range.
struct BadIndex {
  int64_t position = -1;
  int64_t value = 0;
  explicit operator bool() const { return position >= 0; }
};

// The one read of an index that another thread may be writing: a relaxed atomic load (a plain load on
// x86 and ARM) so that the compiler may not load it again where the checked local is used.
inline int64_t read_index_once(const int64_t* index) { return __atomic_load_n(index, __ATOMIC_RELAXED); }

// Appended to the message of a bad index found by a kernel after the binding's own check had passed.
constexpr const char* kChangedDuringCall = " (it changed during the call: another thread wrote to the array)";

// The lowest-position BadIndex among those recorded, from any thread. A thread records at most once per
// chunk (its chunk's first bad index), so the lock is only taken on the error path.
class FirstBadIndex {
 public:
  void record(BadIndex bad) {
    if (!bad) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (!first_ || bad.position < first_.position) first_ = bad;
  }
  BadIndex get() const { return first_; }  // call after the parallel region

 private:
  std::mutex mutex_;
  BadIndex first_;
};

// What a kernel that reads index values returns, so that core/<family>.h declares it once for both devices. CPU:
// the first bad index it met (above). CUDA: nothing; the index values live on the device, so the kernel records a
// bad one in the device's bad-index flag (IndexError at the next synchronisation).
namespace cpu {
using BadIndexReport = BadIndex;
}
namespace cuda {
using BadIndexReport = void;
}

}  // namespace nnx
