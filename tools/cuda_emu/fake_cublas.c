/* CUDA emulation (tools/cuda_emu): a naive libcublas for NNX_CUBLAS_PATH, so that gemm.cu's dlopen path and
 * everything built on it run on the CPU. Column-major GEMM exactly as cuBLAS documents it:
 * C = alpha * op(A) * op(B) + beta * C with op(A) m x k, op(B) k x n, C m x n (ldc >= m); when beta == 0, C is
 * not read (so NaN in an output buffer does not leak); the argument checks return CUBLAS_STATUS_INVALID_VALUE
 * where cuBLAS does (negative sizes, leading dimensions too small). Scalars are host pointers (the default
 * pointer mode). */
#include <stdint.h>
#include <stdlib.h>

typedef struct cublasContext {
  void* stream;
  int math_mode;
} cublasContext;
typedef cublasContext* cublasHandle_t;

enum { SUCCESS = 0, NOT_INITIALIZED = 1, INVALID_VALUE = 7 };
enum { OP_N = 0, OP_T = 1, OP_C = 2 };

int cublasCreate_v2(cublasHandle_t* handle) {
  if (!handle) return INVALID_VALUE;
  *handle = (cublasHandle_t)calloc(1, sizeof(cublasContext));
  return *handle ? SUCCESS : NOT_INITIALIZED;
}
int cublasDestroy_v2(cublasHandle_t handle) {
  free(handle);
  return SUCCESS;
}
int cublasSetStream_v2(cublasHandle_t handle, void* stream) {
  if (!handle) return NOT_INITIALIZED;
  handle->stream = stream;
  return SUCCESS;
}
int cublasSetMathMode(cublasHandle_t handle, int mode) {
  if (!handle) return NOT_INITIALIZED;
  if (mode < 0 || mode > 3) return INVALID_VALUE;
  handle->math_mode = mode;
  return SUCCESS;
}
const char* cublasGetStatusString(int status) {
  switch (status) {
    case SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    default: return "CUBLAS_STATUS_UNKNOWN (fake cuBLAS)";
  }
}

static int check_args(cublasHandle_t handle, int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc) {
  if (!handle) return NOT_INITIALIZED;
  if ((ta != OP_N && ta != OP_T && ta != OP_C) || (tb != OP_N && tb != OP_T && tb != OP_C)) return INVALID_VALUE;
  if (m < 0 || n < 0 || k < 0) return INVALID_VALUE;
  const int a_rows = ta == OP_N ? m : k, b_rows = tb == OP_N ? k : n;
  if (lda < (a_rows > 1 ? a_rows : 1) || ldb < (b_rows > 1 ? b_rows : 1) || ldc < (m > 1 ? m : 1)) return INVALID_VALUE;
  return SUCCESS;
}

#define DEFINE_GEMM(NAME, T)                                                                                       \
  int NAME(cublasHandle_t handle, int ta, int tb, int m, int n, int k, const T* alpha, const T* A, int lda,      \
           const T* B, int ldb, const T* beta, T* C, int ldc) {                                                  \
    const int status = check_args(handle, ta, tb, m, n, k, lda, ldb, ldc);                                        \
    if (status != SUCCESS) return status;                                                                          \
    if (m == 0 || n == 0) return SUCCESS;                                                                          \
    for (int j = 0; j < n; ++j)                                                                                    \
      for (int i = 0; i < m; ++i) {                                                                                \
        double acc = 0;                                                                                            \
        for (int l = 0; l < k; ++l) {                                                                              \
          const T a = ta == OP_N ? A[i + (int64_t)l * lda] : A[l + (int64_t)i * lda];                              \
          const T b = tb == OP_N ? B[l + (int64_t)j * ldb] : B[j + (int64_t)l * ldb];                              \
          acc += (double)a * (double)b;                                                                            \
        }                                                                                                          \
        T* c = &C[i + (int64_t)j * ldc];                                                                           \
        *c = (T)((double)*alpha * acc + (*beta == (T)0 ? 0.0 : (double)*beta * (double)*c));                    \
      }                                                                                                            \
    return SUCCESS;                                                                                                \
  }

DEFINE_GEMM(cublasSgemm_v2, float)
DEFINE_GEMM(cublasDgemm_v2, double)
