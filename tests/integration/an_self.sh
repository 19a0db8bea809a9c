#!/usr/bin/env bash
# Why: a quality tool that fails its own gate is not believed. The repository is analysed as the
# worker would see its next commit (the tracked files as they are in the working tree, in a
# tarball with one top folder) under its own .singularity.yml, and must pass that gate: a score
# of at least 8.0 and no finding of severity error. Fast and without servers (label unit).
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
sg_tmpdir
BIN="$SG_BUILD_DIR/worker/analysis/singularity-analyze"
cd "$SG_SOURCE_DIR" || exit 2
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z | tar --null -T - --ignore-failed-read --transform 's,^,self/,' -czf "$SG_TMP/self.tgz" 2>/dev/null
else # an unpacked source tarball: everything but build trees
  tar --exclude='./build*' --transform 's,^\.,self,' -czf "$SG_TMP/self.tgz" .
fi
"$BIN" "$SG_TMP/self.tgz" --format json >"$SG_TMP/self.json"
rc=$?
"$BIN" "$SG_TMP/self.tgz" | sed -n '/^Quality/,/^$/p'
sg_check "singularity-analyze on this repository passes its gate (exit 0)" [ "$rc" -eq 0 ]
sg_check "its .singularity.yml applies, the score is at least 8.0 and no finding is an error" \
  python3 - "$SG_TMP/self.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["config_errors"] == [], d["config_errors"]
assert d["threshold"] == 8.0, d["threshold"]
assert d["score"] >= 8.0, (d["score"], d["score_breakdown"])
errors = [f for f in d["findings"] if f["severity"] == "error"]
# a test that plants a key or a conflict on purpose belongs in .singularity.yml's exclude list
assert not errors, errors[:5]
assert d["totals"]["files"] > 100 and d["totals"]["code"] > 20000, d["totals"]
PY
sg_summary
