// GEMM through cuBLAS, loaded with dlopen on first use: cuBLAS is not part of the toolkit the module is
// built with (it comes from the nvidia-cublas wheel or a CUDA install), so it is never a link dependency.
// The handful of cuBLAS entry points are declared here with their documented, stable C ABI.
#include "core/gemm.h"
#include "cuda/cublas.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cuda/common.cuh"

namespace nnx::cuda {
namespace {

// --- the cuBLAS C API subset nnx uses (cublas_api.h, values fixed by NVIDIA's ABI) -------------------
using cublasHandle_t = struct cublasContext*;
using cublasStatus_t = int;  // CUBLAS_STATUS_SUCCESS == 0
constexpr cublasStatus_t kCublasSuccess = 0;
constexpr int kCublasOpN = 0;
constexpr int kCublasOpT = 1;
constexpr int kCublasDefaultMath = 0;      // full FP32 for sgemm since CUDA 11
constexpr int kCublasTf32TensorOpMath = 3;

using CreateFn = cublasStatus_t (*)(cublasHandle_t*);
using SetStreamFn = cublasStatus_t (*)(cublasHandle_t, cudaStream_t);
using SetMathModeFn = cublasStatus_t (*)(cublasHandle_t, int);
using SgemmFn = cublasStatus_t (*)(cublasHandle_t, int, int, int, int, int, const float*, const float*, int,
                                   const float*, int, const float*, float*, int);
using DgemmFn = cublasStatus_t (*)(cublasHandle_t, int, int, int, int, int, const double*, const double*, int,
                                   const double*, int, const double*, double*, int);
using StatusStringFn = const char* (*)(cublasStatus_t);

struct CublasApi {
  std::string path;
  CreateFn create = nullptr;
  SetStreamFn set_stream = nullptr;
  SetMathModeFn set_math_mode = nullptr;
  SgemmFn sgemm = nullptr;
  DgemmFn dgemm = nullptr;
  StatusStringFn status_string = nullptr;  // optional (cuBLAS >= 11.4)
};

// Sonames in order of preference: the CUDA 13 wheel/toolkit first, then CUDA 12, then the dev symlink.
const char* const kLibraryNames[] = {"libcublas.so.13", "libcublas.so.12", "libcublas.so"};

std::mutex load_mutex;
std::vector<std::string> search_dirs;   // guarded by load_mutex
std::atomic<const CublasApi*> loaded{nullptr};  // set once; never freed (used until the process exits)
std::atomic<bool> allow_tf32{false};

bool is_file(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

bool is_dir(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::string dl_error() {
  const char* message = dlerror();
  return message ? message : "unknown dlopen error";
}

// Opens one candidate (an absolute path or a bare soname) and resolves every entry point; on failure
// appends "candidate: why" to `tried` and returns nullptr.
const CublasApi* open_candidate(const std::string& candidate, std::vector<std::string>& tried) {
  void* lt = nullptr;
  const size_t slash = candidate.rfind('/');
  if (slash != std::string::npos) {
    // libcublas needs libcublasLt of the same version. Loading it first by absolute path lets the
    // dynamic linker satisfy that dependency by soname even when the directory is on no search path.
    const std::string file = candidate.substr(slash + 1);
    if (file.rfind("libcublas", 0) == 0) {
      const std::string lt_path = candidate.substr(0, slash + 1) + "libcublasLt" + file.substr(9);
      if (is_file(lt_path)) lt = dlopen(lt_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    }
  }
  void* library = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    tried.push_back(candidate + ": " + dl_error());
    if (lt) dlclose(lt);
    return nullptr;
  }
  auto api = std::make_unique<CublasApi>();
  std::string missing;
  auto resolve = [&](auto& fn, const char* name, bool required) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(library, name));
    if (!fn && required) missing += (missing.empty() ? "" : ", ") + std::string(name);
  };
  resolve(api->create, "cublasCreate_v2", true);
  resolve(api->set_stream, "cublasSetStream_v2", true);
  resolve(api->set_math_mode, "cublasSetMathMode", true);
  resolve(api->sgemm, "cublasSgemm_v2", true);
  resolve(api->dgemm, "cublasDgemm_v2", true);
  resolve(api->status_string, "cublasGetStatusString", false);
  if (!missing.empty()) {
    tried.push_back(candidate + ": missing " + missing);
    dlclose(library);
    if (lt) dlclose(lt);
    return nullptr;
  }
  Dl_info info;
  api->path = dladdr(reinterpret_cast<void*>(api->sgemm), &info) && info.dli_fname ? info.dli_fname : candidate;
  return api.release();
}

// Every candidate in search order: NNX_CUBLAS_PATH (a file or a directory), the registered wheel
// directories, then the dynamic linker's own search (LD_LIBRARY_PATH, ldconfig cache).
std::vector<std::string> candidates(std::vector<std::string>& tried) {
  std::vector<std::string> list;
  auto add_dir = [&](const std::string& dir) {
    bool found = false;
    for (const char* name : kLibraryNames) {
      const std::string path = dir + "/" + name;
      if (is_file(path)) list.push_back(path), found = true;
    }
    if (!found) tried.push_back(dir + ": no libcublas.so.13, libcublas.so.12 or libcublas.so there");
  };
  if (const char* env = std::getenv("NNX_CUBLAS_PATH"); env && *env) {
    if (is_dir(env))
      add_dir(env);
    else
      list.push_back(env);  // dlopen reports a missing file with its own message
  }
  size_t existing = 0;
  for (const std::string& dir : search_dirs)
    if (is_dir(dir)) add_dir(dir), ++existing;
  if (!search_dirs.empty() && existing == 0)
    tried.push_back("the nvidia-cublas wheel: not installed (none of " + std::to_string(search_dirs.size()) +
                    " directories such as " + search_dirs.front() + " exists)");
  for (const char* name : kLibraryNames) list.push_back(name);
  return list;
}

const CublasApi& load_or_throw() {
  if (const CublasApi* api = loaded.load(std::memory_order_acquire)) return *api;
  std::lock_guard<std::mutex> lock(load_mutex);
  if (const CublasApi* api = loaded.load(std::memory_order_acquire)) return *api;
  std::vector<std::string> tried;
  for (const std::string& candidate : candidates(tried)) {
    if (const CublasApi* api = open_candidate(candidate, tried)) {
      loaded.store(api, std::memory_order_release);
      return *api;
    }
  }
  std::string message = "cuBLAS could not be loaded; tried:";
  for (const std::string& line : tried) message += "\n  " + line;
  message +=
      "\nInstall it with: pip install 'nnx[cuda]' (the nvidia-cublas wheel), or install the CUDA toolkit's "
      "cuBLAS; NNX_CUBLAS_PATH may name the library file or its directory.";
  throw std::runtime_error(message);
}

void check_cublas(const CublasApi& api, cublasStatus_t status, const char* what) {
  if (status == kCublasSuccess) return;
  const char* text = api.status_string ? api.status_string(status) : nullptr;
  throw std::runtime_error(std::string("cuBLAS error: ") + what + ": " +
                           (text ? text : "status " + std::to_string(status)));
}

// One handle per device, created on first use and kept for the life of the process: destroying handles
// from static destructors would run after the CUDA runtime has shut down. The stream and math mode are
// set only when they change (cublasSetStream also resets the handle's workspace).
struct DeviceHandle {
  cublasHandle_t handle = nullptr;
  cudaStream_t stream = nullptr;
  int math_mode = -1;
};
std::mutex call_mutex;  // a handle must not be used by two host threads at once
std::map<int, DeviceHandle> handles;  // guarded by call_mutex

cublasHandle_t handle_for_current_device(const CublasApi& api, cudaStream_t stream, int math_mode) {
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  DeviceHandle& state = handles[device];
  if (!state.handle) {
    cublasHandle_t created = nullptr;
    check_cublas(api, api.create(&created), "cublasCreate_v2");
    state.handle = created;
  }
  if (state.stream != stream) {
    check_cublas(api, api.set_stream(state.handle, stream), "cublasSetStream_v2");
    state.stream = stream;
  }
  if (state.math_mode != math_mode) {
    check_cublas(api, api.set_math_mode(state.handle, math_mode), "cublasSetMathMode");
    state.math_mode = math_mode;
  }
  return state.handle;
}

// k == 0 leaves only the beta term (cuBLAS would reject the zero leading dimensions).
template <class T>
__global__ void scale_output_kernel(T* c, int64_t count, T beta) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count; i += int64_t{gridDim.x} * blockDim.x)
    c[i] = beta == T(0) ? T(0) : beta * c[i];
}

