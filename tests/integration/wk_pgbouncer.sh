#!/usr/bin/env bash
# Why: DESIGN.md asks that PgBouncer in transaction mode works: no session state may outlive a
# transaction (no named prepared statements, no session SET, only xact-scoped advisory locks). Here
# `migrate` and two workers talk to PostgreSQL only through a real pgbouncer in transaction mode with
# ONE server connection, so their transactions interleave on the same backend; every job must still
# complete exactly once, with no database error.
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
. "$SG_SOURCE_DIR/tests/integration/system_lib.sh"
command -v /usr/sbin/pgbouncer >/dev/null || sg_fail "pgbouncer is not installed (scripts/deps.sh)"
sg_tmpdir
sg_start_redis
sg_start_postgres
sg_start_github_sim --repos "$SG_SOURCE_DIR/tests/fixtures/sample-repo" \
  --installation "$SYS_INSTALLATION=$SYS_OWNER/$SYS_REPO"

BOUNCER_PORT=$(sg_free_port)
B="$SG_TMP/pgbouncer"
mkdir -p "$B"
cat >"$B/pgbouncer.ini" <<INI
[databases]
singularity = host=127.0.0.1 port=$PG_PORT dbname=singularity user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $B/users.txt
pool_mode = transaction
default_pool_size = 1
max_client_conn = 50
server_reset_query =
logfile = $B/pgbouncer.log
pidfile = $B/pgbouncer.pid
INI
echo '"postgres" ""' >"$B/users.txt"
chown -R postgres:postgres "$B"
runuser -u postgres -- /usr/sbin/pgbouncer "$B/pgbouncer.ini" >/dev/null 2>&1 &
sg_track $!
sg_wait_for psql "postgres://postgres@127.0.0.1:$BOUNCER_PORT/singularity" -tAc 'select 1' ||
  sg_fail "pgbouncer did not start: $(tail -5 "$B/pgbouncer.log")"
export DATABASE_URL="postgres://postgres@127.0.0.1:$BOUNCER_PORT/singularity"

sg_check "migrate through pgbouncer (transaction mode)" "$(sys_bin worker)" migrate
sg_check "migrate again through pgbouncer applies nothing" bash -c "'$(sys_bin worker)' migrate | grep -q '0 applied'"
sys_start_worker p1
sys_start_worker p2
for i in $(seq 1 12); do
  s=$(printf 'cafe%036x' "$i")
  redis-cli -p "$REDIS_PORT" lpush analysis_queue "{\"v\":1,\"kind\":\"analyze\",\"delivery\":\"pgb-$i\",\"event\":\"push\",\"action\":null,\"installation\":$SYS_INSTALLATION,\"repo\":{\"id\":$SYS_REPO_ID,\"full_name\":\"$SYS_OWNER/$SYS_REPO\"},\"sha\":\"$s\",\"ref\":\"refs/heads/main\",\"base_sha\":null,\"pull\":null,\"force\":false,\"received_at\":$(($(date +%s) * 1000)),\"attempt\":0}" >/dev/null
done
# The same commit twice at once: still one analysis.
s=$(printf 'cafe%036x' 1)
redis-cli -p "$REDIS_PORT" lpush analysis_queue "{\"v\":1,\"kind\":\"analyze\",\"delivery\":\"pgb-dup\",\"event\":\"check_suite\",\"action\":\"requested\",\"installation\":$SYS_INSTALLATION,\"repo\":{\"id\":$SYS_REPO_ID,\"full_name\":\"$SYS_OWNER/$SYS_REPO\"},\"sha\":\"$s\",\"ref\":\"refs/heads/main\",\"base_sha\":null,\"pull\":null,\"force\":false,\"received_at\":$(($(date +%s) * 1000)),\"attempt\":0}" >/dev/null
sg_check "every job completed through pgbouncer" sys_wait_check_runs 12 90
sg_check "queue drained" sys_wait_idle 30
sg_check "one completed analysis per commit" \
  [ "$(psql -tAc "select count(*) from analyses where status='completed'")" = 12 ]
sg_check "one check run per commit" [ "$(sys_check_runs | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 12 ]
sg_check "no database error on either worker" bash -c "
  [ \$(curl -sf http://127.0.0.1:$WORKER_METRICS_p1/metrics | awk '/^singularity_db_errors_total/ {print \$2}') = 0 ] &&
  [ \$(curl -sf http://127.0.0.1:$WORKER_METRICS_p2/metrics | awk '/^singularity_db_errors_total/ {print \$2}') = 0 ]"
sg_check "pgbouncer used a single server connection" \
  [ "$(psql -d postgres -tAc "select count(*) from pg_stat_activity where datname='singularity' and backend_type='client backend'")" -le 2 ]
sg_summary
