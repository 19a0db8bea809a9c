#!/usr/bin/env bash
# Why: the whole system (ingress, workers, GitHub simulator, Redis, PostgreSQL) is started the same
# way by scripts/run.sh, the system/worker integration tests and scripts/bench-worker.sh; these
# helpers build on tests/lib/servers.sh (source that first, call sg_tmpdir). Webhooks are signed
# with openssl alone, independently of the C code, as GitHub signs them.
#
#   sys_start_ingress                 # INGRESS_PORT, WEBHOOK_SECRET
#   sys_start_worker NAME [VAR=v...]  # WORKER_PID_<NAME>, WORKER_METRICS_<NAME>; log $SG_TMP/worker-NAME.log
#   sys_send EVENT BODY [DELIVERY]    # prints the HTTP status
#   sys_push_payload SHA [BEFORE]; sys_pr_payload ACTION HEAD BASE [NUMBER];
#   sys_check_suite_payload ACTION SHA; sys_installation_payload ACTION
#   sys_check_runs                    # the simulator's check runs (JSON)
#   sys_wait_check_runs N [SECONDS]   # until N check runs are completed

SYS_OWNER=${SYS_OWNER:-acme}
SYS_REPO=${SYS_REPO:-widgets}
# The id GitHub (the simulator: FNV-1a of the full name, tests/github-sim/sim_installations.c repo_id) gives the
# repository, so webhook payloads and the installation's repository list agree, as on GitHub.
SYS_REPO_ID=${SYS_REPO_ID:-$(python3 -c 'import sys
h = 2166136261
for c in sys.argv[1].encode(): h = ((h ^ c) * 16777619) & 0xffffffff
print(h % 900000000 + 100000000)' "$SYS_OWNER/$SYS_REPO")}
SYS_INSTALLATION=${SYS_INSTALLATION:-42}

sys_bin() { # sys_bin NAME -> path of a built binary
  case "$1" in
    ingress) echo "$SG_BUILD_DIR/ingress/singularity-ingress" ;;
    worker) echo "$SG_BUILD_DIR/worker/singularity-worker" ;;
    sim) echo "$SG_BUILD_DIR/tests/github-sim/singularity-github-sim" ;;
  esac
}

sys_start_ingress() {
  INGRESS_PORT=$(sg_free_port)
  WEBHOOK_SECRET=${WEBHOOK_SECRET:-sys-test-secret-$RANDOM$RANDOM}
  export WEBHOOK_SECRET
  HOST=127.0.0.1 PORT=$INGRESS_PORT REDIS_URL=$REDIS_URL LOG_FORMAT=json \
    "$(sys_bin ingress)" >>"$SG_TMP/ingress.log" 2>&1 &
  SYS_INGRESS_PID=$!
  sg_track $SYS_INGRESS_PID
  sg_wait_for curl -sf "http://127.0.0.1:$INGRESS_PORT/healthz" ||
    sg_fail "ingress did not start: $(tail -5 "$SG_TMP/ingress.log")"
}

# Starts a worker with the test App; extra VAR=value arguments override its environment.
# Redis, PostgreSQL with the schema migrated, and the GitHub simulator serving the sample repository
# (or the repositories under SYS_REPOS)
# to installation SYS_INSTALLATION; extra arguments go to the simulator (e.g. --record FILE).
sys_start_backends() {
  sg_start_redis
  sg_start_postgres
  sg_start_github_sim --repos "${SYS_REPOS:-$SG_SOURCE_DIR/tests/fixtures/sample-repo}" \
    --installation "$SYS_INSTALLATION=$SYS_OWNER/$SYS_REPO" "$@"
  "$(sys_bin worker)" migrate >/dev/null || sg_fail "migrate failed"
}

sys_start_worker() {
  local name=$1; shift
  local port
  port=$(sg_free_port)
  env REDIS_URL="$REDIS_URL" DATABASE_URL="$DATABASE_URL" GITHUB_API_URL="$GITHUB_API_URL" \
    APP_ID="$APP_ID" PRIVATE_KEY_PATH="$PRIVATE_KEY_PATH" METRICS_HOST=127.0.0.1 METRICS_PORT="$port" \
    GITHUB_PACE_MS="${GITHUB_PACE_MS:-50}" WORKER_DEAD_AFTER_S="${WORKER_DEAD_AFTER_S:-60}" \
    RETRY_BASE_MS="${RETRY_BASE_MS:-2000}" LOG_FORMAT=json "$@" \
    "$(sys_bin worker)" >>"$SG_TMP/worker-$name.log" 2>&1 &
  local pid=$!
  sg_track $pid
  printf -v "WORKER_PID_$name" '%s' "$pid"
  printf -v "WORKER_METRICS_$name" '%s' "$port"
  sg_wait_for curl -sf "http://127.0.0.1:$port/healthz" ||
    sg_fail "worker $name did not start: $(tail -5 "$SG_TMP/worker-$name.log")"
}

