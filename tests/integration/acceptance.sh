#!/usr/bin/env bash
# Why: a black-box acceptance suite written from DESIGN.md alone, the way the independent
# acceptance tests are built: GitHub's own webhook examples (@octokit/webhooks-examples) signed
# with GitHub's reference code (@octokit/webhooks-methods), check-run requests validated against
# GitHub's OpenAPI description (@octokit/openapi). Expected answers, job lines, conclusions and
# annotation levels are computed here from the contract, never read from the product's code.
# A check that fails here is a contract discrepancy, not a test to relax.
#
#   1. ingress + redis-server: every example (JSON and form format), duplicates, routing variants,
#      error order 413 > 400 > 401 > 415 > 400, 404/405, /healthz /readyz /metrics,
#      503 + Retry-After (Redis stopped, backpressure), 429 after SIGNATURE_FAILURE_LIMIT
#   2. ingress + worker + GitHub simulator + PostgreSQL: check runs, annotations, rows, idempotency
#   3. singularity-analyze: --format json keys, exit status 0/1/2
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
sg_tmpdir
START_S=$(date +%s)
HERE=$SG_SOURCE_DIR/tests/integration
INGRESS=$SG_BUILD_DIR/ingress/singularity-ingress
WORKER=$SG_BUILD_DIR/worker/singularity-worker
ANALYZE=$SG_BUILD_DIR/worker/analysis/singularity-analyze
SIM=$SG_BUILD_DIR/tests/github-sim/singularity-github-sim
export WEBHOOK_SECRET="acceptance secret \$ with spaces"

[ -d "$SG_SOURCE_DIR/tests/node_modules/@octokit/webhooks-examples" ] ||
  sg_fail "npm packages missing: run scripts/deps.sh"

# term_wait PID SECONDS: SIGTERM, then the exit status, or 124 (and SIGKILL) if still running after SECONDS.
term_wait() {
  local pid=$1 limit=$2 i
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid"; return $?; }
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  return 124
}

# Runs the Node half and adds its counts to ours.
run_node() {
  local out rc line
  out=$(node "$HERE/acceptance.mjs" "$@" 2>&1); rc=$?
  printf '%s\n' "$out" | grep -v '^RESULT '
  line=$(printf '%s\n' "$out" | grep '^RESULT ' | tail -1)
  if [ -z "$line" ]; then
    echo "not ok - acceptance.mjs $1 crashed (exit $rc)"
    SG_FAILED=$((SG_FAILED+1)); return
  fi
  set -- $line
  SG_PASSED=$((SG_PASSED+$2)); SG_FAILED=$((SG_FAILED+$3))
}

# start_ingress NAME [VAR=value ...]: sets INGRESS_PORT_<NAME>, INGRESS_PID_<NAME>
start_ingress() {
  local name=$1 port pid; shift
  port=$(sg_free_port)
  env HOST=127.0.0.1 PORT="$port" REDIS_URL="$REDIS_URL" WEBHOOK_SECRET="$WEBHOOK_SECRET" "$@" \
    "$INGRESS" >"$SG_TMP/ingress-$name.log" 2>&1 &
  pid=$!
  sg_track $pid
  printf -v "INGRESS_PORT_$name" '%s' "$port"
  printf -v "INGRESS_PID_$name" '%s' "$pid"
  sg_wait_for curl -sf "http://127.0.0.1:$port/healthz" ||
    sg_fail "ingress $name did not start: $(tail -5 "$SG_TMP/ingress-$name.log")"
}

# post PORT EVENT BODY [DELIVERY] [SECRET]: signed JSON delivery; prints "STATUS<TAB>HEADERS-FILE<TAB>BODY".
# GitHub never sends one body under two delivery ids, and the ingress answers such a replay
# "duplicate"; so a JSON object body gets a field naming the delivery id (routing ignores it) and
# a redelivery (same id) sends the same bytes. POST_EXACT=1 sends the body as given (sizes at a limit).
post() {
  local port=$1 event=$2 body=$3 delivery=${4:-$(cat /proc/sys/kernel/random/uuid)} secret=${5:-$WEBHOOK_SECRET} sig hf
  if [ "${POST_EXACT:-0}" != 1 ] && [ "${body:0:1}" = "{" ]; then
    body="{\"acceptance_delivery\":\"$delivery\",${body:1}"
  fi
  sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
  hf=$(mktemp "$SG_TMP/h.XXXXXX")
  local out
  out=$(curl -s -m 20 -D "$hf" -w '\n%{http_code}' -X POST "http://127.0.0.1:$port/webhooks/github" \
    -H 'Content-Type: application/json' -H "X-GitHub-Event: $event" -H "X-GitHub-Delivery: $delivery" \
    -H "X-Hub-Signature-256: sha256=$sig" --data-binary "$body")
  printf '%s\t%s\t%s\n' "$(tail -1 <<<"$out")" "$hf" "$(sed '$d' <<<"$out")"
}
status_of() { cut -f1 <<<"$1"; }
body_of() { cut -f3- <<<"$1"; }
header_of() { grep -i "^$2:" "$(cut -f2 <<<"$1")" | head -1 | cut -d: -f2- | tr -d ' \r'; }
json_get() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(eval("v"+sys.argv[2]))' "$1" "$2" 2>/dev/null; }
err_with_retry() { is_err_json "$1" "$2" && [ -n "$(header_of "$1" Retry-After)" ]; }
is_err_json() { # is_err_json RESPONSE STATUS: status code, JSON body with status and error
  [ "$(status_of "$1")" = "$2" ] && python3 -c '
import json,sys; j=json.loads(sys.argv[1]); assert isinstance(j.get("status"),str) and isinstance(j.get("error"),str) and j["error"]' "$(body_of "$1")" 2>/dev/null
}

# ------------------------------------------------------------------------------------------------
echo "# 1. ingress against redis-server"
sg_start_redis
start_ingress main
INGRESS_URL=http://127.0.0.1:$INGRESS_PORT_main REDIS_PORT=$REDIS_PORT run_node ingress

# Configuration (section 7): bad configuration stops the process at start with one line naming
# the variable; *_FILE with one trailing newline removed; WEBHOOK_PATH.
cfg_fails() { # cfg_fails VARIABLE ENV...: non-zero exit, one line naming VARIABLE
  local var=$1 out rc; shift
  out=$(env -i PATH="$PATH" "$@" timeout 5 "$INGRESS" 2>&1); rc=$?
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$(printf '%s\n' "$out" | grep -c .)" = 1 ] && grep -q "$var" <<<"$out" || { echo "rc=$rc out=$out"; return 1; }
}
sg_check "ingress without WEBHOOK_SECRET: stops with one line naming WEBHOOK_SECRET" cfg_fails WEBHOOK_SECRET PORT=0
sg_check "ingress with PORT=notaport: stops naming PORT" cfg_fails PORT WEBHOOK_SECRET=x PORT=notaport
sg_check "ingress with MAX_BODY_BYTES=abc: stops naming MAX_BODY_BYTES" cfg_fails MAX_BODY_BYTES WEBHOOK_SECRET=x PORT=0 MAX_BODY_BYTES=abc
sg_check "ingress with SIGNATURE_FAILURE_LIMIT=-3: stops naming it" cfg_fails SIGNATURE_FAILURE_LIMIT WEBHOOK_SECRET=x PORT=0 SIGNATURE_FAILURE_LIMIT=-3
sg_check "ingress with WEBHOOK_SECRET_FILE missing: stops naming WEBHOOK_SECRET_FILE" cfg_fails WEBHOOK_SECRET_FILE PORT=0 WEBHOOK_SECRET_FILE=$SG_TMP/none
# "Probot's names where Probot has one, so an existing Probot .env works": Probot documents
# LOG_LEVEL as trace, debug, info, warn, error or fatal. A process that starts stays up (timeout's 124).
for lvl in trace fatal; do
  env -i PATH="$PATH" WEBHOOK_SECRET=x HOST=127.0.0.1 PORT=0 REDIS_URL="$REDIS_URL" LOG_LEVEL=$lvl timeout 2 "$INGRESS" >"$SG_TMP/lvl.out" 2>&1
  trc=$?
  sg_check "ingress starts with a Probot .env's LOG_LEVEL=$lvl (got: $(head -c 150 "$SG_TMP/lvl.out" | head -1))" [ "$trc" = 124 ]
done
printf 'file-secret\n' >"$SG_TMP/secret"
start_ingress file WEBHOOK_SECRET= WEBHOOK_SECRET_FILE="$SG_TMP/secret" WEBHOOK_PATH=/hooks/gh
PUSH0='{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":"3333333333333333333333333333333333333333","deleted":false,"repository":{"id":4242,"full_name":"acme/widgets"},"installation":{"id":42}}'
fsig=$(printf '%s' "$PUSH0" | openssl dgst -sha256 -hmac file-secret -r | cut -d' ' -f1)
sg_check "WEBHOOK_SECRET_FILE (one trailing newline removed) + WEBHOOK_PATH=/hooks/gh: signed delivery -> 202" \
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$INGRESS_PORT_file/hooks/gh" -H 'Content-Type: application/json' \
       -H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: file-1' -H "X-Hub-Signature-256: sha256=$fsig" --data-binary "$PUSH0")" = 202 ]
sg_check "WEBHOOK_PATH=/hooks/gh: POST /webhooks/github is 404" \
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$INGRESS_PORT_file/webhooks/github" -H 'Content-Type: application/json' \
       -H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: file-2' -H "X-Hub-Signature-256: sha256=$fsig" --data-binary "$PUSH0")" = 404 ]
kill "$INGRESS_PID_file" 2>/dev/null
redis-cli -p "$REDIS_PORT" del analysis_queue >/dev/null

# Logs (section 7, LOG_FORMAT json default): one JSON object per line with ts, level, msg; never
# the secret, never the payload (the examples' bodies went through the main ingress above).
sg_check "ingress log: every line a JSON object with ts, level, msg" python3 -c '
import json,sys
n=0
for l in open(sys.argv[1]):
    j=json.loads(l); assert all(k in j for k in ("ts","level","msg")), l; n+=1
