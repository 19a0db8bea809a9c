#!/usr/bin/env bash
# Why: the Dockerfiles are only right if the images they build run. This builds both with buildah
# (scripts/images.sh) and runs them with podman against a real Redis and PostgreSQL on loopback:
# non-root, no compiler left in, OCI labels, --version; the ingress with a read-only root file
# system, no capabilities, answering /healthz and /readyz and queueing a signed webhook; its
# HEALTHCHECK command passing; the worker image migrating the database, inspecting the queue,
# running with a read-only root (HEALTHCHECK on METRICS_PORT) and stopping cleanly on SIGTERM;
# and `redeliver --since 2h` (the CronJob's command) against the GitHub simulator, built here when
# missing.
set -uo pipefail
: "${SG_SOURCE_DIR:?}" "${SG_BUILD_DIR:?}"
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
. "$SG_SOURCE_DIR/tests/deploy/lib.sh"
sg_tmpdir
SG_WAIT_S=30

VERSION=$(sed -n 's/^project(singularity VERSION \([0-9.]*\).*/\1/p' "$SG_SOURCE_DIR/CMakeLists.txt")
INGRESS=localhost/singularity-ingress:$VERSION
WORKER=localhost/singularity-worker:$VERSION
NAME=sgimg$$
CONTAINERS=()
# Containers are removed at exit, before servers.sh stops Redis and PostgreSQL.
cleanup_containers() {
  local c
  for c in "${CONTAINERS[@]}"; do podman rm -f -t 2 "$c" >/dev/null 2>&1; done
}
trap 'cleanup_containers; sg_cleanup' EXIT

prun() { podman run --rm --pull=never "$@" 2>&1 | grep -v 'systemd connection'; return "${PIPESTATUS[0]}"; }

sg_ensure_deploy_deps || sg_fail "deploy packages unavailable (SG_DEPS=deploy scripts/deps.sh)"
start=$(date +%s)
SG_IMAGE_LOG_DIR=$SG_TMP "$SG_SOURCE_DIR/scripts/images.sh" ingress worker 2>&1 | tee "$SG_TMP/images.out" ||
  { cat "$SG_TMP"/sg-image-*.log 2>/dev/null | tail -60; sg_fail "scripts/images.sh failed"; }
echo "images built in $(( $(date +%s) - start ))s"

for img in "$INGRESS" "$WORKER"; do
  short=$(basename "${img%%:*}")
  size=$(podman image inspect --format '{{.Size}}' "$img")
  echo "image $img: $(( size / 1000 / 1000 )) MB"
  sg_check "$short: smaller than 250 MB (no build tools)" test "$size" -lt 250000000
  sg_check "$short: --version" bash -c "podman run --rm --pull=never '$img' --version 2>/dev/null | grep -qx '$short $VERSION.*'"
  sg_check "$short: USER 10001" test "$(podman image inspect --format '{{.Config.User}}' "$img")" = "10001:10001"
  sg_check "$short: runs as uid 10001" test "$(podman run --rm --pull=never --entrypoint id "$img" -u 2>/dev/null)" = 10001
  sg_check "$short: no compiler or cmake inside" bash -c "! podman run --rm --pull=never --entrypoint bash '$img' -c 'command -v gcc || command -v cc || command -v cmake || command -v make' >/dev/null 2>&1"
  for l in title version revision source created; do
    sg_check "$short: OCI label org.opencontainers.image.$l" bash -c \
      "v=\$(podman image inspect --format '{{index .Config.Labels \"org.opencontainers.image.$l\"}}' '$img'); [ -n \"\$v\" ] && [ \"\$v\" != '<no value>' ]"
  done
  sg_check "$short: HEALTHCHECK defined" bash -c "podman image inspect --format '{{json .Config.Healthcheck}}' '$img' | grep -q '/healthz'"
done
sg_check "worker image: version label matches CMake" test "$(podman image inspect --format '{{index .Config.Labels "org.opencontainers.image.version"}}' "$WORKER")" = "$VERSION"
sg_check "worker image: carries the migrations" bash -c \
  "podman run --rm --pull=never --entrypoint bash '$WORKER' -c 'ls /usr/local/share/singularity/migrations/*.sql' 2>/dev/null | grep -q '0001_'"
sg_check "worker image: carries singularity-analyze" bash -c \
  "podman run --rm --pull=never --entrypoint singularity-analyze '$WORKER' --help >/dev/null 2>&1"

