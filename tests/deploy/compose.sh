#!/usr/bin/env bash
# Why: docker-compose.yml is what a developer tries first, so it is run for real, as the scaling
# guide runs it: podman-compose brings up redis (AOF), postgres, the one-shot migration, THREE
# ingress replicas behind the nginx load balancer and FIVE workers (what `docker compose up -d
# --scale ingress=3 --scale worker=5` starts; podman-compose takes a single --scale, so the
# counts come from INGRESS_REPLICAS and WORKER_REPLICAS), pointed at the GitHub simulator (tests/deploy/docker-compose.github-sim.yml).
# Signed webhooks go in through the balancer's published port on 127.0.0.1; the test shows from
# the ingress logs that every replica answered some of them, waits for every analysis to be
# completed in PostgreSQL and a check run to be completed in the simulator, and asserts that more
# than one worker did the work, that every Singularity process runs as UID 10001 on a read-only
# root, that Redis has AOF on, and that a bad signature and a duplicate delivery queue nothing.
# Then a second, short run with deploy/compose/pgbouncer.yml: a few deliveries analysed with the
# workers' connections going through PgBouncer in transaction mode, shown from PgBouncer's admin
# console (SHOW CLIENTS, SHOW POOLS) and from PostgreSQL's pg_stat_activity (every session from
# PgBouncer's address, none from the workers'). The images are those deploy_images built
# (scripts/images.sh reuses its cached layers).
set -uo pipefail
: "${SG_SOURCE_DIR:?}" "${SG_BUILD_DIR:?}"
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
. "$SG_SOURCE_DIR/tests/deploy/lib.sh"
sg_tmpdir

sg_ensure_deploy_deps || sg_fail "deploy packages unavailable (SG_DEPS=deploy scripts/deps.sh)"
SIM="$SG_BUILD_DIR/tests/github-sim/singularity-github-sim"
[ -x "$SIM" ] || sg_fail "the GitHub simulator is not built ($SIM): the compose test needs it"
PC=$(sg_ensure_podman_compose) || sg_fail "podman-compose unavailable"
sg_ensure_deploy_npm || sg_fail "npm packages unavailable"
# Enough deliveries that nginx's rotation over three replicas misses none (3 x (2/3)^30 < 1e-4).
JOBS=${SG_COMPOSE_JOBS:-30}
INGRESSES=3
WORKERS=5

SG_IMAGE_LOG_DIR=$SG_TMP "$SG_SOURCE_DIR/scripts/images.sh" ingress worker || sg_fail "scripts/images.sh failed"
# Stand-ins for docker.io/library/redis, postgres, nginx and CloudNativePG's pgbouncer (no
# registry here), from Debian packages.
for n in redis postgres nginx pgbouncer; do
  buildah bud --isolation chroot --format docker --layers --pull=never -f "$SG_SOURCE_DIR/tests/deploy/images/Dockerfile.$n" \
    -t "localhost/singularity-test-$n:latest" "$SG_SOURCE_DIR/tests/deploy/images" >"$SG_TMP/image-$n.log" 2>&1 ||
    { tail -20 "$SG_TMP/image-$n.log"; sg_fail "building the $n stand-in image failed"; }
done

VERSION=$(sed -n 's/^project(singularity VERSION \([0-9.]*\).*/\1/p' "$SG_SOURCE_DIR/CMakeLists.txt")
PROJECT=sgcompose$$
SECRET="compose-webhook-secret-$$"
mkdir -p "$SG_TMP/secrets"
printf '%s\n' "$SECRET" >"$SG_TMP/secrets/webhook-secret"   # the trailing newline is removed by *_FILE
cp "$SG_SOURCE_DIR/tests/fixtures/github/app-key.pem" "$SG_TMP/secrets/private-key.pem"
chmod 0644 "$SG_TMP/secrets/"*
export SINGULARITY_SECRETS_DIR="$SG_TMP/secrets" SG_BUILD_DIR SG_SOURCE_DIR
export SINGULARITY_INGRESS_IMAGE=localhost/singularity-ingress:$VERSION SINGULARITY_WORKER_IMAGE=localhost/singularity-worker:$VERSION
export REDIS_IMAGE=localhost/singularity-test-redis:latest POSTGRES_IMAGE=localhost/singularity-test-postgres:latest
export NGINX_IMAGE=localhost/singularity-test-nginx:latest PGBOUNCER_IMAGE=localhost/singularity-test-pgbouncer:latest
# The stack's own Redis and PostgreSQL, whatever the calling environment says.
unset REDIS_URL REDIS_SENTINELS REDIS_SENTINEL_MASTER REDIS_SENTINEL_PASSWORD REDIS_TLS_CA_FILE REDIS_TLS_SERVER_NAME \
  REDIS_TLS_INSECURE REDIS_MIN_REPLICAS_ACK REDIS_WAIT_TIMEOUT_MS DATABASE_READ_URL POSTGRES_PASSWORD
