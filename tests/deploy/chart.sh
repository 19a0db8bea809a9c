#!/usr/bin/env bash
# Why: no deployment file goes untested. With the real Helm this lints the chart strictly, renders
# it (as `helm template --kube-version 1.30.0`) with the defaults on a cluster without KEDA, each
# worker autoscaling mode, KEDA present or forced, existingSecret, Redis URLs with TLS, an ACL
# user and a percent-encoded password, the NetworkPolicy with `helm test`, the size presets, the
# business-hours trigger, Redis Sentinel, TLS with a private CA or without verification, PgBouncer
# and a read replica (also with existingSecret), and a values file turning on everything
# optional; validates every rendered document against the Kubernetes, KEDA and prometheus-operator
# schemas; asserts what matters (chart-assert.mjs); shows that values which cannot work fail the
# install with their message and wrong-typed values are rejected by values.schema.json; renders
# NOTES.txt; checks the README's values table is up to date; runs the rendered PgBouncer config
# with Debian's pgbouncer in front of a real PostgreSQL and logs in with the workers' rendered URL.
# Then the other platforms: the Cloud Run manifests against the Knative Serving schema, the ECS
# template with cfn-lint, the release workflow with actionlint. Each checker is also fed a broken
# input once, to prove it can fail.
set -uo pipefail
: "${SG_SOURCE_DIR:?}"
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
. "$SG_SOURCE_DIR/tests/deploy/lib.sh"
sg_tmpdir

CHART="$SG_SOURCE_DIR/helm/singularity"
HERE="$SG_SOURCE_DIR/tests/deploy"
HELM=$(sg_ensure_helm) || sg_fail "helm $SG_HELM_VERSION unavailable"
sg_ensure_deploy_npm || sg_fail "npm packages unavailable"
echo "helm: $HELM ($("$HELM" version --template '{{.Version}}'))"

BASE="$HERE/values/base.yaml"   # credentials (the chart refuses to install without), App ID as a bare number
KEDA_API=(--api-versions keda.sh/v1alpha1)
render() { # render NAME [helm args...] -> $SG_TMP/NAME.yaml (always with the base credentials)
  local name=$1; shift
  "$HELM" template sg "$CHART" --namespace prod --kube-version 1.30.0 -f "$BASE" "$@" >"$SG_TMP/$name.yaml" 2>"$SG_TMP/$name.err"
}

