#!/usr/bin/env bash
# Why: the new-code gate end to end (DESIGN.md section 9) through the ingress, a worker, PostgreSQL
# and the GitHub simulator, each commit with its own tree (the simulator's DIR/owner/repo@sha):
# a base with an old committed AWS key; a pull request that adds nothing bad passes with no
# annotation on the old finding; one that adds a token fails with exactly one annotation; one that
# fixes a finding counts it; a renamed file keeps its findings (GitHub's compare API); a pull
# request whose base was never analysed costs one extra tarball
# download, stores the base once (trigger 'base', no check run) and the next pull request on that
# base reuses it; that base commit pushed later gets a check run of its own; and with the stored
# findings capped, the counts stay exact. Every check-run body
# is validated against @octokit/openapi.
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
. "$SG_SOURCE_DIR/tests/integration/system_lib.sh"
sg_tmpdir
R="$SG_TMP/repos/$SYS_OWNER"
mkdir -p "$R/$SYS_REPO"
printf 'x = 1\n' >"$R/$SYS_REPO/a.py"
commit() { # SHA FROM_SHA|- : a commit's tree, a copy of another's (or empty) to edit
  mkdir -p "$R/$SYS_REPO@$1"
  [ "$2" = - ] || cp -r "$R/$SYS_REPO@$2/." "$R/$SYS_REPO@$1/"
}
sha() { printf '%s%038x' "$1" 0; }
B0=$(sha b0) H6=$(sha c6) H1=$(sha c1) H2=$(sha c2) H3=$(sha c3) B9=$(sha b9) H4=$(sha c4) H5=$(sha c5) B7=$(sha b7) H7=$(sha c7)
commit "$B0" -
printf 'aws = "AKIAZ4ZJQK3P7WV6LXRM"\n' >"$R/$SYS_REPO@$B0/settings.py"
printf 'def main():\n    return 0  # TODO: exit code\n' >"$R/$SYS_REPO@$B0/main.py"
commit "$H1" "$B0"
printf '# the settings\n\naws = "AKIAZ4ZJQK3P7WV6LXRM"\n' >"$R/$SYS_REPO@$H1/settings.py" # moved only
printf 'def helper():\n    return 1\n' >"$R/$SYS_REPO@$H1/helper.py"
commit "$H2" "$B0"
printf 'TOKEN = "ghp_Qw3rTy7UiOp9AsDfGh2JkLzXcVbNm4Lk8Jh1"\n' >"$R/$SYS_REPO@$H2/token.py"
commit "$H3" "$B0"
printf 'def main():\n    return 0\n' >"$R/$SYS_REPO@$H3/main.py"
commit "$H6" "$B0" # settings.py renamed, nothing else
mkdir -p "$R/$SYS_REPO@$H6/config" && mv "$R/$SYS_REPO@$H6/settings.py" "$R/$SYS_REPO@$H6/config/settings.py"
commit "$B9" "$B0"
printf 'def other():\n    return 2\n' >"$R/$SYS_REPO@$B9/other.py"
commit "$H4" "$B9"
printf 'y = 2\n' >"$R/$SYS_REPO@$H4/y.py"
commit "$H5" "$B9"
printf 'z = 3\n' >"$R/$SYS_REPO@$H5/z.py"
commit "$B7" -
for i in $(seq 1 300); do printf 'v%d = 1 \n' "$i"; done >"$R/$SYS_REPO@$B7/many.py"
commit "$H7" "$B7"
for i in $(seq 1 50); do printf 'w%d = 2 \n' "$i"; done >>"$R/$SYS_REPO@$H7/many.py"

SYS_REPOS="$SG_TMP/repos" sys_start_backends --record "$SG_TMP/record.jsonl"
sys_start_ingress
sys_start_worker g MAX_STORED_FINDINGS=20
SIM="http://127.0.0.1:$GITHUB_SIM_PORT"