export INGRESS_PORT=$(sg_free_port)
COMPOSE=("$PC" -p "$PROJECT" -f "$SG_SOURCE_DIR/docker-compose.yml" -f "$SG_SOURCE_DIR/tests/deploy/docker-compose.github-sim.yml")

# Everything of the project goes at exit, also what `down` misses (scaled replicas, the pod).
compose_cleanup() {
  "${COMPOSE[@]}" down -v -t 10 >/dev/null 2>&1
  podman pod rm -f "pod_$PROJECT" >/dev/null 2>&1
  local ids
  ids=$(podman ps -aq --filter "label=io.podman.compose.project=$PROJECT")
  [ -z "$ids" ] || podman rm -f -t 2 $ids >/dev/null 2>&1
  podman volume ls -q --filter "label=io.podman.compose.project=$PROJECT" | xargs -r podman volume rm -f >/dev/null 2>&1
  podman network rm -f "${PROJECT}_default" >/dev/null 2>&1
}
trap 'compose_cleanup; sg_cleanup' EXIT

q() { podman exec "${PROJECT}_postgres_1" psql -U singularity -d singularity -tAc "$1" 2>/dev/null; }
c() { podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}' | grep "_$1_" | sort; }

# The files are valid Compose (the spec's JSON schema, after interpolation), and the check bites.
sg_check "docker-compose.yml, the PgBouncer and simulator overrides follow the Compose spec" \
  node "$SG_SOURCE_DIR/tests/deploy/compose-validate.mjs" "$SG_SOURCE_DIR/docker-compose.yml" \
  "$SG_SOURCE_DIR/deploy/compose/pgbouncer.yml" "$SG_SOURCE_DIR/tests/deploy/docker-compose.github-sim.yml"
sed 's/^    read_only: true/    read_only: yes please/' "$SG_SOURCE_DIR/deploy/compose/pgbouncer.yml" >"$SG_TMP/bad-pgbouncer.yml"
sg_expect_fail "the Compose schema rejects a non-boolean read_only in the PgBouncer override" \
  node "$SG_SOURCE_DIR/tests/deploy/compose-validate.mjs" "$SG_TMP/bad-pgbouncer.yml"
sed 's/^    stop_grace_period: 35s/    stop_grace_period: 35 seconds/' "$SG_SOURCE_DIR/docker-compose.yml" >"$SG_TMP/bad-compose.yml"
sg_expect_fail "the Compose schema rejects a bad duration" node "$SG_SOURCE_DIR/tests/deploy/compose-validate.mjs" "$SG_TMP/bad-compose.yml"
sed 's/^    stop_grace_period:/    stop_grace_periode:/' "$SG_SOURCE_DIR/docker-compose.yml" >"$SG_TMP/bad-compose2.yml"
sg_expect_fail "the Compose schema rejects an unknown key" node "$SG_SOURCE_DIR/tests/deploy/compose-validate.mjs" "$SG_TMP/bad-compose2.yml"

start=$(date +%s)
# podman-compose 1.6 takes a single --scale and then ignores every other service's
# deploy.replicas; Docker Compose takes several. So the counts come from the file's
# deploy.replicas (INGRESS_REPLICAS, WORKER_REPLICAS), which is what `--scale` overrides.
sg_check "podman-compose up -d with $INGRESSES ingress replicas and $WORKERS workers" bash -c \
  'INGRESS_REPLICAS='$INGRESSES' WORKER_REPLICAS='$WORKERS' "$@" up -d >"'"$SG_TMP"'/up.log" 2>&1' _ "${COMPOSE[@]}" ||
  grep -v 'systemd connection' "$SG_TMP/up.log" | tail -30
URL="http://127.0.0.1:$INGRESS_PORT"
SG_WAIT_S=90 sg_check "ingress /readyz 200 through the load balancer" sg_wait_for sg_http_is "$URL/readyz" 200
sg_check "$INGRESSES ingress containers" test "$(c ingress | wc -l)" = "$INGRESSES"
# Every replica up before the deliveries go in (each answers /readyz inside the network).
SG_WAIT_S=60 sg_check "every ingress replica ready" sg_wait_for bash -c \
  "for i in $(c ingress | tr '\n' ' '); do podman exec \$i bash -c 'exec 3<>/dev/tcp/127.0.0.1/4000; printf \"GET /readyz HTTP/1.0\r\n\r\n\" >&3; head -n 1 <&3' 2>/dev/null | grep -q ' 200' || exit 1; done"
