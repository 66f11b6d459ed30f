// The device namespace a translation unit declares its kernels in. core/<family>.h declares a family's kernels once,
// inside `namespace nnx::NNX_DEVICE`, and the build defines NNX_DEVICE per target as cpu or cuda (the macro is
// explained where CMakeLists.txt defines it).
#pragma once

#ifndef NNX_DEVICE
#error "NNX_DEVICE is not defined: the build defines it per target as cpu or cuda (CMakeLists.txt, csrc/cuda/CMakeLists.txt, tools/cuda_emu/build.py), and core/<family>.h declares that device's kernels in nnx::NNX_DEVICE"
#endif
