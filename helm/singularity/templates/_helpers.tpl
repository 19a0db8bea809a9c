{{/*
Why: names, labels, the Secret's name and the environment both binaries share are written once
here, so the ingress, the workers, the migration Job and the CronJob can never disagree.
*/}}

{{- define "singularity.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "singularity.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "singularity.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every resource carries. */}}
{{- define "singularity.labels" -}}
helm.sh/chart: {{ include "singularity.chart" . }}
app.kubernetes.io/name: {{ include "singularity.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: singularity
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: include with (dict "ctx" $ "component" "ingress"). */}}
{{- define "singularity.selectorLabels" -}}
app.kubernetes.io/name: {{ include "singularity.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "singularity.componentLabels" -}}
{{ include "singularity.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "singularity.ingressName" -}}
{{- printf "%s-ingress" (include "singularity.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Service of the ingress's /metrics listener; also the `job` label Prometheus gives its targets. */}}
{{- define "singularity.ingressMetricsName" -}}
{{- printf "%s-ingress-metrics" (include "singularity.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Service a component's metrics are scraped through (the `job` label of its targets). */}}
{{- define "singularity.metricsServiceName" -}}
{{- if eq .component "worker" -}}
{{- include "singularity.workerName" .ctx -}}
{{- else if gt (int .ctx.Values.ingress.metricsPort) 0 -}}
{{- include "singularity.ingressMetricsName" .ctx -}}
{{- else -}}
{{- include "singularity.ingressName" .ctx -}}
{{- end -}}
{{- end -}}

{{- define "singularity.workerName" -}}
{{- printf "%s-worker" (include "singularity.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "singularity.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "singularity.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding credentials: the operator's existingSecret or the chart's own. */}}
{{- define "singularity.secretName" -}}
{{- if .Values.existingSecret -}}
{{- .Values.existingSecret -}}
{{- else -}}
{{- include "singularity.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* Hook Jobs run before the release's own Secret exists, so they get a hook Secret of their own. */}}
{{- define "singularity.hookSecretName" -}}
{{- if .Values.existingSecret -}}
{{- .Values.existingSecret -}}
{{- else -}}
{{- printf "%s-hook" (include "singularity.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "singularity.tag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{- define "singularity.ingressImage" -}}
{{- printf "%s:%s" .Values.ingress.image.repository (include "singularity.tag" .) -}}
{{- end -}}

{{- define "singularity.workerImage" -}}
{{- printf "%s:%s" .Values.worker.image.repository (include "singularity.tag" .) -}}
{{- end -}}

{{/* Where the Secret's files are mounted; the binaries read WEBHOOK_SECRET_FILE and PRIVATE_KEY_PATH. */}}
{{- define "singularity.secretMountPath" -}}/var/run/secrets/singularity{{- end -}}

{{/* REDIS_URL and the common variables (both binaries). $secret is the Secret's name. */}}
{{- define "singularity.commonEnv" -}}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .ctx.Values.secretKeys.redisUrl }}
- name: LOG_LEVEL
  value: {{ .ctx.Values.logLevel | quote }}
- name: LOG_FORMAT
  value: json
{{- end -}}

{{/* What the worker binary needs in every mode (serve, migrate, redeliver). */}}
{{- define "singularity.workerEnv" -}}
{{ include "singularity.commonEnv" . }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .ctx.Values.secretKeys.databaseUrl }}
- name: APP_ID
  value: {{ include "singularity.int" (dict "v" .ctx.Values.github.appId "name" "github.appId") | quote }}
- name: PRIVATE_KEY_PATH
  value: {{ include "singularity.secretMountPath" .ctx }}/{{ .ctx.Values.secretKeys.privateKey }}
- name: GITHUB_API_URL
  value: {{ .ctx.Values.github.apiUrl | quote }}
- name: METRICS_PORT
  value: {{ .ctx.Values.worker.metricsPort | int64 | quote }}
- name: MAX_ATTEMPTS
  value: {{ .ctx.Values.worker.maxAttempts | int64 | quote }}
- name: WORKER_DEAD_AFTER_S
  value: {{ .ctx.Values.worker.deadAfterSeconds | int64 | quote }}
- name: SHUTDOWN_GRACE_S
  value: {{ .ctx.Values.worker.shutdownGraceSeconds | int64 | quote }}
- name: TMPDIR
  value: /tmp
{{- end -}}

{{/* The Secret's private key as a file, read-only, owner-readable. */}}
{{- define "singularity.privateKeyVolume" -}}
- name: credentials
  secret:
    secretName: {{ .secret }}
    defaultMode: 0440
    items:
      - key: {{ .ctx.Values.secretKeys.privateKey }}
        path: {{ .ctx.Values.secretKeys.privateKey }}
{{- end -}}

{{- define "singularity.tmpVolume" -}}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end -}}

{{/*
A whole number as digits: values files hand Helm every number as a float, and `toString` of
1234567.0 is "1.234567e+06", which the binaries refuse. Include with (dict "v" VALUE "name" KEY);
an empty string stays empty; anything that is not a whole number fails the install.
*/}}
{{- define "singularity.int" -}}
{{- $v := .v -}}
{{- if kindIs "string" $v -}}
{{- if not (regexMatch "^[0-9]*$" $v) -}}
{{- fail (printf "%s must be a whole number, got %q" .name $v) -}}
{{- end -}}
{{- $v -}}
{{- else if or (kindIs "float64" $v) (kindIs "int64" $v) (kindIs "int" $v) -}}
{{- if or (lt (float64 $v) 0.0) (ne (float64 (int64 $v)) (float64 $v)) -}}
{{- fail (printf "%s must be a whole number, got %.12g" .name (float64 $v)) -}}
{{- end -}}
{{- printf "%d" (int64 $v) -}}
{{- else if not (kindIs "invalid" $v) -}}
{{- fail (printf "%s must be a whole number, got %v" .name $v) -}}
{{- end -}}
{{- end -}}

{{/*
Percent-decoding of a URL's user or password (ASCII only), for KEDA, which takes them verbatim.
%25 is decoded last so "%2541" stays "%41".
*/}}
{{- define "singularity.pctDecode" -}}
{{- $s := . -}}
{{- $hex := dict "0" 0 "1" 1 "2" 2 "3" 3 "4" 4 "5" 5 "6" 6 "7" 7 "8" 8 "9" 9 "a" 10 "b" 11 "c" 12 "d" 13 "e" 14 "f" 15 -}}
{{- $codes := regexFindAll "%[0-9A-Fa-f]{2}" $s -1 | uniq -}}
{{- $ordered := list -}}
{{- range $codes }}{{ if ne (lower .) "%25" }}{{ $ordered = append $ordered . }}{{ end }}{{ end -}}
{{- range $codes }}{{ if eq (lower .) "%25" }}{{ $ordered = append $ordered . }}{{ end }}{{ end -}}
{{- range $m := $ordered -}}
{{- $n := add (mul (index $hex (lower (substr 1 2 $m))) 16) (index $hex (lower (substr 2 3 $m))) -}}
{{- if or (ge (int $n) 128) (lt (int $n) 32) -}}
{{- fail (printf "redis.url: the escape %s in its user or password is not printable ASCII, which KEDA's trigger cannot take from the URL; put the password in existingSecret (key %s)" $m "redis-password") -}}
{{- end -}}
{{- $s = replace $m (printf "%c" (int $n)) $s -}}
{{- end -}}
{{- $s -}}
{{- end -}}

{{/*
redis.url taken apart (as JSON: scheme, user, password, host, port, db), user and password
percent-decoded. Sprig's urlParse re-encodes the user info, so this reads the raw text.
*/}}
{{- define "singularity.redisUrl" -}}
{{- $url := .Values.redis.url -}}
{{- $re := `^(rediss?)://(([^:@/]*)(:([^@/]*))?@)?(\[[^\]]+\]|[^:/@?]+)(:([0-9]+))?(/([0-9]*))?.*$` -}}
{{- if not (regexMatch $re $url) -}}
{{- fail (printf "redis.url %q is not redis://[[user]:password@]host[:port][/db] or rediss://..." $url) -}}
{{- end -}}
{{- $r := dict "scheme" (regexReplaceAll $re $url "${1}") "host" (regexReplaceAll $re $url "${6}") -}}
{{- $_ := set $r "user" (include "singularity.pctDecode" (regexReplaceAll $re $url "${3}")) -}}
{{- $_ := set $r "password" (include "singularity.pctDecode" (regexReplaceAll $re $url "${5}")) -}}
{{- $_ := set $r "port" (default "6379" (regexReplaceAll $re $url "${8}")) -}}
{{- $_ := set $r "db" (default "0" (regexReplaceAll $re $url "${10}")) -}}
{{- toJson $r -}}
{{- end -}}

{{/*
How KEDA reaches Redis, decided once (as JSON): address and databaseIndex for the trigger's
metadata, enableTLS, and the TriggerAuthentication's secret parameters ({parameter: key}) when
it needs any. Values that cannot work fail here: a TLS flag that contradicts redis.url.
*/}}
{{- define "singularity.kedaRedis" -}}
{{- $k := .Values.worker.autoscaling.keda -}}
{{- $sk := .Values.secretKeys -}}
{{- $out := dict "params" (dict) -}}
{{- if .Values.existingSecret -}}
{{- $_ := set $out "tls" $k.redisTls -}}
{{- $_ := set $out "db" (default "0" (toString $k.redisDatabaseIndex)) -}}
{{- $_ := set $out "address" $k.redisAddress -}}
{{- range $p := $k.existingSecretParameters -}}
{{- if and (eq $p "address") $k.redisAddress -}}
{{- else -}}
{{- $_ := set $out.params $p (get (dict "address" $sk.redisAddress "password" $sk.redisPassword "username" $sk.redisUsername) $p) -}}
{{- end -}}
{{- end -}}
{{- if and (not $out.address) (not (hasKey $out.params "address")) -}}
{{- fail "worker.autoscaling.keda: with existingSecret KEDA needs Redis's address: keep `address` in keda.existingSecretParameters (key secretKeys.redisAddress in the Secret) or set keda.redisAddress" -}}
{{- end -}}
{{- else -}}
{{- $u := include "singularity.redisUrl" . | fromJson -}}
{{- $tls := eq $u.scheme "rediss" -}}
{{- if and $k.redisTls (not $tls) -}}
{{- fail (printf "worker.autoscaling.keda.redisTls is true but redis.url is %s://: KEDA would speak TLS to a plain Redis; use rediss:// in redis.url (TLS is taken from it) or drop redisTls" $u.scheme) -}}
{{- end -}}
{{- $_ := set $out "tls" $tls -}}
{{- $_ := set $out "address" (default (printf "%s:%s" $u.host $u.port) $k.redisAddress) -}}
{{- $_ := set $out "db" (ternary $u.db (toString $k.redisDatabaseIndex) (eq (toString $k.redisDatabaseIndex) "")) -}}
{{- if $u.password -}}
{{- $_ := set $out.params "password" $sk.redisPassword -}}
{{- end -}}
{{- if $u.user -}}
{{- $_ := set $out.params "username" $sk.redisUsername -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* True ("true") when the KEDA objects are rendered: mode keda and the API is there or forced. */}}
{{- define "singularity.kedaOn" -}}
{{- if and (eq .Values.worker.autoscaling.mode "keda") (or .Values.worker.autoscaling.keda.force (.Capabilities.APIVersions.Has "keda.sh/v1alpha1")) -}}true{{- end -}}
{{- end -}}

{{/* Worker resources: worker.resources when set, else the size preset (the seed's three sizes). */}}
{{- define "singularity.workerResources" -}}
{{- if .Values.worker.resources -}}
{{- toYaml .Values.worker.resources -}}
{{- else -}}
{{- $presets := dict "development" (list "256Mi" "250m") "production" (list "512Mi" "500m") "high-load" (list "1Gi" "1") -}}
{{- $p := get $presets .Values.worker.sizePreset -}}
{{- if not $p -}}
{{- fail (printf "worker.sizePreset must be development, production or high-load, got %q" .Values.worker.sizePreset) -}}
{{- end -}}
requests:
  cpu: {{ index $p 1 | quote }}
  memory: {{ index $p 0 }}
limits:
  cpu: {{ index $p 1 | quote }}
  memory: {{ index $p 0 }}
{{- end -}}
{{- end -}}

{{/*
Install-time checks of values that would render valid objects which cannot work. Included by
the ingress Deployment (always rendered), so each fails `helm install` with one message.
*/}}
{{- define "singularity.validate" -}}
{{- if not .Values.existingSecret -}}
{{- $missing := list -}}
{{- range $k := list "webhookSecret" "privateKey" -}}
{{- if not (get $.Values.github $k) }}{{ $missing = append $missing (printf "github.%s" $k) }}{{ end -}}
{{- end -}}
{{- if $missing -}}
{{- fail (printf "%s empty and no existingSecret is set: the ingress (webhook secret) and the workers (App key) would crash-loop at start; set them, or existingSecret" (join " and " $missing)) -}}
{{- end -}}
{{- end -}}
{{- if eq (toString .Values.github.appId) "" -}}
{{- fail "github.appId is empty: workers refuse to start without the GitHub App id (a whole number, from the App's settings page)" -}}
{{- end -}}
{{- $a := .Values.worker.autoscaling -}}
{{- if and (eq $a.mode "hpa") (lt (int $a.minReplicas) 1) -}}
{{- fail "worker.autoscaling.minReplicas is 0 with mode hpa: an autoscaling/v2 HPA cannot scale to zero (the API server refuses minReplicas 0); use mode keda for scale-to-zero or set minReplicas to 1 or more" -}}
{{- end -}}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) -}}
{{- fail (printf "worker.autoscaling.minReplicas (%d) is above maxReplicas (%d)" (int $a.minReplicas) (int $a.maxReplicas)) -}}
{{- end -}}
{{- $i := .Values.ingress -}}
{{- $need := add (int $i.preStopSleepSeconds) (int $i.drainSeconds) 5 -}}
{{- if lt (int $i.terminationGracePeriodSeconds) (int $need) -}}
{{- fail (printf "ingress.terminationGracePeriodSeconds (%d) must be at least preStopSleepSeconds + drainSeconds + 5 (%d), or Kubernetes kills the ingress while it drains" (int $i.terminationGracePeriodSeconds) (int $need)) -}}
{{- end -}}
{{- if eq (int $i.metricsPort) (int $i.port) -}}
{{- fail "ingress.metricsPort must differ from ingress.port (use 0 to serve /metrics on the webhook port)" -}}
{{- end -}}
{{- $_ := include "singularity.int" (dict "v" .Values.github.appId "name" "github.appId") -}}
{{- if eq $a.mode "keda" -}}
{{- $_ := include "singularity.kedaRedis" . -}}
{{- end -}}
{{- end -}}

{{- define "singularity.inflightQuery" -}}
{{- if .Values.worker.autoscaling.keda.inflightQuery -}}
{{- .Values.worker.autoscaling.keda.inflightQuery -}}
{{- else -}}
max(analysis_queue_inflight{namespace="{{ .Release.Namespace }}"})
{{- end -}}
{{- end -}}
