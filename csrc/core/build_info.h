// What the CPU kernels were compiled for and what this CPU offers (nnx.show_config). build_info() lives in a kernel
// source (cpu/build_info.cpp), compiled with the kernels' own flags, so it reports the instruction sets the kernels
// use, not the bindings' (compiled apart, with other flags).
#pragma once
#include <string>
#include <vector>

namespace nnx::cpu {

struct BuildInfo {
  std::string compiler;          // the compiler's version string
  bool march_native = false;     // built with -march=native (NNX_NATIVE=ON where the compiler takes it)
  std::vector<std::string> isa;  // instruction-set extensions the kernels were compiled to use
  int openmp = 0;                // the OpenMP version the kernels were compiled against (_OPENMP, yyyymm)
};

BuildInfo build_info();

// The extensions among those build_info may list that this CPU supports, at run time (empty off x86-64).
std::vector<std::string> cpu_features();

}  // namespace nnx::cpu
