#!/usr/bin/env bash
# Why: the schema is applied by `singularity-worker migrate` once each, under a lock (also when
# several run at once, as several Helm hooks or compose services might), creates monthly partitions
# ahead, and a worker refuses an older schema; the operators' queue/dead commands read and change
# exactly the Redis keys DESIGN.md names. Real PostgreSQL and Redis on free ports.
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
sg_tmpdir
sg_start_redis
sg_start_postgres
W="$SG_BUILD_DIR/worker/singularity-worker"
export LOG_FORMAT=text

out=$("$W" migrate 2>&1)
sg_check "first migrate applies every migration" grep -q "^migrate: [1-9][0-9]* applied" <<<"$out"
out2=$("$W" migrate 2>&1)
sg_check "second migrate applies nothing" grep -q "^migrate: 0 applied" <<<"$out2"
n=$(psql -tAc "select count(*) from schema_migrations")
sg_check "schema_migrations has one row per migration" [ "$n" = "$(ls "$SG_SOURCE_DIR"/migrations/*.sql | wc -l)" ]

this=$(psql -tAc "select to_char(date_trunc('month', now() at time zone 'UTC'), 'YYYY_MM')")
next=$(psql -tAc "select to_char(date_trunc('month', now() at time zone 'UTC') + interval '1 month', 'YYYY_MM')")
for t in analyses findings; do
  sg_check "partition ${t}_$this exists" [ "$(psql -tAc "select to_regclass('${t}_$this') is not null")" = t ]
  sg_check "partition ${t}_$next exists" [ "$(psql -tAc "select to_regclass('${t}_$next') is not null")" = t ]
done
sg_check "repository_quality view exists" psql -qtAc "select * from repository_quality limit 1"

# The claim function (migration 0002): a new analysis, then the same commit found again; the
# repository row is brought back and renamed when the job says so; and claims of two commits of one
# repository do not wait for each other (no row lock on the repository is held by a claim).
claim() { # claim SHA -> "inserted|status"
  psql -tAc "select o_inserted || '|' || o_status from singularity_claim(5, 9, 'a/b', '$1', false, 'v1', 'refs/heads/main', null, null, 'push', 'd-$1', 'v1', 'w1', 1)"
}
sg_check "a first claim inserts a running analysis" [ "$(claim c1)" = "true|running" ]
psql -qc "update repositories set removed_at = now(), full_name = 'old/name' where id = 5"
sg_check "a second claim of the commit finds it" [ "$(claim c1)" = "false|running" ]
sg_check "the claim restored and renamed the repository" \
  [ "$(psql -tAc "select full_name || '|' || (removed_at is null) from repositories where id = 5")" = "a/b|true" ]
psql -qc "begin; select singularity_claim(5, 9, 'a/b', 'c2', false, 'v1', null, null, null, 'push', 'd-c2', 'v1', 'w1', 1); select pg_sleep(3); commit" >/dev/null &
HOLD=$!
sleep 0.5
sg_check "a claim of another commit of the repository does not wait for an open one" \
  [ "$(PGOPTIONS='-c lock_timeout=1000' psql -tAc "select o_inserted from singularity_claim(5, 9, 'a/b', 'c3', false, 'v1', null, null, null, 'push', 'd-c3', 'v1', 'w1', 1)")" = t ]
wait "$HOLD"

# Lookups across months (migration 0003): a commit or ref analysed in an older month is still
# found, now that the claim and the base lookup search only from the first analysis of the commit
# or ref on. History goes into a partition 14 months back, inserted by hand as an operator (or an
# older worker) would: the trigger records it all the same.
old_m=$(psql -tAc "select to_char(date_trunc('month', now() at time zone 'UTC') - interval '14 months', 'YYYY_MM')")
for t in analyses findings; do
  psql -qc "create table ${t}_$old_m partition of $t for values from ('${old_m/_/-}-01 00:00+00') to ('${old_m/_/-}-01 00:00+00'::timestamptz + interval '1 month')"
done
at_old() { psql -tAc "select to_char(date_trunc('month', now() at time zone 'UTC') - interval '14 months' + interval '$1 days', 'YYYY-MM-DD') || ' 12:00+00'"; }
hist() { # hist SHA REF DAY: a completed analysis of repository 5 that many days into the old month
  psql -qc "insert into analyses (created_at, repository_id, head_sha, ref, trigger, engine_version, status, score) values ('$(at_old "$3")', 5, '$1', '$2', 'push', 'v1', 'completed', 6.5)"
}
hist old1 refs/heads/rel 3
sg_check "a commit analysed 14 months ago is recorded with its first analysis's time" \
  [ "$(psql -tAc "select first_at = '$(at_old 3)' from analysed_commits where repository_id = 5 and head_sha = 'old1'")" = t ]
