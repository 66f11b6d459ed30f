#!/usr/bin/env bash
# One-shot GPU check for issue 6, run on a machine with an NVIDIA GPU: builds nnx with CUDA, runs the CUDA
# tests, then benchmarks against PyTorch CUDA in one process and prints a short table last.
# The GPU machine has no network; its Python 3.12 holds numpy, pybind11, scikit-build-core, cmake, ninja,
# nvcc, PyTorch CUDA and the nvidia-cublas wheel. What it lacks (scipy-openblas32, pytest) comes in .whl/:
# run bench/fetch_gpu_wheels.sh on a networked machine first and carry .whl with the tree.
# Budget: < 8 minutes on one H100, build included (sm_90 only; the full package builds sm_80/89/90 + PTX).
# Usage: bash bench/gpu_check.sh   (env: PYTHON=python3.12, NNX_GPU_CHECK_SKIP_TESTS=1, NNX_GPU_BENCH_ARGS=...)
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
stage() { echo; echo "=== $1 ($((SECONDS - started)) s) ==="; }

stage "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
PY=${PYTHON:-python3}
$PY --version

stage "environment"
venv=/tmp/nnx-gpu-venv
if [ ! -d "$venv" ]; then
  $PY -m venv --system-site-packages "$venv"
  # --system-site-packages shows the base installation only: when $PY is itself a venv (the GPU image's python3
  # is /opt/torch/.venv), its packages (torch, numpy, pybind11, pytest ...) come in through a .pth file.
  $PY -c 'import site; print("\n".join(site.getsitepackages()))' \
    >"$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/parent-site.pth"
fi
# shellcheck disable=SC1091
source "$venv/bin/activate"
python -m pip install --quiet --no-index --find-links .whl scipy-openblas32 pytest

stage "build (NNX_CUDA=ON, sm_90)"
NNX_CUDA=ON python -m pip install --quiet --no-build-isolation --no-deps \
  -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=90-real -Cbuild-dir=build/gpu .
python - <<'PY'
import nnx, nnx.native as native
assert native._cuda is not None, "the CUDA module was not built"
print("nnx", nnx.__version__, "| CUDA devices:", nnx.cuda.device_count(), "|", nnx.cuda.get_device_name(0))
print("cuBLAS:", native._cuda.cublas_path())
PY

if [ "${NNX_GPU_CHECK_SKIP_TESTS:-0}" != "1" ]; then
  stage "CUDA tests (pytest -m cuda)"
  # -m cuda: the kernel tests (tests/kernels/test_cuda_*.py) and every test parametrised with device='cuda'.
  python -m pytest -q -p no:cacheprovider -m cuda --maxfail=30 tests 2>&1 | tail -40 || true
fi

stage "benchmarks (bench/gpu.py, against PyTorch CUDA)"
python bench/gpu.py ${NNX_GPU_BENCH_ARGS:-}
echo
echo "gpu_check.sh finished in $((SECONDS - started)) s"