assert n > 0' "$SG_TMP/ingress-main.log"
sg_check "ingress log: never the webhook secret" bash -c "! grep -qF '$WEBHOOK_SECRET' '$SG_TMP/ingress-main.log'"
sg_check "ingress log: never payload content (no commit message or sender of the examples)" \
  bash -c "! grep -qE 'Codertocat/Hello-World.git|\"avatar_url\"|\"head_commit\"' '$SG_TMP/ingress-main.log'"

# Backpressure and the body cap on a second ingress with small limits (DESIGN.md section 2, 1 and 7).
start_ingress small QUEUE_HIGH_WATERMARK=3 MAX_BODY_BYTES=2048 DEDUPE_TTL_S=1
redis-cli -p "$REDIS_PORT" del analysis_queue >/dev/null
redis-cli -p "$REDIS_PORT" lpush analysis_queue j1 j2 >/dev/null
PUSH='{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":"1111111111111111111111111111111111111111","deleted":false,"repository":{"id":4242,"full_name":"acme/widgets","name":"widgets","owner":{"login":"acme"}},"installation":{"id":42},"sender":{"login":"octocat"}}'
r=$(post "$INGRESS_PORT_small" push "$PUSH")
sg_check "backpressure: queue at 2 < QUEUE_HIGH_WATERMARK=3 -> 202" [ "$(status_of "$r")" = 202 ]
D_BP=bp-$RANDOM$RANDOM
r=$(post "$INGRESS_PORT_small" push "$PUSH" "$D_BP")
sg_check "backpressure: queue at 3 = QUEUE_HIGH_WATERMARK -> 503 JSON error" is_err_json "$r" 503
sg_check "backpressure 503 carries Retry-After" [ -n "$(header_of "$r" Retry-After)" ]
sg_check "backpressure: the refused delivery was not remembered (no dedupe marker)" \
  [ "$(redis-cli -p "$REDIS_PORT" exists "webhook:delivery:$D_BP")" = 0 ]
redis-cli -p "$REDIS_PORT" del analysis_queue >/dev/null
r=$(post "$INGRESS_PORT_small" push "$PUSH" "$D_BP")
sg_check "backpressure: the refused delivery is queued when resent after the queue drained (202)" \
  [ "$(status_of "$r")" = 202 ]
big=$(python3 -c 'print("{\"a\":\"" + "x"*2041 + "\"}", end="")')   # 2049 bytes
sg_check "MAX_BODY_BYTES=2048: a 2049-byte body with no headers/signature and text/plain -> 413" bash -c "
  code=\$(curl -s -o '$SG_TMP/b413' -w '%{http_code}' -X POST http://127.0.0.1:$INGRESS_PORT_small/webhooks/github -H 'Content-Type: text/plain' --data-binary '$big')
  [ \"\$code\" = 413 ] && python3 -c 'import json; j=json.load(open(\"$SG_TMP/b413\")); assert j[\"status\"] and j[\"error\"]'"
redis-cli -p "$REDIS_PORT" del analysis_queue >/dev/null
D_TTL=ttl-$RANDOM$RANDOM
r=$(post "$INGRESS_PORT_small" push "$PUSH" "$D_TTL")
pttl=$(redis-cli -p "$REDIS_PORT" pttl "webhook:delivery:$D_TTL")
sg_check "DEDUPE_TTL_S=1: the dedupe marker expires within 1 s (PTTL $pttl ms)" bash -c "[ '$(status_of "$r")' = 202 ] && [ $pttl -gt 0 ] && [ $pttl -le 1000 ]"
sleep 1.2
redis-cli -p "$REDIS_PORT" del analysis_queue >/dev/null
r=$(post "$INGRESS_PORT_small" push "$PUSH" "$D_TTL")
sg_check "DEDUPE_TTL_S=1: the same delivery after the TTL is queued again (202)" [ "$(status_of "$r")" = 202 ]
redis-cli -p "$REDIS_PORT" del analysis_queue >/dev/null
at=$(python3 -c 'print("{\"a\":\"" + "x"*2040 + "\"}", end="")')  # 2048 bytes
r=$(POST_EXACT=1 post "$INGRESS_PORT_small" star "$at")
sg_check "MAX_BODY_BYTES=2048: a signed 2048-byte body is accepted (200 ignored)" [ "$(status_of "$r")" = 200 ]
kill "$INGRESS_PID_small" 2>/dev/null

# Redis answering an error (OOM) -> 503 + Retry-After, not remembered; then accepted.
redis-cli -p "$REDIS_PORT" config set maxmemory-policy noeviction >/dev/null
redis-cli -p "$REDIS_PORT" config set maxmemory 1 >/dev/null
D_OOM=oom-$RANDOM$RANDOM
r=$(post "$INGRESS_PORT_main" push "$PUSH" "$D_OOM")
redis-cli -p "$REDIS_PORT" config set maxmemory 0 >/dev/null
sg_check "Redis answering an error (OOM): 503 JSON error with Retry-After" err_with_retry "$r" 503
sg_check "Redis answering an error: the delivery is not remembered" [ "$(redis-cli -p "$REDIS_PORT" exists "webhook:delivery:$D_OOM")" = 0 ]
r=$(post "$INGRESS_PORT_main" push "$PUSH" "$D_OOM")
sg_check "Redis answering an error: the same delivery is queued once Redis accepts writes (202)" [ "$(status_of "$r")" = 202 ]
# Redis hung (SIGSTOP): unreachable in practice -> 503 + Retry-After in bounded time.
redis-cli -p "$REDIS_PORT" del analysis_queue >/dev/null
kill -STOP "$SG_REDIS_PID"
t0=$(date +%s%N)
r=$(post "$INGRESS_PORT_main" push "$PUSH" "hung-$RANDOM$RANDOM")
t1=$(date +%s%N)
kill -CONT "$SG_REDIS_PID"
sg_check "Redis hung: 503 with Retry-After (got $(status_of "$r") after $(( (t1-t0)/1000000 )) ms)" \
  bash -c "[ '$(status_of "$r")' = 503 ] && [ -n '$(header_of "$r" Retry-After)' ] && [ $(( (t1-t0)/1000000 )) -lt 10000 ]"
sg_wait_for curl -sf "http://127.0.0.1:$INGRESS_PORT_main/readyz"
redis-cli -p "$REDIS_PORT" del analysis_queue >/dev/null

# Redis stopped -> 503 + Retry-After, /readyz 503, /healthz 200; the refused delivery is not
# remembered, so its redelivery is queued once Redis is back.
redis-cli -p "$REDIS_PORT" flushall >/dev/null
sg_stop_redis
D_DOWN=down-$RANDOM$RANDOM
t0=$(date +%s%N)
r=$(post "$INGRESS_PORT_main" push "$PUSH" "$D_DOWN")
t1=$(date +%s%N)
sg_check "Redis stopped: webhook -> 503 JSON error" is_err_json "$r" 503
sg_check "Redis stopped: 503 carries Retry-After (integer seconds)" bash -c "[[ '$(header_of "$r" Retry-After)' =~ ^[0-9]+$ ]]"
sg_check "Redis stopped: answered within 5 s ($(( (t1-t0)/1000000 )) ms)" [ $(( (t1-t0)/1000000 )) -lt 5000 ]
sg_check "Redis stopped: /readyz -> 503" sg_wait_for bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$INGRESS_PORT_main/readyz)\" = 503 ]"
sg_check "Redis stopped: /readyz body is JSON with status" bash -c "curl -s http://127.0.0.1:$INGRESS_PORT_main/readyz | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"status\"]'"
sg_check "Redis stopped: /healthz still 200" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$INGRESS_PORT_main/healthz")" = 200 ]
sg_start_redis
sg_check "Redis back: /readyz -> 200" sg_wait_for curl -sf "http://127.0.0.1:$INGRESS_PORT_main/readyz"
ok=0
for _ in $(seq 30); do
  r=$(post "$INGRESS_PORT_main" push "$PUSH" "$D_DOWN")
  [ "$(status_of "$r")" = 503 ] && { sleep 0.2; continue; }
  break
done
sg_check "Redis back: the delivery refused with 503 is queued when redelivered (202, not 'duplicate')" \
  [ "$(status_of "$r")" = 202 ]
sg_check "Redis back: exactly one job for it on analysis_queue" \
  [ "$(redis-cli -p "$REDIS_PORT" lrange analysis_queue 0 -1 | grep -c "$D_DOWN")" = 1 ]
redis-cli -p "$REDIS_PORT" flushall >/dev/null

