#!/usr/bin/env bash
# Why: singularity-analyze is what a developer runs locally and what CI can gate on, so its
# contract is tested from the outside: exit status (0 pass, 1 fail, 2 error), the JSON object's
# exact keys (DESIGN.md section 5), the same result from a directory, a `git archive` tarball
# (GitHub's layout: pax global header, one top folder) and stdin, SARIF 2.1.0 validated by
# Microsoft's SARIF Multitool, --config, and hostile tarballs built with python3's tarfile.
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
sg_tmpdir
BIN="$SG_BUILD_DIR/worker/analysis/singularity-analyze"
MT="$SG_SOURCE_DIR/tests/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
T=$SG_TMP

# ---- a small repository (as a git repo, so `git archive` makes GitHub's tarball layout)
mkdir -p "$T/repo/src" "$T/repo/.github/workflows" "$T/repo/vendor/dep"
cat >"$T/repo/src/main.c" <<'EOF'
/* main */
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc > 1 && argv[1][0] == '-')   
        return 1;
    printf("TODO: not a comment\n"); // TODO: a real one
    return 0;
}
EOF
printf '#!/bin/sh\n# build\nset -e\nmake all\n' >"$T/repo/bootstrap"
printf 'name: ci\non: push\n' >"$T/repo/.github/workflows/ci.yml"
printf 'int vendored; \n' >"$T/repo/vendor/dep/x.c"
printf 'Title\n=====\n\n=======\nPart\n=======\n' >"$T/repo/README.rst"
printf 'quality_threshold: 6.5\nrules:\n  MNT001: warning\n' >"$T/repo/.singularity.yml"
(cd "$T/repo" && git init -q && git add -A && git -c user.email=t@example.com -c user.name=t commit -qm init)
(cd "$T/repo" && git archive --format=tar.gz --prefix=octo-repo-abc123/ HEAD) >"$T/repo.tar.gz"

"$BIN" "$T/repo" --format json >"$T/dir.json"; rc_dir=$?
"$BIN" "$T/repo.tar.gz" --format json >"$T/tgz.json"; rc_tgz=$?
"$BIN" - --format json <"$T/repo.tar.gz" >"$T/stdin.json"; rc_stdin=$?
sg_check "clean repository passes (exit 0) from dir, tar.gz and stdin" \
  test "$rc_dir$rc_tgz$rc_stdin" = 000
sg_check "git archive tarball (pax global header, top folder) gives the same JSON as the directory" \
  cmp -s "$T/tgz.json" "$T/stdin.json"
# the directory also sees .git (skipped) — compare everything but bytes of the ignored folder
sg_check "directory and tarball agree" python3 - "$T/dir.json" "$T/tgz.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
sys.exit(0 if a == b else 1)
EOF

sg_check "JSON object has exactly DESIGN.md's keys (and score_breakdown) and types" python3 - "$T/tgz.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
# without a base: the gate's verdict (the overall rule) and every fingerprint, none of the base's keys
assert list(d) == ["score","threshold","passed","score_breakdown","totals","languages","findings","rule_counts","skipped","config_errors","gate","fingerprints"], list(d)
kinds = ["secrets","conflicts","complexity","size","style","maintenance","binaries"]
assert [b["kind"] for b in d["score_breakdown"]] == kinds, d["score_breakdown"]
assert all(list(b) == ["kind","cost","findings","files"] for b in d["score_breakdown"])
assert round(sum(b["cost"] for b in d["score_breakdown"]) * 10) == round((10 - d["score"]) * 10)
assert {b["kind"]: b["findings"] for b in d["score_breakdown"]}["maintenance"] == 1
assert d["gate"]["scope"] == "overall" and d["gate"]["passed"] == d["passed"] and d["gate"]["reasons"]
assert len(d["fingerprints"]) == sum(d["rule_counts"].values()) and d["fingerprints"] == sorted(d["fingerprints"])
assert list(d["totals"]) == ["files","code","comment","blank","bytes","complexity"]
assert list(d["skipped"]) == ["binary","vendored","generated","minified","too_large","unsafe"]
assert all(list(l) == ["name","files","code","comment","blank","complexity"] for l in d["languages"])
assert all(list(f) == ["rule","severity","path","line","message","fingerprint"] for f in d["findings"])
assert all(f["fingerprint"] in d["fingerprints"] for f in d["findings"])
assert isinstance(d["score"], float) and 0 <= d["score"] <= 10 and d["threshold"] == 6.5
c = {l["name"]: l for l in d["languages"]}
assert c["C"]["code"] == 8 and c["C"]["comment"] == 1 and c["C"]["blank"] == 1 and c["C"]["complexity"] == 2, c["C"]
assert c["Shell"]["files"] == 1          # "bootstrap" detected by its shebang
assert d["skipped"]["vendored"] == 1
f = {(x["rule"], x["path"], x["line"]) for x in d["findings"]}
assert ("MNT001", "src/main.c", 8) in f and ("STY002", "src/main.c", 6) in f, f
assert not any(r == "GIT001" for r, _, _ in f)   # reStructuredText underlines are not conflicts
assert [x["severity"] for x in d["findings"] if x["rule"] == "MNT001"] == ["warning"]
assert d["rule_counts"] == {"MNT001": 1, "STY002": 1}, d["rule_counts"]
EOF