sg_check "a claim of it reuses that completed analysis" [ "$(claim old1)" = "false|completed" ]
hist old1 refs/heads/rel 1
sg_check "an earlier analysis inserted later moves the commit's first time back" \
  [ "$(psql -tAc "select first_at = '$(at_old 1)' from analysed_commits where repository_id = 5 and head_sha = 'old1'")" = t ]
sg_check "and the ref's" \
  [ "$(psql -tAc "select first_at = '$(at_old 1)' from analysed_refs where repository_id = 5 and ref = 'refs/heads/rel'")" = t ]
psql -qc "insert into analyses (created_at, repository_id, head_sha, ref, trigger, engine_version, status) values ('$(at_old 5)', 5, 'fail1', null, 'push', 'v1', 'failed')"
sg_check "a commit whose only analysis failed is analysed again" [ "$(claim fail1)" = "true|running" ]
sg_check "a forced claim of an old commit makes its own analysis" \
  [ "$(psql -tAc "select o_inserted || '|' || o_status from singularity_claim(5, 9, 'a/b', 'old1', true, 'd-force', null, null, null, 'check_run.rerequested', 'd-force', 'v1', 'w1', 1)")" = "true|running" ]
sg_check "and its retry finds that analysis by its delivery" \
  [ "$(psql -tAc "select o_inserted || '|' || o_status from singularity_claim(5, 9, 'a/b', 'old1', true, 'd-force', null, null, null, 'check_run.rerequested', 'd-force', 'v1', 'w1', 2)")" = "false|running" ]
base() { # base BASE_SHA REF HEAD -> the head_sha of the base analysis found, for a new analysis now
  psql -tAc "select coalesce((select o_head_sha from singularity_find_base(5, 'v1', $1, $2, '$3', now(), 1000000)), '-')"
}
sg_check "the base lookup finds a base commit analysed 14 months ago" [ "$(base "'old1'" null new1)" = old1 ]
sg_check "and, on a ref last analysed 14 months ago, that analysis" [ "$(base null "'refs/heads/rel'" new1)" = old1 ]
sg_check "a base commit never analysed falls back to the ref" [ "$(base "'nope'" "'refs/heads/rel'" new1)" = old1 ]
sg_check "a ref never analysed has no base" [ "$(base null "'refs/heads/none'" new1)" = - ]
hist old2 refs/heads/rel 9
psql -qc "insert into analyses (repository_id, head_sha, ref, trigger, engine_version, status) values (5, 'cur1', 'refs/heads/rel', 'push', 'v1', 'completed')"
sg_check "the newest analysis on the ref wins, this month's before older months'" [ "$(base null "'refs/heads/rel'" new1)" = cur1 ]
sg_check "an analysis of the head commit itself is not its base" [ "$(base null "'refs/heads/rel'" cur1)" = old2 ]
sg_check "the job's functions plan once per connection (generic plans)" \
  [ "$(psql -tAc "select count(*) from pg_proc where proname in ('singularity_claim', 'singularity_find_base', 'singularity_store_result', 'singularity_complete') and 'plan_cache_mode=force_generic_plan' = any(proconfig)")" = 4 ]

# Upgrading a database that already holds analyses: migration 0003 records their commits and refs.
psql -d postgres -qc "create database upgrade"
psql -d upgrade -qc "create table schema_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())"
for f in "$SG_SOURCE_DIR"/migrations/000[12]_*.sql; do
  psql -d upgrade -q -v ON_ERROR_STOP=1 -1 -f "$f" >/dev/null
  v=$(basename "$f" | sed 's/_.*//; s/^0*//')
  psql -d upgrade -qc "insert into schema_migrations (version, name) values ($v, '$(basename "$f")')"
