#!/usr/bin/env bash
# The Python tests, as `make test` runs them (bash bindings/python/run_tests.sh):
#   0. fixtures: the first 1,000 MNIST test images and the Go reference labels
#      (bindings/c/tools/mnistdump), in build/python/fixtures; the cryptonets
#      command (build/python/bin) and the C library as CMake builds it
#      (build/python/cmake), for the version test and the wheel;
#   1. a fresh venv (build/python/venv1): pip install ./bindings/python[test] (which
#      has CMake build libcryptonets.so in bindings/python/build/cmake) and onnx (for
#      its reference evaluator), then pytest bindings/python/tests;
#   2. python -m build --wheel into build/python/dist, packing build/python/cmake's
#      library (checked byte for byte); auditwheel (PyPI) checks its manylinux tag;
#   3. a second fresh venv (build/python/venv2) whose PATH holds nothing but the
#      venv (no Go, no C compiler) installs the wheel from binaries only and runs the
#      tests marked "wheel" (import, versions, one-process 128-bit round trip,
#      no-numpy);
#   4. if Debian's /usr/bin/python3 has torch (python3-torch; never installed from
#      PyPI here: too big), a venv with its system packages (build/python/venv-torch)
#      plus pytest runs tests/test_torch.py (cryptonets.from_torch) on the source
#      package and venv1's library; otherwise a note says the stage was skipped.
# Exits non-zero on any failure, including pytest collecting no tests.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
OUT="$ROOT/build/python"
PKG="$ROOT/bindings/python"
START=$SECONDS

step() { printf '\n== python: %s (%ds)\n' "$*" $((SECONDS - START)); }
fail() { echo "python tests: FAILED: $*" >&2; exit 1; }

# pytest's exit status 5 means "no tests collected": a failure here, like any other.
run_pytest() {
  local py=$1; shift
  local rc=0
  "$py" -m pytest -p no:cacheprovider -ra "$@" || rc=$?
  case $rc in
    0) ;;
    5) fail "pytest collected no tests ($*)" ;;
    *) fail "pytest exited with status $rc ($*)" ;;
  esac
}

command -v python3 >/dev/null || fail "python3 is not on PATH"
command -v go >/dev/null || fail "go is not on PATH (needed to build libcryptonets.so)"
command -v cmake >/dev/null || fail "cmake is not on PATH (needed to build libcryptonets.so)"
# The real interpreter behind python3 (pyenv's python3 is a shim that needs PATH).
PYTHON=$(python3 -c 'import sys; print(sys.executable)')
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 9), sys.version' ||
  fail "Python 3.9 or later is needed"

unset CRYPTONETS_LIBRARY PYTHONPATH  # test the installed package and its bundled library
export CRYPTONETS_TEST_FIXTURES="$OUT/fixtures"
export CRYPTONETS_TEST_MODEL="$ROOT/models/mnist/mnist_cryptonets.cnm"
export CRYPTONETS_EXPECT_INSTALLED=1
export CRYPTONETS_TEST_CLI="$OUT/bin/cryptonets"
export CRYPTONETS_TEST_CMAKE_BUILD_DIR="$OUT/cmake"
unset CRYPTONETS_CMAKE_BUILD_DIR  # venv1 builds the package as a user would
export PIP_DISABLE_PIP_VERSION_CHECK=1

