#!/usr/bin/env bash
# Why: the product's promise end to end, through the real ingress: a signed webhook in, a completed
# check run with score, summary and annotations out, the history in PostgreSQL; and idempotency:
# push + check_suite requested for one sha give one analysis and one check run, a rerequested
# check_suite (force) gives a new one; a sync job records the installation and its repositories.
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
. "$SG_SOURCE_DIR/tests/integration/system_lib.sh"
sg_tmpdir
sys_start_backends --record "$SG_TMP/github.jsonl"
export LOG_FORMAT=json
sys_start_ingress
sys_start_worker a
sys_start_worker b

SHA1=1111111111111111111111111111111111111111
SHA2=2222222222222222222222222222222222222222
sg_check "push accepted (202)" [ "$(sys_send push "$(sys_push_payload $SHA1)")" = 202 ]
sg_check "check run completed for the push" sys_wait_check_runs 1 60
sg_check "check_suite requested for the same sha accepted" \
  [ "$(sys_send check_suite "$(sys_check_suite_payload requested $SHA1)")" = 202 ]
sg_check "queue drained" sys_wait_idle 30
sg_check "one analysis row for sha1 (reused, not redone)" \
  [ "$(psql -tAc "select count(*) from analyses where head_sha='$SHA1'")" = 1 ]
sg_check "one check run for sha1" \
  [ "$(sys_check_runs | python3 -c "import json,sys; print(sum(1 for c in json.load(sys.stdin) if c['head_sha']=='$SHA1'))")" = 1 ]

run=$(sys_check_runs)
sg_check "check run is named Singularity, completed, conclusion failure (the sample has errors)" python3 -c "
import json,sys; c=json.loads(sys.argv[1])[0]
assert c['name']=='Singularity' and c['status']=='completed' and c['conclusion']=='failure', c" "$run"
sg_check "title begins 'Quality N.N/10'" python3 -c "
import json,re,sys; c=json.loads(sys.argv[1])[0]
assert re.match(r'Quality \d+(\.\d)?/10', c['output']['title']), c['output']['title']" "$run"
sg_check "annotations: the fake AWS key (failure), the merge marker, the long line" python3 -c "
import json,sys; a=json.loads(sys.argv[1])[0]['annotations']
by={(x['title'].split()[0], x['path']): x for x in a}
assert by[('SEC002','src/loader.py')]['annotation_level']=='failure', by
assert by[('SEC002','src/loader.py')]['start_line']==5
assert ('GIT001','scripts/deploy.sh') in by and by[('GIT001','scripts/deploy.sh')]['start_line']==4
assert by[('STY001','src/widgets.c')]['annotation_level']=='warning'
assert any(k[0]=='MNT001' for k in by)
assert by[('SEC002','src/loader.py')]['title'].startswith('SEC002 AWS access key id')" "$run"
sg_check "external_id is the analysis id" python3 -c "
import json,sys; c=json.loads(sys.argv[1])[0]
assert c['external_id']==sys.argv[2], (c['external_id'], sys.argv[2])" "$run" \
  "$(psql -tAc "select id from analyses where head_sha='$SHA1'")"
sg_check "analysis row completed with score, totals, languages, rule_counts, check_run_id" \
  [ "$(psql -tAc "select status='completed' and score is not null and code_lines > 0 and languages @> '[{\"name\":\"C\"}]' and (rule_counts->>'SEC002')::int = 1 and check_run_id is not null and conclusion='failure' from analyses where head_sha='$SHA1'")" = t ]
sg_check "findings rows stored, matching findings_total" \
  [ "$(psql -tAc "select count(*) = max(a.findings_total) from findings f join analyses a on a.id=f.analysis_id where a.head_sha='$SHA1'")" = t ]
sg_check "repository_quality shows the repository's score" \
  [ "$(psql -tAc "select full_name from repository_quality where repository_id=$SYS_REPO_ID")" = "$SYS_OWNER/$SYS_REPO" ]

# A pull request against sha1: a new analysis compared with the base.
sg_check "pull_request opened accepted" [ "$(sys_send pull_request "$(sys_pr_payload opened $SHA2 $SHA1)")" = 202 ]
sg_check "second check run completed" sys_wait_check_runs 2 60
sg_check "the PR's summary compares with the base commit" bash -c "
  curl -sf http://127.0.0.1:$GITHUB_SIM_PORT/_sim/check-runs | python3 -c \"
import json,sys
c=[c for c in json.load(sys.stdin) if c['head_sha']=='$SHA2'][0]
assert '${SHA1:0:7}' in c['output']['summary'], c['output']['summary']\""

# Rerequested: forced, a new analysis and a new check run for sha1.
sg_check "check_suite rerequested accepted" \
  [ "$(sys_send check_suite "$(sys_check_suite_payload rerequested $SHA1)")" = 202 ]
sg_check "third check run completed" sys_wait_check_runs 3 60
sg_check "sha1 now has two completed analyses" \
  [ "$(psql -tAc "select count(*) from analyses where head_sha='$SHA1' and status='completed'")" = 2 ]
sg_check "repository_quality trend is computed against the previous analysis" \
  [ "$(psql -tAc "select previous_score is not null and trend is not null from repository_quality where repository_id=$SYS_REPO_ID")" = t ]

# A later push on main whose `before` was never analysed: the before commit is its base (DESIGN.md
# section 9), analysed in the same job (trigger base, no check run of its own) and compared with.
SHA3=3333333333333333333333333333333333333333
sg_check "push of sha3 accepted" [ "$(sys_send push "$(sys_push_payload $SHA3 4444444444444444444444444444444444444444)")" = 202 ]
sg_check "fourth check run completed" sys_wait_check_runs 4 60
sg_check "sha3's summary compares with its before commit, analysed in the same job" bash -c "
  curl -sf http://127.0.0.1:$GITHUB_SIM_PORT/_sim/check-runs | python3 -c \"