done
psql -d upgrade -qc "insert into analyses (created_at, repository_id, head_sha, ref, trigger, engine_version, status) values (now() - interval '1 hour', 8, 'u1', 'refs/heads/main', 'push', 'v1', 'completed'), (now(), 8, 'u1', 'refs/heads/main', 'push', 'v1', 'completed'), (now(), 8, 'u2', null, 'push', 'v1', 'completed')"
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/upgrade" "$W" migrate >"$SG_TMP/upgrade.out" 2>&1
sg_check "migrate on a database at migration 2 applies the rest" grep -q "^migrate: [1-9][0-9]* applied" "$SG_TMP/upgrade.out"
sg_check "the commits already analysed are recorded, each with its first analysis's time" \
  [ "$(psql -d upgrade -tAc "select string_agg(head_sha || ':' || (first_at = (select min(created_at) from analyses a where a.head_sha = c.head_sha)), ',' order by head_sha) from analysed_commits c")" = "u1:true,u2:true" ]
sg_check "and their refs" [ "$(psql -d upgrade -tAc "select string_agg(ref, ',') from analysed_refs")" = refs/heads/main ]
sg_check "a claim after the upgrade reuses the analysis from before it" \
  [ "$(psql -d upgrade -tAc "select o_inserted || '|' || o_status from singularity_claim(8, 9, 'a/c', 'u1', false, 'v1', 'refs/heads/main', null, null, 'push', 'd-u1', 'v1', 'w1', 1)")" = "false|completed" ]

# A rolling upgrade: a claim by a worker of the previous version (migration 0002's function) that
# arrives while 0003 is being applied waits for it, then its analysis is recorded all the same.
psql -d postgres -qc "create database rolling"
for f in "$SG_SOURCE_DIR"/migrations/000[12]_*.sql; do psql -d rolling -q -v ON_ERROR_STOP=1 -1 -f "$f" >/dev/null; done
(cat "$SG_SOURCE_DIR"/migrations/0003_*.sql; echo "select pg_sleep(2);") |
  psql -d rolling -q -v ON_ERROR_STOP=1 -1 >/dev/null 2>"$SG_TMP/rolling.err" &
MIG=$!
# once the migration holds its lock, a claim of the previous version's function
sg_wait_for bash -c "[ \$(psql -d rolling -tAc \"select count(*) from pg_locks l join pg_class c on c.oid = l.relation where c.relname = 'analyses' and l.mode = 'ShareRowExclusiveLock' and l.granted\") -ge 1 ]"
psql -d rolling -tAc "select o_inserted from singularity_claim(8, 9, 'a/c', 'r1', false, 'v1', 'refs/heads/r', null, null, 'push', 'd-r1', 'v1', 'w1', 1)" >"$SG_TMP/rolling.out" 2>&1 &
CLAIM=$!
sg_check "a claim during the migration waits for its lock" sg_wait_for bash -c \
  "[ \$(psql -d rolling -tAc \"select count(*) from pg_stat_activity where datname = 'rolling' and wait_event_type = 'Lock'\") -ge 1 ]"
wait "$MIG"
wait "$CLAIM"
sg_check "the migration applied" [ ! -s "$SG_TMP/rolling.err" ]
sg_check "then the claim inserted its analysis" [ "$(cat "$SG_TMP/rolling.out")" = t ]
sg_check "and its commit and ref are recorded" \
  [ "$(psql -d rolling -tAc "select (select count(*) from analysed_commits where head_sha = 'r1') || ',' || (select count(*) from analysed_refs where ref = 'refs/heads/r')")" = "1,1" ]
sg_check "so a claim of the new version reuses it" \
  [ "$(psql -d rolling -tAc "select o_inserted from singularity_claim(8, 9, 'a/c', 'r1', false, 'v1', 'refs/heads/r', null, null, 'push', 'd-r1b', 'v1', 'w2', 1)")" = f ]

# Concurrent migrate on a fresh database: every run succeeds, each migration applied once.
psql -d postgres -qc "create database conc"
pids=()
for i in 1 2 3 4; do
  DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/conc" "$W" migrate >"$SG_TMP/m$i.out" 2>&1 &
  pids+=($!)
done
okc=0
for p in "${pids[@]}"; do wait "$p" && okc=$((okc+1)); done
sg_check "four concurrent migrates all succeed" [ "$okc" = 4 ]
applied=$(cat "$SG_TMP"/m*.out | sed -n 's/^migrate: \([0-9]*\) applied.*/\1/p' | python3 -c 'import sys; print(sum(int(x) for x in sys.stdin.read().split()))')
sg_check "concurrent migrates applied each migration once in total" [ "$applied" = "$n" ]
sg_check "concurrent migrates left one row per migration" \
  [ "$(psql -d conc -tAc 'select count(*) from schema_migrations')" = "$n" ]

