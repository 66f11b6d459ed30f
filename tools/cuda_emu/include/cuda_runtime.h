// CUDA-on-CPU emulation (tools/cuda_emu): a stand-in for <cuda_runtime.h> that lets nnx's .cu files compile
// as plain C++ and run on the host, so their tests can execute on a machine without a GPU. Header-only.
//
// Model: device memory is host memory (tracked, so copies and frees are checked); a launch runs the grid's
// blocks one after another, and each block's threads as cooperative fibers (ucontext) on the calling thread.
// A fiber runs until it reaches a barrier (__syncthreads, a warp collective) or exits; the scheduler then
// releases whichever barrier is complete. Misuse that is undefined on a real GPU is reported as a launch
// error (check_launch raises it): a __syncthreads that some threads of the block never reach, a warp
// collective whose mask names an exited or missing lane, a deadlock, an invalid launch configuration.
// NNX_EMU_ORDER=forward|reverse|shuffle|breadth picks the order in which blocks, warps and threads run, so
// that races one order hides show up in another (see run_block). Kernel launches are rewritten by tools/cuda_emu/rewrite.py into
// emu::launch(...) calls. Atomics are plain read-modify-writes: only one fiber runs at a time.
#pragma once

#include <math.h>
#include <ucontext.h>
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#define __CUDA_EMU__ 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __restrict__ __restrict
#define __grid_constant__
#define __launch_bounds__(...)
#define __shared__ static  // blocks run one at a time, so a static is one block's shared memory
#define __constant__ static

// ---- vector and index types ----------------------------------------------------------------------------
struct uint3 { unsigned x, y, z; };
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};
struct alignas(8) float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) double2 { double x, y; };
struct alignas(8) int2 { int x, y; };
struct alignas(16) int4 { int x, y, z, w; };
struct alignas(16) uint4 { unsigned x, y, z, w; };
struct alignas(16) longlong2 { long long x, y; };
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline double2 make_double2(double x, double y) { return {x, y}; }
inline int2 make_int2(int x, int y) { return {x, y}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }

// ---- runtime types ----------------------------------------------------------------------------------------
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchFailure = 719,
};
using cudaError = cudaError_t;
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
enum cudaDeviceAttr {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrComputeCapabilityMinor = 76,
};
struct CUstream_st;
struct CUevent_st;
using cudaStream_t = CUstream_st*;
using cudaEvent_t = CUevent_st*;
#define cudaStreamLegacy ((cudaStream_t)0x1)
#define cudaStreamPerThread ((cudaStream_t)0x2)
#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaEventDefault 0x00
#define cudaEventDisableTiming 0x02

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int major;
  int minor;
  int multiProcessorCount;
};

namespace emu {

constexpr int kWarp = 32;
constexpr int kMaxThreads = 1024;
constexpr size_t kFiberStack = 128 * 1024;

// ---- errors: the last one per host thread, with a message for cudaGetErrorString ------------------------------
struct ErrorState {
  cudaError_t last = cudaSuccess;
  std::string detail;
};
inline ErrorState& error_state() {
  static thread_local ErrorState state;
  return state;
}
inline cudaError_t fail(cudaError_t code, const std::string& detail) {
  error_state().last = code;
  error_state().detail = detail;
  if (std::getenv("NNX_EMU_VERBOSE")) std::fprintf(stderr, "[cuda_emu] %s\n", detail.c_str());
  return code;
}

// ---- device memory: host allocations, registered so that copies can be checked --------------------------------
struct Memory {
  std::mutex mutex;
  std::map<uintptr_t, size_t> blocks;  // start -> bytes
  size_t live_bytes = 0;
};
inline Memory& memory() {
  static Memory* m = new Memory;  // leaked: frees may come during interpreter exit
  return *m;
}
// Bytes [p, p + n) lie inside one device allocation.
inline bool is_device_range(const void* p, size_t n) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  auto it = m.blocks.upper_bound(address);
  if (it == m.blocks.begin()) return false;
  --it;
  return address >= it->first && address + n <= it->first + it->second;
}
inline bool is_device_pointer(const void* p) { return is_device_range(p, 1); }
// p points into a device allocation or just past its end (a kernel may get an empty range's end).
inline bool is_device_address(const void* p) { return is_device_range(p, 1) || is_device_range(static_cast<const char*>(p) - 1, 1); }