sys_send() { # sys_send EVENT BODY [DELIVERY]; with SYS_SENT_LOG set, appends "DELIVERY MS" to it
  local event=$1 body=$2 delivery=${3:-$(cat /proc/sys/kernel/random/uuid)} sig
  sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$WEBHOOK_SECRET" -r | cut -d' ' -f1)
  # the send time, taken once the payload is signed (benchmarks measure from here)
  [ -z "${SYS_SENT_LOG:-}" ] || echo "$delivery $(($(date +%s%N) / 1000000))" >>"$SYS_SENT_LOG"
  curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$INGRESS_PORT/webhooks/github" \
    -H 'Content-Type: application/json' -H "X-GitHub-Event: $event" \
    -H "X-GitHub-Delivery: $delivery" -H "X-Hub-Signature-256: sha256=$sig" \
    -H 'User-Agent: GitHub-Hookshot/sim' --data-binary "$body"
}

sys_repo_json() {
  printf '{"id":%s,"name":"%s","full_name":"%s/%s","private":false,"owner":{"login":"%s","type":"Organization"},"default_branch":"main"}' \
    "$SYS_REPO_ID" "$SYS_REPO" "$SYS_OWNER" "$SYS_REPO" "$SYS_OWNER"
}

sys_push_payload() { # SHA [BEFORE]
  printf '{"ref":"refs/heads/main","before":"%s","after":"%s","created":false,"deleted":false,"forced":false,"commits":[],"repository":%s,"installation":{"id":%s},"sender":{"login":"octocat"}}' \
    "${2:-0000000000000000000000000000000000000000}" "$1" "$(sys_repo_json)" "$SYS_INSTALLATION"
}

sys_pr_payload() { # ACTION HEAD BASE [NUMBER]
  printf '{"action":"%s","number":%s,"pull_request":{"number":%s,"state":"open","head":{"sha":"%s","ref":"feature"},"base":{"sha":"%s","ref":"main"}},"repository":%s,"installation":{"id":%s},"sender":{"login":"octocat"}}' \
    "$1" "${4:-7}" "${4:-7}" "$2" "$3" "$(sys_repo_json)" "$SYS_INSTALLATION"
}

sys_check_suite_payload() { # ACTION SHA
  printf '{"action":"%s","check_suite":{"id":99,"head_branch":"main","head_sha":"%s","status":"completed","pull_requests":[]},"repository":%s,"installation":{"id":%s},"sender":{"login":"octocat"}}' \
    "$1" "$2" "$(sys_repo_json)" "$SYS_INSTALLATION"
}

sys_installation_payload() { # ACTION
  printf '{"action":"%s","installation":{"id":%s,"account":{"login":"%s","type":"Organization"},"repository_selection":"selected"},"repositories":[{"id":%s,"name":"%s","full_name":"%s/%s","private":false}],"sender":{"login":"octocat"}}' \
    "$1" "$SYS_INSTALLATION" "$SYS_OWNER" "$SYS_REPO_ID" "$SYS_REPO" "$SYS_OWNER" "$SYS_REPO"
}

sys_check_runs() { curl -sf "http://127.0.0.1:$GITHUB_SIM_PORT/_sim/check-runs"; }

# Number of check runs in a state ("completed" or "in_progress").
sys_count_check_runs() {
  sys_check_runs | python3 -c "import json,sys; print(sum(1 for c in json.load(sys.stdin) if c.get('status')==sys.argv[1]))" "$1"
}

sys_wait_check_runs() { # N [SECONDS]
  local n=$1
  SG_WAIT_S=${2:-60} sg_wait_for bash -c "[ \"\$(curl -sf http://127.0.0.1:$GITHUB_SIM_PORT/_sim/check-runs | python3 -c \"import json,sys; print(sum(1 for c in json.load(sys.stdin) if c.get('status')=='completed'))\")\" -ge $n ]"
}

sys_idle() { # the queue is empty: nothing pending, delayed or in flight
  [ "$(redis-cli -p "$REDIS_PORT" llen analysis_queue)" = 0 ] &&
    [ "$(redis-cli -p "$REDIS_PORT" zcard analysis_queue:delayed)" = 0 ] &&
    [ "$(redis-cli -p "$REDIS_PORT" eval "local n=0 for _,id in ipairs(redis.call('zrange',KEYS[1],0,-1)) do n=n+redis.call('llen','analysis_queue:processing:'..id) end return n" 1 analysis_queue:workers)" = 0 ]
}

sys_wait_idle() { SG_WAIT_S=${1:-60} sg_wait_for sys_idle; }

# Prints the check runs as a person sees them on GitHub's Checks tab.
sys_print_check_runs() {
  sys_check_runs | python3 -c '
import json, sys
runs = json.load(sys.stdin)
for c in runs:
    out = c.get("output") or {}
    print("=" * 78)
    print("Check run #%s  %s  on %s  [%s: %s]" % (c.get("id"), c.get("name"), (c.get("head_sha") or "")[:12],
          c.get("status"), c.get("conclusion")))
    print("Title: %s" % out.get("title"))
    print("-" * 78)
    print((out.get("summary") or "").rstrip())
    anns = c.get("annotations") or []
    print("-" * 78)
    print("Annotations (%d):" % len(anns))
    for a in anns:
        print("  %-8s %s:%s  %s -- %s" % (a.get("annotation_level"), a.get("path"), a.get("start_line"),
              a.get("title"), (a.get("message") or "").replace("\n", " ")[:100]))
print("=" * 78)
'
}
