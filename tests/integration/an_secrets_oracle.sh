#!/usr/bin/env bash
# Why: the SEC rules promise gitleaks' findings, so gitleaks is the oracle. gitleaks' own rule
# samples (true and false positives of every rule, written as they are, indented in YAML and
# escaped in JSON; tests/secrets/gen-corpus.sh) make a tree both tools scan; every line gitleaks
# flags must be flagged by a SEC rule at the same path and line (or be listed, with why, in
# tests/secrets/known-misses.txt), lines only we flag stay under 2% of gitleaks' lines, and the
# false-positive samples stay clean. Needs go and gitleaks (scripts/deps.sh installs gitleaks).
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
sg_tmpdir
BIN="$SG_BUILD_DIR/worker/analysis/singularity-analyze"
S="$SG_SOURCE_DIR/tests/secrets"
T=$SG_TMP
VER=v8.30.1
GL=$(command -v gitleaks || echo "$(go env GOPATH 2>/dev/null)/bin/gitleaks")
if ! command -v go >/dev/null || [ ! -x "$GL" ]; then
  echo "not ok - go and gitleaks $VER are needed (scripts/deps.sh installs gitleaks)"
  exit 1
fi
M="$(go env GOMODCACHE)/github.com/zricethezav/gitleaks/v8@$VER"
[ -d "$M" ] || go mod download "github.com/zricethezav/gitleaks/v8@$VER" >/dev/null 2>&1

sg_check "gitleaks' rule samples written as a tree ($VER)" "$S/gen-corpus.sh" "$M" "$T/corpus"
echo "# $(find "$T/corpus" -type f | wc -l) files"
sg_check "gitleaks scans the tree" "$GL" dir "$T/corpus" --no-banner --log-level error \
  --report-format json --report-path "$T/gitleaks.json" --exit-code 0
sg_check "singularity-analyze scans the tree" bash -c \
  "'$BIN' --format json --max-findings 1000000 '$T/corpus' >'$T/ours.json'; [ \$? -le 1 ]"
python3 "$S/oracle.py" "$T/gitleaks.json" "$T/ours.json" "$S/known-misses.txt" >"$T/oracle.txt"
rc=$?
grep -v -e '^justified miss' -e '^EXTRA' "$T/oracle.txt" | sed 's/^/# /'
sg_check "recall 100% but the listed misses; extra lines under 2%" [ $rc -eq 0 ]
sg_check "gitleaks' false-positive samples stay clean (no line only we flag there)" \
  grep -q 'of them in false-positive samples: 0$' "$T/oracle.txt"
sg_summary