import json,sys
c=[c for c in json.load(sys.stdin) if c['head_sha']=='$SHA3'][0]
assert '4444444' in c['output']['summary'], c['output']['summary']
assert c['output']['title'].endswith('· no new findings'), c['output']['title']\""
sg_check "the before commit stored as a base analysis, without a check run" \
  [ "$(psql -tAc "select trigger || ':' || status || ':' || (check_run_id is null) from analyses where head_sha = '4444444444444444444444444444444444444444'")" = "base:completed:true" ]

# sync: installation created -> installation and repositories recorded.
sg_check "installation created accepted" [ "$(sys_send installation "$(sys_installation_payload created)")" = 202 ]
sg_check "sync recorded the installation and its repository" bash -c "
  SG_WAIT_S=30; . '$SG_SOURCE_DIR/tests/lib/servers.sh'
  sg_wait_for bash -c \"[ \\\"\\\$(psql -tAc 'select count(*) from installations i join repositories r on r.installation_id=i.id where i.id=$SYS_INSTALLATION and i.synced_at is not null and r.removed_at is null')\\\" -ge 1 ]\""
# installation_repositories removed: the sync job re-lists what the installation sees, so a
# repository it no longer sees (99001, recorded earlier, absent from GitHub's list) is marked removed
# and the one it still sees stays.
psql -qc "insert into repositories (id, installation_id, full_name) values (99001, $SYS_INSTALLATION, '$SYS_OWNER/gone')"
sg_check "installation_repositories removed accepted" \
  [ "$(sys_send installation_repositories "$(sys_installation_payload removed)")" = 202 ]
repo_removed() { [ "$(psql -tAc "select removed_at is not null from repositories where id=$1")" = t ]; }
repo_kept() { [ "$(psql -tAc "select removed_at is null from repositories where id=$1")" = t ]; }
wait_repo_removed() { SG_WAIT_S=30 sg_wait_for repo_removed "$1"; }
sg_check "sync marks the repository the installation no longer sees as removed" wait_repo_removed 99001
sg_check "and keeps the repository it still sees" repo_kept "$SYS_REPO_ID"
sg_check "installation deleted is recorded" bash -c "
  [ \"\$(WEBHOOK_SECRET=$WEBHOOK_SECRET INGRESS_PORT=$INGRESS_PORT; . '$SG_SOURCE_DIR/tests/integration/system_lib.sh'; sys_send installation \"\$(sys_installation_payload deleted)\")\" = 202 ] &&
  SG_WAIT_S=30 && . '$SG_SOURCE_DIR/tests/lib/servers.sh' &&
  sg_wait_for bash -c \"[ \\\"\\\$(psql -tAc 'select deleted_at is not null from installations where id=$SYS_INSTALLATION')\\\" = t ]\""

# redeliver: deliveries whose every attempt failed are redelivered once; successful ones are not.
now_s=$(date +%s)
curl -sf -X POST "http://127.0.0.1:$GITHUB_SIM_PORT/_sim/deliveries" -H 'Content-Type: application/json' -d "[
 {\"id\":501,\"guid\":\"g-failed\",\"status_code\":503,\"delivered_at\":$((now_s-600)),\"event\":\"push\",\"action\":null,\"redelivery\":false},
 {\"id\":502,\"guid\":\"g-ok\",\"status_code\":202,\"delivered_at\":$((now_s-500)),\"event\":\"push\",\"action\":null,\"redelivery\":false},
 {\"id\":503,\"guid\":\"g-old\",\"status_code\":503,\"delivered_at\":$((now_s-90000)),\"event\":\"push\",\"action\":null,\"redelivery\":false}]" >/dev/null
out=$(REDIS_URL=$REDIS_URL DATABASE_URL=$DATABASE_URL "$(sys_bin worker)" redeliver --since 1h 2>&1)
sg_check "redeliver --since 1h redelivers exactly the failed recent delivery" bash -c "
  grep -q '1 redelivered' <<<'$out' && python3 -c \"
import json, re
paths = [json.loads(l)['path'] for l in open('$SG_TMP/github.jsonl') if l.strip()]
att = [p for p in paths if re.match(r'^/app/hook/deliveries/[0-9]+/attempts$', p)]
assert att == ['/app/hook/deliveries/501/attempts'], att\""
sg_check "redeliver without --since is a usage error" bash -c "'$(sys_bin worker)' redeliver >/dev/null 2>&1; [ \$? = 2 ]"

m=$(curl -sf "http://127.0.0.1:$WORKER_METRICS_a/metrics"; curl -sf "http://127.0.0.1:$WORKER_METRICS_b/metrics")
sg_check "worker metrics count completed and reused jobs" bash -c "
  grep -q 'singularity_worker_jobs_total{kind=\"analyze\",outcome=\"completed\"}' <<<'$m' &&
  grep -q 'singularity_worker_jobs_total{kind=\"analyze\",outcome=\"reused\"}' <<<'$m' &&
  grep -q '^analysis_queue_length 0' <<<'$m' && grep -q '^singularity_github_requests_total{code=\"201\"}' <<<'$m'"
sg_check "logs carry job context" grep -q '"msg":"job done".*"delivery":.*"repo":"acme/widgets".*"sha":.*"dur_ms"' "$SG_TMP/worker-a.log" "$SG_TMP/worker-b.log"
sg_summary