# ---- the ingress: read-only root, no capabilities, host loopback only (a real Redis)
sg_start_redis
PORT=$(sg_free_port)
SECRET=image-test-secret
podman run -d --pull=never --name "$NAME-ingress" --network host --read-only --tmpfs /tmp \
  --cap-drop ALL --security-opt no-new-privileges \
  -e HOST=127.0.0.1 -e PORT="$PORT" -e REDIS_URL="$REDIS_URL" -e WEBHOOK_SECRET="$SECRET" \
  "$INGRESS" >/dev/null 2>"$SG_TMP/ingress-run.err"
CONTAINERS+=("$NAME-ingress")
sg_check "ingress container starts read-only" sg_wait_for sg_http_is "http://127.0.0.1:$PORT/healthz" 200
sg_check "ingress /healthz 200" test "$(sg_http_status "http://127.0.0.1:$PORT/healthz")" = 200
sg_check "ingress /readyz 200 (Redis reachable)" test "$(sg_http_status "http://127.0.0.1:$PORT/readyz")" = 200
sg_check "ingress HEALTHCHECK command passes" podman healthcheck run "$NAME-ingress"
sg_check "ingress process is uid 10001" bash -c "podman top '$NAME-ingress' huser | tail -n +2 | grep -qx 10001"
sg_check "ingress root file system is read-only" bash -c "podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' '$NAME-ingress' | grep -qx true"
body='{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":"1111111111111111111111111111111111111111","deleted":false,"installation":{"id":7},"repository":{"id":1,"name":"hello","full_name":"octo/hello","owner":{"login":"octo"}}}'
sg_check "ingress queues a signed webhook (202)" bash -c \
  "$(declare -f sg_signed_post); sg_signed_post 'http://127.0.0.1:$PORT/webhooks/github' '$SECRET' push img-1 '$body' | tail -1 | grep -qx 202"
sg_check "the job is in analysis_queue" test "$(redis-cli -p "$REDIS_PORT" LLEN analysis_queue)" = 1
sg_check "ingress refuses a wrong signature (401)" bash -c \
  "$(declare -f sg_signed_post); sg_signed_post 'http://127.0.0.1:$PORT/webhooks/github' wrong push img-2 '$body' | tail -1 | grep -qx 401"
# The chart's `helm test` Pod script, run in the ingress image (read-only) against this ingress.
HELM=$(sg_ensure_helm) && sg_ensure_deploy_npm &&
  "$HELM" template sg "$SG_SOURCE_DIR/helm/singularity" -f "$SG_SOURCE_DIR/tests/deploy/values/base.yaml" --set ingress.service.port="$PORT" \
    --show-only templates/tests/test-readyz.yaml >"$SG_TMP/test-pod.yaml" &&
  node --input-type=module -e '
import { readFileSync } from "node:fs";
import YAML from "'"$SG_SOURCE_DIR"'/tests/deploy/node_modules/yaml/dist/index.js";
const c = YAML.parse(readFileSync(process.argv[1], "utf8")).spec.containers[0];
process.stdout.write(c.args[0].replace(/^host=.*$/m, "host=127.0.0.1"));
' "$SG_TMP/test-pod.yaml" >"$SG_TMP/test-pod.sh"
sg_check "the chart's helm-test script passes in the ingress image" bash -c \
  "podman run --rm --pull=never --network host --read-only --cap-drop ALL --entrypoint bash '$INGRESS' -c \"\$(cat '$SG_TMP/test-pod.sh')\" 2>/dev/null | grep -q 'GET /readyz -> HTTP/1.[01] 200'"
sg_check "ingress stops on SIGTERM within 10 s" bash -c "podman stop -t 10 '$NAME-ingress' >/dev/null 2>&1 && [ \"\$(podman inspect --format '{{.State.ExitCode}}' '$NAME-ingress')\" != 137 ]"

# ---- the worker image: migrate, queue, run read-only, stop on SIGTERM, redeliver
sg_start_postgres
WRUN=(--network host --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges
      -e REDIS_URL="$REDIS_URL" -e DATABASE_URL="$DATABASE_URL")
sg_check "worker image: migrate (read-only root)" prun "${WRUN[@]}" "$WORKER" migrate --wait 10
sg_check "migrations recorded in schema_migrations" bash -c "[ \"\$(psql -tAc 'select count(*) from schema_migrations')\" -ge 1 ]"
sg_check "worker image: migrate again is a no-op" prun "${WRUN[@]}" "$WORKER" migrate --wait 10
sg_check "worker image: queue shows the pending job" bash -c \
  "podman run --rm --pull=never $(printf '%q ' "${WRUN[@]}") '$WORKER' queue --json 2>/dev/null | grep -q '\"pending\": *1'"

