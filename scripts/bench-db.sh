#!/usr/bin/env bash
# Why: what a job's SQL costs PostgreSQL as the history grows (operators keep years of
# results). The statements a worker runs per job (the claim, the result with the base lookup, the
# completion: the functions of migrations/) are replayed with pgbench against databases holding 0,
# 24 and 60 months of history (2, 26 and 62 monthly partitions with the current and the next
# month). Two schemas side by side in the same PostgreSQL, rounds alternated: every migration
# ("current"), and the migrations before BENCH_DB_BEFORE ("before", default 0003). By hand, not CI.
#
#   scripts/bench-db.sh [DURATION_S]       (default 8 s per run)
# Env: BENCH_DB_MONTHS ("0 24 60": months of history before the current one), BENCH_DB_ROUNDS (3),
# BENCH_DB_CLIENTS (1: pgbench clients, as workers), BENCH_DB_REPOS (50), BENCH_DB_PER_MONTH
# (2000 completed analyses per month of history), BENCH_DB_BEFORE (0003: the first migration the
# "before" schema leaves out), BENCH_DB_FUNCS=1 (also each function's mean time per call).
#
# A pgbench script is one job, its transactions as worker/wk_db.c sends them:
# - push (weight 4): a new commit claimed, its result stored and compared with the repository's
#   last commit (analysed this month), completed;
# - branch (weight 1): the first push of a new branch: no base commit, so the base is looked for on
#   the ref, which has no analysis before this one.
# Reported: jobs/s, and the CPU all of PostgreSQL used per job (steadier on a shared machine).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DUR=${1:-8}
MONTHS=${BENCH_DB_MONTHS:-"0 24 60"}
ROUNDS=${BENCH_DB_ROUNDS:-3}
CLIENTS=${BENCH_DB_CLIENTS:-1}
REPOS=${BENCH_DB_REPOS:-50}
PER_MONTH=${BENCH_DB_PER_MONTH:-2000}
BEFORE=${BENCH_DB_BEFORE:-0003}
SG_DEPS=worker scripts/deps.sh
. tests/lib/servers.sh
sg_tmpdir
sg_start_postgres >/dev/null
psql -d postgres -qc "alter system set track_functions = 'all'" -c "select pg_reload_conf()" >/dev/null
PGBENCH=$PG_BIN/pgbench

