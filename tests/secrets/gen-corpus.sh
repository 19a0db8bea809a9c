#!/usr/bin/env bash
# Why: the oracle test needs secrets of every gitleaks rule; gitleaks' own rule sources carry
# true- and false-positive samples (cmd/generate/config/rules/*.go in its module). This builds
# those sources with utils.Validate replaced by a recorder and writes the samples as a tree.
# Usage: gen-corpus.sh GITLEAKS_MODULE_DIR OUT_DIR   (needs go and the module's dependencies in
# the module cache, which `go install github.com/zricethezav/gitleaks/v8@VERSION` puts there)
set -euo pipefail
M=$1 OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
B=$(mktemp -d)
trap 'rm -rf "$B"' EXIT
mkdir -p "$B/rules" "$B/utils"
for f in "$M"/cmd/generate/config/rules/*.go; do
  case "$f" in *_test.go) continue ;; esac
  sed 's#github.com/zricethezav/gitleaks/v8/cmd/generate/config/utils#oracle/utils#' "$f" >"$B/rules/$(basename "$f")"
done
cp "$M"/cmd/generate/config/utils/generate.go "$M"/cmd/generate/config/utils/patterns.go "$B/utils/"
cp "$HERE/validate.go.in" "$B/utils/validate.go"
calls=$(grep -o 'rules\.[A-Za-z0-9_]*()' "$M/cmd/generate/config/main.go" | sed 's/$/,/' | tr '\n' ' ')
sed "s#@CALLS@#$calls#" "$HERE/main.go.in" >"$B/main.go"
ver=$(basename "$M" | sed 's/.*@//')
printf 'module oracle\n\ngo 1.22\n\nrequire github.com/zricethezav/gitleaks/v8 %s\n' "$ver" >"$B/go.mod"
cp "$M/go.sum" "$B/go.sum"
(cd "$B" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go run . "$OUT")
