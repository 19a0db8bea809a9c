#!/usr/bin/env bash
# Why: the README's first command. On a fresh Debian 12 machine, as root, it installs what is
# missing, builds, and runs the whole system locally — private Redis and PostgreSQL on free
# loopback ports, migrations, a GitHub API simulator serving a sample repository with real
# findings, the ingress and two workers — then sends signed webhooks (push, pull_request opened,
# check_suite rerequested) and prints the completed check runs as GitHub would show them, followed
# by the redis-cli and psql commands to look further. Everything stops at the end, unless --keep.
#
#   scripts/run.sh            run, show, stop
#   scripts/run.sh --keep     leave everything running (prints how to stop it)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
KEEP=0
for a in "$@"; do
  case "$a" in
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: scripts/run.sh [--keep]" >&2; exit 2 ;;
  esac
done

if [ -t 1 ]; then say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }; else say() { printf '\n==> %s\n' "$*"; }; fi

say "dependencies (scripts/deps.sh)"
SG_NO_NPM=1 scripts/deps.sh

say "build (build/)"
cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DSG_WERROR=ON >/dev/null
TARGETS=(singularity-worker singularity-ingress singularity-github-sim)
ninja -C "$ROOT/build" "${TARGETS[@]}" >/dev/null || ninja -C "$ROOT/build" -j 1 "${TARGETS[@]}"

export SG_SOURCE_DIR=$ROOT SG_BUILD_DIR=$ROOT/build
. "$ROOT/tests/lib/servers.sh"
. "$ROOT/tests/integration/system_lib.sh"
for b in ingress worker sim; do
  [ -x "$(sys_bin $b)" ] || { echo "run.sh: $(sys_bin $b) was not built" >&2; exit 1; }
done
sg_tmpdir
if [ "$KEEP" = 1 ]; then SG_KEEP_TMP=1; trap - EXIT; fi

say "Redis and PostgreSQL (private, in $SG_TMP)"
sg_start_redis
sg_start_postgres
echo "redis on 127.0.0.1:$REDIS_PORT, postgres on 127.0.0.1:$PG_PORT"

say "migrations (singularity-worker migrate)"
"$(sys_bin worker)" migrate 2>&1 | grep -v '^{' || true

say "GitHub API simulator with the sample repository $SYS_OWNER/$SYS_REPO (tests/fixtures/sample-repo)"
sg_start_github_sim --repos "$ROOT/tests/fixtures/sample-repo" \
  --installation "$SYS_INSTALLATION=$SYS_OWNER/$SYS_REPO" --record "$SG_TMP/github-requests.jsonl"
echo "simulator on $GITHUB_API_URL (App $APP_ID, test key $PRIVATE_KEY_PATH)"

say "ingress and two workers"
sys_start_ingress
sys_start_worker one
sys_start_worker two
echo "ingress on http://127.0.0.1:$INGRESS_PORT/webhooks/github; workers' /metrics on :$WORKER_METRICS_one and :$WORKER_METRICS_two"

BASE=$(printf 'a%.0s' {1..40})
HEAD=$(printf 'b%.0s' {1..40})
say "signed webhooks (HMAC-SHA256 with openssl, as GitHub signs them)"
printf '  push to main (%s)            -> HTTP %s\n' "${BASE:0:7}" "$(sys_send push "$(sys_push_payload "$BASE")")"
printf '  pull_request opened (%s)     -> HTTP %s\n' "${HEAD:0:7}" "$(sys_send pull_request "$(sys_pr_payload opened "$HEAD" "$BASE")")"
sys_wait_check_runs 2 90 || { echo "run.sh: the check runs did not complete; logs in $SG_TMP" >&2; exit 1; }
printf '  check_suite rerequested (%s) -> HTTP %s\n' "${BASE:0:7}" "$(sys_send check_suite "$(sys_check_suite_payload rerequested "$BASE")")"
sys_wait_check_runs 3 90 || { echo "run.sh: the check runs did not complete; logs in $SG_TMP" >&2; exit 1; }

say "the check runs, as GitHub shows them"
sys_print_check_runs

say "look further"
cat <<EOT
  redis-cli -p $REDIS_PORT llen analysis_queue                 # pending jobs (the autoscaling metric)
  redis-cli -p $REDIS_PORT zrange analysis_queue:workers 0 -1 withscores   # live workers, last heartbeat
  redis-cli -p $REDIS_PORT lrange analysis_queue:dead 0 -1      # jobs that failed too often
  REDIS_URL=$REDIS_URL $(sys_bin worker) queue
  psql "$DATABASE_URL" -c 'select id, head_sha, trigger, status, score, conclusion, findings_total, duration_ms from analyses order by id'
  psql "$DATABASE_URL" -c 'select path, line, rule, severity, message from findings order by analysis_id, ordinal limit 20'
  psql "$DATABASE_URL" -c 'select * from repository_quality'
  curl -s http://127.0.0.1:$WORKER_METRICS_one/metrics | grep -v '^#'
  logs: $SG_TMP/{ingress.log,worker-one.log,worker-two.log,github-requests.jsonl}
EOT
if [ "$KEEP" = 1 ]; then
  echo
  echo "Still running (--keep). To stop: kill ${SG_PIDS[*]}; runuser -u postgres -- $PG_BIN/pg_ctl -D $SG_PG_DATA stop; rm -rf $SG_TMP"
else
  echo
  echo "Stopping everything (run with --keep to leave it running)."
fi