// A kernel's pointer arguments must be device memory (or null): a host pointer would fault on a GPU.
template <class T>
bool check_argument(const T& value, int position, std::string& problem) {
  if constexpr (std::is_pointer_v<T>) {
    if (value != nullptr && !is_device_address(value)) {
      problem = "kernel argument " + std::to_string(position) + " is a pointer to host memory";
      return false;
    }
  }
  return true;
}

// ---- fibers ---------------------------------------------------------------------------------------------
enum class State { Ready, BlockBarrier, WarpBarrier, Done };

// Switching fibers: a few instructions on x86-64 (swapcontext costs a system call per switch, which made
// warp-per-row kernels with many rows take seconds); ucontext elsewhere.
#if defined(__x86_64__)
#define NNX_EMU_FAST_SWITCH 1
extern "C" void nnx_emu_switch(void** save_sp, void* load_sp);
// Saves the callee-saved registers on the current stack, stores its pointer in *save_sp, and resumes the
// stack load_sp (which was saved the same way, or prepared by prepare_stack). Weak: every TU emits it.
asm(R"(
  .text
  .weak nnx_emu_switch
  .hidden nnx_emu_switch
  .type nnx_emu_switch, @function
nnx_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size nnx_emu_switch, .-nnx_emu_switch
)");
#endif

struct Fiber {
#if NNX_EMU_FAST_SWITCH
  void* sp = nullptr;
#else
  ucontext_t context;
#endif
  char* stack = nullptr;
  State state = State::Ready;
  unsigned warp_mask = 0;
  uint3 index{0, 0, 0};
};

struct Launch;
struct Scheduler {
#if NNX_EMU_FAST_SWITCH
  void* home_sp = nullptr;
#else
  ucontext_t home;
#endif
  std::vector<Fiber> fibers;
  int count = 0;          // threads in the current block
  int current = -1;       // the running fiber
  Launch* launch = nullptr;
  std::string error;      // the first misuse found in this launch
  alignas(16) unsigned char exchange[kMaxThreads][16];  // one slot per thread for warp collectives
  std::vector<int> order;
};
inline Scheduler& scheduler() {
  static Scheduler* s = new Scheduler;
  return *s;
}

struct Launch {
  virtual void run_thread() = 0;
};

inline std::mutex& launch_mutex() {
  static std::mutex* m = new std::mutex;
  return *m;
}

enum class Order { Forward, Reverse, Shuffle, Breadth };
inline Order order_setting() {
  const char* env = std::getenv("NNX_EMU_ORDER");
  if (!env || !*env || std::strcmp(env, "forward") == 0) return Order::Forward;
  if (std::strcmp(env, "reverse") == 0) return Order::Reverse;
  if (std::strcmp(env, "breadth") == 0) return Order::Breadth;
  if (std::strcmp(env, "shuffle") == 0) return Order::Shuffle;
  std::fprintf(stderr, "[cuda_emu] NNX_EMU_ORDER must be forward, reverse, shuffle or breadth, not %s\n", env);
  std::abort();
}

}  // namespace emu

// The built-in index variables: set by the scheduler before it switches to a fiber.
inline uint3 threadIdx{0, 0, 0};
inline uint3 blockIdx{0, 0, 0};
inline dim3 blockDim{1, 1, 1};
inline dim3 gridDim{1, 1, 1};
constexpr int warpSize = 32;