sg_check "/metrics is not served through the load balancer" test "$(sg_http_status "$URL/metrics")" = 404
SG_WAIT_S=120 sg_check "migrate ran once and exited 0" sg_wait_for bash -c \
  "[ \"\$(podman inspect --format '{{.State.Status}} {{.State.ExitCode}}' ${PROJECT}_migrate_1)\" = 'exited 0' ]"
sg_check "$WORKERS worker containers" test "$(c worker | wc -l)" = "$WORKERS"
sg_check "ingress and worker services: no container_name or host port (so they scale), read-only, no capabilities" node --input-type=module -e '
import { readFileSync } from "node:fs";
import YAML from "'"$SG_SOURCE_DIR"'/tests/deploy/node_modules/yaml/dist/index.js";
const svcs = YAML.parse(readFileSync(process.argv[1], "utf8"), { merge: true }).services;
for (const w of [svcs.ingress, svcs.worker, svcs.lb]) {
  if (!w.read_only || !(w.cap_drop || []).includes("ALL")) process.exit(1);
}
process.exit([svcs.ingress, svcs.worker].every((w) => !w.container_name && !w.ports) ? 0 : 1);
' "$SG_SOURCE_DIR/docker-compose.yml"
echo "stack up in $(( $(date +%s) - start ))s"

# ---- webhooks in
# N signed pushes of commits FIRST+1.. under delivery ids ID-1..: how many were answered 202
# (the last body stays in $body for the duplicate below).
post_pushes() {
  local n=$1 first=$2 id=$3 i sha code queued=0
  for i in $(seq 1 "$n"); do
    sha=$(printf '%040x' $((first + i)))
    body=$(printf '{"ref":"refs/heads/main","before":"%s","after":"%s","deleted":false,"installation":{"id":7},"repository":{"id":1296269,"name":"hello","full_name":"octo/hello","owner":{"login":"octo"},"default_branch":"main"}}' \
      0000000000000000000000000000000000000000 "$sha")
    code=$(sg_signed_post "$URL/webhooks/github" "$SECRET" push "$id-$i" "$body" | tail -1)
    [ "$code" = 202 ] && queued=$((queued + 1))
  done
  queued_count=$queued
}
post_pushes "$JOBS" $((0xc0ffee000)) "compose-$$"
sg_check "$JOBS signed push webhooks answered 202" test "$queued_count" = "$JOBS"
sg_check "a duplicate delivery is not queued again (200)" bash -c \
  "$(declare -f sg_signed_post); sg_signed_post '$URL/webhooks/github' '$SECRET' push 'compose-$$-1' '$body' | tail -1 | grep -qx 200"
sg_check "a wrong signature is refused (401)" bash -c \
  "$(declare -f sg_signed_post); sg_signed_post '$URL/webhooks/github' not-the-secret push 'compose-$$-bad' '$body' | tail -1 | grep -qx 401"

# Which replica answered which delivery: each logs one "webhook" line per delivery it answered.
answered=0
for i in $(c ingress); do
  n=$(podman logs "$i" 2>/dev/null | grep '"msg":"webhook"' | grep -c "\"compose-$$-")
  echo "$i answered $n delivery(ies)"
  sg_check "$i answered some deliveries through the load balancer" test "$n" -gt 0
  answered=$((answered + n))
done
sg_check "every delivery answered by exactly one replica ($JOBS + duplicate + bad signature)" test "$answered" = $((JOBS + 2))

SG_WAIT_S=240 sg_check "all $JOBS analyses completed in PostgreSQL" sg_wait_for bash -c \
  "[ \"\$(podman exec ${PROJECT}_postgres_1 psql -U singularity -d singularity -tAc \"select count(*) from analyses where status = 'completed'\" 2>/dev/null)\" = $JOBS ]"
echo "analyses: $(q "select status, count(*) from analyses group by status" | tr '\n' ' ')"
sg_check "one analysis per commit (no duplicate work)" test "$(q "select count(distinct head_sha) from analyses")" = "$JOBS"
sg_check "findings stored" bash -c "[ \"\$(podman exec ${PROJECT}_postgres_1 psql -U singularity -d singularity -tAc 'select count(*) from findings' 2>/dev/null)\" -gt 0 ]"
sg_check "queue drained" bash -c "[ \"\$(podman exec ${PROJECT}_redis_1 redis-cli LLEN analysis_queue)\" = 0 ]"