# ------------------------------------------------------------------------------------------------
echo "# 2. ingress + worker + GitHub simulator + PostgreSQL"
if [ -x "$WORKER" ] && [ -x "$SIM" ]; then
  REPOS=$SG_TMP/repos
  # octo/dirty: one finding of each kind at known places, 120 trailing-space lines (> 2 batches of 50).
  mkdir -p "$REPOS/octo/dirty/src" "$REPOS/octo/dirty/scripts" "$REPOS/octo/clean/src" "$REPOS/octo/warn/src"
  printf 'import os\n\n# TODO: rotate this\nKEY = "AKIAZ4ZJQK3P7WV6LXRM"\nprint(KEY, os.name)\n' >"$REPOS/octo/dirty/src/aws.py"
  for i in $(seq 1 120); do printf 'int v%d = %d;   \n' "$i" "$i"; done >"$REPOS/octo/dirty/src/trail.c"
  printf '#!/bin/sh\necho a\n<<<<<<< HEAD\necho b\n=======\necho c\n>>>>>>> topic\n' >"$REPOS/octo/dirty/scripts/merge.sh"
  # octo/clean: plain code, one MNT001 notice (success with an annotation).
  printf '#include <stdio.h>\n\n/* TODO: say more */\nint main(void) {\n  puts("hello");\n  return 0;\n}\n' >"$REPOS/octo/clean/src/main.c"
  # octo/warn: only warnings (no error), many of them in few lines: the score decides.
  { echo 'int a = 1;'; for i in $(seq 1 30); do printf 'int w%d = %s1;\n' "$i" "$(printf '0%.0s' $(seq 1 130))"; done; } >"$REPOS/octo/warn/src/long.c"

  sg_start_postgres
  sg_start_github_sim --repos "$REPOS" --installation "7=octo/dirty,octo/clean,octo/warn,octo/gone" --record "$SG_TMP/github.jsonl"
  "$WORKER" migrate >"$SG_TMP/migrate.log" 2>&1
  sg_check "singularity-worker migrate exits 0" [ $? = 0 ]
  WPORT=$(sg_free_port)
  env REDIS_URL="$REDIS_URL" DATABASE_URL="$DATABASE_URL" GITHUB_API_URL="$GITHUB_API_URL" APP_ID="$APP_ID" \
    PRIVATE_KEY_PATH="$PRIVATE_KEY_PATH" METRICS_HOST=127.0.0.1 METRICS_PORT="$WPORT" GITHUB_PACE_MS=20 RETRY_BASE_MS=300 \
    "$WORKER" >"$SG_TMP/worker.log" 2>&1 &
  WORKER_PID=$!; sg_track $WORKER_PID
  sg_check "worker /healthz -> 200" sg_wait_for curl -sf "http://127.0.0.1:$WPORT/healthz"

  repo_json() { printf '{"id":%s,"node_id":"R_%s","name":"%s","full_name":"octo/%s","private":false,"owner":{"login":"octo","id":1,"type":"Organization"},"default_branch":"main"}' "$2" "$2" "$1" "$1"; }
  push_json() { # REPO ID SHA [BEFORE]
    printf '{"ref":"refs/heads/main","before":"%s","after":"%s","created":false,"deleted":false,"forced":false,"commits":[],"head_commit":null,"repository":%s,"installation":{"id":7,"node_id":"I_7"},"sender":{"login":"octocat","id":1}}' \
      "${4:-0000000000000000000000000000000000000000}" "$3" "$(repo_json "$1" "$2")"; }
  runs() { curl -sf "http://127.0.0.1:$GITHUB_SIM_PORT/_sim/check-runs"; }
  runs_for() { runs | python3 -c 'import json,sys; print(json.dumps([c for c in json.load(sys.stdin) if c["head_sha"]==sys.argv[1]]))' "$1"; }
  completed_for() { runs_for "$1" | python3 -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin) if c.get("status")=="completed"))'; }
  wait_completed() { SG_WAIT_S=${3:-60} sg_wait_for bash -c "[ \"\$(curl -sf http://127.0.0.1:$GITHUB_SIM_PORT/_sim/check-runs | python3 -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin) if c[\"head_sha\"]==sys.argv[1] and c.get(\"status\")==\"completed\"))' $1)\" -ge $2 ]"; }
  idle() { [ "$(redis-cli -p "$REDIS_PORT" llen analysis_queue)" = 0 ] && [ "$(redis-cli -p "$REDIS_PORT" zcard analysis_queue:delayed)" = 0 ] &&
    [ -z "$(redis-cli -p "$REDIS_PORT" --scan --pattern 'analysis_queue:processing:*' | while read -r k; do [ "$(redis-cli -p "$REDIS_PORT" llen "$k")" = 0 ] || echo busy; done)" ]; }
  psqlv() { psql -tAqc "$1" 2>&1; }

  D1=d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1
  C1=c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1
  W1=e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1
  r=$(post "$INGRESS_PORT_main" push "$(push_json dirty 9001 $D1)")
  sg_check "push (octo/dirty) through the ingress -> 202" [ "$(status_of "$r")" = 202 ]
  post "$INGRESS_PORT_main" push "$(push_json clean 9002 $C1)" >/dev/null
  post "$INGRESS_PORT_main" push "$(push_json warn 9003 $W1)" >/dev/null
  sg_check "a completed check run for the dirty push" wait_completed $D1 1 90
  sg_check "a completed check run for the clean push" wait_completed $C1 1 60
  sg_check "a completed check run for the warnings-only push" wait_completed $W1 1 60

  # Expected analysis from DESIGN.md section 5's table (severity per rule) and section 4's mapping.
  cat >"$SG_TMP/checkrun.py" <<'PY'
import json, re, sys
SEV = {"SEC001": "error", "SEC002": "error", "SEC003": "error", "GIT001": "error", "STY001": "warning",
       "STY002": "notice", "STY003": "notice", "STY004": "notice", "MNT001": "notice", "CPX001": "warning",
       "SIZ001": "warning", "BIN001": "warning"}
LEVEL = {"error": "failure", "warning": "warning", "notice": "notice"}
runs, what = json.loads(sys.argv[1]), sys.argv[2]
c = runs[0]
out = c.get("output") or {}
anns = c.get("annotations") or []
def fail(msg):
    print(msg); sys.exit(1)
m = re.match(r"^Quality (\d+\.\d)/10", out.get("title") or "")
if what == "name":
    len(runs) == 1 or fail("%d check runs" % len(runs))
    c["name"] == "Singularity" or fail("name %r" % c["name"])
    c["status"] == "completed" or fail("status %r" % c["status"])
elif what == "title":
    m or fail("title %r does not begin 'Quality N.N/10'" % out.get("title"))
elif what == "score":
    print(m.group(1) if m else "none")
elif what == "conclusion":
    score = float(m.group(1))
    has_error = any(SEV.get((a.get("title") or "").split(" ")[0]) == "error" for a in anns)
    want = "success" if score >= float(sys.argv[3]) and not has_error else "failure"
    c["conclusion"] == want or fail("conclusion %r, expected %r (score %s, error finding %s)" % (c["conclusion"], want, score, has_error))
elif what == "titles":
    bad = [a.get("title") for a in anns if not re.match(r"^[A-Z]{3}\d{3} \S.*", a.get("title") or "") or (a.get("title") or "").split(" ")[0] not in SEV]
    not bad or fail("titles not 'RULEID Rule name': %r" % bad[:5])
elif what == "levels":
    bad = [(a.get("title"), a.get("annotation_level")) for a in anns if LEVEL[SEV[a["title"].split(" ")[0]]] != a.get("annotation_level")]
    not bad or fail("levels against the rule's severity: %r" % bad[:5])
elif what == "expect":  # expect RULE PATH LINE [EXACT-TITLE]
    rule, path, line = sys.argv[3], sys.argv[4], int(sys.argv[5])
    hits = [a for a in anns if a["title"].split(" ")[0] == rule and a.get("path") == path and a.get("start_line") == line]
    hits or fail("no %s annotation at %s:%d; have %r" % (rule, path, line, sorted({(a['title'], a.get('path'), a.get('start_line')) for a in anns if a['title'].startswith(rule)})[:6]))
    if len(sys.argv) > 6:
        hits[0]["title"] == sys.argv[6] or fail("title %r, expected %r" % (hits[0]["title"], sys.argv[6]))
elif what == "count":  # count RULE N
    n = sum(1 for a in anns if a["title"].split(" ")[0] == sys.argv[3])
    n == int(sys.argv[4]) or fail("%d %s annotations, expected %s" % (n, sys.argv[3], sys.argv[4]))
elif what == "total":
    print(len(anns))
elif what == "summary":
    s = out.get("summary") or ""
    all(w in s for w in sys.argv[3:]) or fail("summary lacks %r: %s" % ([w for w in sys.argv[3:] if w not in s], s[:300]))