namespace emu {

// From the running fiber back to the scheduler, and from the scheduler into fiber t.
inline void switch_to_home(Scheduler& s, Fiber& f) {
#if NNX_EMU_FAST_SWITCH
  nnx_emu_switch(&f.sp, s.home_sp);
#else
  swapcontext(&f.context, &s.home);
#endif
}
inline void switch_to_fiber(Scheduler& s, Fiber& f) {
#if NNX_EMU_FAST_SWITCH
  nnx_emu_switch(&s.home_sp, f.sp);
#else
  swapcontext(&s.home, &f.context);
#endif
}

inline void fiber_entry() {
  Scheduler& s = scheduler();
  s.launch->run_thread();
  s.fibers[s.current].state = State::Done;
  switch_to_home(s, s.fibers[s.current]);
  std::abort();  // a finished fiber is never resumed
}

// A fresh fiber: its first switch pops six zero registers and "returns" into fiber_entry with the stack
// aligned as at a function's entry (rsp + 8 a multiple of 16).
inline void prepare_fiber(Fiber& f) {
#if NNX_EMU_FAST_SWITCH
  auto** top = reinterpret_cast<void**>(f.stack + kFiberStack);
  top[-1] = nullptr;                                      // fiber_entry's (unused) return address
  top[-2] = reinterpret_cast<void*>(&fiber_entry);        // popped by ret
  for (int r = 3; r <= 8; ++r) top[-r] = nullptr;         // rbp, rbx, r12 .. r15
  f.sp = &top[-8];
#else
  getcontext(&f.context);
  f.context.uc_stack.ss_sp = f.stack;
  f.context.uc_stack.ss_size = kFiberStack;
  f.context.uc_link = nullptr;
  makecontext(&f.context, fiber_entry, 0);
#endif
}

// Suspends the running fiber at a barrier and returns when the scheduler releases it.
inline void wait_at(State state, unsigned mask = 0) {
  Scheduler& s = scheduler();
  if (s.current < 0) {
    std::fprintf(stderr, "[cuda_emu] a device barrier was called outside a kernel\n");
    std::abort();
  }
  Fiber& f = s.fibers[s.current];
  f.state = state;
  f.warp_mask = mask;
  switch_to_home(s, f);
}

inline int linear_thread() {
  return static_cast<int>(threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y);
}

// The lanes of warp w that exist in the block, as a mask.
inline unsigned lanes_present(const Scheduler& s, int w) {
  const int n = std::min(kWarp, s.count - w * kWarp);
  return n >= kWarp ? 0xffffffffu : (1u << n) - 1u;
}

// Releases warp w's collective if every lane its mask names has arrived; false when it cannot (yet).
// Sets s.error when it never can: the mask names lanes that do not exist or have exited.
inline bool release_warp(Scheduler& s, int w) {
  unsigned waiting = 0, mask = 0, done = 0;
  for (int lane = 0; lane < kWarp && w * kWarp + lane < s.count; ++lane) {
    const Fiber& f = s.fibers[w * kWarp + lane];
    if (f.state == State::WarpBarrier) waiting |= 1u << lane, mask |= f.warp_mask;
    if (f.state == State::Done) done |= 1u << lane;
  }
  if (!waiting) return false;
  if (mask & ~lanes_present(s, w)) {
    s.error = "warp collective: the mask names lanes that do not exist in the block (warp " + std::to_string(w) + ")";
    return false;
  }
  if (mask & done) {
    s.error = "warp collective (__shfl*_sync/__syncwarp/__ballot_sync): lanes named in the mask have exited (warp " +
              std::to_string(w) + ")";
    return false;
  }
  if ((waiting & mask) != mask) return false;
  for (int lane = 0; lane < kWarp; ++lane)
    if (mask & (1u << lane)) s.fibers[w * kWarp + lane].state = State::Ready;
  return true;
}

// Releases __syncthreads once every thread waits there; false (with s.error) when it never can.
inline bool release_block(Scheduler& s) {
  int at_block = 0, finished = 0;
  for (int t = 0; t < s.count; ++t) {
    if (s.fibers[t].state == State::BlockBarrier) ++at_block;
    if (s.fibers[t].state == State::Done) ++finished;
  }
  if (at_block > 0 && at_block + finished == s.count) {
    if (finished > 0) {
      s.error = "__syncthreads reached by " + std::to_string(at_block) + " threads while " + std::to_string(finished) +
                " threads of the block had exited (a barrier in divergent code)";
      return false;
    }
    for (int t = 0; t < s.count; ++t) s.fibers[t].state = State::Ready;
    return true;
  }
  if (s.error.empty())
    s.error = "deadlock: threads wait at barriers that cannot complete (a warp collective while other lanes wait at "
              "__syncthreads, or the reverse)";
  return false;
}

// Runs one block; returns false on misuse (s.error says what). Warps are taken one at a time, and a warp
// whose collective completes goes on at once (as a real warp may run ahead of the others) -- except in
// the "breadth" order, where every thread runs to its next barrier before any barrier is released. The
// orders give different legal interleavings, so a missing barrier shows in at least one of them.
inline bool run_block(Scheduler& s, Order order, std::mt19937& rng) {
  for (int t = 0; t < s.count; ++t) {
    Fiber& f = s.fibers[t];
    if (!f.stack) {
      f.stack = static_cast<char*>(mmap(nullptr, kFiberStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
      if (f.stack == MAP_FAILED) std::abort();
    }
    prepare_fiber(f);
    f.state = State::Ready;
    f.index = uint3{t % blockDim.x, t / blockDim.x % blockDim.y, t / (blockDim.x * blockDim.y)};
  }
  const int warps = (s.count + kWarp - 1) / kWarp;
  std::vector<int>& warp_order = s.order;
  warp_order.resize(warps);
  for (int w = 0; w < warps; ++w) warp_order[w] = order == Order::Reverse ? warps - 1 - w : w;
  auto run_ready_lanes = [&](int w) {
    const int first = w * kWarp, last = std::min(s.count, first + kWarp);
    for (int k = 0; k < last - first; ++k) {
      int t = order == Order::Reverse ? last - 1 - k : first + k;
      if (order == Order::Shuffle) t = first + static_cast<int>((k * 7 + rng()) % (last - first));
      if (s.fibers[t].state != State::Ready) continue;
      s.current = t;
      threadIdx = s.fibers[t].index;
      switch_to_fiber(s, s.fibers[t]);
    }
    if (order == Order::Shuffle)  // a random pick may have missed some lanes
      for (int t = first; t < last; ++t) {
        if (s.fibers[t].state != State::Ready) continue;
        s.current = t;
        threadIdx = s.fibers[t].index;
        switch_to_fiber(s, s.fibers[t]);
      }
    s.current = -1;
  };
  for (;;) {
    if (order == Order::Shuffle) std::shuffle(warp_order.begin(), warp_order.end(), rng);
    bool released = false;
    for (int w : warp_order) {
      run_ready_lanes(w);
      if (order == Order::Breadth) continue;
      const bool eager = order != Order::Shuffle || rng() % 2 == 0;
      while (eager && release_warp(s, w)) run_ready_lanes(w);
    }
    bool all_done = true;
    for (int t = 0; t < s.count; ++t) all_done = all_done && s.fibers[t].state == State::Done;
    if (all_done) return true;
    for (int w = 0; w < warps; ++w) released = release_warp(s, w) || released;
    if (!s.error.empty()) return false;
    if (released) continue;
    if (!release_block(s)) return false;
  }
}

template <class Args, class Kernel>
struct LaunchOf : Launch {
  Kernel& kernel;
  Args& args;
  LaunchOf(Kernel& k, Args& a) : kernel(k), args(a) {}
  void run_thread() override { std::apply(kernel, args); }
};

// kernel<<<grid, block, shared_bytes, stream>>>(args...) becomes launch(grid, block, shared_bytes, stream,
// caller, args...): the arguments are evaluated and copied once, like a real launch, and each thread
// gets its own copy of each parameter.
template <class Kernel, class... Args>
void launch(dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t, Kernel caller, Args&&... args) {
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  if (threads == 0 || threads > kMaxThreads || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.y > 65535 || grid.z > 65535 || grid.x > 2147483647u || shared_bytes > 48 * 1024) {
    fail(cudaErrorInvalidConfiguration,
         "invalid launch configuration: grid (" + std::to_string(grid.x) + ", " + std::to_string(grid.y) + ", " +
             std::to_string(grid.z) + "), block (" + std::to_string(block.x) + ", " + std::to_string(block.y) + ", " +
             std::to_string(block.z) + "), " + std::to_string(shared_bytes) + " bytes of dynamic shared memory");
    return;
  }
  auto copies = std::make_tuple(std::decay_t<Args>(std::forward<Args>(args))...);
  {
    std::string problem;
    int position = 0;
    const bool ok = std::apply([&](const auto&... value) { return (check_argument(value, position++, problem) && ...); }, copies);
    if (!ok) {
      fail(cudaErrorIllegalAddress, problem);
      return;
    }
  }
  std::lock_guard<std::mutex> lock(launch_mutex());
  Scheduler& s = scheduler();
  if (s.fibers.size() < kMaxThreads) s.fibers.resize(kMaxThreads);
  LaunchOf<decltype(copies), Kernel> body(caller, copies);
  s.launch = &body;
  s.count = static_cast<int>(threads);
  s.error.clear();
  const Order order = order_setting();
  std::mt19937 rng(12345);
  const dim3 saved_grid = gridDim, saved_block = blockDim;
  const uint3 saved_block_index = blockIdx, saved_thread = threadIdx;
  gridDim = grid;
  blockDim = block;
  const unsigned long long blocks = 1ull * grid.x * grid.y * grid.z;
  for (unsigned long long b = 0; b < blocks; ++b) {
    const unsigned long long id = order == Order::Reverse ? blocks - 1 - b : b;
    blockIdx = uint3{static_cast<unsigned>(id % grid.x), static_cast<unsigned>(id / grid.x % grid.y),
                     static_cast<unsigned>(id / (1ull * grid.x * grid.y))};
    if (!run_block(s, order, rng)) {
      fail(cudaErrorLaunchFailure, "kernel misuse in block (" + std::to_string(blockIdx.x) + ", " +
                                       std::to_string(blockIdx.y) + ", " + std::to_string(blockIdx.z) + "): " + s.error);
      break;
    }
  }
  gridDim = saved_grid;
  blockDim = saved_block;
  blockIdx = saved_block_index;
  threadIdx = saved_thread;
  s.launch = nullptr;
}

inline int& current_device_slot() {
  static thread_local int device = 0;
  return device;
}

// Exchange through the warp's slots: write, wait for the lanes in mask, read, wait again (slots reusable).
template <class T, class Pick>
T warp_exchange(unsigned mask, T value, Pick pick_source) {
  static_assert(sizeof(T) <= 16, "warp collectives move at most 16 bytes");
  Scheduler& s = scheduler();
  const int me = linear_thread();
  const int lane = me % kWarp, base = me - lane;
  std::memcpy(s.exchange[me], &value, sizeof(T));
  wait_at(State::WarpBarrier, mask);
  const int source = pick_source(lane);
  T result = value;
  if (source >= 0 && source < kWarp) {
    if (!(mask & (1u << source))) {
      if (s.error.empty()) s.error = "warp shuffle reads lane " + std::to_string(source) + " outside the mask";
    }
    std::memcpy(&result, s.exchange[base + source], sizeof(T));
  }
  wait_at(State::WarpBarrier, mask);
  return result;
}

}  // namespace emu

// ---- runtime API -----------------------------------------------------------------------------------------
inline cudaError_t cudaGetLastError() {
  const cudaError_t e = emu::error_state().last;
  emu::error_state().last = cudaSuccess;
  return e;
}
inline cudaError_t cudaPeekAtLastError() { return emu::error_state().last; }
inline const char* cudaGetErrorString(cudaError_t e) {
  static thread_local std::string text;
  text = e == cudaSuccess ? "no error" : "emulated CUDA error " + std::to_string(static_cast<int>(e));
  if (e != cudaSuccess && !emu::error_state().detail.empty()) text += " (" + emu::error_state().detail + ")";
  return text.c_str();
}
inline const char* cudaGetErrorName(cudaError_t e) { return cudaGetErrorString(e); }

inline cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
inline cudaError_t cudaGetDevice(int* device) {
  *device = emu::current_device_slot();
  return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int device) {
  if (device != 0) return emu::fail(cudaErrorInvalidDevice, "cudaSetDevice(" + std::to_string(device) + ")");
  emu::current_device_slot() = device;
  return cudaSuccess;
}
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (device != 0) return emu::fail(cudaErrorInvalidDevice, "cudaGetDeviceProperties");
  std::memset(p, 0, sizeof(*p));
  std::snprintf(p->name, sizeof(p->name), "%s", "nnx CUDA emulator");
  p->totalGlobalMem = size_t{16} << 30;
  p->sharedMemPerBlock = 48 * 1024;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
  p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 2147483647;
  p->maxGridSize[1] = p->maxGridSize[2] = 65535;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = 132;
  return cudaSuccess;
}
inline cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  cudaDeviceProp p;
  if (cudaGetDeviceProperties(&p, device) != cudaSuccess) return cudaErrorInvalidDevice;
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = p.maxThreadsPerBlock; break;
    case cudaDevAttrMultiProcessorCount: *value = p.multiProcessorCount; break;
    case cudaDevAttrComputeCapabilityMajor: *value = p.major; break;
    case cudaDevAttrComputeCapabilityMinor: *value = p.minor; break;
    default: return emu::fail(cudaErrorInvalidValue, "cudaDeviceGetAttribute: unknown attribute");
  }
  return cudaSuccess;
}

