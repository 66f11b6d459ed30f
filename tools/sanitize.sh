#!/usr/bin/env bash
# Builds nnx with AddressSanitizer + UndefinedBehaviorSanitizer (CMake option NNX_SANITIZE) into its own
# build dir and venv, then runs the kernel, op and fuzz tests under it. Any sanitizer report fails the run.
#
#   tools/sanitize.sh                      # default test selection (kernels, autograd, nn, optim, fuzz)
#   tools/sanitize.sh tests/kernels -x     # any pytest arguments instead
#
# The shared editable install (.venv) is left alone: the wheel goes into build/asan/venv, whose
# site-packages sees the main venv's packages (numpy, pytest, hypothesis, scipy-openblas32) through a
# .pth file, so nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
python="${PYTHON:-$root/.venv/bin/python}"
asan_dir="$root/build/asan"
venv="$asan_dir/venv"
sanitizers="${NNX_SANITIZE:-address,undefined}"

# --- build the sanitized wheel (under the shared build lock) ------------------------------------------
rm -rf "$asan_dir/dist"
flock /tmp/nnx-build.lock "$python" -m pip wheel . --no-build-isolation --no-deps -q -w "$asan_dir/dist" \
    -Cbuild-dir="$asan_dir/build" -Ccmake.define.NNX_SANITIZE="$sanitizers" -Ccmake.define.NNX_CUDA=OFF \
    -Ccmake.define.NNX_NATIVE=ON -Ccmake.build-type=RelWithDebInfo

# --- a venv of its own that borrows the main venv's packages -----------------------------------------
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv --without-pip "$venv"
fi
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
main_site="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$main_site" > "$site/_nnx_main_venv.pth"  # appended after site-packages: our nnx wins
rm -rf "$site/nnx" "$site"/nnx-*.dist-info
"$python" -m pip install --no-deps --no-compile -q --target "$site" "$asan_dir"/dist/nnx-*.whl

# --- run the tests under the sanitizers ----------------------------------------------------------------
# The interpreter is not instrumented, so the ASan runtime must be preloaded; libstdc++ too, or ASan's
# __cxa_throw interceptor finds no real function and every C++ exception (a bad argument) aborts.
# Leak checking is off: CPython keeps many allocations alive until exit on purpose. UBSan stops at
# the first report.
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)"
# Reports go to files: pytest captures stderr, and a process that the sanitizer stops loses it.
reports="$asan_dir/reports"
rm -rf "$reports" && mkdir -p "$reports"
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:log_path=$reports/asan:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan:${UBSAN_OPTIONS:-}"
export NNX_FUZZ_EXAMPLES="${NNX_FUZZ_EXAMPLES:-200}"

if [ "$#" -eq 0 ]; then
    set -- tests/kernels tests/autograd tests/nn tests/optim tests/reliability/fuzz_cases.py \
        tests/reliability/test_bad_inputs_native.py
fi
cd "$asan_dir"  # so that `import nnx` finds the sanitized wheel, never the source tree
status=0
"$venv/bin/python" -c 'import nnx, sys; print("sanitized nnx from", nnx.__file__, file=sys.stderr)'
"$venv/bin/python" -m pytest -q -p no:cacheprovider --rootdir="$root" -c "$root/pyproject.toml" \
    "${@/#tests/$root/tests}" || status=$?
if compgen -G "$reports/*" > /dev/null; then
    echo "sanitize.sh: sanitizer reports:" >&2
    head -c 20000 "$reports"/* >&2
    status=1
fi
if [ "$status" -eq 0 ]; then
    echo "sanitize.sh: clean ($sanitizers)"
else
    echo "sanitize.sh: FAILED (pytest status or sanitizer reports above)" >&2
fi
exit "$status"