# Which workers did the work: each worker's log has one "job done" line per job it finished.
busy=0
for w in $(c worker); do
  n=$(podman logs "$w" 2>/dev/null | grep -c '"msg":"job done"')
  echo "$w finished $n job(s)"
  [ "$n" -gt 0 ] && busy=$((busy + 1))
done
sg_check "analyses done by more than one worker" test "$busy" -ge 2

# The simulator saw a completed check run for each of N analysed commits (N, file to keep them).
check_runs_completed() {
  podman exec "${PROJECT}_github-sim_1" bash -c \
    'exec 3<>/dev/tcp/127.0.0.1/8080; printf "GET /_sim/check-runs HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3; cat <&3' \
    2>/dev/null | sed '1,/^\r$/d' >"$2"
  python3 -c '
import json, sys
runs = json.load(open(sys.argv[1]))
runs = runs.get("check_runs", runs) if isinstance(runs, dict) else runs
done = {r["head_sha"] for r in runs if r.get("status") == "completed"}
sys.exit(0 if len(done) == int(sys.argv[2]) else 1)
' "$2" "$1"
}
sg_check "a completed check run per analysed commit" check_runs_completed "$JOBS" "$SG_TMP/check-runs.json"

# ---- how it runs
for ctr in $(c ingress) $(c worker); do
  sg_check "$ctr runs as uid 10001" bash -c "podman top '$ctr' huser | tail -n +2 | grep -qx 10001"
  sg_check "$ctr has a read-only root" test "$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$ctr")" = true
  sg_check "$ctr has no capabilities" bash -c \
    "podman inspect --format '{{.EffectiveCaps}}' '$ctr' | grep -qx '\[\]'"
done
sg_check "migrate ran as uid 10001" test "$(podman inspect --format '{{.Config.User}}' "${PROJECT}_migrate_1")" = 10001:10001
sg_check "webhook secret read from a file (WEBHOOK_SECRET_FILE)" bash -c \
  "podman inspect --format '{{range .Config.Env}}{{println .}}{{end}}' ${PROJECT}_ingress_1 | grep -qx 'WEBHOOK_SECRET_FILE=/run/secrets/webhook_secret'"
sg_check "no secret value in the ingress environment" bash -c \
  "! podman inspect --format '{{range .Config.Env}}{{println .}}{{end}}' ${PROJECT}_ingress_1 | grep -q '$SECRET'"
sg_check "redis has AOF on" bash -c "podman exec ${PROJECT}_redis_1 redis-cli CONFIG GET appendonly | tail -1 | grep -qx yes"

t0=$(date +%s)
"${COMPOSE[@]}" stop -t 35 worker >/dev/null 2>&1
sg_check "workers stop on SIGTERM before the grace period ends" bash -c \
  "for w in $(c worker | tr '\n' ' '); do [ \"\$(podman inspect --format '{{.State.ExitCode}}' \$w)\" != 137 ] || exit 1; done"
echo "workers stopped in $(( $(date +%s) - t0 ))s; compose run took $(( $(date +%s) - start ))s"

# ---- again, briefly, with PgBouncer between the workers and PostgreSQL (deploy/compose/pgbouncer.yml):
# one ingress, two workers, a few deliveries; then proof that every worker connection went through it.
compose_cleanup
t1=$(date +%s)
PGB_JOBS=${SG_COMPOSE_PGBOUNCER_JOBS:-6}
COMPOSE+=(-f "$SG_SOURCE_DIR/deploy/compose/pgbouncer.yml")
sg_check "podman-compose up -d with PgBouncer, one ingress and two workers" bash -c \
  'INGRESS_REPLICAS=1 WORKER_REPLICAS=2 "$@" up -d >"'"$SG_TMP"'/up-pgbouncer.log" 2>&1' _ "${COMPOSE[@]}" ||
  grep -v 'systemd connection' "$SG_TMP/up-pgbouncer.log" | tail -30
SG_WAIT_S=90 sg_check "ingress /readyz 200 (PgBouncer stack)" sg_wait_for sg_http_is "$URL/readyz" 200
SG_WAIT_S=120 sg_check "migrate exited 0 (directly to PostgreSQL)" sg_wait_for bash -c \
  "[ \"\$(podman inspect --format '{{.State.Status}} {{.State.ExitCode}}' ${PROJECT}_migrate_1)\" = 'exited 0' ]"