inline cudaError_t cudaMalloc(void** p, size_t bytes) {
  if (!p) return emu::fail(cudaErrorInvalidValue, "cudaMalloc: null result pointer");
  // The emulated device has 16 GiB (NNX_EMU_MAX_BYTES bytes if set): more fails as on a GPU, never on the host.
  const char* limit_setting = std::getenv("NNX_EMU_MAX_BYTES");
  const size_t limit = limit_setting ? std::strtoull(limit_setting, nullptr, 10) : size_t{16} << 30;
  if (bytes > limit || emu::memory().live_bytes + bytes > limit)
    return emu::fail(cudaErrorMemoryAllocation, "cudaMalloc: out of memory (" + std::to_string(bytes) + " bytes)");
  void* block = std::aligned_alloc(256, std::max<size_t>(256, (bytes + 255) / 256 * 256));
  if (!block) return emu::fail(cudaErrorMemoryAllocation, "cudaMalloc: out of memory");
  std::memset(block, 0xA5, std::max<size_t>(bytes, 1));  // fresh device memory is garbage, not zeros
  emu::Memory& m = emu::memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  m.blocks[reinterpret_cast<uintptr_t>(block)] = std::max<size_t>(bytes, 1);
  m.live_bytes += bytes;
  *p = block;
  return cudaSuccess;
}
template <class T>
inline cudaError_t cudaMalloc(T** p, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(p), bytes);
}
inline cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  emu::Memory& m = emu::memory();
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    auto it = m.blocks.find(reinterpret_cast<uintptr_t>(p));
    if (it == m.blocks.end()) return emu::fail(cudaErrorInvalidDevicePointer, "cudaFree of a pointer cudaMalloc did not return");
    m.live_bytes -= it->second;
    m.blocks.erase(it);
  }
  std::free(p);
  return cudaSuccess;
}
inline cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total) {
  *total = size_t{16} << 30;
  *free_bytes = *total - emu::memory().live_bytes;
  return cudaSuccess;
}

inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind kind) {
  if (n == 0) return cudaSuccess;
  const bool dst_device = emu::is_device_range(dst, n), src_device = emu::is_device_range(src, n);
  const bool want_dst = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool want_src = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind != cudaMemcpyDefault) {
    if (want_dst && !dst_device)
      return emu::fail(cudaErrorInvalidValue, "cudaMemcpy: destination is not " + std::to_string(n) + " bytes of device memory");
    if (want_src && !src_device)
      return emu::fail(cudaErrorInvalidValue, "cudaMemcpy: source is not " + std::to_string(n) + " bytes of device memory");
    if (!want_dst && emu::is_device_pointer(dst))
      return emu::fail(cudaErrorInvalidValue, "cudaMemcpy: destination is device memory but the kind says host");
    if (!want_src && emu::is_device_pointer(src))
      return emu::fail(cudaErrorInvalidValue, "cudaMemcpy: source is device memory but the kind says host");
  }
  std::memmove(dst, src, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind kind, cudaStream_t = nullptr) {
  return cudaMemcpy(dst, src, n, kind);
}
inline cudaError_t cudaMemset(void* dst, int value, size_t n) {
  if (n == 0) return cudaSuccess;
  if (!emu::is_device_range(dst, n))
    return emu::fail(cudaErrorInvalidValue, "cudaMemset: not " + std::to_string(n) + " bytes of device memory");
  std::memset(dst, value, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* dst, int value, size_t n, cudaStream_t = nullptr) { return cudaMemset(dst, value, n); }

inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned) {
  static char streams[64];
  static int next = 0;
  *stream = reinterpret_cast<cudaStream_t>(&streams[8 + (next++ % 48)]);
  return cudaSuccess;
}
inline cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, 0); }
inline cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned = 0) { return cudaSuccess; }
inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned) {
  static char events[1];
  *event = reinterpret_cast<cudaEvent_t>(&events[0]);
  return cudaSuccess;
}
inline cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, 0); }
inline cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t = nullptr) { return cudaSuccess; }
inline cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
inline cudaError_t cudaEventDestroy(cudaEvent_t) { return cudaSuccess; }

