#!/usr/bin/env bash
# Why: `singularity-analyze HEAD --base BASE` is the new-code gate usable in any CI (DESIGN.md
# section 9), so it is tested from the outside: a base with an old error finding and a head that
# adds nothing bad passes; one that adds a secret fails with exactly that finding new; a fix is
# counted; BASE as a directory, a .tar.gz and an earlier --format json give the same answer, also
# when the findings cap hides most findings; each gate setting; SARIF with baselineState validated
# by Microsoft's SARIF Multitool; and no progress output when stderr is not a terminal.
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
sg_tmpdir
BIN="$SG_BUILD_DIR/worker/analysis/singularity-analyze"
MT="$SG_SOURCE_DIR/tests/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
T=$SG_TMP

# base: an old committed AWS key (error) and a TODO
mkdir -p "$T/base/src"
printf 'aws = "AKIAZ4ZJQK3P7WV6LXRM"\n' >"$T/base/src/settings.py"
printf 'int main(void)\n{\n    return 0; /* TODO: exit code */\n}\n' >"$T/base/src/main.c"
tgz() { (cd "$1" && tar czf "$2" --transform 's,^\./,top/,' .); }

# clean: moves the old lines down and re-indents them, adds nothing bad
cp -r "$T/base" "$T/clean"
printf '# settings\n\naws   =  "AKIAZ4ZJQK3P7WV6LXRM"\n' >"$T/clean/src/settings.py"
printf '/* entry */\nint main(void)\n{\n  return 0; /* TODO: exit code */\n}\n' >"$T/clean/src/main.c"
# secret: adds a GitHub token
cp -r "$T/base" "$T/secret"
printf 'TOKEN = "ghp_Qw3rTy7UiOp9AsDfGh2JkLzXcVbNm4Lk8Jh1"\n' >"$T/secret/src/token.py"
# fix: removes the TODO
cp -r "$T/base" "$T/fix"
printf 'int main(void)\n{\n    return 0;\n}\n' >"$T/fix/src/main.c"

tgz "$T/base" "$T/base.tar.gz"
"$BIN" "$T/base" --format json >"$T/base.json"
"$BIN" "$T/clean" --base "$T/base" --format json >"$T/clean.json"; rc_clean=$?
"$BIN" "$T/secret" --base "$T/base.tar.gz" --format json >"$T/secret.json"; rc_secret=$?
"$BIN" "$T/fix" --base "$T/base.json" --format json >"$T/fix.json"; rc_fix=$?
"$BIN" "$T/base" --format json >"$T/base-alone.json"; rc_alone=$?
sg_check "exit status follows the gate (clean 0, secret 1, fix 0; the base alone fails overall)" \
  test "$rc_clean$rc_secret$rc_fix$rc_alone" = 0101
sg_check "moved and re-indented lines keep their findings: nothing new, nothing fixed" \
  python3 - "$T/clean.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["new_findings"] == 0 and d["fixed_findings"] == 0, d
assert all(f["status"] == "existing" for f in d["findings"]), d["findings"]
assert d["gate"] == {"scope": "new", "passed": True, "reasons": d["gate"]["reasons"]} and d["passed"]
assert d["base"]["findings"] == 2 and isinstance(d["base"]["score"], float)
assert list(d)[-7:] == ["config_errors","base","new_findings","fixed_findings","fixed","gate","fingerprints"], list(d)
PY
sg_check "a new secret fails the gate: one new finding, named in the reasons" \
  python3 - "$T/secret.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
new = [f for f in d["findings"] if f["status"] == "new"]
assert d["new_findings"] == 1 and [f["rule"] for f in new] == ["SEC003"], new
assert not d["gate"]["passed"] and not d["passed"]
assert "1 new finding of severity error or above" in d["gate"]["reasons"], d["gate"]
PY
sg_check "a fix is counted and listed (base as JSON)" python3 - "$T/fix.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["fixed_findings"] == 1 and d["new_findings"] == 0, d
assert [(f["rule"], f["path"]) for f in d["fixed"]] == [("MNT001", "src/main.c")], d["fixed"]
assert d["passed"]
PY
"$BIN" "$T/fix" --base "$T/base" --format json >"$T/fix-dir.json"
"$BIN" "$T/fix" --base "$T/base.tar.gz" --format json >"$T/fix-tgz.json"
sg_check "BASE as a directory, a .tar.gz and a JSON result agree" \
  bash -c "cmp -s '$T/fix.json' '$T/fix-dir.json' && cmp -s '$T/fix.json' '$T/fix-tgz.json'"

# ---- the findings cap: counts stay exact because every fingerprint is kept
mkdir -p "$T/cbase" && for i in $(seq 1 300); do printf 'x = 1 \n' ; done >"$T/cbase/a.py"
cp -r "$T/cbase" "$T/chead" && for i in $(seq 1 50); do printf 'y%d = 2 \n' "$i"; done >>"$T/chead/a.py"
"$BIN" "$T/cbase" --format json --max-findings 10 >"$T/cbase.json"
"$BIN" "$T/chead" --base "$T/cbase.json" --format json --max-findings 10 >"$T/chead.json"
sg_check "cap of 10 findings: 50 new of 350, exact, and 300 fingerprints in the capped base" \
  python3 - "$T/cbase.json" "$T/chead.json" <<'PY'