"$BIN" "$T/repo.tar.gz" --format json --files "$T/files.jsonl" >"$T/with-files.json"
sg_check "--files writes one JSON line per counted file with its kind, the result unchanged" \
  python3 - "$T/files.jsonl" "$T/with-files.json" "$T/tgz.json" <<'EOF'
import json, sys
files = [json.loads(l) for l in open(sys.argv[1])]
d = json.load(open(sys.argv[2]))
assert d == json.load(open(sys.argv[3]))
assert len(files) == d["totals"]["files"], (len(files), d["totals"])
assert all(list(f) == ["path","language","kind","lines","code","comment","blank","complexity"] for f in files)
k = {f["path"]: f["kind"] for f in files}
assert k["src/main.c"] == "source" and k["bootstrap"] == "source", k
assert all(v in ("source","header","build","data","prose") for v in k.values())
assert sum(f["code"] for f in files) == d["totals"]["code"]
EOF

# ---- gate failure and errors
mkdir -p "$T/bad"
printf 'aws_key = "AKIAZ4ZJQK3P7WV6LXRM"\n' >"$T/bad/settings.py"
"$BIN" "$T/bad" >"$T/bad.txt"; rc=$?
sg_check "a secret fails the gate (exit 1) and the table names it" \
  bash -c "[ $rc -eq 1 ] && grep -q 'SEC002' '$T/bad.txt' && grep -q 'Quality' '$T/bad.txt' && grep -q 'FAILED' '$T/bad.txt'"
printf 'rules:\n  SEC002: off\n' >"$T/off.yml"
"$BIN" "$T/bad" --config "$T/off.yml" --format json >"$T/off.json"; rc=$?
sg_check "--config FILE replaces the repository's config (SEC002 off: exit 0)" \
  bash -c "[ $rc -eq 0 ] && grep -q '\"rule_counts\":{}' '$T/off.json'"
"$BIN" "$T/nope" >/dev/null 2>"$T/err1"; rc1=$?
printf 'garbage' >"$T/garbage.tar.gz"; "$BIN" "$T/garbage.tar.gz" >/dev/null 2>"$T/err2"; rc2=$?
head -c 300 "$T/repo.tar.gz" >"$T/cut.tar.gz"; "$BIN" "$T/cut.tar.gz" >/dev/null 2>"$T/err3"; rc3=$?
"$BIN" "$T/repo" --format xml >/dev/null 2>&1; rc4=$?
"$BIN" "$T/repo" --config "$T/missing.yml" >/dev/null 2>&1; rc5=$?
sg_check "errors exit 2 with a clear message (missing path, not gzip, truncated, bad format, missing config)" \
  bash -c "[ '$rc1$rc2$rc3$rc4$rc5' = 22222 ] && grep -q 'No such file' '$T/err1' && grep -q 'not a gzip stream' '$T/err2' && grep -q 'truncated' '$T/err3'"
"$BIN" --help >"$T/help.txt"; rc=$?
sg_check "--help exits 0 and documents the formats" bash -c "[ $rc -eq 0 ] && grep -q -- '--format' '$T/help.txt'"

