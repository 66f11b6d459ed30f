// CUDA runtime services (runtime.h, common.cuh): nnx's stream and bad-index flag per device, error
// checks, the current-device guard, synchronisation, device queries and host <-> device copies.
#include <cuda_runtime.h>

#include <climits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/common.cuh"
#include "cuda/dlpack.h"
#include "cuda/runtime.h"

namespace nnx::cuda {
namespace {

// The device count is probed once: CUDA fixes the visible devices when the runtime initialises.
struct DeviceProbe {
  int count = 0;
  cudaError_t status = cudaSuccess;
};

const DeviceProbe& probe() {
  static const DeviceProbe result = [] {
    DeviceProbe p;
    p.status = cudaGetDeviceCount(&p.count);
    if (p.status != cudaSuccess) {
      cudaGetLastError();  // not sticky, but leave nothing behind for the next check
      p.count = 0;
    }
    return p;
  }();
  return result;
}

// Raises RuntimeError("CUDA error: ...") with CUDA's own explanation when there is no usable device.
void require_cuda() {
  const DeviceProbe& p = probe();
  if (p.status != cudaSuccess) check(p.status, "cudaGetDeviceCount");
  if (p.count == 0) throw std::runtime_error("CUDA error: cudaGetDeviceCount: no CUDA-capable device is detected");
}

// What nnx keeps per device: its stream and the bad-index flag, both created on first use. Leaked on
// purpose: storages may be released during interpreter exit, after static destructors have run.
struct DeviceState {
  cudaStream_t stream = nullptr;
  int64_t* bad_index = nullptr;
};

std::mutex& state_mutex() {
  static std::mutex* mutex = new std::mutex;
  return *mutex;
}

std::vector<DeviceState>& states() {
  static std::vector<DeviceState>* all = new std::vector<DeviceState>;
  return *all;
}

int current_device() {
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  return device;
}

DeviceState& state_of(int device) {
  std::vector<DeviceState>& all = states();
  if (all.empty()) all.resize(static_cast<size_t>(probe().count));
  return all.at(static_cast<size_t>(device));
}

cudaStream_t stream_locked(DeviceState& state) {
  if (!state.stream)
    check(cudaStreamCreateWithFlags(&state.stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  return state.stream;
}

// The flag is written on nnx's stream, so the kernels queued after it see the sentinel.
const long long kSentinel = kNoBadIndex;

// The flag of the current device, allocated and set to the sentinel on first use.
int64_t* bad_index_slot_locked(DeviceState& state) {
  if (!state.bad_index) {
    cudaStream_t stream = stream_locked(state);
    int64_t* slot = nullptr;
    check(cudaMalloc(&slot, sizeof(int64_t)), "cudaMalloc (bad-index flag)");
    const cudaError_t status = cudaMemcpyAsync(slot, &kSentinel, sizeof(kSentinel), cudaMemcpyHostToDevice, stream);
    if (status != cudaSuccess) {
      cudaFree(slot);
      check(status, "cudaMemcpyAsync (bad-index flag)");
    }
    state.bad_index = slot;
  }
  return state.bad_index;
}

// Reads and clears the device's bad-index flag; the caller has drained nnx's stream.
void raise_recorded_bad_index(int device) {
  int64_t* slot = nullptr;
  cudaStream_t stream = nullptr;
  {
    std::lock_guard<std::mutex> lock(state_mutex());
    slot = state_of(device).bad_index;
    stream = state_of(device).stream;
  }
  if (!slot) return;  // no kernel has asked for it, so none recorded anything
  long long recorded = kNoBadIndex;
  check(cudaMemcpyAsync(&recorded, slot, sizeof(recorded), cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync (bad-index flag)");
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize (bad-index flag)");
  if (recorded == kNoBadIndex) return;
  check(cudaMemcpyAsync(slot, &kSentinel, sizeof(kSentinel), cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync (bad-index flag)");
  throw BadIndex{static_cast<int64_t>(recorded)};
}

// Waits for nnx's stream on `device` (the caller made it current), if that stream exists yet.
void synchronize_current(int device) {
  cudaStream_t stream = nullptr;
  {
    std::lock_guard<std::mutex> lock(state_mutex());
    stream = state_of(device).stream;
  }
  if (stream) check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  raise_recorded_bad_index(device);
}

}  // namespace

// ---- common.cuh ------------------------------------------------------------------------------------

void check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so that the next call starts clean
  throw std::runtime_error(std::string("CUDA error: ") + what + ": " + cudaGetErrorString(status));
}

cudaStream_t current_stream() {
  const int device = current_device();
  std::lock_guard<std::mutex> lock(state_mutex());
  return stream_locked(state_of(device));
}

int64_t* bad_index_slot() {
  const int device = current_device();
  std::lock_guard<std::mutex> lock(state_mutex());
  return bad_index_slot_locked(state_of(device));
}

// ---- runtime.h ---------------------------------------------------------------------------------------

int device_count() { return probe().count; }

DeviceGuard::DeviceGuard(int device) {
  require_cuda();
  const int count = probe().count;
  if (device < 0 || device >= count)
    throw std::out_of_range("device " + std::to_string(device) + " is out of range: " + std::to_string(count) +
                            " CUDA device" + (count == 1 ? "" : "s") + " visible");
  const int previous = current_device();
  if (previous != device) {
    check(cudaSetDevice(device), "cudaSetDevice");
    previous_ = previous;
  }
}

DeviceGuard::~DeviceGuard() {
  if (previous_ >= 0) cudaSetDevice(previous_);  // best effort: a destructor must not throw
}

void synchronize(int device) {
  if (device >= 0) {
    DeviceGuard guard(device);
    synchronize_current(device);
    return;
  }
  require_cuda();
  std::vector<int> used;
  {
    std::lock_guard<std::mutex> lock(state_mutex());
    for (size_t d = 0; d < states().size(); ++d)
      if (states()[d].stream || states()[d].bad_index) used.push_back(static_cast<int>(d));
  }
  for (int d : used) {
    DeviceGuard guard(d);
    synchronize_current(d);
  }
}

std::string device_name(int device) {
  DeviceGuard guard(device);
  cudaDeviceProp properties{};
  check(cudaGetDeviceProperties(&properties, device), "cudaGetDeviceProperties");
  return properties.name;
}

std::pair<int, int> device_capability(int device) {
  DeviceGuard guard(device);
  int major = 0, minor = 0;
  check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute");
  check(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), "cudaDeviceGetAttribute");
  return {major, minor};
}

// From pageable host memory, cudaMemcpyAsync returns once the source has been staged, so the caller may
// reuse it at once; the device side stays ordered on nnx's stream.
void copy_host_to_device(void* dst, const void* src, int64_t nbytes, int device) {
  DeviceGuard guard(device);
  if (nbytes <= 0) return;
  check(cudaMemcpyAsync(dst, src, static_cast<size_t>(nbytes), cudaMemcpyHostToDevice, current_stream()),
        "cudaMemcpyAsync (host to device)");
}

void copy_device_to_host(void* dst, const void* src, int64_t nbytes, int device) {
  DeviceGuard guard(device);
  if (nbytes > 0)
    check(cudaMemcpyAsync(dst, src, static_cast<size_t>(nbytes), cudaMemcpyDeviceToHost, current_stream()),
          "cudaMemcpyAsync (device to host)");
  synchronize_current(device);
}

// ---- dlpack.h: stream hand-over to a DLPack consumer -------------------------------------------------------

void make_stream_wait_for_nnx(int device, int64_t consumer_stream) {
  DeviceGuard guard(device);
  cudaStream_t producer = current_stream();
  cudaStream_t consumer = consumer_stream == 1   ? cudaStreamLegacy
                          : consumer_stream == 2 ? cudaStreamPerThread
                                                 : reinterpret_cast<cudaStream_t>(consumer_stream);
  if (consumer == producer) return;
  cudaEvent_t event = nullptr;
  check(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  cudaError_t status = cudaEventRecord(event, producer);
  if (status == cudaSuccess) status = cudaStreamWaitEvent(consumer, event, 0);
  cudaEventDestroy(event);  // safe once the wait is queued: CUDA releases it when it completes
  check(status, "cudaStreamWaitEvent (DLPack stream hand-over)");
}

void synchronize_device(int device) {
  DeviceGuard guard(device);
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize (DLPack import)");
}

void synchronize_device_quietly(int device) noexcept {
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess) {  // e.g. the runtime is already unloading
    cudaGetLastError();
    return;
  }
  if (previous != device && cudaSetDevice(device) != cudaSuccess) {
    cudaGetLastError();
    return;
  }
  cudaDeviceSynchronize();
  if (previous != device) cudaSetDevice(previous);
  cudaGetLastError();
}

}  // namespace nnx::cuda
