#!/usr/bin/env bash
# Why: by hand, not in CI. Measures the GitHub client's per-request cost of keeping its fleet-wide
# state (installation token, pacing and rate-limit gate) in Redis versus in process, side by side in
# one run against the GitHub simulator, and its tarball streaming rate.
#   scripts/bench-github.sh [N]      (N GET requests per round, default 2000; build dir: build/)
set -euo pipefail
cd "$(dirname "$0")/.."
export SG_SOURCE_DIR=$PWD SG_BUILD_DIR=${SG_BUILD_DIR:-$PWD/build}
cmake -S . -B "$SG_BUILD_DIR" -G Ninja >/dev/null
ninja -C "$SG_BUILD_DIR" singularity-github-sim github-client-bench >/dev/null
. tests/lib/servers.sh
sg_tmpdir
SG_REDIS_AOF=no sg_start_redis
# a ~5 MB repository to stream: this source tree's C files, copied a few times
mkdir -p "$SG_TMP/repos/octo/big"
for i in 1 2 3 4; do mkdir -p "$SG_TMP/repos/octo/big/$i"; cp -r common worker "$SG_TMP/repos/octo/big/$i/"; done
sg_start_github_sim --repos "$SG_TMP/repos" --installation 7=octo/hello,octo/big
"$SG_BUILD_DIR/tests/github-sim/github-client-bench" "${1:-2000}" | grep -v '^{'
