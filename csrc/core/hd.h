// NNX_HD marks small math helpers that both the CPU kernels (g++) and the CUDA kernels (nvcc) compile,
// so the two devices compute the same formulas from one source.
#pragma once
#if defined(__CUDACC__)
#define NNX_HD __host__ __device__ __forceinline__
#else
#define NNX_HD inline
#endif
