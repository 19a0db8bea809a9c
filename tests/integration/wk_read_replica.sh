#!/usr/bin/env bash
# Why: DATABASE_READ_URL sends the operators' read-only queries to a streaming replica
# (DESIGN.md section 11) while the job path stays on DATABASE_URL. A real replica made with
# pg_basebackup -R serves `singularity-worker report`; the report still works with DATABASE_URL
# pointing nowhere (so it did read the replica); and with the replica stopped, jobs still complete
# while `report` says clearly which setting it could not reach.
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
. "$SG_SOURCE_DIR/tests/lib/redis_ha.sh"
. "$SG_SOURCE_DIR/tests/integration/system_lib.sh"
sg_tmpdir
sys_start_backends
export LOG_FORMAT=json GITHUB_PACE_MS=-1
sys_start_ingress
sys_start_worker a

# The replica: a base backup of the primary, streaming from it (standby.signal and
# primary_conninfo written by -R).
REPLICA_DATA=$SG_TMP/pg-replica
REPLICA_PORT=$(sg_free_port)
mkdir -p "$REPLICA_DATA" && chown postgres:postgres "$REPLICA_DATA" && chmod 700 "$REPLICA_DATA"
runuser -u postgres -- "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U postgres \
  -D "$REPLICA_DATA" -R -X stream >"$SG_TMP/basebackup.log" 2>&1 ||
  sg_fail "pg_basebackup failed: $(tail -3 "$SG_TMP/basebackup.log")"
replica_start() {
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -w -t 30 -l "$REPLICA_DATA/server.log" \
    -o "-p $REPLICA_PORT -k $REPLICA_DATA -c listen_addresses=127.0.0.1" start >/dev/null ||
    sg_fail "replica did not start: $(tail -5 "$REPLICA_DATA/server.log")"
}
replica_stop() { runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -m fast -w stop >/dev/null 2>&1; }
trap 'replica_stop; sg_cleanup' EXIT
replica_start
READ_URL="postgres://postgres@127.0.0.1:$REPLICA_PORT/singularity"
sg_check "the replica is in recovery (a standby)" \
  [ "$(psql -p "$REPLICA_PORT" -tAc 'select pg_is_in_recovery()')" = t ]

i=0
for sha in 1111111111111111111111111111111111111111 2222222222222222222222222222222222222222 \
  3333333333333333333333333333333333333333; do
  i=$((i + 1))
  sg_check "push $i accepted" [ "$(sys_send push "$(sys_push_payload $sha)")" = 202 ]
  sg_check "push $i analysed" sys_wait_check_runs "$i" 60
done
sg_check "the replica caught up" sg_wait_s 30 bash -c \
  "[ \"\$(psql -p $REPLICA_PORT -tAc \"select count(*) from analyses where status='completed'\")\" = 3 ]"

out=$(DATABASE_READ_URL=$READ_URL DATABASE_URL=postgres://postgres@127.0.0.1:1/none \
  "$(sys_bin worker)" report 2>&1)
echo "  $out"
sg_check "report reads the replica (DATABASE_URL points nowhere)" grep -q "^$SYS_OWNER/$SYS_REPO " <<<"$out"
sg_check "report shows a sparkline of the three scores and first -> last" \
  grep -qE "[▁▂▃▄▅▆▇█]{3} [0-9]+\.[0-9] → [0-9]+\.[0-9]  \(3 analyses" <<<"$out"
out=$(DATABASE_READ_URL=$READ_URL "$(sys_bin worker)" report "$SYS_OWNER/$SYS_REPO" --last 2 2>&1)
sg_check "report REPO --last 2" grep -q "(2 analyses" <<<"$out"
out=$(DATABASE_READ_URL=$READ_URL "$(sys_bin worker)" report nobody/nothing 2>&1)
sg_check "report of an unknown repository: exit 1, says so" \
  grep -q "no completed analysis of nobody/nothing" <<<"$out"

replica_stop
SHA4=4444444444444444444444444444444444444444
sg_check "replica down: a push is still accepted" [ "$(sys_send push "$(sys_push_payload $SHA4)")" = 202 ]
sg_check "replica down: the job path still completes (it never used the replica)" sys_wait_check_runs 4 60
out=$(DATABASE_READ_URL=$READ_URL "$(sys_bin worker)" report 2>&1)
rc=$?
sg_check "replica down: report fails (exit 1) naming DATABASE_READ_URL" \
  bash -c "[ $rc = 1 ] && grep -q '^singularity-worker: DATABASE_READ_URL: ' <<<\"\$1\"" _ "$out"
sg_summary
