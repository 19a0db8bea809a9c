#!/usr/bin/env bash
# Why: the one command that runs every test (README). It installs what it needs, builds with
# warnings fatal, runs unit + integration + deploy tests, then the same unit and integration tests
# under ASan+UBSan, then each fuzz target for a bounded time. Every server a test needs (Redis,
# PostgreSQL, the GitHub simulator) is started by the test itself on free loopback ports.
#
#   scripts/test.sh              everything (what CI runs)
#   scripts/test.sh --quick      the warnings-fatal build's unit and integration tests only
#   scripts/test.sh -L unit      only tests with that CTest label, in the normal build
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=$(nproc)
QUICK=0
LABEL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    -L) LABEL=$2; shift ;;
    *) echo "usage: scripts/test.sh [--quick] [-L label]" >&2; exit 2 ;;
  esac
  shift
done

if [ "$QUICK" = 1 ] || [ -n "$LABEL" ]; then
  scripts/deps.sh
else
  SG_DEPS="fuzz deploy" scripts/deps.sh
fi

step() { printf '\n=== %s ===\n' "$*"; }

build() { # build DIR cmake-args...
  local dir=$1; shift
  cmake -S "$ROOT" -B "$dir" -G Ninja -DSG_WERROR=ON "$@" >/dev/null
  ninja -C "$dir" -j "$JOBS" >/dev/null || ninja -C "$dir" -j 1
}

status=0
step "build (warnings fatal)"
build build
if [ -n "$LABEL" ]; then
  (cd build && ctest --output-on-failure -L "$LABEL") || status=1
  exit $status
fi
step "unit + integration tests"
(cd build && ctest --output-on-failure -j "$JOBS" -L 'unit|integration') || status=1
[ "$QUICK" = 1 ] && exit $status

if (cd build && ctest -N -L deploy | grep -q 'Total Tests: [1-9]'); then
  step "deploy tests (Helm chart, images, compose)"
  (cd build && ctest --output-on-failure -L deploy) || status=1
fi

step "build with ASan + UBSan"
build build-asan -DSG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
step "unit + integration tests under ASan + UBSan"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd build-asan && ctest --output-on-failure -j "$JOBS" -L 'unit|integration') || status=1

if command -v clang-14 >/dev/null; then
  step "fuzz targets (libFuzzer, bounded)"
  # clang warns differently from gcc; the gcc builds above are the warnings gate
  CC=clang-14 build build-fuzz -DSG_FUZZ=ON -DSG_WERROR=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
  (cd build-fuzz && ctest --output-on-failure -L fuzz) || status=1
fi
exit $status
