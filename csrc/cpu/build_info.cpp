// core/build_info.h: the kernels' compile-time instruction sets (the compiler's predefined macros under the kernels'
// flags) and this CPU's, queried at run time with GCC/Clang's __builtin_cpu_supports.
#include "core/build_info.h"

namespace nnx::cpu {

BuildInfo build_info() {
  BuildInfo info;
#ifdef __VERSION__
  info.compiler = __VERSION__;
#endif
#ifdef NNX_MARCH_NATIVE
  info.march_native = true;
#endif
#ifdef __SSE4_2__
  info.isa.push_back("sse4.2");
#endif
#ifdef __AVX__
  info.isa.push_back("avx");
#endif
#ifdef __AVX2__
  info.isa.push_back("avx2");
#endif
#ifdef __FMA__
  info.isa.push_back("fma");
#endif
#ifdef __AVX512F__
  info.isa.push_back("avx512f");
#endif
#ifdef __AVX512BW__
  info.isa.push_back("avx512bw");
#endif
#ifdef __AVX512VL__
  info.isa.push_back("avx512vl");
#endif
#ifdef __AVX512BF16__
  info.isa.push_back("avx512bf16");
#endif
#ifdef __ARM_NEON
  info.isa.push_back("neon");
#endif
#ifdef _OPENMP
  info.openmp = _OPENMP;
#endif
  return info;
}

std::vector<std::string> cpu_features() {
  std::vector<std::string> features;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse4.2")) features.push_back("sse4.2");
  if (__builtin_cpu_supports("avx")) features.push_back("avx");
  if (__builtin_cpu_supports("avx2")) features.push_back("avx2");
  if (__builtin_cpu_supports("fma")) features.push_back("fma");
  if (__builtin_cpu_supports("avx512f")) features.push_back("avx512f");
  if (__builtin_cpu_supports("avx512bw")) features.push_back("avx512bw");
  if (__builtin_cpu_supports("avx512vl")) features.push_back("avx512vl");
  if (__builtin_cpu_supports("avx512bf16")) features.push_back("avx512bf16");
#endif
  return features;
}

}  // namespace nnx::cpu
