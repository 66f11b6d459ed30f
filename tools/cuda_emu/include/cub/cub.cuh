// CUDA emulation (tools/cuda_emu): the cub block primitives nnx uses.
#pragma once
#include "cub/block/block_reduce.cuh"
#include "cub/block/block_scan.cuh"