import json, sys
b, h = (json.load(open(p)) for p in sys.argv[1:3])
assert len(b["findings"]) == 10 and len(b["fingerprints"]) == 300 and len(set(b["fingerprints"])) == 300
assert h["new_findings"] == 50 and h["fixed_findings"] == 0 and h["base"]["findings"] == 300, h
PY

# ---- each gate setting
run_gate() { # config head -> exit status
  "$BIN" "$2" --base "$T/base" --config "$1" >/dev/null 2>&1; echo $?
}
printf 'gate:\n  scope: overall\n' >"$T/overall.yml"
printf 'gate:\n  fail_on: none\n  max_score_drop: 10\n' >"$T/none.yml"
printf 'gate:\n  fail_on: notice\n' >"$T/notice.yml"
printf 'gate:\n  max_score_drop: 0\n' >"$T/drop0.yml"
printf 'gate:\n  scope: sideways\n' >"$T/badgate.yml"
sg_check "scope overall judges the whole repository (the old key fails the clean head)" \
  test "$(run_gate "$T/overall.yml" "$T/clean")" = 1
sg_check "fail_on none (and any score drop allowed) passes the new secret" \
  test "$(run_gate "$T/none.yml" "$T/secret")" = 0
printf 'x = 1 # TODO: more\n' >"$T/clean/src/more.py"
sg_check "fail_on notice fails on a new TODO; the default (error) passes it" \
  bash -c "[ \$('$BIN' '$T/clean' --base '$T/base' --config '$T/notice.yml' >/dev/null 2>&1; echo \$?) = 1 ] && [ \$('$BIN' '$T/clean' --base '$T/base' >/dev/null 2>&1; echo \$?) = 0 ]"
# a line over 120 characters (a warning: the default fail_on lets it pass) lowers the score by 0.2
printf 'x = 1 # TODO: more\ny = "%s"\n' "$(printf 'w%.0s' $(seq 130))" >"$T/clean/src/more.py"
"$BIN" "$T/clean" --base "$T/base" --config "$T/drop0.yml" --format json >"$T/drop0.json"
sg_check "max_score_drop 0 fails when the score fell at all, and says so" python3 - "$T/drop0.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["score"] < d["base"]["score"] and not d["passed"], d
assert any("more than max_score_drop 0.0" in r for r in d["gate"]["reasons"]), d["gate"]
PY
"$BIN" "$T/clean" --base "$T/base" --config "$T/badgate.yml" --format json >"$T/badgate.json"
sg_check "a bad gate setting is a config error, the default stays" \
  grep -q 'gate.scope: expected new or overall' "$T/badgate.json"
rm "$T/clean/src/more.py"

# ---- errors
printf '{"score": 5}' >"$T/old.json"
"$BIN" "$T/clean" --base "$T/old.json" >/dev/null 2>"$T/err1"; rc1=$?
"$BIN" "$T/clean" --base "$T/nope" >/dev/null 2>"$T/err2"; rc2=$?
sg_check "a base without fingerprints or missing: exit 2 with a clear message" \
  bash -c "[ '$rc1$rc2' = 22 ] && grep -q 'fingerprints' '$T/err1' && grep -q 'No such file' '$T/err2'"
"$BIN" "$T/secret" --base "$T/base.tar.gz" >/dev/null 2>"$T/quiet.err"
sg_check "no progress on stderr when it is not a terminal" test ! -s "$T/quiet.err"
if command -v script >/dev/null; then
  script -qec "'$BIN' '$T/base.tar.gz' >/dev/null" /dev/null >"$T/tty.out" 2>&1
  sg_check "on a terminal, progress shows bytes of the archive's size, files and elapsed time" \
    grep -qE 'MiB \([0-9]+%\), [0-9]+ files, [0-9.]+ s' "$T/tty.out"
fi

# ---- SARIF with a base
"$BIN" "$T/fix" --base "$T/base.json" --format sarif >"$T/fix.sarif"
"$BIN" "$T/secret" --base "$T/base.json" --format sarif >"$T/secret.sarif"
sg_check "SARIF: partialFingerprints everywhere; baselineState new, unchanged and absent" \
  python3 - "$T/fix.sarif" "$T/secret.sarif" <<'PY'
import json, sys
fix, sec = (json.load(open(p))["runs"][0]["results"] for p in sys.argv[1:3])
for r in fix + sec:
    assert len(r["partialFingerprints"]["singularity/v1"]) == 16, r
assert sorted(r["baselineState"] for r in fix) == ["absent", "unchanged"], fix
assert sorted(r["baselineState"] for r in sec) == ["new", "unchanged", "unchanged"], sec
PY
if [ -x "$MT" ]; then
  for f in fix secret; do
    "$MT" validate "$T/$f.sarif" >"$T/$f.mt" 2>&1
    sg_check "SARIF Multitool validates $f.sarif (with a base) with no errors" \
      bash -c "grep -q 'Analysis completed successfully' '$T/$f.mt' && ! grep -E ': error ' '$T/$f.mt'"
  done
else
  sg_check "SARIF Multitool installed (scripts/deps.sh installs tests/node_modules)" false
fi
sg_summary
