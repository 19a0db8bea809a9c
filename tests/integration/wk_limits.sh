#!/usr/bin/env bash
# Why: a job cannot hold workers for ever. Its time budget (ANALYSIS_TIMEOUT_S, validated at start)
# ends it as a failed analysis whose check run says so; and a job handed back at SIGTERM, by the
# hard stop, or reclaimed by the reaper from a dead worker counts as an attempt, so a job that kills
# or stalls every worker reaches analysis_queue:dead with a last_error saying why.
# Real Redis, PostgreSQL, the GitHub simulator (slow and delayed tarballs) and singularity-worker.
set -uo pipefail
. "$SG_SOURCE_DIR/tests/integration/wk_lib.sh"
export RETRY_BASE_MS=500

# The job line's field (attempt, last_error) of the job for SHA in a Redis list.
field_in() { # LIST SHA FIELD
  redis-cli -p "$REDIS_PORT" --raw lrange "$1" 0 -1 | python3 -c "
import json, sys
for l in sys.stdin:
    j = json.loads(l)
    if j.get('sha') == sys.argv[1]:
        print(j.get(sys.argv[2])); break" "$2" "$3"
}
run_of() { # SHA FIELD -> the check run's field (output.summary as 'summary')
  sys_check_runs | python3 -c "
import json, sys
c = [c for c in json.load(sys.stdin) if c['head_sha'] == sys.argv[1]][0]
print(c['output']['summary'] if sys.argv[2] == 'summary' else c[sys.argv[2]])" "$1" "$2"
}

echo "# 1. ANALYSIS_TIMEOUT_S is validated at start"
for bad in 0 -5 abc 86401; do
  out=$(env REDIS_URL="$REDIS_URL" DATABASE_URL="$DATABASE_URL" APP_ID="$APP_ID" \
    PRIVATE_KEY_PATH="$PRIVATE_KEY_PATH" ANALYSIS_TIMEOUT_S=$bad timeout 5 "$(sys_bin worker)" 2>&1); rc=$?
  sg_check "ANALYSIS_TIMEOUT_S=$bad refused with exit 2 and a line naming it" \
    bash -c "[ $rc = 2 ] && grep -q '^singularity-worker: ANALYSIS_TIMEOUT_S' <<<'$out'"
done
sg_check "--help lists ANALYSIS_TIMEOUT_S with its default" \
  bash -c "'$(sys_bin worker)' --help | grep -q 'ANALYSIS_TIMEOUT_S.*600'"

echo "# 2. a job that runs out of time ends as a failed analysis, its check run says so"
T1=b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1
sys_start_worker b1 ANALYSIS_TIMEOUT_S=2
fault '{"method":"GET","path_prefix":"/repos/acme/widgets/tarball/","bytes_per_s":40,"count":1}'
t0=$(date +%s)
enqueue "$(job $T1)"
sg_check "the check run completed within the budget and a little" wait_completed $T1 15
sg_check "it took about the budget (2 s), not the slow download" [ $(($(date +%s) - t0)) -le 10 ]
sg_check "conclusion failure" [ "$(run_of $T1 conclusion)" = failure ]
sg_check "the check run says the analysis stopped after 2 s (ANALYSIS_TIMEOUT_S)" \
  grep -q 'stopped after 2 s.*ANALYSIS_TIMEOUT_S' <<<"$(run_of $T1 summary)"
sg_check "the analysis row is failed with that error" \
  [ "$(psql -tAc "select status || ':' || (error like '%stopped after 2 s%ANALYSIS_TIMEOUT_S%') from analyses where head_sha='$T1'")" = "failed:true" ]
sg_check "not retried, not dead: a permanent failure" \
  bash -c "[ \$(redis-cli -p $REDIS_PORT zcard analysis_queue:delayed) = 0 ] && [ \$(redis-cli -p $REDIS_PORT llen analysis_queue:dead) = 0 ] && [ \$(redis-cli -p $REDIS_PORT llen analysis_queue) = 0 ]"
sg_check "one check run" [ "$(runs_for $T1)" = 1 ]
kill "$WORKER_PID_b1"; wait "$WORKER_PID_b1" 2>/dev/null
clear_faults

echo "# 3. handed back at SIGTERM counts as an attempt; at MAX_ATTEMPTS the job is dead"
T2=b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2
for n in 1 2; do
  fault '{"method":"GET","path_prefix":"/repos/acme/widgets/tarball/","delay_ms":20000,"count":1}'
  sys_start_worker s$n SHUTDOWN_GRACE_S=4 MAX_ATTEMPTS=2
  [ $n = 1 ] && enqueue "$(job $T2)"
  sg_wait_for grep -q "\"msg\":\"job started\".*$T2" "$SG_TMP/worker-s$n.log"
  sleep 1 # into the (delayed) download
  pid_var=WORKER_PID_s$n
  kill -TERM "${!pid_var}"; wait "${!pid_var}"
  clear_faults
