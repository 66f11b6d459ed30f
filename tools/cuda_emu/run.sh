#!/usr/bin/env bash
# Runs nnx's CUDA kernel tests on the CPU through the emulator (tools/cuda_emu): builds the emulated nnx._cuda
# into a scratch directory (NNX_EMU_BUILD, default /tmp/nnx-cuda-emu-$UID) and runs pytest with it installed in
# place of the real module. build/dev and the installed package are not touched.
#
#   tools/cuda_emu/run.sh                                   # every tests/kernels/test_cuda_*.py
#   tools/cuda_emu/run.sh tests/kernels/test_cuda_softmax.py -k "not 4099" -x
#   NNX_EMU_ORDER=reverse tools/cuda_emu/run.sh ...         # blocks, warps, threads in reverse (or: shuffle, breadth)
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${PYTHON:-$PWD/.venv/bin/python}"
module="$(nice -n 10 "$python" tools/cuda_emu/build.py)"
build_dir="$(dirname "$(dirname "$module")")"
export NNX_EMU_MODULE="$module"
export NNX_CUBLAS_PATH="$build_dir/libcublas.so.13"
export PYTHONPATH="$PWD/tools/cuda_emu${PYTHONPATH:+:$PYTHONPATH}"
if [ $# -eq 0 ]; then set -- tests/kernels/test_cuda_*.py; fi
exec nice -n 10 "$python" -m pytest -p emu_plugin -q "$@"
