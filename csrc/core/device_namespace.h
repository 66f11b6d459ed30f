// The device namespace a translation unit declares its kernels in. core/<family>.h declares a family's kernels once,
// inside `namespace nnx::NNX_DEVICE`, and the build defines NNX_DEVICE per target as cpu or cuda (the macro is
// explained where CMakeLists.txt defines it; csrc/cuda/CMakeLists.txt and tools/cuda_emu/build.py define it too).
#pragma once

#ifndef NNX_DEVICE
#error "NNX_DEVICE is not defined: compile with -DNNX_DEVICE=cpu or -DNNX_DEVICE=cuda (see CMakeLists.txt)"
#endif
