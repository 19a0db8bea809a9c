#!/usr/bin/env bash
# Why: docker-compose.yml is what a developer tries first, so it is run for real: podman-compose
# brings up redis (AOF), postgres, the one-shot migration, the ingress and THREE workers, pointed
# at the GitHub simulator (tests/deploy/docker-compose.github-sim.yml). Signed webhooks go in
# through the published ingress port on 127.0.0.1; the test then waits for every analysis to be
# completed in PostgreSQL and a check run to be completed in the simulator, and asserts that more
# than one worker did the work, that every Singularity process runs as UID 10001 on a read-only
# root, that Redis has AOF on, and that a bad signature and a duplicate delivery queue nothing.
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
JOBS=${SG_COMPOSE_JOBS:-9}

SG_IMAGE_LOG_DIR=$SG_TMP "$SG_SOURCE_DIR/scripts/images.sh" ingress worker || sg_fail "scripts/images.sh failed"
# Stand-ins for docker.io/library/redis and postgres (no registry here), built from Debian packages.
for n in redis postgres; do
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
sg_check "docker-compose.yml and the simulator override follow the Compose spec" \
  node "$SG_SOURCE_DIR/tests/deploy/compose-validate.mjs" "$SG_SOURCE_DIR/docker-compose.yml" "$SG_SOURCE_DIR/tests/deploy/docker-compose.github-sim.yml"
sed 's/^    stop_grace_period: 35s/    stop_grace_period: 35 seconds/' "$SG_SOURCE_DIR/docker-compose.yml" >"$SG_TMP/bad-compose.yml"
sg_expect_fail "the Compose schema rejects a bad duration" node "$SG_SOURCE_DIR/tests/deploy/compose-validate.mjs" "$SG_TMP/bad-compose.yml"
sed 's/^    stop_grace_period:/    stop_grace_periode:/' "$SG_SOURCE_DIR/docker-compose.yml" >"$SG_TMP/bad-compose2.yml"
sg_expect_fail "the Compose schema rejects an unknown key" node "$SG_SOURCE_DIR/tests/deploy/compose-validate.mjs" "$SG_TMP/bad-compose2.yml"

start=$(date +%s)
sg_check "podman-compose up -d --scale worker=3" bash -c '"$@" up -d --scale worker=3 >"'"$SG_TMP"'/up.log" 2>&1' _ "${COMPOSE[@]}" ||
  grep -v 'systemd connection' "$SG_TMP/up.log" | tail -30
URL="http://127.0.0.1:$INGRESS_PORT"
SG_WAIT_S=90 sg_check "ingress /readyz 200 through the published port" sg_wait_for sg_http_is "$URL/readyz" 200
SG_WAIT_S=120 sg_check "migrate ran once and exited 0" sg_wait_for bash -c \
  "[ \"\$(podman inspect --format '{{.State.Status}} {{.State.ExitCode}}' ${PROJECT}_migrate_1)\" = 'exited 0' ]"
sg_check "three worker containers" test "$(c worker | wc -l)" = 3
sg_check "worker service: no container_name or host port (so it scales), read-only, no capabilities" node --input-type=module -e '
import { readFileSync } from "node:fs";
import YAML from "'"$SG_SOURCE_DIR"'/tests/deploy/node_modules/yaml/dist/index.js";
const w = YAML.parse(readFileSync(process.argv[1], "utf8"), { merge: true }).services.worker;
if (!w.read_only || !(w.cap_drop || []).includes("ALL")) process.exit(1);
process.exit(!w.container_name && !w.ports ? 0 : 1);
' "$SG_SOURCE_DIR/docker-compose.yml"
echo "stack up in $(( $(date +%s) - start ))s"

# ---- webhooks in
queued=0
for i in $(seq 1 "$JOBS"); do
  sha=$(printf '%040x' $((0xc0ffee000 + i)))
  body=$(printf '{"ref":"refs/heads/main","before":"%s","after":"%s","deleted":false,"installation":{"id":7},"repository":{"id":1296269,"name":"hello","full_name":"octo/hello","owner":{"login":"octo"},"default_branch":"main"}}' \
    0000000000000000000000000000000000000000 "$sha")
  code=$(sg_signed_post "$URL/webhooks/github" "$SECRET" push "compose-$$-$i" "$body" | tail -1)
  [ "$code" = 202 ] && queued=$((queued + 1))
done
sg_check "$JOBS signed push webhooks answered 202" test "$queued" = "$JOBS"
sg_check "a duplicate delivery is not queued again (200)" bash -c \
  "$(declare -f sg_signed_post); sg_signed_post '$URL/webhooks/github' '$SECRET' push 'compose-$$-1' '$body' | tail -1 | grep -qx 200"
sg_check "a wrong signature is refused (401)" bash -c \
  "$(declare -f sg_signed_post); sg_signed_post '$URL/webhooks/github' not-the-secret push 'compose-$$-bad' '$body' | tail -1 | grep -qx 401"

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

# The simulator saw completed check runs for the analysed commits.
podman exec "${PROJECT}_github-sim_1" bash -c \
  'exec 3<>/dev/tcp/127.0.0.1/8080; printf "GET /_sim/check-runs HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3; cat <&3' \
  2>/dev/null | sed '1,/^\r$/d' >"$SG_TMP/check-runs.json"
sg_check "a completed check run per analysed commit" python3 -c '
import json, sys
runs = json.load(open(sys.argv[1]))
runs = runs.get("check_runs", runs) if isinstance(runs, dict) else runs
done = {r["head_sha"] for r in runs if r.get("status") == "completed"}
sys.exit(0 if len(done) == int(sys.argv[2]) else 1)
' "$SG_TMP/check-runs.json" "$JOBS"

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
echo "workers stopped in $(( $(date +%s) - t0 ))s; compose test took $(( $(date +%s) - start ))s"

sg_summary