PY
  cr() { python3 "$SG_TMP/checkrun.py" "$@"; }
  RD=$(runs_for $D1); RC=$(runs_for $C1); RW=$(runs_for $W1)
  sg_check "dirty: one check run, named Singularity, completed" cr "$RD" name
  sg_check "dirty: title begins 'Quality N.N/10'" cr "$RD" title
  sg_check "dirty: conclusion per section 4 (error findings -> failure)" cr "$RD" conclusion 7.0
  sg_check "dirty: conclusion is failure (it has SEC002/GIT001 errors)" python3 -c 'import json,sys; assert json.loads(sys.argv[1])[0]["conclusion"]=="failure"' "$RD"
  sg_check "dirty: every annotation titled 'RULEID Rule name' with a known rule id" cr "$RD" titles
  sg_check "dirty: annotation levels failure/warning/notice per rule severity" cr "$RD" levels
  sg_check "dirty: SEC002 at src/aws.py:4 titled exactly 'SEC002 AWS access key id'" cr "$RD" expect SEC002 src/aws.py 4 "SEC002 AWS access key id"
  sg_check "dirty: GIT001 at scripts/merge.sh:3 (the <<<<<<< line)" cr "$RD" expect GIT001 scripts/merge.sh 3
  sg_check "dirty: MNT001 at src/aws.py:3" cr "$RD" expect MNT001 src/aws.py 3
  sg_check "dirty: 120 STY002 annotations for src/trail.c (more than two batches of 50)" cr "$RD" count STY002 120
  sg_check "dirty: summary mentions the language table and rules (Python, C, SEC002, GIT001)" cr "$RD" summary Python SEC002 GIT001
  sg_check "clean: one check run, named Singularity, completed" cr "$RC" name
  sg_check "clean: title begins 'Quality N.N/10'" cr "$RC" title
  sg_check "clean: conclusion per section 4 (success: score >= 7.0, no error)" cr "$RC" conclusion 7.0
  sg_check "clean: conclusion is success" python3 -c 'import json,sys; assert json.loads(sys.argv[1])[0]["conclusion"]=="success"' "$RC"
  sg_check "clean: MNT001 notice at src/main.c:3" cr "$RC" expect MNT001 src/main.c 3
  sg_check "warn: title begins 'Quality N.N/10'" cr "$RW" title
  sg_check "warn: conclusion per section 4 (no error, the score decides)" cr "$RW" conclusion 7.0
  sg_check "warn: 30 STY001 warnings" cr "$RW" count STY001 30

  # Same analysis as the command-line tool on the same tree (section 5: 'the same analysis').
  cli_score() { "$ANALYZE" "$1" --format json 2>/dev/null | python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["score"])'; }
  sg_check "dirty: title score equals singularity-analyze's score of the same tree" [ "$(cr "$RD" score)" = "$(cli_score "$REPOS/octo/dirty")" ]
  sg_check "clean: title score equals singularity-analyze's score" [ "$(cr "$RC" score)" = "$(cli_score "$REPOS/octo/clean")" ]

  # PostgreSQL rows (section 6)
  sg_check "analyses: one completed row for the dirty sha with its score" \
    [ "$(psqlv "select count(*) || ':' || min(status::text) || ':' || min(round(score::numeric,1))::text from analyses where head_sha='$D1'")" = "1:completed:$(cr "$RD" score)" ]
  sg_check "findings table has columns path, line, rule, severity, message" \
    [ "$(psqlv "select count(distinct column_name) from information_schema.columns where table_name='findings' and column_name in ('path','line','rule','severity','message')")" = 5 ]
  ncount=$(cr "$RD" total)
  sg_check "findings: one row per finding of the dirty analysis (= $ncount annotations)" \
    [ "$(psqlv "select count(*) from findings f where f.analysis_id in (select id from analyses where head_sha='$D1')")" = "$ncount" ]
  sg_check "findings: the SEC002 row (src/aws.py, line 4, severity error)" \
    [ "$(psqlv "select count(*) from findings where rule='SEC002' and path='src/aws.py' and line=4 and severity::text='error' and analysis_id in (select id from analyses where head_sha='$D1')")" = 1 ]
  sg_check "analyses and findings are partitioned (section 6)" \
    [ "$(psqlv "select count(*) from pg_partitioned_table p join pg_class c on c.oid=p.partrelid where c.relname in ('analyses','findings') and p.partstrat='r'")" = 2 ]
  sg_check "partitions of analyses and findings exist ahead for next month" bash -c \
    "[ \"\$(psql -tAqc \"select count(distinct i.inhparent::regclass::text) from pg_inherits i join pg_class c on c.oid=i.inhrelid where i.inhparent::regclass::text in ('analyses','findings') and pg_get_expr(c.relpartbound, c.oid) like '%' || to_char(date_trunc('month', now()) + interval '1 month', 'YYYY-MM') || '-01%'\")\" = 2 ]"
  sg_check "view repository_quality exists and lists the three repositories" \
    [ "$(psqlv "select count(*) from repository_quality")" = 3 ]
  sg_check "tables installations and repositories exist" \
    [ "$(psqlv "select count(*) from information_schema.tables where table_name in ('installations','repositories')")" = 2 ]

  # Idempotency: the same sha again (new delivery) adds no analysis and no check run.
  r=$(post "$INGRESS_PORT_main" push "$(push_json dirty 9001 $D1)")
  sg_check "second push of the same sha (new delivery id) -> 202" [ "$(status_of "$r")" = 202 ]
  CS='{"action":"requested","check_suite":{"id":5,"head_branch":"main","head_sha":"'$D1'","status":"queued","pull_requests":[]},"repository":'$(repo_json dirty 9001)',"installation":{"id":7},"sender":{"login":"octocat"}}'
  r=$(post "$INGRESS_PORT_main" check_suite "$CS")
  sg_check "check_suite requested for the same sha -> 202" [ "$(status_of "$r")" = 202 ]
  wait_idle() { SG_WAIT_S=60 sg_wait_for idle; }
  sg_check "queue drained" wait_idle
  sleep 1
  sg_check "duplicate sha: still one analysis row" [ "$(psqlv "select count(*) from analyses where head_sha='$D1'")" = 1 ]
  sg_check "duplicate sha: still one check run" [ "$(runs_for $D1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ]

  # check_run rerequested (force): a second analysis and a second check run.
  CRR='{"action":"rerequested","check_run":{"id":1,"name":"Singularity","head_sha":"'$D1'","status":"completed","conclusion":"failure","check_suite":{"id":5,"head_branch":"main","head_sha":"'$D1'"},"pull_requests":[]},"repository":'$(repo_json dirty 9001)',"installation":{"id":7},"sender":{"login":"octocat"}}'
  r=$(post "$INGRESS_PORT_main" check_run "$CRR")
  sg_check "check_run rerequested -> 202" [ "$(status_of "$r")" = 202 ]
  sg_check "check_run rerequested: a second completed check run" wait_completed $D1 2 60
  sg_check "check_run rerequested: two analysis rows" sg_wait_for bash -c "[ \"\$(psql -tAqc \"select count(*) from analyses where head_sha='$D1' and status='completed'\")\" = 2 ]"

  # check_suite rerequested (force) also adds an analysis and a check run.
  CSR='{"action":"rerequested","check_suite":{"id":6,"head_branch":"main","head_sha":"'$C1'","status":"completed","pull_requests":[]},"repository":'$(repo_json clean 9002)',"installation":{"id":7},"sender":{"login":"octocat"}}'
  r=$(post "$INGRESS_PORT_main" check_suite "$CSR")
  sg_check "check_suite rerequested -> 202" bash -c "[ '$(status_of "$r")' = 202 ]" 
  sg_check "check_suite rerequested: a second completed check run" wait_completed $C1 2 60
  sg_check "check_suite rerequested: two completed analyses" sg_wait_for bash -c "[ \"\$(psql -tAqc \"select count(*) from analyses where head_sha='$C1' and status='completed'\")\" = 2 ]"
  # A repository the installation cannot see (404 from GitHub): permanent, not retried.
  N1=0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a
  post "$INGRESS_PORT_main" push "$(push_json notinstalled 9005 $N1)" >/dev/null
  sg_check "a repository the installation cannot see (404): analysis failed, not retried, not dead" sg_wait_for bash -c \
    "[ \"\$(psql -tAqc \"select status from analyses where head_sha='$N1'\")\" = failed ] && [ \"\$(redis-cli -p $REDIS_PORT zcard analysis_queue:delayed)\" = 0 ] && [ \"\$(redis-cli -p $REDIS_PORT llen analysis_queue:dead)\" = 0 ]"

  # A pull request compared with its base (section 4: change against the base commit's analysis).
  D2=d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2
  PR='{"action":"opened","number":12,"pull_request":{"number":12,"state":"open","head":{"sha":"'$D2'","ref":"topic"},"base":{"sha":"'$D1'","ref":"main"}},"repository":'$(repo_json dirty 9001)',"installation":{"id":7},"sender":{"login":"octocat"}}'
  r=$(post "$INGRESS_PORT_main" pull_request "$PR")
  sg_check "pull_request opened -> 202" [ "$(status_of "$r")" = 202 ]
  sg_check "pull_request: completed check run on the head sha" wait_completed $D2 1 60
  sg_check "pull_request: the analysis row records pull 12" \
    [ "$(psqlv "select count(*) from analyses where head_sha='$D2' and to_jsonb(analyses)::text like '%\"pull%\": 12%'")" = 1 ]

  # sync: installation created -> installation and its repositories in PostgreSQL.
  INST='{"action":"created","installation":{"id":7,"account":{"login":"octo","id":1,"type":"Organization"},"repository_selection":"selected","app_id":'$APP_ID'},"repositories":[{"id":9001,"name":"dirty","full_name":"octo/dirty","private":false}],"sender":{"login":"octocat"}}'
  r=$(post "$INGRESS_PORT_main" installation "$INST")
  sg_check "installation created -> 202" [ "$(status_of "$r")" = 202 ]
  sg_check "sync: installation 7 and its repositories recorded" sg_wait_for bash -c \
    "[ \"\$(psql -tAqc \"select count(*) from repositories r where to_jsonb(r)::text like '%octo/%'\")\" -ge 3 ] && [ \"\$(psql -tAqc \"select count(*) from installations where id=7\")\" = 1 ]"

  sg_check "pull_request: the summary names the base commit it is compared with (${D1:0:7})" \
    cr "$(runs_for $D2)" summary "${D1:0:7}"

  # Permanent failure (section 4): the repository archive is 404 -> analysis failed, the check run
  # completed with a clear message, nothing retried or dead.
  G1=9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a
  post "$INGRESS_PORT_main" push "$(push_json gone 9004 $G1)" >/dev/null
  sg_check "404 archive: the check run is completed" wait_completed $G1 1 30
  sg_check "404 archive: conclusion failure with a non-empty title and summary" python3 -c '
import json,sys; c=json.loads(sys.argv[1])[0]; o=c["output"]
assert c["conclusion"]=="failure" and o["title"] and o["summary"], c' "$(runs_for $G1)"
  sg_check "404 archive: the analysis row is failed with an error" \
    sg_wait_for bash -c "[ \"\$(psql -tAqc \"select status::text || ':' || (coalesce(error,'') <> '')::text from analyses where head_sha='$G1'\")\" = failed:true ]"
  sg_check "404 archive: not retried, not dead" bash -c "[ \"\$(redis-cli -p $REDIS_PORT zcard analysis_queue:delayed)\" = 0 ] && [ \"\$(redis-cli -p $REDIS_PORT llen analysis_queue:dead)\" = 0 ]"

  # Transient failure (section 4): two 502s on the archive -> retried, then one completed analysis.
  T1=7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b
  curl -s -X POST "http://127.0.0.1:$GITHUB_SIM_PORT/_sim/faults" -H 'Content-Type: application/json' \
    -d '{"method":"GET","path_prefix":"/repos/octo/clean/tarball","status":502,"count":2}' >/dev/null
  post "$INGRESS_PORT_main" push "$(push_json clean 9002 $T1)" >/dev/null
  sg_check "two 502s on the archive: retried and completed" wait_completed $T1 1 60
  sg_check "two 502s on the archive: one check run, one completed analysis" bash -c \
    "[ \"\$(curl -sf http://127.0.0.1:$GITHUB_SIM_PORT/_sim/check-runs | python3 -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin) if c[\"head_sha\"]==\"$T1\"))')\" = 1 ] &&
     [ \"\$(psql -tAqc \"select count(*) from analyses where head_sha='$T1' and status='completed'\")\" = 1 ]"

  # Two workers, the same sha delivered three times at once: one analysis, one check run.
  WPORTB=$(sg_free_port)
  env REDIS_URL="$REDIS_URL" DATABASE_URL="$DATABASE_URL" GITHUB_API_URL="$GITHUB_API_URL" APP_ID="$APP_ID" \
    PRIVATE_KEY_PATH="$PRIVATE_KEY_PATH" METRICS_HOST=127.0.0.1 METRICS_PORT="$WPORTB" GITHUB_PACE_MS=20 RETRY_BASE_MS=300 \
    "$WORKER" >>"$SG_TMP/worker-b.log" 2>&1 &
  WORKER_B=$!; sg_track $WORKER_B
  sg_wait_for curl -sf "http://127.0.0.1:$WPORTB/healthz"
  R1=4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f
  rp=()
  for i in 1 2 3; do post "$INGRESS_PORT_main" push "$(push_json dirty 9001 $R1)" >/dev/null & rp+=($!); done
  wait "${rp[@]}"
  sg_check "same sha delivered 3 times at once to 2 workers: a completed check run" wait_completed $R1 1 60
  sg_check "same sha delivered 3 times at once: queue drained" wait_idle
  sg_check "same sha delivered 3 times at once: exactly one analysis row and one check run" bash -c \
    "[ \"\$(psql -tAqc \"select count(*) from analyses where head_sha='$R1'\")\" = 1 ] &&
     [ \"\$(curl -sf http://127.0.0.1:$GITHUB_SIM_PORT/_sim/check-runs | python3 -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin) if c[\"head_sha\"]==\"$R1\"))')\" = 1 ]"
  term_wait "$WORKER_B" 30
  # PostgreSQL down for a while: the job waits and completes when it is back (section 3: never lost).
  P1=3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e
  sg_stop_postgres
  r=$(post "$INGRESS_PORT_main" push "$(push_json clean 9002 $P1)")
  sleep 3
  sg_start_postgres
  sg_check "PostgreSQL down for 3 s: the delivery was accepted (202) and the analysis completes once it is back" bash -c \
    "[ '$(status_of "$r")' = 202 ] && SG_WAIT_S=45 && . '$SG_SOURCE_DIR/tests/lib/servers.sh' && sg_wait_for bash -c \"[ \\\"\\\$(psql -tAqc \\\"select count(*) from analyses where head_sha='$P1' and status='completed'\\\")\\\" = 1 ]\""
  sg_check "PostgreSQL down: a completed check run for it" wait_completed $P1 1 30
  sg_check "PostgreSQL down: nothing went to analysis_queue:dead" [ "$(redis-cli -p "$REDIS_PORT" llen analysis_queue:dead)" = 0 ]

  # A 503 with Retry-After: 3 from GitHub: the job waits on analysis_queue:delayed, scored by its
  # due time in unix ms, at least Retry-After ahead (section 3 and 4), then completes.
  Y1=2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b
  curl -s -X POST "http://127.0.0.1:$GITHUB_SIM_PORT/_sim/faults" -H 'Content-Type: application/json' \
    -d '{"method":"GET","path_prefix":"/repos/octo/warn/tarball","status":503,"retry_after":3,"count":1}' >/dev/null
  ysent=$(date +%s%3N)
  post "$INGRESS_PORT_main" push "$(push_json warn 9003 $Y1)" >/dev/null
  sg_check "GitHub 503 + Retry-After 3: the job is on analysis_queue:delayed due >= 2.5 s after the delivery" python3 -c '
import subprocess, sys, time
deadline = time.time() + 5
while time.time() < deadline:
    out = subprocess.check_output(["redis-cli", "-p", sys.argv[1], "--raw", "zrange", "analysis_queue:delayed", "0", "-1", "withscores"]).decode().splitlines()
    for m, sc in zip(out[0::2], out[1::2]):
        if sys.argv[2] in m:
            assert float(sc) >= int(sys.argv[3]) + 2500, ("due too early", float(sc) - int(sys.argv[3]))
            sys.exit(0)
    time.sleep(0.05)
sys.exit("never seen on analysis_queue:delayed")' "$REDIS_PORT" "$Y1" "$ysent"
  sg_check "GitHub 503 + Retry-After: completed after the wait" wait_completed $Y1 1 30

  # Worker configuration and logs (section 7)
  wout=$(env -i PATH="$PATH" REDIS_URL="$REDIS_URL" DATABASE_URL="$DATABASE_URL" APP_ID=abc PRIVATE_KEY_PATH="$PRIVATE_KEY_PATH" METRICS_PORT=0 timeout 5 "$WORKER" 2>&1); wrc=$?
  sg_check "worker with APP_ID=abc: stops with one line naming APP_ID" bash -c "[ $wrc -ne 0 ] && [ $wrc -ne 124 ] && [ \$(printf '%s\n' '$wout' | grep -c .) = 1 ] && grep -q APP_ID <<<'$wout'"
  env -i PATH="$PATH" REDIS_URL="$REDIS_URL" DATABASE_URL="$DATABASE_URL" APP_ID="$APP_ID" PRIVATE_KEY_PATH="$PRIVATE_KEY_PATH" \
    METRICS_HOST=127.0.0.1 METRICS_PORT=0 GITHUB_API_URL="$GITHUB_API_URL" LOG_LEVEL=trace timeout 2 "$WORKER" >"$SG_TMP/lvl.out" 2>&1
    trc=$?
  sg_check "worker starts with a Probot .env's LOG_LEVEL=trace (got: $(head -c 150 "$SG_TMP/lvl.out" | head -1))" [ "$trc" = 124 ]
  # @probot/get-private-key: "The private key can optionally be base64 encoded."
  env -i PATH="$PATH" REDIS_URL="$REDIS_URL" DATABASE_URL="$DATABASE_URL" APP_ID="$APP_ID" PRIVATE_KEY="$(base64 -w0 "$PRIVATE_KEY_PATH")" \
    METRICS_HOST=127.0.0.1 METRICS_PORT=0 GITHUB_API_URL="$GITHUB_API_URL" timeout 2 "$WORKER" >"$SG_TMP/b64.out" 2>&1
    trc=$?
  sg_check "worker starts with a Probot .env's base64-encoded PRIVATE_KEY (got: $(head -c 150 "$SG_TMP/b64.out" | head -1))" [ "$trc" = 124 ]
  env -i PATH="$PATH" REDIS_URL="$REDIS_URL" DATABASE_URL="$DATABASE_URL" APP_ID="$APP_ID" PRIVATE_KEY="$(awk '{printf "%s\\n", $0}' "$PRIVATE_KEY_PATH")" \
    METRICS_HOST=127.0.0.1 METRICS_PORT=0 GITHUB_API_URL="$GITHUB_API_URL" timeout 2 "$WORKER" >"$SG_TMP/esc.out" 2>&1
    trc=$?
  sg_check "worker starts with a Probot .env's PRIVATE_KEY with \\n escapes" [ "$trc" = 124 ]
  keyline=$(sed -n 2p "$PRIVATE_KEY_PATH")
  sg_check "worker log: every line a JSON object with ts, level, msg" python3 -c '
import json,sys
for l in open(sys.argv[1]):
    j=json.loads(l); assert all(k in j for k in ("ts","level","msg")), l' "$SG_TMP/worker.log"
  sg_check "worker log: never the private key or an installation token" bash -c "! grep -qF -- '$keyline' '$SG_TMP/worker.log' && ! grep -qE 'ghs_[A-Za-z0-9]{20}' '$SG_TMP/worker.log'"

  # Queue keys of section 3 as an operator reads them with redis-cli.
  sg_check "github:token:7 is a string expiring before GitHub's hour is up (TTL 60..3600 s)" bash -c \
    "[ \"\$(redis-cli -p $REDIS_PORT type github:token:7)\" = string ] && t=\$(redis-cli -p $REDIS_PORT ttl github:token:7) && [ \$t -gt 60 ] && [ \$t -lt 3600 ]"
  sg_check "analysis_queue:workers is a sorted set of worker ids scored by a recent unix-ms heartbeat" python3 -c '
import subprocess,sys,time
out=subprocess.check_output(["redis-cli","-p",sys.argv[1],"zrange","analysis_queue:workers","0","-1","withscores"]).decode().split()
assert out and all(abs(float(s)-time.time()*1000) < 30000 for s in out[1::2]), out' "$REDIS_PORT"
  # Workers reject a job they cannot parse to analysis_queue:dead and ignore unknown fields.
  redis-cli -p "$REDIS_PORT" lpush analysis_queue 'this is not a job {' >/dev/null
  U1=5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c
  redis-cli -p "$REDIS_PORT" lpush analysis_queue "{\"v\":1,\"kind\":\"analyze\",\"delivery\":\"unknown-fields-1\",\"event\":\"push\",\"action\":null,\"installation\":7,\"repo\":{\"id\":9002,\"full_name\":\"octo/clean\",\"extra\":1},\"sha\":\"$U1\",\"ref\":\"refs/heads/main\",\"base_sha\":null,\"pull\":null,\"force\":false,\"received_at\":$(date +%s%3N),\"attempt\":0,\"future_field\":{\"a\":[1,2]}}" >/dev/null
  sg_check "a job with unknown fields is run (completed check run)" wait_completed $U1 1 30
  sg_check "an unparseable job is moved to analysis_queue:dead" sg_wait_for bash -c \
    "redis-cli -p $REDIS_PORT lrange analysis_queue:dead 0 -1 | grep -qF 'this is not a job {'"
  redis-cli -p "$REDIS_PORT" del analysis_queue:dead >/dev/null
  # migrate is idempotent; a worker refuses a database without the schema.
  "$WORKER" migrate >/dev/null 2>&1
  sg_check "migrate run again exits 0 and schema_migrations records it" bash -c \
    "[ $? = 0 ] && [ \"\$(psql -tAqc 'select count(*) > 0 from schema_migrations')\" = t ]"
  psql -qc "create database accept_empty" >/dev/null 2>&1
  eout=$(env DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/accept_empty" REDIS_URL="$REDIS_URL" APP_ID="$APP_ID" \
    PRIVATE_KEY_PATH="$PRIVATE_KEY_PATH" METRICS_PORT=0 GITHUB_API_URL="$GITHUB_API_URL" timeout 10 "$WORKER" 2>&1); erc=$?
  sg_check "a worker refuses a database older than it needs (non-zero exit, says so)" bash -c \
    "[ $erc -ne 0 ] && [ $erc -ne 124 ] && grep -qi 'migrat' <<<'$(printf '%s' "$eout" | tr -d "'")'"
  # redeliver --since: only deliveries that failed within the window are redelivered.
  now_s=$(date +%s)
  curl -sf -X POST "http://127.0.0.1:$GITHUB_SIM_PORT/_sim/deliveries" -H 'Content-Type: application/json' -d "[
    {\"id\":701,\"guid\":\"g-failed\",\"status_code\":503,\"delivered_at\":$((now_s-600)),\"event\":\"push\",\"action\":null,\"redelivery\":false},
    {\"id\":702,\"guid\":\"g-ok\",\"status_code\":202,\"delivered_at\":$((now_s-500)),\"event\":\"push\",\"action\":null,\"redelivery\":false},
    {\"id\":703,\"guid\":\"g-old\",\"status_code\":503,\"delivered_at\":$((now_s-90000)),\"event\":\"push\",\"action\":null,\"redelivery\":false}]" >/dev/null
  env REDIS_URL="$REDIS_URL" DATABASE_URL="$DATABASE_URL" GITHUB_API_URL="$GITHUB_API_URL" APP_ID="$APP_ID" \
    PRIVATE_KEY_PATH="$PRIVATE_KEY_PATH" "$WORKER" redeliver --since 1h >"$SG_TMP/redeliver.out" 2>&1
  rrc=$?
  sg_check "redeliver --since 1h: exit 0, exactly the failed recent delivery is redelivered (POST .../701/attempts)" bash -c "[ $rrc = 0 ] && python3 -c '
import json
p=[json.loads(l)[\"path\"] for l in open(\"$SG_TMP/github.jsonl\") if l.strip()]
a=[x for x in p if x.startswith(\"/app/hook/deliveries/\") and x.endswith(\"/attempts\")]
assert a==[\"/app/hook/deliveries/701/attempts\"], a'"

  # Check-run request bodies against GitHub's OpenAPI request schemas.
  run_node checkruns "$SG_TMP/github.jsonl"

  # Worker metrics (section 7)
  WM=$(curl -s "http://127.0.0.1:$WPORT/metrics")
  for m in analysis_queue_length analysis_queue_inflight analysis_queue_delayed analysis_queue_dead \
           analysis_queue_oldest_age_seconds singularity_db_errors_total singularity_worker_jobs_total \
           singularity_worker_job_duration_seconds singularity_github_requests_total singularity_github_ratelimit_remaining; do
    sg_check "worker /metrics has # TYPE $m" grep -q "^# TYPE $m " <<<"$WM"
  done
  sg_check "worker: singularity_worker_jobs_total has kind and outcome labels" grep -Eq '^singularity_worker_jobs_total\{.*kind="analyze".*outcome="[a-z]+".*\} [0-9]' <<<"$WM"
  sg_check "worker: singularity_github_requests_total has a code label" grep -Eq '^singularity_github_requests_total\{code="[0-9]{3}"\} [0-9]' <<<"$WM"
  sg_check "worker: singularity_worker_job_duration_seconds is a histogram" grep -q '^# TYPE singularity_worker_job_duration_seconds histogram' <<<"$WM"
  sg_check "nothing went to analysis_queue:dead" [ "$(redis-cli -p "$REDIS_PORT" llen analysis_queue:dead)" = 0 ]
  # SIGTERM on an idle worker: exit 0 well within SHUTDOWN_GRACE_S (default 25).
  t0=$(date +%s)
  term_wait "$WORKER_PID" 30; wrc=$?
  sg_check "idle worker on SIGTERM exits 0 within SHUTDOWN_GRACE_S ($(( $(date +%s) - t0 )) s)" bash -c "[ $wrc = 0 ] && [ $(( $(date +%s) - t0 )) -le 25 ]"
  # MAX_ATTEMPTS: a job failing every time ends on analysis_queue:dead with its last error.
  WPORT2=$(sg_free_port)
  env REDIS_URL="$REDIS_URL" DATABASE_URL="$DATABASE_URL" GITHUB_API_URL="$GITHUB_API_URL" APP_ID="$APP_ID" \
    PRIVATE_KEY_PATH="$PRIVATE_KEY_PATH" METRICS_HOST=127.0.0.1 METRICS_PORT="$WPORT2" GITHUB_PACE_MS=20 RETRY_BASE_MS=200 \
    MAX_ATTEMPTS=2 SHUTDOWN_GRACE_S=3 "$WORKER" >>"$SG_TMP/worker.log" 2>&1 &
  WORKER_PID=$!; sg_track $WORKER_PID
  sg_wait_for curl -sf "http://127.0.0.1:$WPORT2/healthz"
  curl -s -X POST "http://127.0.0.1:$GITHUB_SIM_PORT/_sim/faults" -H 'Content-Type: application/json' \
    -d '{"method":"GET","path_prefix":"/repos/octo/clean/tarball","status":500,"count":10}' >/dev/null
  M1=6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d
  post "$INGRESS_PORT_main" push "$(push_json clean 9002 $M1)" >/dev/null
  sg_check "MAX_ATTEMPTS=2: a job failing with 500 every time lands on analysis_queue:dead" sg_wait_for bash -c \
    "redis-cli -p $REDIS_PORT lrange analysis_queue:dead 0 -1 | grep -q $M1"
  sg_check "the dead entry is the job with its last error (the 500)" bash -c \
    "redis-cli -p $REDIS_PORT --raw lrange analysis_queue:dead 0 -1 | grep $M1 | grep -q 500"
  curl -s -X DELETE "http://127.0.0.1:$GITHUB_SIM_PORT/_sim/faults" >/dev/null
  # SIGTERM while a job is in flight (a slow download): exit within SHUTDOWN_GRACE_S=3, the job
  # finished or handed back to analysis_queue, never lost.
  curl -s -X POST "http://127.0.0.1:$GITHUB_SIM_PORT/_sim/faults" -H 'Content-Type: application/json' \
    -d '{"method":"GET","path_prefix":"/repos/octo/dirty/tarball","bytes_per_s":100,"count":1}' >/dev/null
  S1=8e8e8e8e8e8e8e8e8e8e8e8e8e8e8e8e8e8e8e8e
  post "$INGRESS_PORT_main" push "$(push_json dirty 9001 $S1)" >/dev/null
  sleep 1.5
  sg_check "while a job runs it sits on analysis_queue:processing:<worker-id> (a worker id of analysis_queue:workers), not on analysis_queue" bash -c "
    for id in \$(redis-cli -p $REDIS_PORT zrange analysis_queue:workers 0 -1); do
      redis-cli -p $REDIS_PORT lrange analysis_queue:processing:\$id 0 -1 | grep -q $S1 && found=1
    done; [ -n \"\$found\" ] && ! redis-cli -p $REDIS_PORT lrange analysis_queue 0 -1 | grep -q $S1"
  sg_check "worker /metrics: analysis_queue_inflight counts the job held" sg_wait_for bash -c \
    "curl -s http://127.0.0.1:$WPORT2/metrics | grep -Eq '^analysis_queue_inflight [1-9]'"
  t0=$(date +%s%N)
  term_wait "$WORKER_PID" 10; wrc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  sg_check "busy worker on SIGTERM exits 0 within SHUTDOWN_GRACE_S=3 (took $ms ms)" bash -c "[ $wrc = 0 ] && [ $ms -le 3500 ]"
  sg_check "the job it held is back on analysis_queue or completed (not lost)" bash -c \
    "redis-cli -p $REDIS_PORT lrange analysis_queue 0 -1 | grep -q $S1 || [ \"\$(psql -tAqc \"select count(*) from analyses where head_sha='$S1' and status='completed'\")\" = 1 ]"
else
  echo "not ok - worker or simulator not built; section 2 skipped"
  SG_FAILED=$((SG_FAILED+1))
fi

# ------------------------------------------------------------------------------------------------
echo "# 3. singularity-analyze"
A=$SG_TMP/an
mkdir -p "$A/clean/src" "$A/dirty/proj/src" "$A/dirty/proj/scripts"
printf 'int main(void) {\n  /* a comment */\n\n  return 0;\n}\n' >"$A/clean/src/main.c"
printf 'def f():\n    return 1\n' >"$A/clean/src/util.py"
printf 'import os\n\n# TODO: rotate this\nKEY = "AKIAZ4ZJQK3P7WV6LXRM"\nprint(KEY, os.name)\n' >"$A/dirty/proj/src/aws.py"
printf '#!/bin/sh\necho a\n<<<<<<< HEAD\necho b\n=======\necho c\n>>>>>>> topic\n' >"$A/dirty/proj/scripts/merge.sh"
printf 'int x = 1;\nint y = 2;' >"$A/dirty/proj/src/nonl.c"
tar -C "$A/dirty" -czf "$A/dirty.tar.gz" proj
"$ANALYZE" "$A/clean" --format json >"$A/clean.json" 2>"$A/clean.err"; rc_clean=$?
"$ANALYZE" "$A/dirty/proj" --format json >"$A/dirty.json" 2>/dev/null; rc_dirty=$?
"$ANALYZE" "$A/dirty.tar.gz" --format json >"$A/dirtytar.json" 2>/dev/null; rc_tar=$?
sg_check "clean tree: exit status 0 (gate passed)" [ $rc_clean = 0 ]
sg_check "tree with an AWS key: exit status 1 (gate failed)" [ $rc_dirty = 1 ]
sg_check "tar.gz with an AWS key: exit status 1" [ $rc_tar = 1 ]
"$ANALYZE" "$A/does-not-exist" --format json >/dev/null 2>&1
sg_check "missing path: exit status 2" [ $? = 2 ]
head -c 300 "$A/dirty.tar.gz" >"$A/trunc.tar.gz"
"$ANALYZE" "$A/trunc.tar.gz" --format json >/dev/null 2>&1
sg_check "truncated tar.gz: exit status 2" [ $? = 2 ]
"$ANALYZE" "$A/clean" --format nope >/dev/null 2>&1
sg_check "unknown --format: exit status 2" [ $? = 2 ]
cat >"$SG_TMP/keys.py" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
def same(name, got, want):
    if set(got) != set(want):
        print("%s keys %s, expected %s" % (name, sorted(got), sorted(want))); sys.exit(1)
# section 5's keys, and section 9's that every result carries (no base here: no base/new/fixed)
same("top", j, ["score", "threshold", "passed", "score_breakdown", "totals", "languages", "findings", "rule_counts", "skipped", "config_errors", "gate", "fingerprints"])
for b in j["score_breakdown"]: same("score_breakdown[]", b, ["kind", "cost", "findings", "files"])
same("gate", j["gate"], ["scope", "passed", "reasons"])
assert j["gate"]["scope"] == "overall" and j["gate"]["passed"] == j["passed"], j["gate"]
assert len(j["fingerprints"]) == sum(j["rule_counts"].values()), len(j["fingerprints"])
same("totals", j["totals"], ["files", "code", "comment", "blank", "bytes", "complexity"])
for l in j["languages"]: same("languages[]", l, ["name", "files", "code", "comment", "blank", "complexity"])
for f in j["findings"]: same("findings[]", f, ["rule", "severity", "path", "line", "message", "fingerprint"])
same("skipped", j["skipped"], ["binary", "vendored", "generated", "minified", "too_large", "unsafe"])
assert isinstance(j["score"], (int, float)) and 0 <= j["score"] <= 10 and round(j["score"], 1) == j["score"], j["score"]
assert j["threshold"] == 7.0 and isinstance(j["passed"], bool) and isinstance(j["config_errors"], list)
assert isinstance(j["rule_counts"], dict)
PY
sg_check "--format json (clean): exactly sections 5 and 9's keys at every level" python3 "$SG_TMP/keys.py" "$A/clean.json"
sg_check "--format json (dirty): exactly sections 5 and 9's keys at every level" python3 "$SG_TMP/keys.py" "$A/dirty.json"
sg_check "clean: passed true; C: 1 file, code 3, comment 1, blank 1; Python: code 2 (tokei names)" python3 -c '
import json,sys; j=json.load(open(sys.argv[1])); L={l["name"]:l for l in j["languages"]}
assert j["passed"] is True, j["passed"]
assert (L["C"]["files"], L["C"]["code"], L["C"]["comment"], L["C"]["blank"]) == (1, 3, 1, 1), L["C"]
assert L["Python"]["code"] == 2, L["Python"]
assert j["totals"]["files"] == 2 and j["totals"]["code"] == 5, j["totals"]' "$A/clean.json"
sg_check "dirty: passed false, SEC002 error at src/aws.py:4 with the tarball's top folder removed" python3 -c '
import json,sys
for fn in sys.argv[1:]:
    j=json.load(open(fn)); assert j["passed"] is False
    assert any(f["rule"]=="SEC002" and f["severity"]=="error" and f["path"]=="src/aws.py" and f["line"]==4 for f in j["findings"]), (fn, j["findings"])' "$A/dirty.json" "$A/dirtytar.json"
sg_check "dirty: GIT001 at the <<<<<<< line (scripts/merge.sh:3), STY004 at the last line (src/nonl.c:2), MNT001 at src/aws.py:3" python3 -c '
import json,sys; j=json.load(open(sys.argv[1])); F={(f["rule"],f["path"],f["line"]) for f in j["findings"]}
for want in [("GIT001","scripts/merge.sh",3),("STY004","src/nonl.c",2),("MNT001","src/aws.py",3)]:
    assert want in F, (want, sorted(F))' "$A/dirty.json"
sg_check "dirty: rule_counts equal the findings by rule" python3 -c '
import json,sys,collections; j=json.load(open(sys.argv[1]))
assert dict(collections.Counter(f["rule"] for f in j["findings"])) == j["rule_counts"], (j["rule_counts"],)' "$A/dirty.json"
sg_check "directory and tar.gz give the same analysis" python3 -c '
import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
assert a["findings"]==b["findings"] and a["totals"]["code"]==b["totals"]["code"] and a["score"]==b["score"]' "$A/dirty.json" "$A/dirtytar.json"
# More of section 5: languages by extension, file name and shebang; the other rules; default
# excludes; .singularity.yml; unsafe archive entries.
M=$A/more
mkdir -p "$M/src" "$M/bin" "$M/node_modules/x" "$M/vendor"
printf 'int f(void);\n' >"$M/src/x.h"
printf 'all:\n\techo hi\n' >"$M/Makefile"
printf '#!/bin/sh\necho hi\n' >"$M/bin/tool"
openssl genrsa 2048 2>/dev/null >"$M/src/deploy.pem"
printf 'token = "ghp_Qw3rTy7UiOp9AsDfGh2JkLzXcVbNm4Lk8Jh1"\n' >"$M/src/tok.py"
printf 'def f():\n    a = 1\n    b = 2\n\tc = 3\n    return a\n' >"$M/src/mixed.py"
head -c 1100000 /dev/urandom >"$M/src/blob.bin"
printf 'var k = "AKIAZ4ZJQK3P7WV6LXRM";\n' >"$M/node_modules/x/index.js"
printf 'var k = "AKIAZ4ZJQK3P7WV6LXRM";\n' >"$M/vendor/v.js"
"$ANALYZE" "$M" --format json >"$A/more.json" 2>/dev/null; rc_more=$?
sg_check "languages by extension, file name and shebang with tokei's names (C Header, Makefile, Shell)" python3 -c '
import json,sys; L={l["name"]:l["files"] for l in json.load(open(sys.argv[1]))["languages"]}
assert L.get("C Header")==1 and L.get("Makefile")==1 and L.get("Shell")==1, L' "$A/more.json"
sg_check "SEC001 (a real PEM private key) at line 1, SEC003 (ghp_ token), STY003 at the first tab-indented line (4), BIN001 at line 1" python3 -c '
import json,sys; F={(f["rule"],f["path"],f["line"],f["severity"]) for f in json.load(open(sys.argv[1]))["findings"]}
for w in [("SEC001","src/deploy.pem",1,"error"),("SEC003","src/tok.py",1,"error"),("STY003","src/mixed.py",4,"notice"),("BIN001","src/blob.bin",1,"warning")]:
    assert w in F, (w, sorted(F))' "$A/more.json"
sg_check "node_modules/ and vendor/ skipped by default (counted in skipped.vendored, no findings there)" python3 -c '
import json,sys; j=json.load(open(sys.argv[1]))
assert j["skipped"]["vendored"] >= 2, j["skipped"]
assert not [f for f in j["findings"] if f["path"].startswith(("node_modules/","vendor/"))], j["findings"]' "$A/more.json"
sg_check "errors found -> exit status 1" [ $rc_more = 1 ]
printf 'quality_threshold: 2.5\nmax_line_length: 10\ndefault_excludes: false\nexclude:\n  - "src/blob.bin"\nrules:\n  SEC001: "off"\n  SEC003: "off"\n  SEC002: "off"\n  STY003: warning\n' >"$M/.singularity.yml"
"$ANALYZE" "$M" --format json >"$A/more-cfg.json" 2>/dev/null; rc_cfg=$?
sg_check ".singularity.yml: threshold 2.5, rules off, STY003 raised to warning, max_line_length 10, exclude, default_excludes false" python3 -c '
import json,sys; j=json.load(open(sys.argv[1])); R=j["rule_counts"]
assert j["threshold"]==2.5, j["threshold"]
assert not any(r in R for r in ("SEC001","SEC002","SEC003")), R
assert [f["severity"] for f in j["findings"] if f["rule"]=="STY003"]==["warning"], j["findings"]
assert R.get("STY001",0) >= 3, R
assert not any(f["path"]=="src/blob.bin" for f in j["findings"]), "excluded file reported"
assert any(f["path"].startswith("node_modules/") for f in j["findings"]), "default_excludes: false should analyse node_modules"
assert j["config_errors"]==[], j["config_errors"]' "$A/more-cfg.json"
sg_check ".singularity.yml: the exit status follows passed" bash -c "[ \"\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"passed\"])' '$A/more-cfg.json')\" = True ] && [ $rc_cfg = 0 ] || { [ \"\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"passed\"])' '$A/more-cfg.json')\" = False ] && [ $rc_cfg = 1 ]; }"
python3 - "$A/evil.tar.gz" <<'PY'
import io, sys, tarfile
def add(t, name, data=b"", kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name); ti.type = kind; ti.linkname = link
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    t.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
with tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT) as t:
    add(t, "top/", kind=tarfile.DIRTYPE)
    add(t, "top/ok.py", b"x = 1\n")
    add(t, "top/../evil.py", b'K = "AKIAZ4ZJQK3P7WV6LXRM"\n')
    add(t, "/abs.py", b'K = "AKIAZ4ZJQK3P7WV6LXRM"\n')
    add(t, "top/link.py", kind=tarfile.SYMTYPE, link="/etc/passwd")
    add(t, "top/dev", kind=tarfile.CHRTYPE)
PY
"$ANALYZE" "$A/evil.tar.gz" --format json >"$A/evil.json" 2>/dev/null; rc_evil=$?
sg_check "archive with ../, absolute, symlink and device entries: none read (no findings), counted as unsafe, exit 0" python3 -c '
import json,sys; j=json.load(open(sys.argv[1]))
assert j["findings"]==[] and j["skipped"]["unsafe"]>=2 and j["totals"]["files"]==1, j
assert sys.argv[2]=="0", sys.argv[2]' "$A/evil.json" "$rc_evil"
G=$A/gen
mkdir -p "$G/src"
printf '// Code generated by protoc-gen-go. DO NOT EDIT.\npackage x\nvar K = "AKIAZ4ZJQK3P7WV6LXRM"\n' >"$G/src/x.pb.go"
python3 -c 'import sys; open(sys.argv[1],"w").write("var a=1;"*400+"\n")' "$G/src/app.min.js"
printf 'int f(int a){\nif(a){return 1;}\nif(a>2){return 2;}\nwhile(a){a--;}\nreturn 0;\n}\n' >"$G/src/c.c"
printf 'max_file_lines: 3\nmax_file_complexity: 1\n' >"$G/.singularity.yml"
"$ANALYZE" "$G" --format json >"$A/gen.json" 2>/dev/null
sg_check "generated and minified files skipped by default; CPX001 and SIZ001 (whole file) at line 1" python3 -c '
import json,sys; j=json.load(open(sys.argv[1])); F={(f["rule"],f["path"],f["line"]) for f in j["findings"]}
assert j["skipped"]["generated"]>=1 and j["skipped"]["minified"]>=1, j["skipped"]
assert not any(f["path"] in ("src/x.pb.go","src/app.min.js") for f in j["findings"]), j["findings"]
assert ("CPX001","src/c.c",1) in F and ("SIZ001","src/c.c",1) in F, F' "$A/gen.json"
# DESIGN.md section 5: "the formula is documented in the README": that formula (also in
# docs/analysis.md with its calibration), computed here
# from the findings of these small trees (all kept), gives the printed score and its breakdown.
sg_check "every score equals the formula documented in README.md and docs/analysis.md" python3 - "$A/clean.json" "$A/dirty.json" "$A/more.json" "$A/gen.json" "$A/more-cfg.json" <<'PY'
import collections, json, math, os, re, sys
for doc in ("README.md", "docs/analysis.md"):
    text = open(os.environ["SG_SOURCE_DIR"] + "/" + doc).read()
    assert "cost    = W(kind) * (1 - exp(-x(kind) / D(kind)))" in text, doc + ": formula changed; update this check"
KIND = {"SEC": "secrets", "GIT": "conflicts", "CPX": "complexity", "SIZ": "size", "STY": "style",
        "MNT": "maintenance", "BIN": "binaries"}
WD = {"secrets": (3, 8), "conflicts": (1.5, 4), "complexity": (2, 3), "size": (1, 3), "style": (1.5, 20),
      "maintenance": (0.5, 2), "binaries": (0.5, 1)}
SEVW = {"error": 10, "warning": 3, "notice": 0.5}
for fn in sys.argv[1:]:
    j = json.load(open(fn))
    kloc = max(j["totals"]["code"], 1000) / 1000
    sev = {f["rule"]: f["severity"] for f in j["findings"]}
    x = collections.Counter()
    for f in j["findings"]: # CPX001, SIZ001: how far over the limit ("complexity 5 ... 1")
        if f["rule"] in ("CPX001", "SIZ001"):
            v, lim = map(int, re.findall(r"\b(\d+)\b", f["message"])[:2])
            x[KIND[f["rule"][:3]]] += SEVW[f["severity"]] * (v / lim - 1) / kloc
    per_file = collections.Counter((f["rule"], f["path"]) for f in j["findings"])
    for (rule, path), n in per_file.items(): # other rules: findings, at most 100 per file
        if rule not in ("CPX001", "SIZ001"):
            x[KIND[rule[:3]]] += SEVW[sev[rule]] * min(n, 100) / kloc
    x["complexity"] += max(0, j["totals"]["complexity"] / kloc - 200) / 100
    cost = {k: w * (1 - math.exp(-x[k] / d)) for k, (w, d) in WD.items()}
    want = round(10 - sum(cost.values()), 1)
    assert abs(j["score"] - want) < 0.051, (fn, j["score"], want, cost)
    got = {b["kind"]: b["cost"] for b in j["score_breakdown"]}
    assert round(sum(got.values()), 1) == round(10 - j["score"], 1), (fn, got)
    assert all(abs(got[k] - cost[k]) <= 0.1 for k in cost), (fn, got, cost)
PY
sg_check "SARIF: tool.driver.name, results with ruleId, level error/warning/note, artifact uri and startLine" bash -c "'$ANALYZE' '$A/dirty/proj' --format sarif 2>/dev/null | python3 -c '
import json,sys; j=json.load(sys.stdin); r=j[\"runs\"][0]
assert r[\"tool\"][\"driver\"][\"name\"]
for x in r[\"results\"]:
    assert x[\"ruleId\"] and x[\"level\"] in (\"error\",\"warning\",\"note\") and x[\"message\"][\"text\"]
    pl=x[\"locations\"][0][\"physicalLocation\"]; assert pl[\"artifactLocation\"][\"uri\"] and pl[\"region\"][\"startLine\"]>=1
assert any(x[\"ruleId\"]==\"SEC002\" and x[\"level\"]==\"error\" and x[\"locations\"][0][\"physicalLocation\"][\"artifactLocation\"][\"uri\"]==\"src/aws.py\" for x in r[\"results\"])'"
# Section 5: "code/comment/blank counts agree with tokei" -- checked against tokei itself, which
# scripts/deps.sh installs (cargo puts it in ~/.cargo/bin); without it this is a failure.
command -v tokei >/dev/null 2>&1 || PATH=$PATH:$HOME/.cargo/bin
if command -v tokei >/dev/null 2>&1; then
  python3 - "$A/tokei" <<'PY'
import os, sys
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
files = {
 "a.c": '#include <stdio.h>\n/* block\n   comment */ int x = 1; /* trailing */\nchar *s = "/* not a comment */"; // line\nchar c = \'"\'; /* quote char */\n\n  /* only comment */\nchar *t = "a\\"b // still string";\n/* multi */ /* two */\n',
 "b.py": '"""Module docstring\nspanning lines\n"""\nimport os  # comment\n\ndef f():\n    \'\'\'doc\'\'\'\n    s = "# not comment"\n    t = """multi\n    line string"""\n    return s  # trailing\n',
 "c.rs": '/* outer /* nested */ still comment */\nfn main() {\n    let s = "/* no */";\n    // line\n    let r = r#"raw " string // here"#;\n}\n',
 "d.js": '// comment\nconst s = `template\n/* inside template */\n`;\n/* c */ const x = 1;\n',
 "e.sh": '#!/bin/bash\n# comment\necho "# not comment"\n',
 "f.html": '<!-- comment -->\n<html>\n<!-- multi\nline -->\n<body></body>\n</html>\n',
 "g.lua": '--[[ block\ncomment ]]\nlocal x = 1 -- trailing\n',
 "h.go": 'package main\n// c\nvar s = `raw /* not */\nstring`\n/* c */\n',
 "i.py": 'a = 1\r\n\r\n# c\r\n',
}
for n, t in files.items():
    open(os.path.join(d, n), "w", newline="").write(t)
PY
  printf 'default_excludes: false\n' >"$A/noexcl.yml"
  for d in "$A/tokei" /usr/include/linux /usr/lib/python3.11/email; do
    [ -d "$d" ] || continue
    sg_check "per-language files/code/comment/blank equal tokei's on $d" python3 - "$d" "$ANALYZE" "$A/noexcl.yml" <<'PY'
import json, subprocess, sys
d, an, cfg = sys.argv[1:4]
t = json.loads(subprocess.check_output(["tokei", "-o", "json", d], stderr=subprocess.DEVNULL))
s = json.loads(subprocess.run([an, d, "--format", "json", "--config", cfg], capture_output=True).stdout)
S = {l["name"]: l for l in s["languages"]}
bad = []
for name, v in t.items():
    if name == "Total": continue
    g = S.get(name)
    tk = (len(v["reports"]), v["code"], v["comments"], v["blanks"])
    sg = (g["files"], g["code"], g["comment"], g["blank"]) if g else None
    if sg != tk: bad.append((name, "tokei", tk, "singularity", sg))
assert t and not bad, bad
PY
  done
else
  echo "not ok - tokei not installed (run scripts/deps.sh): the tokei comparison cannot run"; SG_FAILED=$((SG_FAILED+1))
fi
sg_check "--format sarif is SARIF 2.1.0" bash -c "'$ANALYZE' '$A/dirty/proj' --format sarif 2>/dev/null | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j[\"version\"]==\"2.1.0\" and j[\"runs\"][0][\"results\"]'"

# ------------------------------------------------------------------------------------------------
echo "# 4. 429 after SIGNATURE_FAILURE_LIMIT failed signatures (own ingress, own Redis database)"
# Run last and on Redis database 1, so a limiter kept in Redis cannot leak into the other checks.
REDIS_URL=redis://127.0.0.1:$REDIS_PORT/1 start_ingress limit
codes=""
for i in $(seq 1 21); do
  r=$(post "$INGRESS_PORT_limit" push "$PUSH" "" "wrong-secret")
  codes="$codes $(status_of "$r")"
done
sg_check "the first 21 failed signatures (20 = the limit, then the 21st) are each 401:$codes" \
  [ "$codes" = "$(printf ' 401%.0s' $(seq 1 21))" ]
r=$(post "$INGRESS_PORT_limit" push "$PUSH" "" "wrong-secret")
sg_check "with more than SIGNATURE_FAILURE_LIMIT (20) failures in the minute: 429 JSON error" is_err_json "$r" 429
sg_check "429 carries Retry-After between 1 and 60 s" bash -c "v='$(header_of "$r" Retry-After)'; [[ \$v =~ ^[0-9]+$ ]] && [ \$v -ge 1 ] && [ \$v -le 60 ]"
r=$(post "$INGRESS_PORT_limit" push "$PUSH")
sg_check "a correctly signed delivery from that address still goes through: 202" [ "$(status_of "$r")" = 202 ]
sig2=$(printf '%s' "$PUSH" | openssl dgst -sha256 -hmac "$WEBHOOK_SECRET" -r | cut -d' ' -f1)
sg_check "another client address (127.0.0.2) is not limited: 202" [ "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 \
  -X POST "http://127.0.0.1:$INGRESS_PORT_limit/webhooks/github" -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
  -H "X-GitHub-Delivery: other-addr-$RANDOM" -H "X-Hub-Signature-256: sha256=$sig2" --data-binary "$PUSH")" = 202 ]

echo "# took $(( $(date +%s) - START_S )) s"
sg_summary
