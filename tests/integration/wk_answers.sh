#!/usr/bin/env bash
# Why: a mutating request to GitHub is never doubled when its answer is lost. The simulator applies
# the request, then closes the connection without a byte of the answer (drop_answer). Neither
# libcurl (which silently re-sends a request whose reused connection turns out dead) nor the job's
# own retry may send it again blindly: the create POST is looked up by external_id, the annotations
# already on the check run are counted before more are sent.
# Real Redis, PostgreSQL, the GitHub simulator and singularity-worker.
set -uo pipefail
. "$SG_SOURCE_DIR/tests/integration/wk_lib.sh"
export RETRY_BASE_MS=300

annotations_for() { # SHA -> annotations on its check run(s), in total
  sys_check_runs | python3 -c "import json,sys; print(sum(len(c.get('annotations') or []) for c in json.load(sys.stdin) if c['head_sha']==sys.argv[1]))" "$1"
}
findings_for() { psql -tAc "select findings_stored from analyses where head_sha='$1'"; }
requests() { # METHOD PATH-PART -> how many such requests the simulator saw
  curl -sf "$SIM/_sim/requests" | python3 -c "import json,sys; print(sum(1 for q in json.load(sys.stdin) if q['method']==sys.argv[1] and sys.argv[2] in q['path']))" "$1" "$2"
}

sys_start_worker w1

echo "# 1. the completing PATCH applied, its answer lost"
A1=f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1
fault '{"method":"PATCH","path_prefix":"/repos/acme/widgets/check-runs/","drop_answer":true,"count":1}'
enqueue "$(job $A1)"
sg_check "the job completed" wait_completed $A1 30
sg_check "the analysis row is completed" \
  sg_wait_for bash -c "[ \"\$(psql -tAc \"select status from analyses where head_sha='$A1'\")\" = completed ]"
sg_check "it has findings to annotate" [ "$(findings_for $A1)" -ge 2 ]
sg_check "each annotation is on the check run once ($(annotations_for $A1) for $(findings_for $A1) findings)" \
  [ "$(annotations_for $A1)" = "$(findings_for $A1)" ]
sg_check "the lost answer was a failure the worker saw (not a silent resend)" \
  grep -q '"msg":"job failed; retry scheduled".*"sha":"'$A1'"' "$SG_TMP/worker-w1.log"
sg_check "the retry asked GitHub what the check run holds before sending more" \
  [ "$(requests GET "/check-runs/$(psql -tAc "select check_run_id from analyses where head_sha='$A1'")")" -ge 1 ]
sg_check "one check run" [ "$(runs_for $A1)" = 1 ]

echo "# 2. the creating POST applied, its answer lost"
A2=f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2
fault '{"method":"POST","path_prefix":"/repos/acme/widgets/check-runs","drop_answer":true,"count":1}'
# on a branch of its own: no base, so every finding is annotated (with a base only new ones are)
enqueue "$(job $A2 | sed 's#refs/heads/main#refs/heads/answers-a2#')"
sg_check "the job completed" wait_completed $A2 30
sg_check "one check run, none left in_progress" \
  bash -c "[ \"$(runs_for $A2)\" = 1 ] && [ \"$(completed_for $A2)\" = 1 ]"
sg_check "one create request reached GitHub; the retry found its check run by external_id" \
  bash -c "[ \"$(requests POST /repos/acme/widgets/check-runs)\" -ge 1 ] && grep -q '\"msg\":\"reusing the check run an earlier attempt created\".*$A2' '$SG_TMP/worker-w1.log'"
sg_check "its annotations once" [ "$(annotations_for $A2)" = "$(findings_for $A2)" ]
sg_summary