PGB=${PROJECT}_pgbouncer_1
sg_check "workers' DATABASE_URL names pgbouncer:6432" bash -c \
  "for w in $(c worker | tr '\n' ' '); do podman inspect --format '{{range .Config.Env}}{{println .}}{{end}}' \$w | grep -q '^DATABASE_URL=postgres://singularity:[^@]*@pgbouncer:6432/singularity$' || exit 1; done"
sg_check "migrate's DATABASE_URL is PostgreSQL itself" bash -c \
  "podman inspect --format '{{range .Config.Env}}{{println .}}{{end}}' ${PROJECT}_migrate_1 | grep -q '^DATABASE_URL=postgres://singularity:[^@]*@postgres:5432/singularity$'"
post_pushes "$PGB_JOBS" $((0xb0b000000)) "compose-pgb-$$"
sg_check "$PGB_JOBS signed push webhooks answered 202 (PgBouncer stack)" test "$queued_count" = "$PGB_JOBS"
SG_WAIT_S=180 sg_check "all $PGB_JOBS analyses completed through PgBouncer" sg_wait_for bash -c \
  "[ \"\$(podman exec ${PROJECT}_postgres_1 psql -U singularity -d singularity -tAc \"select count(*) from analyses where status = 'completed'\" 2>/dev/null)\" = $PGB_JOBS ]"
sg_check "a completed check run per analysed commit (PgBouncer stack)" \
  check_runs_completed "$PGB_JOBS" "$SG_TMP/check-runs-pgbouncer.json"
# PgBouncer's own view (its admin console, as the stats user): the workers are its clients and
# the pool is in transaction mode.
pgb() { podman exec "$PGB" psql "postgres://singularity:singularity-dev@127.0.0.1:6432/pgbouncer" -AF '|' -c "$1" 2>/dev/null; }
pgb 'SHOW CLIENTS' >"$SG_TMP/pgb-clients.txt"
pgb 'SHOW POOLS' >"$SG_TMP/pgb-pools.txt"
cat "$SG_TMP/pgb-pools.txt"
rows() { # rows FILE COLUMN=VALUE...: how many rows of a psql -A table match every COLUMN=VALUE
  python3 -c '
import sys
lines = [l.rstrip("\n").split("|") for l in open(sys.argv[1]) if "|" in l]
head, body = lines[0], lines[1:]
want = [a.split("=", 1) for a in sys.argv[2:]]
print(sum(all(r[head.index(k)] == v for k, v in want) for r in body if len(r) == len(head)))
' "$@"
}
sg_check "PgBouncer's clients include both workers (SHOW CLIENTS)" \
  test "$(rows "$SG_TMP/pgb-clients.txt" database=singularity application_name=singularity-worker)" -ge 2
sg_check "the pool is in transaction mode (SHOW POOLS)" \
  test "$(rows "$SG_TMP/pgb-pools.txt" database=singularity pool_mode=transaction)" = 1
# PostgreSQL's view: every worker session comes from PgBouncer's address, none from the workers'
# (they share the simulator's network namespace, so that is their address).
ip_of() { podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
PGB_IP=$(ip_of "$PGB") WORKER_IP=$(ip_of "${PROJECT}_github-sim_1")
echo "pgbouncer at $PGB_IP, workers at $WORKER_IP"
echo "sessions: $(q "select coalesce(host(client_addr), 'local'), application_name, count(*) from pg_stat_activity where datname = 'singularity' and backend_type = 'client backend' group by 1, 2" | tr '\n' ' ')"
sg_check "PostgreSQL's sessions come from PgBouncer" \
  test "$(q "select count(*) from pg_stat_activity where datname = 'singularity' and host(client_addr) = '$PGB_IP'")" -ge 1
sg_check "no PostgreSQL session from the workers themselves" \
  test "$(q "select count(*) from pg_stat_activity where datname = 'singularity' and host(client_addr) = '$WORKER_IP'")" = 0
sg_check "pgbouncer runs as uid 10001, read-only, without capabilities" bash -c \
  "podman top '$PGB' huser | tail -n +2 | grep -qx 10001 &&
   [ \"\$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}} {{.EffectiveCaps}}' '$PGB')\" = 'true []' ]"
echo "PgBouncer run took $(( $(date +%s) - t1 ))s; compose test took $(( $(date +%s) - start ))s"

sg_summary