run_of() { # SHA -> the check run's JSON (the last one for the commit)
  sys_check_runs | python3 -c "import json,sys; print(json.dumps([c for c in json.load(sys.stdin) if c['head_sha']==sys.argv[1]][-1]))" "$1"
}
completed_runs() { sys_check_runs | python3 -c "import json,sys; print(sum(1 for c in json.load(sys.stdin) if c['head_sha']==sys.argv[1] and c['status']=='completed'))" "$1"; }
wait_run() { SG_WAIT_S=60 sg_wait_for bash -c "[ \"\$(curl -sf $SIM/_sim/check-runs | python3 -c \"import json,sys; print(sum(1 for c in json.load(sys.stdin) if c['head_sha']=='$1' and c['status']=='completed'))\")\" -ge 1 ]"; }
tarballs_of() { curl -sf "$SIM/_sim/requests" | python3 -c "import json,sys; print(sum(1 for q in json.load(sys.stdin) if q.get('method')=='GET' and q.get('path','').startswith('/repos/$SYS_OWNER/$SYS_REPO/tarball/'+sys.argv[1])))" "$1"; }

echo "# the base: an old committed AWS key (first analysis: the overall rule)"
sys_send push "$(sys_push_payload "$B0")" >/dev/null
sg_check "the base's check run completed" wait_run "$B0"
sg_check "without a base the overall rule fails it (error finding)" \
  [ "$(run_of "$B0" | python3 -c "import json,sys; print(json.load(sys.stdin)['conclusion'])")" = failure ]

echo "# a pull request that adds nothing bad"
sys_send pull_request "$(sys_pr_payload opened "$H1" "$B0" 1)" >/dev/null
sg_check "check run completed" wait_run "$H1"
run_of "$H1" >"$SG_TMP/h1.json"
sg_check "success, title without new findings, no annotation on the old key" python3 - "$SG_TMP/h1.json" <<'PY'
import json, re, sys
c = json.load(open(sys.argv[1]))
assert c["conclusion"] == "success", c["conclusion"]
assert re.match(r"Quality \d+\.\d/10 \([+-]\d+\.\d\) · no new findings$", c["output"]["title"]), c["output"]["title"]
assert c["output"]["summary"].startswith("## ✅ Passed"), c["output"]["summary"][:200]
assert "**0 new · 0 fixed · 2 existing**" in c["output"]["summary"], c["output"]["summary"]
assert not c.get("annotations"), c.get("annotations")
PY

echo "# a pull request that adds a token"
sys_send pull_request "$(sys_pr_payload opened "$H2" "$B0" 2)" >/dev/null
sg_check "check run completed" wait_run "$H2"
run_of "$H2" >"$SG_TMP/h2.json"
sg_check "failure, one new finding, exactly one annotation (the token)" python3 - "$SG_TMP/h2.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["conclusion"] == "failure", c["conclusion"]
assert c["output"]["title"].endswith("· 1 new finding"), c["output"]["title"]
assert c["output"]["summary"].startswith("## ❌ Failed\n\n- 1 new finding of severity error or above")
a = c.get("annotations") or []
assert [(x["path"], x["title"].split()[0]) for x in a] == [("token.py", "SEC003")], a
PY
sg_check "the findings rows say which one is new" \
  [ "$(psql -tAc "select string_agg(rule || ':' || is_new, ',' order by rule) from findings f join analyses a on a.id = f.analysis_id and a.created_at = f.analysis_created_at where a.head_sha = '$H2'")" = "MNT001:false,SEC002:false,SEC003:true" ]

echo "# a pull request that fixes a finding"
sys_send pull_request "$(sys_pr_payload opened "$H3" "$B0" 3)" >/dev/null
sg_check "check run completed" wait_run "$H3"
sg_check "fixed 1, new 0, judged against the base's analysis" \
  [ "$(psql -tAc "select a.new_findings || '/' || a.fixed_findings || '/' || (a.base_analysis_id = b.id) from analyses a, analyses b where a.head_sha = '$H3' and b.head_sha = '$B0' and b.status = 'completed'")" = "0/1/true" ]