cublasStatus_t call_gemm(const CublasApi& api, cublasHandle_t handle, int op_a, int op_b, int m, int n, int k,
                         const float* alpha, const float* a, int lda, const float* b, int ldb, const float* beta,
                         float* c, int ldc) {
  return api.sgemm(handle, op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

cublasStatus_t call_gemm(const CublasApi& api, cublasHandle_t handle, int op_a, int op_b, int m, int n, int k,
                         const double* alpha, const double* a, int lda, const double* b, int ldb,
                         const double* beta, double* c, int ldc) {
  return api.dgemm(handle, op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <class T>
void gemm_impl(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, const T* b, T beta,
               T* c) {
  if (m == 0 || n == 0) return;
  cudaStream_t stream = current_stream();
  if (k == 0) {
    scale_output_kernel<T><<<grid_for(m * n), kBlock, 0, stream>>>(c, m * n, beta);
    check_launch("gemm_scale_output_kernel");
    return;
  }
  const CublasApi& api = load_or_throw();
  const bool tf32 = sizeof(T) == sizeof(float) && allow_tf32.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(call_mutex);
  cublasHandle_t handle =
      handle_for_current_device(api, stream, tf32 ? kCublasTf32TensorOpMath : kCublasDefaultMath);
  // cuBLAS is column-major: a row-major (m,n) C is a column-major (n,m) C^T, and C^T = op(B)^T op(A)^T,
  // so B goes first. Leading dimensions are the row-major row lengths, as for the CPU's cblas call.
  const int64_t lda = trans_a ? m : k, ldb = trans_b ? k : n;
  check_cublas(api,
               call_gemm(api, handle, trans_b ? kCublasOpT : kCublasOpN, trans_a ? kCublasOpT : kCublasOpN,
                         static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b,
                         static_cast<int>(ldb), a, static_cast<int>(lda), &beta, c, static_cast<int>(n)),
               sizeof(T) == sizeof(float) ? "cublasSgemm_v2" : "cublasDgemm_v2");
}

}  // namespace

template <>
void gemm<float>(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 const float* b, float beta, float* c) {
  gemm_impl(trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
}

template <>
void gemm<double>(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                  const double* b, double beta, double* c) {
  gemm_impl(trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
}

void set_allow_tf32(bool allow) { allow_tf32.store(allow); }
bool get_allow_tf32() { return allow_tf32.load(); }

void set_cublas_search_dirs(std::vector<std::string> dirs) {
  std::lock_guard<std::mutex> lock(load_mutex);
  search_dirs = std::move(dirs);
}

std::string cublas_path() { return load_or_throw().path; }

}  // namespace nnx::cuda