# schema DB LAST: the migrations up to LAST (a file name prefix; "" = all) applied with psql.
schema() {
  psql -d postgres -qc "create database $1"
  local f
  for f in "$ROOT"/migrations/*.sql; do
    if [ -n "$2" ] && [[ ! "$(basename "$f")" < "$2" ]]; then break; fi
    psql -d "$1" -q -v ON_ERROR_STOP=1 -1 -f "$f" >/dev/null
  done
}

# history DB M: partitions for the M months before this one, each with PER_MONTH completed
# analyses of REPOS repositories on main and a few branches; one completed analysis per
# repository this month ("tip-<repo>"), the commit a push is compared with.
history() {
  psql -d "$1" -q -v ON_ERROR_STOP=1 <<SQL >/dev/null
DO \$\$
DECLARE m timestamp; t text;
BEGIN
  FOR i IN 1..$2 LOOP
    m := date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => i);
    FOREACH t IN ARRAY ARRAY['analyses', 'findings'] LOOP
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                     t || '_' || to_char(m, 'YYYY_MM'), t, m AT TIME ZONE 'UTC',
                     (m + interval '1 month') AT TIME ZONE 'UTC');
    END LOOP;
  END LOOP;
END
\$\$;
INSERT INTO installations (id) VALUES (1);
INSERT INTO repositories (id, installation_id, full_name)
SELECT r, 1, 'org/repo' || r FROM generate_series(1, $REPOS) r;
INSERT INTO analyses (created_at, repository_id, installation_id, head_sha, ref, trigger,
                      engine_version, status, score, files, code_lines, comment_lines,
                      blank_lines, bytes, complexity, findings_total, rule_counts)
SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => mo)
          + k * interval '27 days' / $PER_MONTH) AT TIME ZONE 'UTC',
       1 + k % $REPOS, 1, md5(mo || ':' || k),
       CASE WHEN k % 5 = 0 THEN 'refs/heads/topic-' || (k % 97) ELSE 'refs/heads/main' END,
       'push', 'v1', 'completed', 7.5, 10, 1000, 100, 100, 40000, 50, 3, '{"SEC002": 3}'
FROM generate_series(1, $2) mo, generate_series(1, $PER_MONTH) k;
INSERT INTO analyses (repository_id, installation_id, head_sha, ref, trigger, engine_version,
                      status, score, files, code_lines, comment_lines, blank_lines, bytes,
                      complexity, findings_total, rule_counts)
SELECT r, 1, 'tip-' || r, 'refs/heads/main', 'push', 'v1', 'completed', 7.5, 10, 1000, 100, 100,
       40000, 50, 3, '{"SEC002": 3}'
FROM generate_series(1, $REPOS) r;
VACUUM ANALYZE;
SQL
}

# job_sql REF BASE: the job's three transactions as worker/wk_db.c sends them (BEGIN and SET LOCAL
# with the first statement, COMMIT with the last), for a push of a new commit on REF compared with
# BASE (SQL expressions).
job_sql() {
  cat <<SQL
\\set repo random(1, $REPOS)
\\set n random(1, 2000000000)
BEGIN;
SET LOCAL statement_timeout = 30000;
SELECT o_id AS id, quote_literal(o_created_at) AS at FROM singularity_claim(:repo, 1, 'org/repo' || :repo, md5(:n || ':' || random()), false, 'v1', $1, NULL, $2, 'push', 'd' || :n, 'v1', 'w1', 0) \\gset
COMMIT;
BEGIN;
SET LOCAL statement_timeout = 30000;
SELECT singularity_store_result(:id, :at, 7.4, 5, true, 10, 1000, 100, 100, 40000, 50, '[]', '{"SEC002": 3}', 3, 0, '{}', '[]', 20000, 3, 77, false);
SELECT * FROM singularity_find_base(:repo, 'v1', $2, $1, 'x', :at, :id);
COMMIT;
BEGIN;
SET LOCAL statement_timeout = 30000;
SELECT singularity_complete(:id, :at, 'success', 20);
COMMIT;
SQL
}
job_sql "'refs/heads/main'" "'tip-' || :repo" >"$SG_TMP/push.sql"
job_sql "'refs/heads/b' || :n" "NULL" >"$SG_TMP/branch.sql"

# CPU ticks of PostgreSQL: its live processes, plus the children the postmaster has reaped (each
# pgbench run's backend exits with its run).
pg_cpu() {
  local pm t=0 p
  pm=$(head -1 "$SG_PG_DATA/postmaster.pid")
  t=$(awk '{print $16+$17}' "/proc/$pm/stat")
  for p in $(pgrep -u postgres); do
    t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}

echo "pgbench -c$CLIENTS -T$DUR x $ROUNDS rounds, $REPOS repositories, $PER_MONTH analyses per month of history; load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| months of history | partitions | schema | jobs/s (median) | PostgreSQL CPU ms/job (median) | current vs before: jobs/s, CPU/job |"
echo "|---:|---:|---|---:|---:|---:|"
for m in $MONTHS; do
  for s in before current; do
    psql -d postgres -qc "drop database if exists $s" 2>/dev/null
    if [ "$s" = before ]; then schema "$s" "$BEFORE"; else schema "$s" ""; fi
    history "$s" "$m"
  done
  parts=$(psql -d current -tAc "select count(*) from pg_inherits where inhparent = 'analyses'::regclass")
  declare -A TPS CPU
  TPS=([before]="" [current]="") CPU=([before]="" [current]="")
  for s in before current; do # warm-up
    "$PGBENCH" -n -c "$CLIENTS" -T 1 -f "$SG_TMP/push.sql@4" -f "$SG_TMP/branch.sql@1" "$s" >/dev/null
  done
  for ((i = 0; i < ROUNDS; i++)); do
    for s in before current; do
      c0=$(pg_cpu)
      out=$("$PGBENCH" -n -c "$CLIENTS" -T "$DUR" -f "$SG_TMP/push.sql@4" -f "$SG_TMP/branch.sql@1" "$s")
      # the run's backend has exited once no session of the database is left; then it is reaped
      sg_wait_for bash -c "[ \$(psql -d postgres -tAc \"select count(*) from pg_stat_activity where datname = '$s'\") = 0 ]"
      sleep 0.2
      c1=$(pg_cpu)
      grep -q "number of failed transactions: 0 " <<<"$out" || sg_fail "pgbench failed on $s: $out"
      n=$(awk '/number of transactions actually processed/ {print $6}' <<<"$out" | cut -d/ -f1)
      tps=$(awk '/^tps/ {print $3}' <<<"$out")
      TPS[$s]+="$tps "
      CPU[$s]+="$(python3 -c "print(round((int('$c1')-int('$c0'))*10.0/max(1,int('$n')), 3))") "
    done
  done
  med() { python3 -c "import sys,statistics; print(round(statistics.median(float(x) for x in sys.argv[1:]), 3))" $1; }
  b=$(med "${TPS[before]}") bc=$(med "${CPU[before]}")
  for s in before current; do
    t=$(med "${TPS[$s]}") c=$(med "${CPU[$s]}")
    ratio=-
    [ "$s" = current ] && ratio=$(python3 -c "print('%.2fx, %.2fx' % ($t / $b, $c / $bc))")
    printf '| %s | %s | %s | %.0f | %s | %s |\n' "$m" "$parts" "$s" "$t" "$c" "$ratio"
  done
  unset TPS CPU
  # BENCH_DB_FUNCS=1: each function's mean total time per call (ms), every round and client
  if [ -n "${BENCH_DB_FUNCS:-}" ]; then
    for s in before current; do
      echo "  $s, $m months: $(psql -d "$s" -tAc "select string_agg(funcname || ' ' || round((total_time / calls)::numeric, 3), ', ' order by funcname) from pg_stat_user_functions where calls > 0 and funcname <> 'singularity_ensure_partitions'")"
    done
  fi
done