echo "# a pull request that renames the file with the old key"
sys_send pull_request "$(sys_pr_payload opened "$H6" "$B0" 6)" >/dev/null
sg_check "check run completed" wait_run "$H6"
run_of "$H6" >"$SG_TMP/h6.json"
sg_check "the renamed file's key is not new (GitHub's compare said renamed): success, no annotation" \
  python3 - "$SG_TMP/h6.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["conclusion"] == "success" and c["output"]["title"].endswith("· no new findings"), c["output"]["title"]
assert "**0 new · 0 fixed · 2 existing**" in c["output"]["summary"], c["output"]["summary"][:400]
assert not c.get("annotations"), c.get("annotations")
PY
sg_check "one compare request for it" [ "$(curl -sf "$SIM/_sim/requests" | python3 -c "import json,sys; print(sum(1 for q in json.load(sys.stdin) if q.get('path','').startswith('/repos/$SYS_OWNER/$SYS_REPO/compare/$B0...$H6')))")" = 1 ]

echo "# a pull request whose base was never analysed, then another on the same base"
sys_send pull_request "$(sys_pr_payload opened "$H4" "$B9" 4)" >/dev/null
sg_check "check run completed" wait_run "$H4"
sg_check "one extra tarball download: the base's" [ "$(tarballs_of "$B9")" = 1 ]
sg_check "the base stored once, trigger base, completed, no check run" \
  [ "$(psql -tAc "select count(*) || ':' || min(trigger) || ':' || min(status) || ':' || count(check_run_id) from analyses where head_sha = '$B9'")" = "1:base:completed:0" ]
sg_check "no check run on GitHub for the base commit" \
  [ "$(sys_check_runs | python3 -c "import json,sys; print(sum(1 for c in json.load(sys.stdin) if c['head_sha']=='$B9'))")" = 0 ]
sys_send pull_request "$(sys_pr_payload opened "$H5" "$B9" 5)" >/dev/null
sg_check "check run completed" wait_run "$H5"
sg_check "the next pull request reused the stored base: no second download" [ "$(tarballs_of "$B9")" = 1 ]
sg_check "and one base row" [ "$(psql -tAc "select count(*) from analyses where head_sha = '$B9'")" = 1 ]
sg_check "both judged against it" \
  [ "$(psql -tAc "select count(*) from analyses a join analyses b on b.id = a.base_analysis_id where a.head_sha in ('$H4', '$H5') and b.head_sha = '$B9'")" = 2 ]

echo "# a commit stored only as a base, then pushed: it gets its own check run"
sys_send push "$(sys_push_payload "$B9")" >/dev/null
sg_check "the push's check run completed" wait_run "$B9"
sg_check "exactly one completed check run for it" [ "$(completed_runs "$B9")" = 1 ]
sg_check "its own analysis next to the base row, with the check run's id" \
  [ "$(psql -tAc "select string_agg(trigger || ':' || status || ':' || (check_run_id is not null), ',' order by trigger) from analyses where head_sha = '$B9'")" = "base:completed:false,push:completed:true" ]

echo "# the stored findings capped at 20: counts stay exact"
sys_send pull_request "$(sys_pr_payload opened "$H7" "$B7" 7)" >/dev/null
sg_check "check run completed" wait_run "$H7"
sg_check "50 new of 350 findings, 20 stored, every fingerprint kept" \
  [ "$(psql -tAc "select new_findings || '/' || fixed_findings || '/' || findings_total || '/' || findings_stored || '/' || length(fingerprints) / 8 from analyses where head_sha = '$H7'")" = "50/0/350/20/350" ]
run_of "$H7" >"$SG_TMP/h7.json"
sg_check "the title says 50 new findings" python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['output']['title']; assert t.endswith('· 50 new findings'), t" "$SG_TMP/h7.json"
sg_check "every check-run body matches GitHub's OpenAPI schemas" \
  node "$SG_SOURCE_DIR/tests/integration/github_openapi.mjs" "$SG_TMP/record.jsonl"
sg_summary