// ---- device-side barriers and warp collectives ---------------------------------------------------------------
inline void __syncthreads() { emu::wait_at(emu::State::BlockBarrier); }
inline int __syncthreads_or(int p) {
  static int any;
  __syncthreads();
  if (emu::linear_thread() == 0) any = 0;
  __syncthreads();
  if (p) any = 1;
  __syncthreads();
  return any;
}
inline void __syncwarp(unsigned mask = 0xffffffffu) { emu::wait_at(emu::State::WarpBarrier, mask); }
inline void __threadfence() {}
inline void __threadfence_block() {}

template <class T>
T __shfl_sync(unsigned mask, T value, int source, int width = 32) {
  return emu::warp_exchange(mask, value, [&](int lane) { return lane / width * width + (source % width); });
}
template <class T>
T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = 32) {
  return emu::warp_exchange(mask, value, [&](int lane) {
    const int source = lane ^ lane_mask;
    return source / width == lane / width ? source : lane;
  });
}
template <class T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  return emu::warp_exchange(mask, value, [&](int lane) {
    const int source = lane + static_cast<int>(delta);
    return source / width == lane / width ? source : lane;
  });
}
template <class T>
T __shfl_up_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  return emu::warp_exchange(mask, value, [&](int lane) {
    const int source = lane - static_cast<int>(delta);
    return source >= 0 && source / width == lane / width ? source : lane;
  });
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  emu::Scheduler& s = emu::scheduler();
  const int me = emu::linear_thread(), base = me - me % emu::kWarp;
  const int mine = predicate ? 1 : 0;
  std::memcpy(s.exchange[me], &mine, sizeof(int));
  emu::wait_at(emu::State::WarpBarrier, mask);
  unsigned bits = 0;
  for (int lane = 0; lane < emu::kWarp; ++lane) {
    int p = 0;
    if (mask & (1u << lane)) std::memcpy(&p, s.exchange[base + lane], sizeof(int));
    if (p) bits |= 1u << lane;
  }
  emu::wait_at(emu::State::WarpBarrier, mask);
  return bits;
}
inline int __any_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) != 0; }
inline int __all_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) == mask; }
inline unsigned __activemask() {
  emu::Scheduler& s = emu::scheduler();
  const int me = emu::linear_thread(), base = me - me % emu::kWarp;
  unsigned bits = 0;
  for (int lane = 0; lane < emu::kWarp && base + lane < s.count; ++lane)
    if (s.fibers[base + lane].state != emu::State::Done) bits |= 1u << lane;
  return bits;
}