MPORT=$(sg_free_port)
cp "$SG_SOURCE_DIR/tests/fixtures/github/app-key.pem" "$SG_TMP/app-key.pem" && chmod 0644 "$SG_TMP/app-key.pem"
podman run -d --pull=never --name "$NAME-worker" "${WRUN[@]}" -e METRICS_PORT="$MPORT" -e APP_ID=12345 \
  -e PRIVATE_KEY_PATH=/run/secrets/app-key.pem -v "$SG_TMP/app-key.pem:/run/secrets/app-key.pem:ro" \
  -e GITHUB_API_URL=http://127.0.0.1:9 -e SHUTDOWN_GRACE_S=5 "$WORKER" >/dev/null 2>"$SG_TMP/worker-run.err"
CONTAINERS+=("$NAME-worker")
sg_check "worker container serves /healthz (read-only root)" sg_wait_for sg_http_is "http://127.0.0.1:$MPORT/healthz" 200
sg_check "worker /metrics has analysis_queue_length" bash -c "curl -s -m 5 http://127.0.0.1:$MPORT/metrics | grep -q '^analysis_queue_length'"
sg_check "worker HEALTHCHECK command passes" podman healthcheck run "$NAME-worker"
sg_check "worker process is uid 10001" bash -c "podman top '$NAME-worker' huser | tail -n +2 | grep -qx 10001"
t0=$(date +%s)
podman stop -t 30 "$NAME-worker" >/dev/null 2>&1
sg_check "worker exits on SIGTERM within SHUTDOWN_GRACE_S + 5 s" test $(( $(date +%s) - t0 )) -le 10
sg_check "worker was not SIGKILLed" test "$(podman inspect --format '{{.State.ExitCode}}' "$NAME-worker")" != 137
sg_check "no job lost by the stop" bash -c "[ \$(( \$(redis-cli -p $REDIS_PORT LLEN analysis_queue) + \$(redis-cli -p $REDIS_PORT ZCARD analysis_queue:delayed) + \$(redis-cli -p $REDIS_PORT LLEN analysis_queue:dead) )) -ge 1 ]"

# The redeliver check needs the GitHub simulator: built here when missing, a failure when it
# cannot be (never skipped).
SIM="$SG_BUILD_DIR/tests/github-sim/singularity-github-sim"
[ -x "$SIM" ] || cmake --build "$SG_BUILD_DIR" --target singularity-github-sim >"$SG_TMP/sim-build.log" 2>&1 ||
  tail -20 "$SG_TMP/sim-build.log"
sg_check "the GitHub simulator is built (for the redeliver check)" test -x "$SIM"
if [ -x "$SIM" ]; then
  sg_start_github_sim --repos "$SG_SOURCE_DIR/tests/fixtures/github/repos" --installation 7=octo/hello
  now=$(date +%s)
  curl -s -m 5 -X POST "$GITHUB_API_URL/_sim/deliveries" -H 'Content-Type: application/json' --data-binary \
    "[{\"id\":101,\"guid\":\"g-101\",\"status_code\":503,\"delivered_at\":$((now - 600)),\"event\":\"push\"},{\"id\":102,\"guid\":\"g-102\",\"status_code\":202,\"delivered_at\":$((now - 300)),\"event\":\"push\"}]" >/dev/null
  sg_check "worker image: redeliver --since 2h (the CronJob's command)" prun "${WRUN[@]}" -e APP_ID=12345 \
    -e PRIVATE_KEY_PATH=/run/secrets/app-key.pem -v "$SG_TMP/app-key.pem:/run/secrets/app-key.pem:ro" \
    -e GITHUB_API_URL="$GITHUB_API_URL" "$WORKER" redeliver --since 2h
  curl -s -m 5 "$GITHUB_API_URL/_sim/requests" >"$SG_TMP/sim-requests.json"
  sg_check "redeliver asked GitHub again for the failed delivery only" python3 -c '
import json, sys
paths = [r["path"] for r in json.load(open(sys.argv[1])) if r["method"] == "POST"]
sys.exit(0 if "/app/hook/deliveries/101/attempts" in paths and "/app/hook/deliveries/102/attempts" not in paths else 1)
' "$SG_TMP/sim-requests.json"
fi

sg_summary