rm -rf "$OUT/venv1" "$OUT/venv2" "$OUT/venv-torch" "$OUT/dist" "$OUT/bin" "$OUT/cmake" "$OUT/cmake-testing" \
  "$PKG/build" "$PKG"/*.egg-info
mkdir -p "$OUT"

step "fixtures: 1,000 MNIST test images and the Go reference labels"
go run ./bindings/c/tools/mnistdump -n 1000 -o "$CRYPTONETS_TEST_FIXTURES" \
  -model "$CRYPTONETS_TEST_MODEL"

step "the cryptonets command, and libcryptonets.so as CMake builds it"
go build -o "$CRYPTONETS_TEST_CLI" ./cmd/cryptonets
cmake -S . -B "$OUT/cmake" -DCN_BUILD_TESTING=OFF >/dev/null
cmake --build "$OUT/cmake" --target cryptonets_go
CMAKE_LIB=$(readlink -f "$OUT/cmake/lib/libcryptonets.so")

step "venv1: pip install ./bindings/python[test] (CMake builds libcryptonets.so)"
"$PYTHON" -m venv "$OUT/venv1"
V1="$OUT/venv1/bin/python"
"$V1" -m pip install -q "./bindings/python[test]"
"$V1" -m pip install -q onnx ||
  echo "note: pip install onnx failed: the ONNX reference-evaluator test will be skipped"

step "venv1: pytest bindings/python/tests"
(cd "$OUT" && run_pytest "$V1" "$PKG/tests" --durations=5)

step "venv1: a panic inside the test build of the library (CMake CN_TESTING=ON) is an InternalError"
cmake -S . -B "$OUT/cmake-testing" -DCN_BUILD_TESTING=OFF -DCN_TESTING=ON >/dev/null
cmake --build "$OUT/cmake-testing" --target cryptonets_go
(cd "$OUT" && CRYPTONETS_LIBRARY="$OUT/cmake-testing/lib/libcryptonets.so" CRYPTONETS_EXPECT_TESTING_LIBRARY=1 \
  run_pytest "$V1" "$PKG/tests/test_errors.py" -k panic)

step "wheel: python -m build --wheel, packing $CMAKE_LIB"
"$V1" -m pip install -q build auditwheel
CRYPTONETS_CMAKE_BUILD_DIR="$OUT/cmake" "$V1" -m build --wheel --outdir "$OUT/dist" "$PKG" \
  >"$OUT/build-wheel.log" 2>&1 ||
  { tail -30 "$OUT/build-wheel.log" >&2; fail "python -m build --wheel (log: $OUT/build-wheel.log)"; }
shopt -s nullglob
wheels=("$OUT"/dist/cryptonets-*.whl)
[ ${#wheels[@]} -eq 1 ] || fail "expected one wheel in $OUT/dist, found ${#wheels[@]}"
WHEEL=${wheels[0]}
case $(basename "$WHEEL") in
  cryptonets-*-py3-none-manylinux_*.whl) echo "built $(basename "$WHEEL")" ;;
  *) fail "the wheel is not tagged py3-none-manylinux_*: $(basename "$WHEEL")" ;;
esac
"$V1" -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
  "$WHEEL" cryptonets/_lib/libcryptonets.so | cmp -s - "$CMAKE_LIB" ||
  fail "the wheel's cryptonets/_lib/libcryptonets.so is not $CMAKE_LIB"
echo "its cryptonets/_lib/libcryptonets.so is $CMAKE_LIB, byte for byte"
"$OUT/venv1/bin/auditwheel" show --json "$WHEEL" >"$OUT/auditwheel.json" ||
  fail "auditwheel show $WHEEL"
"$V1" "$PKG/tests/check_wheel_tag.py" "$WHEEL" "$OUT/auditwheel.json" ||
  fail "the wheel's manylinux tag is not honest (auditwheel: $OUT/auditwheel.json)"

step "venv2: install the wheel with only the venv on PATH (no Go, no C compiler)"
STRIPPED="$OUT/venv2/bin"
"$PYTHON" -m venv "$OUT/venv2"
V2="$OUT/venv2/bin/python"
env PATH="$STRIPPED" "$V2" -m pip install -q --only-binary :all: "$WHEEL[test]"
for tool in go gofmt cc gcc c99 clang tcc "$(uname -m)-linux-gnu-gcc" cmake; do
  if env PATH="$STRIPPED" "$BASH" -c "command -v $tool" >/dev/null 2>&1; then
    fail "$tool is reachable with PATH=$STRIPPED"
  fi
done

step "venv2: pytest -m wheel"
(cd "$OUT" && PATH="$STRIPPED" run_pytest "$V2" "$PKG/tests" -m wheel)

SYSTEM_PYTHON=/usr/bin/python3
if [ -x "$SYSTEM_PYTHON" ] && "$SYSTEM_PYTHON" -c 'import torch, numpy' >/dev/null 2>&1; then
  step "venv-torch: pytest tests/test_torch.py with $SYSTEM_PYTHON's torch"
  "$SYSTEM_PYTHON" -m venv --system-site-packages "$OUT/venv-torch"
  VT="$OUT/venv-torch/bin/python"
  "$VT" -c 'import pytest' >/dev/null 2>&1 || "$VT" -m pip install -q pytest
  LIB=$("$V1" -c 'import cryptonets; print(cryptonets.library_path())')
  (
    cd "$OUT"
    export PYTHONPATH="$PKG" CRYPTONETS_LIBRARY="$LIB"
    unset CRYPTONETS_EXPECT_INSTALLED
    run_pytest "$VT" "$PKG/tests/test_torch.py"
  )
else
  step "venv-torch: SKIPPED: $SYSTEM_PYTHON cannot import torch and numpy (apt-get install python3-torch to run the from_torch tests)"
fi

step "done"