// ---- atomics: one fiber runs at a time, so a plain read-modify-write is atomic ---------------------------------
template <class T>
T atomicAdd(T* address, T value) {
  const T old = *address;
  *address = old + value;
  return old;
}
template <class T>
T atomicSub(T* address, T value) {
  const T old = *address;
  *address = old - value;
  return old;
}
template <class T>
T atomicExch(T* address, T value) {
  const T old = *address;
  *address = value;
  return old;
}
template <class T>
T atomicMax(T* address, T value) {
  const T old = *address;
  *address = old > value ? old : value;
  return old;
}
template <class T>
T atomicMin(T* address, T value) {
  const T old = *address;
  *address = old < value ? old : value;
  return old;
}
template <class T>
T atomicCAS(T* address, T compare, T value) {
  const T old = *address;
  if (old == compare) *address = value;
  return old;
}
template <class T>
T atomicOr(T* address, T value) {
  const T old = *address;
  *address = old | value;
  return old;
}
template <class T>
T atomicAnd(T* address, T value) {
  const T old = *address;
  *address = old & value;
  return old;
}

// ---- arithmetic intrinsics (compile with -ffp-contract=off so that a*b+c is never fused) ---------------------
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __dsqrt_rn(double a) { return std::sqrt(a); }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline int __float_as_int(float x) { int i; std::memcpy(&i, &x, 4); return i; }
inline unsigned __float_as_uint(float x) { unsigned i; std::memcpy(&i, &x, 4); return i; }
inline float __int_as_float(int i) { float x; std::memcpy(&x, &i, 4); return x; }
inline float __uint_as_float(unsigned i) { float x; std::memcpy(&x, &i, 4); return x; }
inline long long __double_as_longlong(double x) { long long i; std::memcpy(&i, &x, 8); return i; }
inline double __longlong_as_double(long long i) { double x; std::memcpy(&x, &i, 8); return x; }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x)); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline unsigned __umulhi(unsigned a, unsigned b) { return static_cast<unsigned>((1ull * a * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return static_cast<unsigned long long>((static_cast<unsigned __int128>(a) * b) >> 64);
}
template <class T>
T __ldg(const T* p) { return *p; }

// CUDA's min/max overloads accept mixed integer and floating operands (the usual conversions apply).
template <class A, class B, class = std::enable_if_t<std::is_arithmetic_v<A> && std::is_arithmetic_v<B>>>
std::common_type_t<A, B> min(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(b) < C(a) ? C(b) : C(a);
}
template <class A, class B, class = std::enable_if_t<std::is_arithmetic_v<A> && std::is_arithmetic_v<B>>>
std::common_type_t<A, B> max(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(a) < C(b) ? C(b) : C(a);
}