# ---- lint, strictly, with every values file
sg_check "helm lint --strict (defaults + credentials)" "$HELM" lint --strict "$CHART" -f "$BASE" --quiet
for f in "$CHART"/ci/*-values.yaml; do
  sg_check "helm lint --strict -f ci/$(basename "$f")" "$HELM" lint --strict "$CHART" -f "$f" --quiet
done

# ---- render each scenario, validate against the schemas, assert
sg_check "render defaults (no KEDA API on the cluster)" render default
sg_check "render ci/keda-values.yaml (KEDA API served)" render keda -f "$CHART/ci/keda-values.yaml" "${KEDA_API[@]}"
sg_check "render KEDA forced where the API is absent" render keda-forced --set worker.autoscaling.keda.force=true
for s in hpa none everything; do
  sg_check "render ci/$s-values.yaml" render "$s" -f "$CHART/ci/$s-values.yaml" "${KEDA_API[@]}" --api-versions monitoring.coreos.com/v1
done
sg_check "render with existingSecret" render existing-secret "${KEDA_API[@]}" --set existingSecret=singularity-credentials
sg_check "render with existingSecret and an explicit address" render existing-secret-address "${KEDA_API[@]}" \
  --set existingSecret=singularity-credentials --set worker.autoscaling.keda.redisAddress=redis.data.svc:6379 \
  --set 'worker.autoscaling.keda.existingSecretParameters={password,username}' --set worker.autoscaling.keda.redisTls=true
sg_check "render ACL user, encoded password and TLS in redis.url" render redis-auth "${KEDA_API[@]}" -f "$HERE/values/redis-auth.yaml"
sg_check "render NetworkPolicy with ingressFrom (helm test allowed)" render netpol "${KEDA_API[@]}" \
  --set 'networkPolicy.ingressFrom[0].namespaceSelector.matchLabels.name=ingress-nginx'
sg_check "render the development preset" render preset-development --set worker.sizePreset=development
sg_check "render the high-load preset" render preset-high-load --set worker.sizePreset=high-load
sg_check "render the business-hours cron trigger" render cron "${KEDA_API[@]}" --set worker.autoscaling.keda.cron.enabled=true
sg_check "render one ingress replica" render single-ingress --set ingress.autoscaling.enabled=false --set ingress.replicaCount=1
# Redis HA and PostgreSQL: Sentinel, Sentinel over TLS with a CA Secret, a CA in values, TLS
# without verification, PgBouncer with a read replica, and all of it with an existing Secret.
for s in sentinel sentinel-tls tls-ca pgbouncer; do
  sg_check "render ci/$s-values.yaml" render "$s" -f "$CHART/ci/$s-values.yaml" "${KEDA_API[@]}"
done
sg_check "render rediss:// with insecureSkipVerify" render tls-insecure "${KEDA_API[@]}" \
  --set redis.url=rediss://redis.data.svc:6380/0 --set redis.tls.insecureSkipVerify=true
sg_check "render existingSecret with Sentinel, a CA bundle and PgBouncer" render existing-secret-ha "${KEDA_API[@]}" \
  -f "$HERE/values/existing-secret-ha.yaml"
SCENARIOS=(default keda keda-forced hpa none everything existing-secret existing-secret-address redis-auth netpol
  preset-development preset-high-load cron single-ingress sentinel sentinel-tls tls-ca tls-insecure pgbouncer
  existing-secret-ha)
RENDERS=()
for s in "${SCENARIOS[@]}"; do RENDERS+=("$SG_TMP/$s.yaml"); done
sg_check "schemas and no unknown fields: ${SCENARIOS[*]}" node "$HERE/validate.mjs" "${RENDERS[@]}"
for s in "${SCENARIOS[@]}"; do
  sg_check "assertions: $s" node "$HERE/chart-assert.mjs" "$s" "$SG_TMP/$s.yaml"
done
sg_check "helm package" "$HELM" package "$CHART" -d "$SG_TMP/pkg"

# ---- values that cannot work fail the install with one clear message
fails_with() { # fails_with EXPECTED-TEXT helm-args...: helm template must fail and say so
  local want=$1; shift
  if "$HELM" template sg "$CHART" --kube-version 1.30.0 "$@" >/dev/null 2>"$SG_TMP/fail.err"; then
    echo "  helm template accepted $*" >&2; return 1
  fi
  grep -qF -- "$want" "$SG_TMP/fail.err" || { echo "  expected: $want" >&2; cat "$SG_TMP/fail.err" >&2; return 1; }
}
sg_check "fails: no credentials" fails_with "github.webhookSecret and github.privateKey empty and no existingSecret"
sg_check "fails: no App ID" fails_with "github.appId is empty" -f "$BASE" --set-string github.appId=
sg_check "fails: App ID with a fraction in a values file" fails_with "github.appId must be a whole number, got 1234567.5" \
  -f "$BASE" -f "$HERE/values/appid-fraction.yaml"
sg_check "fails: App ID that is not a number" fails_with 'github.appId must be a whole number, got "12a"' -f "$BASE" --set-string github.appId=12a
sg_check "fails: hpa with minReplicas 0" fails_with "worker.autoscaling.minReplicas is 0 with mode hpa: an autoscaling/v2 HPA cannot scale to zero" -f "$BASE" \
  --set worker.autoscaling.mode=hpa --set worker.autoscaling.minReplicas=0
sg_check "fails: KEDA TLS that contradicts redis.url" fails_with "redisTls is true but redis.url is redis://" \
  -f "$BASE" "${KEDA_API[@]}" --set worker.autoscaling.keda.redisTls=true
sg_check "fails: existingSecret without a Redis address for KEDA" fails_with "KEDA needs Redis's address" \
  -f "$BASE" "${KEDA_API[@]}" --set existingSecret=creds --set 'worker.autoscaling.keda.existingSecretParameters={password}'
sg_check "fails: a non-ASCII escape in the Redis password" fails_with "is not printable ASCII" \
  -f "$BASE" --set redis.url=redis://:p%C3%A9@redis:6379/0
sg_check "fails: an ingress grace period without margin" fails_with "ingress.terminationGracePeriodSeconds (25) must be at least" \
  -f "$BASE" --set ingress.terminationGracePeriodSeconds=25
sg_check "fails: an unknown size preset" fails_with "worker.sizePreset" -f "$BASE" --set worker.sizePreset=huge
sg_check "fails: minReplicas above maxReplicas" fails_with "worker.autoscaling.minReplicas (5) is above maxReplicas (3)" \
  -f "$BASE" --set worker.autoscaling.minReplicas=5 --set worker.autoscaling.maxReplicas=3
SENTINEL=(--set redis.sentinel.enabled=true --set 'redis.sentinel.addresses={sentinel-0.data.svc:26379}')
sg_check "fails: Sentinel without addresses" fails_with "redis.sentinel.enabled is true but redis.sentinel.addresses is empty" \
  -f "$BASE" --set redis.sentinel.enabled=true
sg_check "fails: a Redis TLS setting with redis://" fails_with "redis.tls.serverName is set but redis.url is redis://" \
  -f "$BASE" --set redis.tls.serverName=redis.data.svc
sg_check "fails: a CA and insecureSkipVerify together" fails_with "without verification the CA is never checked" \
  -f "$BASE" --set redis.url=rediss://redis:6380/0 --set redis.tls.insecureSkipVerify=true --set redis.tls.caFrom.secret=redis-ca
sg_check "fails: the CA given two ways" fails_with "redis.tls.caFrom.configMap and redis.tls.caFrom.secret: give the Redis CA one way only" \
  -f "$BASE" --set redis.url=rediss://redis:6380/0 --set redis.tls.caFrom.configMap=a --set redis.tls.caFrom.secret=b
sg_check "fails: a CA that is not PEM" fails_with "redis.tls.ca is not a PEM certificate" \
  -f "$BASE" --set redis.url=rediss://redis:6380/0 --set redis.tls.ca=hello
sg_check "fails: KEDA's single address with Sentinel" fails_with "redisAddress names one Redis, but redis.sentinel.enabled is true" \
  -f "$BASE" "${KEDA_API[@]}" "${SENTINEL[@]}" --set worker.autoscaling.keda.redisAddress=redis:6379
sg_check "fails: existingSecret with a CA but KEDA without TLS" fails_with "redis.tls is set but worker.autoscaling.keda.redisTls is false" \
  -f "$BASE" "${KEDA_API[@]}" --set existingSecret=creds --set redis.tls.caFrom.secret=redis-ca
sg_check "fails: KEDA's sentinelPassword without Sentinel" fails_with "lists sentinelPassword, but redis.sentinel.enabled is false" \
  -f "$BASE" "${KEDA_API[@]}" --set existingSecret=creds --set 'worker.autoscaling.keda.existingSecretParameters={address,sentinelPassword}'
PGB=(--set postgresql.pgbouncer.enabled=true)
sg_check "fails: PgBouncer with a password-less postgresql.url" fails_with "postgresql.url has no password; PgBouncer checks the workers" \
  -f "$BASE" "${PGB[@]}"
printf 'postgresql:\n  url: postgres://u:p@pg-a:5432,pg-b:5432/singularity\n' >"$SG_TMP/pg-hosts.yaml"
sg_check "fails: PgBouncer with two PostgreSQL hosts" fails_with "with one host; got \"postgres://u:***@pg-a:5432,pg-b:5432/singularity\"" \
  -f "$BASE" -f "$SG_TMP/pg-hosts.yaml" "${PGB[@]}"
sg_check "fails: PgBouncer with existingSecret and no upstream" fails_with "set postgresql.pgbouncer.upstream.host and .database" \
  -f "$BASE" --set existingSecret=creds "${PGB[@]}"
sg_check "fails: PgBouncer in another pool mode" fails_with "pool_mode is always transaction" \
  -f "$BASE" "${PGB[@]}" --set postgresql.url=postgres://u:p@pg:5432/db --set postgresql.pgbouncer.extraSettings.pool_mode=session
sg_check "fails: an sslmode PgBouncer does not know" fails_with "sslmode=bogus is not one PgBouncer knows" \
  -f "$BASE" "${PGB[@]}" --set 'postgresql.url=postgres://u:p@pg:5432/db?sslmode=bogus'
sg_check "fails: a non-ASCII escape in the PostgreSQL password (PgBouncer's auth_file)" fails_with "postgresql.url: the escape %C3 in it is not printable ASCII" \
  -f "$BASE" "${PGB[@]}" --set postgresql.url=postgres://u:p%C3%A9@pg:5432/db

# ---- the PgBouncer the chart configures works: Debian's pgbouncer (the one the integration tests
# use) runs the rendered pgbouncer.ini and auth_file, and the workers' URL from the rendered Secret
# logs in through it, with SCRAM both ways, to a real PostgreSQL that checks the password. Only
# the listen address and the auth_file's path are changed (the container's are fixed paths).
pgbouncer_live() { # pgbouncer_live [go-quoted]: with go-quoted, the auth_file is quoted as Go does (\"), not as PgBouncer reads it
  local dir="$SG_TMP/pgbouncer-live-${1:-ok}" bport url
  mkdir -p "$dir" && chown postgres "$dir" || return 1
  bport=$(sg_free_port)
  "$HELM" template sg "$CHART" --namespace prod -f "$BASE" -f "$CHART/ci/pgbouncer-values.yaml" \
    --set "postgresql.url=postgres://singularity:p%40ss%22word@127.0.0.1:$PG_PORT/singularity" \
    --set postgresql.pgbouncer.port="$bport" >"$dir/render.yaml" || return 1
  node --input-type=module -e '
import { readFileSync, writeFileSync } from "node:fs";
import YAML from "'"$HERE"'/node_modules/yaml/dist/index.js";
const [render, dir, mode] = process.argv.slice(1);
const docs = YAML.parseAllDocuments(readFileSync(render, "utf8")).map((d) => d.toJS()).filter(Boolean);
const cm = docs.find((d) => d.kind === "ConfigMap" && d.metadata.name.endsWith("-pgbouncer"));
const sec = docs.find((d) => d.kind === "Secret" && !d.metadata.annotations);
const b64 = (k) => Buffer.from(sec.data[k], "base64").toString();
writeFileSync(dir + "/pgbouncer.ini", cm.data["pgbouncer.ini"].replace(/^listen_addr = .*$/m, "listen_addr = 127.0.0.1")
  .replace(/^auth_file = .*$/m, "auth_file = " + dir + "/userlist.txt"));
const users = b64("pgbouncer-userlist.txt");
writeFileSync(dir + "/userlist.txt", mode === "go-quoted" ? users.replace(/""/g, "\\\"") : users);
writeFileSync(dir + "/url", b64("pgbouncer-database-url").replace(/@[^:/]+:/, "@127.0.0.1:"));
' "$dir/render.yaml" "$dir" "${1:-ok}" || return 1
  chown postgres "$dir"/* && chmod 600 "$dir/userlist.txt"
  runuser -u postgres -- /usr/sbin/pgbouncer "$dir/pgbouncer.ini" >"$dir/pgbouncer.log" 2>&1 &
  sg_track $!
  url=$(cat "$dir/url")
  sg_wait_for pg_isready -q -h 127.0.0.1 -p "$bport" || { tail -5 "$dir/pgbouncer.log" >&2; return 1; }
  [ "$(psql "$url" -tAc 'select current_user' 2>"$dir/psql.err")" = singularity ] || { cat "$dir/psql.err" >&2; return 1; }
  # A wrong password is refused by PgBouncer itself: the auth_file is what it checks.
  ! psql "${url/p%40ss%22word/wrong}" -tAc 'select 1' >/dev/null 2>&1
}
[ -x /usr/sbin/pgbouncer ] || sg_fail "/usr/sbin/pgbouncer is missing (scripts/deps.sh installs it)"
sg_start_postgres >/dev/null
printf 'host all singularity 127.0.0.1/32 scram-sha-256\n%s\n' "$(cat "$SG_PG_DATA/pg_hba.conf")" >"$SG_PG_DATA/pg_hba.conf"
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$SG_PG_DATA" reload >/dev/null
psql -d postgres -qc "create role singularity login password 'p@ss\"word'" || sg_fail "create role failed"
sg_check "the rendered PgBouncer runs, and the workers' URL logs in through it to PostgreSQL" pgbouncer_live
sg_expect_fail "the live check catches an auth_file quoted the Go way" pgbouncer_live go-quoted

# ---- Cloud Run (Knative Serving) and the GKE worker: schemas and what matters
sg_check "Cloud Run manifests: Knative/Kubernetes/KEDA schemas" node "$HERE/validate.mjs" \
  "$SG_SOURCE_DIR/deploy/cloudrun/ingress.yaml" "$SG_SOURCE_DIR/deploy/cloudrun/worker-gke.yaml"
sg_check "Cloud Run manifests: assertions" node "$HERE/chart-assert.mjs" cloudrun "$SG_SOURCE_DIR/deploy/cloudrun/ingress.yaml" \
  "$SG_SOURCE_DIR/deploy/cloudrun/worker-gke.yaml"
sed 's/containerConcurrency: 200/containerConcurrency: many/' "$SG_SOURCE_DIR/deploy/cloudrun/ingress.yaml" >"$SG_TMP/bad-knative.yaml"
sg_expect_fail "Knative schema rejects a non-numeric containerConcurrency" node "$HERE/validate.mjs" "$SG_TMP/bad-knative.yaml"
sed 's/autoscaling.knative.dev\/minScale: "0"/autoscaling.knative.dev\/minScale: "1"/' "$SG_SOURCE_DIR/deploy/cloudrun/ingress.yaml" >"$SG_TMP/bad-minscale.yaml"
sg_expect_fail "assertions catch a Cloud Run ingress that cannot scale to zero" node "$HERE/chart-assert.mjs" cloudrun \
  "$SG_TMP/bad-minscale.yaml" "$SG_SOURCE_DIR/deploy/cloudrun/worker-gke.yaml"

# ---- ECS: cfn-lint on the CloudFormation template, and what matters in it
CFN_LINT=$(sg_ensure_cfn_lint) || sg_fail "cfn-lint unavailable"
sg_check "cfn-lint deploy/ecs/singularity.yaml" "$CFN_LINT" "$SG_SOURCE_DIR/deploy/ecs/singularity.yaml"
sg_check "ECS template: assertions" node "$HERE/platform-assert.mjs" ecs "$SG_SOURCE_DIR/deploy/ecs/singularity.yaml"
sed 's/      HealthCheckPath: \/readyz/      HealthCheckPathh: \/readyz/' "$SG_SOURCE_DIR/deploy/ecs/singularity.yaml" >"$SG_TMP/bad-ecs.yaml"
sg_expect_fail "cfn-lint rejects a misspelt property" "$CFN_LINT" "$SG_TMP/bad-ecs.yaml"
sed 's/StopTimeout: 40/StopTimeout: 20/' "$SG_SOURCE_DIR/deploy/ecs/singularity.yaml" >"$SG_TMP/bad-stop.yaml"
sg_expect_fail "assertions catch a worker stopTimeout under SHUTDOWN_GRACE_S" node "$HERE/platform-assert.mjs" ecs "$SG_TMP/bad-stop.yaml"

# ---- the release workflow: actionlint
ACTIONLINT=$(sg_ensure_actionlint) || sg_fail "actionlint unavailable"
sg_check "actionlint .github/workflows" bash -c 'cd "$1" && "$2" -shellcheck= .github/workflows/*.yml' _ "$SG_SOURCE_DIR" "$ACTIONLINT"
sg_check "release workflow: v* tags, both images, amd64+arm64, GHCR" node "$HERE/platform-assert.mjs" workflow \
  "$SG_SOURCE_DIR/.github/workflows/release.yml"
sed 's/name: release/name: release\non:\n  bogus: []/' "$SG_SOURCE_DIR/.github/workflows/release.yml" >"$SG_TMP/bad-workflow.yml"
sg_expect_fail "actionlint rejects a broken workflow" "$ACTIONLINT" -shellcheck= "$SG_TMP/bad-workflow.yml"

# ---- the checkers can fail: broken manifests must be caught
sed 's/containerPort: 4000/containerPort: "four thousand"/' "$SG_TMP/default.yaml" >"$SG_TMP/bad-type.yaml"
sg_expect_fail "schemas reject a string containerPort" node "$HERE/validate.mjs" "$SG_TMP/bad-type.yaml"
sed 's/          livenessProbe:/          livenesProbe:/' "$SG_TMP/default.yaml" >"$SG_TMP/bad-field.yaml"
sg_expect_fail "schemas reject an unknown (misspelt) field" node "$HERE/validate.mjs" "$SG_TMP/bad-field.yaml"
sed 's/^  triggers:/  trigger:/' "$SG_TMP/keda.yaml" >"$SG_TMP/bad-keda.yaml"
sg_expect_fail "KEDA schema rejects a ScaledObject without triggers" node "$HERE/validate.mjs" "$SG_TMP/bad-keda.yaml"
sed 's/^kind: ScaledObject/kind: ScaledThing/' "$SG_TMP/keda.yaml" >"$SG_TMP/bad-kind.yaml"
sg_expect_fail "schemas reject an unknown kind" node "$HERE/validate.mjs" "$SG_TMP/bad-kind.yaml"
sed 's/listName: analysis_queue/listName: some_other_list/' "$SG_TMP/keda.yaml" >"$SG_TMP/bad-list.yaml"
sg_expect_fail "assertions catch a trigger on the wrong list" node "$HERE/chart-assert.mjs" keda "$SG_TMP/bad-list.yaml"
sed 's/value: "1234567"/value: "1.234567e+06"/' "$SG_TMP/default.yaml" >"$SG_TMP/bad-appid.yaml"
sg_expect_fail "assertions catch an App ID in exponent form" node "$HERE/chart-assert.mjs" default "$SG_TMP/bad-appid.yaml"
sed 's/enableTLS: "true"/enableTLS: "false"/' "$SG_TMP/redis-auth.yaml" >"$SG_TMP/bad-tls.yaml"
sg_expect_fail "assertions catch KEDA without TLS on rediss://" node "$HERE/chart-assert.mjs" redis-auth "$SG_TMP/bad-tls.yaml"
sed 's/^    - port: metrics$/    - port: http/' "$SG_TMP/everything.yaml" >"$SG_TMP/bad-metrics-port.yaml"
sg_expect_fail "assertions catch /metrics scraped through the public port" node "$HERE/chart-assert.mjs" everything "$SG_TMP/bad-metrics-port.yaml"
sed 's/name: analysis_queue_length/name: queue_length/' "$SG_TMP/hpa.yaml" >"$SG_TMP/bad-metric.yaml"
sg_expect_fail "assertions catch a wrong External metric" node "$HERE/chart-assert.mjs" hpa "$SG_TMP/bad-metric.yaml"
sed 's/terminationGracePeriodSeconds: 35/terminationGracePeriodSeconds: 20/' "$SG_TMP/default.yaml" >"$SG_TMP/bad-grace.yaml"
sg_expect_fail "assertions catch a grace period under SHUTDOWN_GRACE_S" node "$HERE/chart-assert.mjs" default "$SG_TMP/bad-grace.yaml"
sed 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' "$SG_TMP/default.yaml" >"$SG_TMP/bad-rofs.yaml"
sg_expect_fail "assertions catch a writable root file system" node "$HERE/chart-assert.mjs" default "$SG_TMP/bad-rofs.yaml"
sed 's/path: \/readyz/path: \/healthz/' "$SG_TMP/default.yaml" >"$SG_TMP/bad-probe.yaml"
sg_expect_fail "assertions catch a readiness probe off /readyz" node "$HERE/chart-assert.mjs" default "$SG_TMP/bad-probe.yaml"
sed 's/analysis_queue_length{namespace="prod"}) > 100/analysis_queue_length{namespace="prod"}) > > 100/' "$SG_TMP/everything.yaml" >"$SG_TMP/bad-promql.yaml"
sg_expect_fail "assertions catch an alert that is not valid PromQL" node "$HERE/chart-assert.mjs" everything "$SG_TMP/bad-promql.yaml"
sed 's/helm.sh\/hook: pre-install,pre-upgrade/helm.sh\/hook: post-install/' "$SG_TMP/default.yaml" >"$SG_TMP/bad-hook.yaml"
sg_expect_fail "assertions catch a migration that is not pre-install/pre-upgrade" node "$HERE/chart-assert.mjs" default "$SG_TMP/bad-hook.yaml"
sed 's/^  configMapTargetRef:/  configMapTargetRefs:/' "$SG_TMP/tls-ca.yaml" >"$SG_TMP/bad-cmref.yaml"
sg_expect_fail "schemas reject a misspelt TriggerAuthentication field" node "$HERE/validate.mjs" "$SG_TMP/bad-cmref.yaml"
sed 's/^    - type: redis-sentinel/    - type: redis/' "$SG_TMP/sentinel.yaml" >"$SG_TMP/bad-sentinel.yaml"
sg_expect_fail "assertions catch KEDA's plain redis trigger with Sentinel" node "$HERE/chart-assert.mjs" sentinel "$SG_TMP/bad-sentinel.yaml"
sed '0,/value: "250"/s//value: "300"/' "$SG_TMP/sentinel.yaml" >"$SG_TMP/bad-disagree.yaml"
sg_expect_fail "assertions catch the ingress and the workers disagreeing on Redis" node "$HERE/chart-assert.mjs" sentinel "$SG_TMP/bad-disagree.yaml"
sed 's/^      name: redis-ca$/      name: other-ca/' "$SG_TMP/sentinel-tls.yaml" >"$SG_TMP/bad-ca.yaml"
sg_expect_fail "assertions catch KEDA given another CA than the binaries" node "$HERE/chart-assert.mjs" sentinel-tls "$SG_TMP/bad-ca.yaml"
sed 's/^        listName: analysis_queue$/        listName: analysis_queue\n        enableTLS: "true"/' "$SG_TMP/tls-ca.yaml" >"$SG_TMP/bad-enabletls.yaml"
sg_expect_fail "assertions catch enableTLS beside KEDA's tls/ca parameters" node "$HERE/chart-assert.mjs" tls-ca "$SG_TMP/bad-enabletls.yaml"
sed 's/unsafeSsl: "true"/unsafeSsl: "false"/' "$SG_TMP/tls-insecure.yaml" >"$SG_TMP/bad-unsafe.yaml"
sg_expect_fail "assertions catch KEDA verifying where the binaries do not" node "$HERE/chart-assert.mjs" tls-insecure "$SG_TMP/bad-unsafe.yaml"
sed 's/pool_mode = transaction/pool_mode = session/' "$SG_TMP/pgbouncer.yaml" >"$SG_TMP/bad-pool.yaml"
sg_expect_fail "assertions catch PgBouncer in session mode" node "$HERE/chart-assert.mjs" pgbouncer "$SG_TMP/bad-pool.yaml"
sed 's/key: pgbouncer-database-url/key: database-url/' "$SG_TMP/pgbouncer.yaml" >"$SG_TMP/bad-bypass.yaml"
sg_expect_fail "assertions catch workers that bypass PgBouncer" node "$HERE/chart-assert.mjs" pgbouncer "$SG_TMP/bad-bypass.yaml"
sed '/^        - name: migrate$/,/^            - name: TMPDIR$/ s/^            - name: TMPDIR$/            - name: REDIS_URL\n              value: redis:\/\/redis:6379\/0\n            - name: TMPDIR/' \
  "$SG_TMP/default.yaml" >"$SG_TMP/bad-job-redis.yaml"
sg_expect_fail "assertions catch Redis settings on the migration Job" node "$HERE/chart-assert.mjs" default "$SG_TMP/bad-job-redis.yaml"
sed 's/key: database-read-url/key: database-url/' "$SG_TMP/pgbouncer.yaml" >"$SG_TMP/bad-readurl.yaml"
sg_expect_fail "assertions catch a DATABASE_READ_URL that is not the replica" node "$HERE/chart-assert.mjs" pgbouncer "$SG_TMP/bad-readurl.yaml"

# ---- values.schema.json rejects wrong types and unknown keys (both helm template and helm lint)
schema_rejects() { # schema_rejects EXPECTED-TEXT helm-args...
  local want=$1; shift
  if "$HELM" template sg "$CHART" "$@" >/dev/null 2>"$SG_TMP/schema.err"; then
    echo "  helm template accepted $*" >&2; return 1
  fi
  grep -q -- "$want" "$SG_TMP/schema.err" || { cat "$SG_TMP/schema.err" >&2; return 1; }
  ! "$HELM" lint --strict "$CHART" "$@" >/dev/null 2>&1
}
sg_check "schema rejects ingress.port=abc" schema_rejects "ingress.port" --set ingress.port=abc
sg_check "schema rejects a string replica count" schema_rejects "worker.replicaCount" --set-string worker.replicaCount=3
sg_check "schema rejects autoscaling mode magic" schema_rejects "worker.autoscaling.mode" --set worker.autoscaling.mode=magic
sg_check "schema rejects a string boolean" schema_rejects "ingress.autoscaling.enabled" --set-string ingress.autoscaling.enabled=yes
sg_check "schema rejects a list for redis.url" schema_rejects "redis.url" --set 'redis.url={a,b}'
sg_check "schema rejects an http:// redis URL" schema_rejects "redis.url" --set redis.url=http://redis:6379
sg_check "schema rejects a misspelt key" schema_rejects "workr" --set workr.replicaCount=2
sg_check "schema rejects a bad duration" schema_rejects "redelivery.since" --set redelivery.since=2hours
sg_check "schema rejects a sentinel without a port" schema_rejects "redis.sentinel.addresses" --set 'redis.sentinel.addresses={sentinel-0}'
sg_check "schema rejects REDIS_MIN_REPLICAS_ACK above 64" schema_rejects "redis.minReplicasAck" --set redis.minReplicasAck=65
sg_check "schema rejects a read URL that is not PostgreSQL's" schema_rejects "postgresql.readUrl" --set postgresql.readUrl=http://replica
sg_check "schema rejects an unknown PgBouncer sslmode" schema_rejects "sslmode" --set postgresql.pgbouncer.upstream.sslmode=maybe
printf 'worker:\n  shutdownGraceSeconds: "25"\n' >"$SG_TMP/wrong-type.yaml"
sg_check "schema rejects a quoted number in a values file" schema_rejects "shutdownGraceSeconds" -f "$SG_TMP/wrong-type.yaml"

# ---- NOTES.txt: the webhook URL and how to inspect the queue (rendered through a copy of the chart)
notes() { # notes OUT helm-args... (with the base credentials)
  local out=$1; shift
  rm -rf "$SG_TMP/notes-chart" && cp -r "$CHART" "$SG_TMP/notes-chart" || return 1
  { printf '{{- define "sgtest.notes" -}}\n'; cat "$CHART/templates/NOTES.txt"; printf '{{- end -}}\n'; } \
    >"$SG_TMP/notes-chart/templates/_sgtest_notes.tpl"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n{{ include "sgtest.notes" . | indent 4 }}\n' \
    >"$SG_TMP/notes-chart/templates/sgtest-notes.yaml"
  "$HELM" template sg "$SG_TMP/notes-chart" --namespace prod --show-only templates/sgtest-notes.yaml -f "$BASE" "$@" >"$out"
}
sg_check "NOTES.txt renders" notes "$SG_TMP/notes.txt"
sg_check "NOTES: in-cluster webhook URL" grep -q "http://sg-singularity-ingress.prod.svc:80/webhooks/github" "$SG_TMP/notes.txt"
sg_check "NOTES: redis-cli LLEN analysis_queue" grep -q "LLEN analysis_queue" "$SG_TMP/notes.txt"
sg_check "NOTES: singularity-worker queue" grep -q "exec deploy/sg-singularity-worker -- singularity-worker queue" "$SG_TMP/notes.txt"
sg_check "NOTES: says workers are not autoscaled without KEDA" grep -q "NOT autoscaled: mode keda, but this cluster does not serve keda.sh/v1alpha1" "$SG_TMP/notes.txt"
sg_check "NOTES: how to push your own images" grep -q "docs/deploy.md" "$SG_TMP/notes.txt"
sg_check "NOTES renders with KEDA present" notes "$SG_TMP/notes-keda.txt" "${KEDA_API[@]}" --set worker.autoscaling.keda.cron.enabled=true
sg_check "NOTES: KEDA policy and business hours" grep -q "+2 workers a minute while" "$SG_TMP/notes-keda.txt"
sg_check "NOTES: cron floor" grep -q 'at least 3 from "0 8 \* \* 1-5"' "$SG_TMP/notes-keda.txt"
sg_check "NOTES renders with everything on" notes "$SG_TMP/notes-all.txt" -f "$CHART/ci/everything-values.yaml"
sg_check "NOTES: public webhook URL from the Ingress host" grep -q "https://singularity.example.com/webhooks/github" "$SG_TMP/notes-all.txt"
sg_check "NOTES: no KEDA warning when the objects are rendered" bash -c "! grep -q 'NOT autoscaled' '$SG_TMP/notes-all.txt'"
sg_check "NOTES renders with Sentinel and PgBouncer" notes "$SG_TMP/notes-ha.txt" -f "$CHART/ci/sentinel-values.yaml" -f "$CHART/ci/pgbouncer-values.yaml"
sg_check "NOTES: the sentinels and the replica acknowledgement" grep -q 'found through the sentinels redis-sentinel-0.*A delivery is answered 2xx only once 1 replica' \
  <(tr -d '\n' <"$SG_TMP/notes-ha.txt")
sg_check "NOTES: workers through PgBouncer, migrations direct" grep -q "through PgBouncer (transaction mode): sg-singularity-pgbouncer.prod.svc:6432" "$SG_TMP/notes-ha.txt"

# ---- the README's values table is generated from values.yaml and up to date
sg_check "chart README documents every value" node "$HERE/values-doc.mjs" --check "$CHART"
sg_check "dashboard JSON parses" python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d['panels']) >= 8" "$CHART/dashboards/singularity.json"

sg_summary
