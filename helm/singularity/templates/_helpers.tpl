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
  value: {{ .ctx.Values.github.appId | toString | quote }}
- name: PRIVATE_KEY_PATH
  value: {{ include "singularity.secretMountPath" .ctx }}/{{ .ctx.Values.secretKeys.privateKey }}
- name: GITHUB_API_URL
  value: {{ .ctx.Values.github.apiUrl | quote }}
- name: METRICS_PORT
  value: {{ .ctx.Values.worker.metricsPort | quote }}
- name: MAX_ATTEMPTS
  value: {{ .ctx.Values.worker.maxAttempts | quote }}
- name: WORKER_DEAD_AFTER_S
  value: {{ .ctx.Values.worker.deadAfterSeconds | quote }}
- name: SHUTDOWN_GRACE_S
  value: {{ .ctx.Values.worker.shutdownGraceSeconds | quote }}
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

{{/* Redis address and database for KEDA, from values or parsed from redis.url. */}}
{{- define "singularity.kedaRedisAddress" -}}
{{- if .Values.worker.autoscaling.keda.redisAddress -}}
{{- .Values.worker.autoscaling.keda.redisAddress -}}
{{- else -}}
{{- $u := urlParse .Values.redis.url -}}
{{- if contains ":" $u.host -}}{{ $u.host }}{{- else -}}{{ $u.host }}:6379{{- end -}}
{{- end -}}
{{- end -}}

{{- define "singularity.kedaRedisDb" -}}
{{- if ne (toString .Values.worker.autoscaling.keda.redisDatabaseIndex) "" -}}
{{- .Values.worker.autoscaling.keda.redisDatabaseIndex -}}
{{- else -}}
{{- $u := urlParse .Values.redis.url -}}
{{- $db := trimPrefix "/" $u.path -}}
{{- default "0" $db -}}
{{- end -}}
{{- end -}}

{{- define "singularity.inflightQuery" -}}
{{- if .Values.worker.autoscaling.keda.inflightQuery -}}
{{- .Values.worker.autoscaling.keda.inflightQuery -}}
{{- else -}}
max(analysis_queue_inflight{namespace="{{ .Release.Namespace }}"})
{{- end -}}
{{- end -}}
