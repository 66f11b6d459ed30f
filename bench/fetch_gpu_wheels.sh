#!/usr/bin/env bash
# Downloads, on a machine with network, the wheels bench/gpu_check.sh needs on the GPU machine (which has no
# network and lacks them): scipy-openblas32 (nnx's BLAS) and pytest with its dependencies, for CPython 3.12.
# They land in .whl/ (git-ignored); pass `carry: [".whl"]` to the device run so they travel with the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
  --platform manylinux2014_x86_64 -d .whl scipy-openblas32
python -m pip download --quiet --only-binary=:all: --python-version 3.12 \
  --platform manylinux2014_x86_64 -d .whl pytest
ls -1 .whl