# ---- hostile tarball made with python3's tarfile
python3 - "$T/hostile.tar.gz" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz", format=tarfile.GNU_FORMAT) as t:
    def add(name, data=b"", **kw):
        ti = tarfile.TarInfo(name); ti.size = len(data)
        for k, v in kw.items(): setattr(ti, k, v)
        t.addfile(ti, io.BytesIO(data) if data else None)
    add("top/ok.c", b"int ok;\n")
    add("top/../../etc/passwd", b"root:x:0:0 \n")
    add("/abs/evil.c", b"int evil; \n")
    add("top/link", type=tarfile.SYMTYPE, linkname="/etc/shadow")
    add("top/hard", type=tarfile.LNKTYPE, linkname="top/ok.c")
    add("top/dev", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
    add("top/fifo", type=tarfile.FIFOTYPE)
    add("top/" + "d" * 150 + "/long.py", b"x = 1\n")   # GNU ././@LongLink
EOF
"$BIN" "$T/hostile.tar.gz" --format json >"$T/hostile.json"; rc=$?
sg_check "hostile tarball: unsafe entries counted, never read; long names kept" python3 - "$T/hostile.json" "$rc" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert sys.argv[2] == "0", sys.argv[2]
assert d["skipped"]["unsafe"] == 6, d["skipped"]
assert d["totals"]["files"] == 2 and d["rule_counts"] == {}, d
EOF

# ---- SARIF 2.1.0 validated by Microsoft's SARIF Multitool
"$BIN" "$T/repo.tar.gz" --format sarif >"$T/repo.sarif"
"$BIN" "$T/bad" --format sarif >"$T/bad.sarif"
if [ -x "$MT" ]; then
  for f in repo bad; do
    "$MT" validate "$T/$f.sarif" >"$T/$f.mt" 2>&1
    sg_check "SARIF Multitool validates $f.sarif with no errors" \
      bash -c "grep -q 'Analysis completed successfully' '$T/$f.mt' && ! grep -E ': error ' '$T/$f.mt'"
  done
  # the check can fail: a SARIF log without its version is an error for the Multitool
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); del d["version"]; json.dump(d, open(sys.argv[2],"w"))' \
    "$T/bad.sarif" "$T/broken.sarif"
  "$MT" validate "$T/broken.sarif" >"$T/broken.mt" 2>&1
  sg_check "the Multitool rejects a broken log (so the check above can fail)" \
    bash -c "grep -qE ': error |error' '$T/broken.mt'"
else
  sg_check "SARIF Multitool installed (scripts/deps.sh installs tests/node_modules)" false
fi
sg_check "SARIF result carries rule, level and location" python3 - "$T/bad.sarif" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["runs"][0]["results"][0]
assert d["version"] == "2.1.0" and r["ruleId"] == "SEC002" and r["level"] == "error"
loc = r["locations"][0]["physicalLocation"]
assert loc["artifactLocation"]["uri"] == "settings.py" and loc["region"]["startLine"] == 1
rules = d["runs"][0]["tool"]["driver"]["rules"]
assert rules[r["ruleIndex"]]["id"] == "SEC002"
EOF
# ---- the time budget: an error on one line, exit status 2, from a directory and a tarball
"$BIN" "$T/repo" --timeout 0.0001 >"$T/to.out" 2>"$T/to.err"; rc_to=$?
"$BIN" "$T/repo.tar.gz" --timeout 0.0001 >>"$T/to.out" 2>>"$T/to.err"; rc_to=$rc_to$?
sg_check "--timeout: exit status 2 and one line naming the time budget per run, nothing on stdout" \
  bash -c "test '$rc_to' = 22 && test \$(wc -l <'$T/to.err') = 2 && test \$(grep -c 'time budget' '$T/to.err') = 2 && ! test -s '$T/to.out'"
"$BIN" "$T/repo.tar.gz" --timeout 60 --format json >"$T/to60.json"; rc_60=$?
sg_check "--timeout with time to spare changes nothing" \
  bash -c "test '$rc_60' = 0 && cmp -s '$T/to60.json' '$T/tgz.json'"
"$BIN" "$T/repo" --timeout 0 >/dev/null 2>&1; rc_bad=$?
sg_check "--timeout 0 is refused (exit status 2)" test "$rc_bad" = 2
sg_summary
