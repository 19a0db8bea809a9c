#!/usr/bin/env bash
# Why: no YAML in the chart goes untested. With the real Helm this lints the chart strictly,
# renders it with the defaults, each worker autoscaling mode, an existingSecret and a values file
# turning on everything optional; validates every rendered document against the Kubernetes, KEDA
# and prometheus-operator schemas; asserts what matters (chart-assert.mjs); shows that wrong-typed
# values are rejected by values.schema.json; renders NOTES.txt; and checks the README's values
# table is up to date. Each checker is also fed a broken input once, to prove it can fail.
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

render() { # render NAME [helm args...] -> $SG_TMP/NAME.yaml
  local name=$1; shift
  "$HELM" template sg "$CHART" --namespace prod "$@" >"$SG_TMP/$name.yaml" 2>"$SG_TMP/$name.err"
}

# ---- lint, strictly, with every values file
sg_check "helm lint --strict (defaults)" "$HELM" lint --strict "$CHART" --quiet
for f in "$CHART"/ci/*-values.yaml; do
  sg_check "helm lint --strict -f ci/$(basename "$f")" "$HELM" lint --strict "$CHART" -f "$f" --quiet
done

# ---- render each scenario, validate against the schemas, assert
sg_check "render defaults" render default
for s in keda hpa none everything; do
  sg_check "render ci/$s-values.yaml" render "$s" -f "$CHART/ci/$s-values.yaml"
done
sg_check "render with existingSecret" render existing-secret \
  --set existingSecret=singularity-credentials --set worker.autoscaling.keda.redisAddress=redis.data.svc:6379
SCENARIOS=(default keda hpa none everything existing-secret)
RENDERS=()
for s in "${SCENARIOS[@]}"; do RENDERS+=("$SG_TMP/$s.yaml"); done
sg_check "schemas and no unknown fields: ${SCENARIOS[*]}" node "$HERE/validate.mjs" "${RENDERS[@]}"
for s in "${SCENARIOS[@]}"; do
  sg_check "assertions: $s" node "$HERE/chart-assert.mjs" "$s" "$SG_TMP/$s.yaml"
done
sg_check "helm package" "$HELM" package "$CHART" -d "$SG_TMP/pkg"

# ---- the checkers can fail: broken manifests must be caught
sed 's/containerPort: 4000/containerPort: "four thousand"/' "$SG_TMP/default.yaml" >"$SG_TMP/bad-type.yaml"
sg_expect_fail "schemas reject a string containerPort" node "$HERE/validate.mjs" "$SG_TMP/bad-type.yaml"
sed 's/          livenessProbe:/          livenesProbe:/' "$SG_TMP/default.yaml" >"$SG_TMP/bad-field.yaml"
sg_expect_fail "schemas reject an unknown (misspelt) field" node "$HERE/validate.mjs" "$SG_TMP/bad-field.yaml"
sed 's/^  triggers:/  trigger:/' "$SG_TMP/keda.yaml" >"$SG_TMP/bad-keda.yaml"
sg_expect_fail "KEDA schema rejects a ScaledObject without triggers" node "$HERE/validate.mjs" "$SG_TMP/bad-keda.yaml"
sed 's/^kind: ScaledObject/kind: ScaledThing/' "$SG_TMP/default.yaml" >"$SG_TMP/bad-kind.yaml"
sg_expect_fail "schemas reject an unknown kind" node "$HERE/validate.mjs" "$SG_TMP/bad-kind.yaml"
sed 's/listName: analysis_queue/listName: some_other_list/' "$SG_TMP/default.yaml" >"$SG_TMP/bad-list.yaml"
sg_expect_fail "assertions catch a trigger on the wrong list" node "$HERE/chart-assert.mjs" default "$SG_TMP/bad-list.yaml"
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
printf 'worker:\n  shutdownGraceSeconds: "25"\n' >"$SG_TMP/wrong-type.yaml"
sg_check "schema rejects a quoted number in a values file" schema_rejects "shutdownGraceSeconds" -f "$SG_TMP/wrong-type.yaml"

# ---- NOTES.txt: the webhook URL and how to inspect the queue (rendered through a copy of the chart)
notes() { # notes OUT helm-args...
  local out=$1; shift
  rm -rf "$SG_TMP/notes-chart" && cp -r "$CHART" "$SG_TMP/notes-chart" || return 1
  { printf '{{- define "sgtest.notes" -}}\n'; cat "$CHART/templates/NOTES.txt"; printf '{{- end -}}\n'; } \
    >"$SG_TMP/notes-chart/templates/_sgtest_notes.tpl"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n{{ include "sgtest.notes" . | indent 4 }}\n' \
    >"$SG_TMP/notes-chart/templates/sgtest-notes.yaml"
  "$HELM" template sg "$SG_TMP/notes-chart" --namespace prod --show-only templates/sgtest-notes.yaml "$@" >"$out"
}
sg_check "NOTES.txt renders" notes "$SG_TMP/notes.txt"
sg_check "NOTES: in-cluster webhook URL" grep -q "http://sg-singularity-ingress.prod.svc:80/webhooks/github" "$SG_TMP/notes.txt"
sg_check "NOTES: redis-cli LLEN analysis_queue" grep -q "LLEN analysis_queue" "$SG_TMP/notes.txt"
sg_check "NOTES: singularity-worker queue" grep -q "exec deploy/sg-singularity-worker -- singularity-worker queue" "$SG_TMP/notes.txt"
sg_check "NOTES: warns about a missing webhook secret" grep -q "WARNING: github.webhookSecret is empty" "$SG_TMP/notes.txt"
sg_check "NOTES renders with everything on" notes "$SG_TMP/notes-all.txt" -f "$CHART/ci/everything-values.yaml"
sg_check "NOTES: public webhook URL from the Ingress host" grep -q "https://singularity.example.com/webhooks/github" "$SG_TMP/notes-all.txt"
sg_check "NOTES: no warning when a secret is set" bash -c "! grep -q WARNING '$SG_TMP/notes-all.txt'"

# ---- the README's values table is generated from values.yaml and up to date
sg_check "chart README documents every value" node "$HERE/values-doc.mjs" --check "$CHART"
sg_check "dashboard JSON parses" python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d['panels']) >= 8" "$CHART/dashboards/singularity.json"

sg_summary
