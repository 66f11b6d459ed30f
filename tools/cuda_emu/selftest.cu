// Self-test of the CUDA emulator (tools/cuda_emu): correct kernels give the right answers, and the misuse the
// emulator promises to catch (divergent barriers, warp collectives over exited lanes, warp-synchronous code
// without __syncwarp, bad launch configurations, cub's thread-0-only aggregate) is caught.
// Built and run by `python tools/cuda_emu/build.py --selftest` (under every thread order).
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include <cstdio>
#include <vector>

namespace {

int failures = 0;
void expect(bool ok, const char* what) {
  std::printf("%s  %s\n", ok ? "ok  " : "FAIL", what);
  failures += !ok;
}

template <class T>
T* device_copy(const std::vector<T>& host) {
  T* p = nullptr;
  cudaMalloc(&p, host.size() * sizeof(T));
  cudaMemcpy(p, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice);
  return p;
}

template <class T>
std::vector<T> host_copy(const T* p, size_t n) {
  std::vector<T> host(n);
  cudaMemcpy(host.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost);
  return host;
}

__global__ void tree_sum(const int* x, int n, int* out) {
  __shared__ int s[256];
  int local = 0;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) local += x[i];
  s[threadIdx.x] = local;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) s[threadIdx.x] += s[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) atomicAdd(out, s[0]);
}

__global__ void shuffle_sum(const int* x, int* out) {
  int v = x[threadIdx.x];
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  int w = x[threadIdx.x];
  for (int offset = 16; offset > 0; offset /= 2) w += __shfl_xor_sync(0xffffffffu, w, offset);
  if (threadIdx.x % 32 == 0) out[threadIdx.x / 32] = v;
  if (w != v && threadIdx.x % 32 == 0) out[threadIdx.x / 32] = -1;  // the butterfly gives every lane the sum
}

// The classic bug: the last warp reduces shared memory with no __syncwarp between steps.
__global__ void warp_synchronous_sum(const int* x, int* out) {
  __shared__ int s[64];
  s[threadIdx.x] = x[threadIdx.x];
  __syncthreads();
  if (threadIdx.x < 32) {
    for (int stride = 32; stride > 0; stride /= 2) s[threadIdx.x] += s[threadIdx.x + stride];
  }
  if (threadIdx.x == 0) *out = s[0];
}

__global__ void divergent_barrier(int* out) {
  if (threadIdx.x >= 100) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void shuffle_after_exit(int* out) {
  if (threadIdx.x % 32 >= 16) return;
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, static_cast<int>(threadIdx.x), 1);
}

__global__ void cub_kernel(const int* x, int* reduce_out, int* scan_out, int* aggregate_out) {
  using Reduce = cub::BlockReduce<int, 128>;
  using Scan = cub::BlockScan<int, 128>;
  __shared__ typename Reduce::TempStorage reduce_storage;
  __shared__ typename Scan::TempStorage scan_storage;
  const int total = Reduce(reduce_storage).Sum(x[threadIdx.x]);
  if (threadIdx.x == 0) *reduce_out = total;
  int before, aggregate;
  Scan(scan_storage).ExclusiveSum(x[threadIdx.x], before, aggregate);
  scan_out[threadIdx.x] = before;
  aggregate_out[threadIdx.x] = aggregate;
}

// Uses BlockReduce's aggregate in every thread (cub defines it only in thread 0).
__global__ void cub_aggregate_misuse(const int* x, int* out) {
  using Reduce = cub::BlockReduce<int, 64>;
  __shared__ typename Reduce::TempStorage storage;
  out[threadIdx.x] = Reduce(storage).Sum(x[threadIdx.x]);
}

}  // namespace

int main() {
  std::vector<int> values(1000);
  long expected_sum = 0;
  for (size_t i = 0; i < values.size(); ++i) expected_sum += (values[i] = static_cast<int>(i * 7 % 13) - 5);
  int* x = device_copy(values);
  int* out = device_copy(std::vector<int>(256, 0));

  tree_sum<<<3, 256>>>(x, 1000, out);
  expect(cudaGetLastError() == cudaSuccess && host_copy(out, 1)[0] == expected_sum, "shared-memory tree sum");

  shuffle_sum<<<1, 256>>>(x, out);
  {
    const std::vector<int> got = host_copy(out, 8);
    bool ok = cudaGetLastError() == cudaSuccess;
    for (int w = 0; w < 8; ++w) {
      int want = 0;
      for (int lane = 0; lane < 32; ++lane) want += values[w * 32 + lane];
      ok = ok && got[w] == want;
    }
    expect(ok, "__shfl_down_sync / __shfl_xor_sync warp sums");
  }

  warp_synchronous_sum<<<1, 64>>>(x, out);
  {
    int want = 0;
    for (int i = 0; i < 64; ++i) want += values[i];
    const bool launched = cudaGetLastError() == cudaSuccess;
    expect(launched && host_copy(out, 1)[0] != want, "warp-synchronous reduction without __syncwarp gives a wrong sum");
  }

  divergent_barrier<<<1, 128>>>(out);
  expect(cudaGetLastError() == cudaErrorLaunchFailure, "__syncthreads after some threads returned is reported");

  shuffle_after_exit<<<1, 32>>>(out);
  expect(cudaGetLastError() == cudaErrorLaunchFailure, "a full-mask shuffle after lanes returned is reported");

  tree_sum<<<1, 2048>>>(x, 1000, out);
  expect(cudaGetLastError() == cudaErrorInvalidConfiguration, "2048 threads per block is an invalid configuration");

  {
    int* reduce_out = device_copy(std::vector<int>(1, 0));
    int* scan_out = device_copy(std::vector<int>(128, 0));
    int* aggregate_out = device_copy(std::vector<int>(128, 0));
    cub_kernel<<<1, 128>>>(x, reduce_out, scan_out, aggregate_out);
    const std::vector<int> scan = host_copy(scan_out, 128), aggregate = host_copy(aggregate_out, 128);
    int running = 0;
    bool ok = cudaGetLastError() == cudaSuccess;
    for (int t = 0; t < 128; ++t) {
      ok = ok && scan[t] == running && aggregate[t] != 0;
      running += values[t];
    }
    for (int t = 0; t < 128; ++t) ok = ok && aggregate[t] == running;
    expect(ok && host_copy(reduce_out, 1)[0] == running, "cub BlockReduce::Sum and BlockScan::ExclusiveSum");
  }

  cub_aggregate_misuse<<<1, 64>>>(x, out);
  {
    int want = 0;
    for (int i = 0; i < 64; ++i) want += values[i];
    const std::vector<int> got = host_copy(out, 64);
    expect(got[0] == want && got[1] != want, "cub BlockReduce's aggregate is poison outside thread 0");
  }

  int* host_pointer = &values[0];
  expect(cudaMemcpy(out, host_pointer, 4, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue,
         "cudaMemcpy with the wrong direction is refused");
  cudaGetLastError();
  tree_sum<<<1, 256>>>(host_pointer, 4, out);
  expect(cudaGetLastError() == cudaErrorIllegalAddress, "a host pointer as a kernel argument is reported");
  expect(cudaMemcpy(out, x, 2000 * sizeof(int), cudaMemcpyDeviceToDevice) == cudaErrorInvalidValue,
         "cudaMemcpy past the end of an allocation is refused");
  cudaGetLastError();

  cudaFree(x);
  cudaFree(out);
  std::printf("%s\n", failures ? "SELFTEST FAILED" : "selftest passed");
  return failures ? 1 : 0;
}