# A worker refuses a database whose schema is older than it needs.
psql -d postgres -qc "create database empty"
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/empty" APP_ID=1 \
  PRIVATE_KEY_PATH="$SG_SOURCE_DIR/tests/fixtures/github/app-key.pem" METRICS_PORT=0 \
  timeout 20 "$W" >"$SG_TMP/old.out" 2>&1
rc=$?
sg_check "worker exits 1 on an older schema" [ "$rc" = 1 ]
sg_check "and says to run migrate" grep -q "run \`singularity-worker migrate\`" "$SG_TMP/old.out"

# Without APP_ID a worker does not start; migrate/queue/dead do not need it.
APP_ID= PRIVATE_KEY= PRIVATE_KEY_PATH= timeout 10 "$W" >"$SG_TMP/noapp.out" 2>&1
rc=$?
sg_check "worker without APP_ID exits 2 naming the variable" \
  bash -c "[ $rc = 2 ] && grep -q '^singularity-worker: APP_ID: required' '$SG_TMP/noapp.out'"
METRICS_PORT=99999 APP_ID=1 PRIVATE_KEY_PATH="$SG_SOURCE_DIR/tests/fixtures/github/app-key.pem" \
  timeout 10 "$W" >"$SG_TMP/badport.out" 2>&1
sg_check "bad METRICS_PORT is named" grep -q "METRICS_PORT" "$SG_TMP/badport.out"

# Operators' commands on the Redis keys.
now=$(($(date +%s) * 1000))
job() { printf '{"v":1,"kind":"analyze","delivery":"%s","event":"push","action":null,"installation":7,"repo":{"id":1,"full_name":"octo/hello"},"sha":"%s","ref":"refs/heads/main","base_sha":null,"pull":null,"force":false,"received_at":%s,"attempt":%s%s}' "$@"; }
redis-cli -p "$REDIS_PORT" lpush analysis_queue "$(job d-1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa $((now - 3000)) 0 '')" >/dev/null
redis-cli -p "$REDIS_PORT" lpush analysis_queue:dead "$(job d-2 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb $now 8 ',"last_error":"creating the check run: Server Error"')" >/dev/null
redis-cli -p "$REDIS_PORT" lpush analysis_queue:dead "$(job d-3 cccccccccccccccccccccccccccccccccccccccc $now 8 ',"last_error":"boom"')" >/dev/null
redis-cli -p "$REDIS_PORT" zadd analysis_queue:delayed $((now + 60000)) x >/dev/null
q=$("$W" queue --json)
sg_check "queue --json counts" python3 -c "
import json,sys; q=json.loads(sys.argv[1])
assert q['pending']==1 and q['delayed']==1 and q['dead']==2 and q['inflight']==0, q
assert 2.5 <= q['oldest_age_seconds'] < 30, q" "$q"
sg_check "queue (readable) shows pending and dead" bash -c "'$W' queue | grep -q '^pending *1' && '$W' queue | grep -q '^dead *2'"
sg_check "dead list shows the last error" bash -c "'$W' dead list | grep -q 'd-2.*Server Error'"
sg_check "dead list --json is a JSON array" bash -c "'$W' dead list --json | python3 -c 'import json,sys; assert len(json.load(sys.stdin))==2'"
sg_check "dead retry ID moves that job back with attempts reset" bash -c "
  '$W' dead retry d-2 | grep -q '1 job' &&
  [ \$(redis-cli -p $REDIS_PORT llen analysis_queue:dead) = 1 ] &&
  redis-cli -p $REDIS_PORT lrange analysis_queue 0 0 | grep -q '\"delivery\":\"d-2\".*\"attempt\":0}'"
sg_check "dead retry of an unknown id fails" bash -c "! '$W' dead retry nope >/dev/null 2>&1"
sg_check "dead purge empties the dead list" bash -c "'$W' dead purge | grep -q '1 job' && [ \$(redis-cli -p $REDIS_PORT llen analysis_queue:dead) = 0 ]"
sg_check "--version and --help" bash -c "'$W' --version | grep -q 'singularity-worker' && '$W' --help | grep -q 'redeliver --since'"
sg_check "unknown command exits 2" bash -c "'$W' frobnicate >/dev/null 2>&1; [ \$? = 2 ]"
sg_summary