done
sg_check "after the first SIGTERM the job went back with attempt 1 (then a second worker took it)" \
  grep -q '"msg":"job handed back to the queue for shutdown".*"sha":"'$T2'".*"attempt":1' "$SG_TMP/worker-s1.log"
sg_check "after the second it went back with attempt 2 (= MAX_ATTEMPTS)" [ "$(field_in analysis_queue $T2 attempt)" = 2 ]
sys_start_worker s3 MAX_ATTEMPTS=2
sg_check "the next worker does not run it again: it buries it" \
  env SG_WAIT_S=20 bash -c ". '$SG_SOURCE_DIR/tests/lib/servers.sh'; sg_wait_for bash -c '[ -n \"\$(redis-cli -p $REDIS_PORT --raw lrange analysis_queue:dead 0 -1 | grep $T2)\" ]'"
sg_check "its last_error says it was stopped for shutdown" grep -qi shutdown <<<"$(field_in analysis_queue:dead $T2 last_error)"
sg_check "the analysis is failed and its one check run completed as a failure" \
  bash -c "[ \"\$(psql -tAc \"select status from analyses where head_sha='$T2'\")\" = failed ] && [ \"$(runs_for $T2)\" = 1 ] && [ \"$(completed_for $T2)\" = 1 ]"
sg_check "the tarball was not downloaded a third time" [ "$(grep -c "\"msg\":\"job started\".*$T2" "$SG_TMP/worker-s3.log")" = 1 ]
kill "$WORKER_PID_s3"; wait "$WORKER_PID_s3" 2>/dev/null
redis-cli -p "$REDIS_PORT" del analysis_queue:dead >/dev/null

echo "# 4. the hard stop's hand-back counts as an attempt"
T3=b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3
sys_start_worker h1 SHUTDOWN_GRACE_S=2
lock_installations 5
enqueue "$(job $T3)"
wait_lock_waiting
kill -TERM "$WORKER_PID_h1"; wait "$WORKER_PID_h1"
sg_check "the job is back on the queue with attempt 1 and a last_error naming SHUTDOWN_GRACE_S" \
  bash -c "[ \"$(field_in analysis_queue $T3 attempt)\" = 1 ] && redis-cli -p $REDIS_PORT --raw lrange analysis_queue 0 -1 | grep $T3 | grep -q SHUTDOWN_GRACE_S"
wait "$LOCK_PID"
redis-cli -p "$REDIS_PORT" del analysis_queue >/dev/null

echo "# 5. reclaimed by the reaper from a dead worker counts as an attempt"
T4=b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4
fault '{"method":"GET","path_prefix":"/repos/acme/widgets/tarball/","delay_ms":20000,"count":1}'
sys_start_worker k1 WORKER_DEAD_AFTER_S=2
enqueue "$(job $T4)"
sg_wait_for grep -q "\"msg\":\"job started\".*$T4" "$SG_TMP/worker-k1.log"
sleep 1 # into the (delayed) download
kill -9 "$WORKER_PID_k1"; wait "$WORKER_PID_k1" 2>/dev/null
clear_faults
# MAX_ATTEMPTS=1: the reclaimed job (attempt 1) is not run again but buried
sys_start_worker k2 WORKER_DEAD_AFTER_S=2 MAX_ATTEMPTS=1
sg_check "the reclaimed job reached the dead list with attempt 1" \
  env SG_WAIT_S=20 bash -c ". '$SG_SOURCE_DIR/tests/lib/servers.sh'; sg_wait_for bash -c '[ -n \"\$(redis-cli -p $REDIS_PORT --raw lrange analysis_queue:dead 0 -1 | grep $T4)\" ]'"
sg_check "with attempt 1 and a last_error saying its worker stopped answering" \
  bash -c "[ \"$(field_in analysis_queue:dead $T4 attempt)\" = 1 ] && redis-cli -p $REDIS_PORT --raw lrange analysis_queue:dead 0 -1 | grep $T4 | grep -q 'stopped answering'"
sg_check "the check run the dead worker created was completed as a failure (no second one)" \
  bash -c "[ \"$(runs_for $T4)\" = 1 ] && [ \"$(completed_for $T4)\" = 1 ] && [ \"$(run_of $T4 conclusion)\" = failure ]"
sg_check "the analysis row is failed" [ "$(psql -tAc "select status from analyses where head_sha='$T4'")" = failed ]
sg_summary
