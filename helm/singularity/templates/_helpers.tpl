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

{{/* The variables every Singularity container shares. */}}
{{- define "singularity.commonEnv" -}}
- name: LOG_LEVEL
  value: {{ .ctx.Values.logLevel | quote }}
- name: LOG_FORMAT
  value: json
{{- end -}}

{{/*
How both binaries reach Redis, written once so the ingress and the workers cannot disagree:
REDIS_URL from the Secret, the sentinels, the TLS settings (the CA as a mounted file) and the
replica acknowledgement. Include with (dict "ctx" $ "secret" NAME). The migration Job and the
redelivery CronJob never touch Redis, so they get none of it.
*/}}
{{- define "singularity.redisEnv" -}}
{{- $r := .ctx.Values.redis -}}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .ctx.Values.secretKeys.redisUrl }}
{{- if $r.sentinel.enabled }}
- name: REDIS_SENTINELS
  value: {{ join "," $r.sentinel.addresses | quote }}
- name: REDIS_SENTINEL_MASTER
  value: {{ $r.sentinel.master | quote }}
{{- if or .ctx.Values.existingSecret $r.sentinel.password }}
- name: REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .ctx.Values.secretKeys.redisSentinelPassword }}
      {{- if .ctx.Values.existingSecret }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}
{{- if include "singularity.redisCa" .ctx }}
- name: REDIS_TLS_CA_FILE
  value: {{ include "singularity.redisCaDir" .ctx }}/ca.crt
{{- end }}
{{- with $r.tls.serverName }}
- name: REDIS_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- if $r.tls.insecureSkipVerify }}
- name: REDIS_TLS_INSECURE
  value: "1"
{{- end }}
- name: REDIS_MIN_REPLICAS_ACK
  value: {{ include "singularity.int" (dict "v" $r.minReplicasAck "name" "redis.minReplicasAck") | quote }}
- name: REDIS_WAIT_TIMEOUT_MS
  value: {{ include "singularity.int" (dict "v" $r.waitTimeoutMs "name" "redis.waitTimeoutMs") | quote }}
{{- end -}}

{{/*
Where the Redis CA comes from (as JSON: kind ConfigMap or Secret, name, key), or nothing when the
system roots are used: redis.tls.ca (kept in the chart's own ConfigMap) or redis.tls.caFrom.
*/}}
{{- define "singularity.redisCa" -}}
{{- $t := .Values.redis.tls -}}
{{- if $t.ca -}}
{{- toJson (dict "kind" "ConfigMap" "name" (include "singularity.redisTlsName" .) "key" "ca.crt") -}}
{{- else if $t.caFrom.configMap -}}
{{- toJson (dict "kind" "ConfigMap" "name" $t.caFrom.configMap "key" $t.caFrom.key) -}}
{{- else if $t.caFrom.secret -}}
{{- toJson (dict "kind" "Secret" "name" $t.caFrom.secret "key" $t.caFrom.key) -}}
{{- end -}}
{{- end -}}

{{- define "singularity.redisTlsName" -}}
{{- printf "%s-redis-tls" (include "singularity.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "singularity.redisCaDir" -}}/var/run/singularity/redis-tls{{- end -}}

{{/* The CA's volume and its mount, for the pods that get singularity.redisEnv. */}}
{{- define "singularity.redisCaVolume" -}}
{{- $ca := include "singularity.redisCa" . -}}
{{- if $ca -}}
{{- with fromJson $ca -}}
- name: redis-tls
  {{- if eq .kind "Secret" }}
  secret:
    secretName: {{ .name }}
  {{- else }}
  configMap:
    name: {{ .name }}
  {{- end }}
    defaultMode: 0444
    items:
      - key: {{ .key }}
        path: ca.crt
{{- end }}
{{- end }}
{{- end -}}

{{- define "singularity.redisCaMount" -}}
{{- if include "singularity.redisCa" . -}}
- name: redis-tls
  mountPath: {{ include "singularity.redisCaDir" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{/*
What the worker binary needs (serve, migrate, redeliver) besides Redis. Include with
(dict "ctx" $ "secret" NAME "pool" BOOL "readUrl" BOOL): with "pool" DATABASE_URL goes through
PgBouncer when it is enabled (the workers), without it straight to PostgreSQL (the migration hook,
which runs before PgBouncer exists); "readUrl" adds DATABASE_READ_URL (the workers, where
`report` runs).
*/}}
{{- define "singularity.workerEnv" -}}
{{- $v := .ctx.Values -}}
{{ include "singularity.commonEnv" . }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ ternary $v.secretKeys.pgbouncerDatabaseUrl $v.secretKeys.databaseUrl (and .pool $v.postgresql.pgbouncer.enabled) }}
{{- if and .readUrl (or $v.existingSecret $v.postgresql.readUrl) }}
- name: DATABASE_READ_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ $v.secretKeys.databaseReadUrl }}
      {{- if $v.existingSecret }}
      optional: true
      {{- end }}
{{- end }}
- name: APP_ID
  value: {{ include "singularity.int" (dict "v" $v.github.appId "name" "github.appId") | quote }}
- name: PRIVATE_KEY_PATH
  value: {{ include "singularity.secretMountPath" .ctx }}/{{ $v.secretKeys.privateKey }}
- name: GITHUB_API_URL
  value: {{ $v.github.apiUrl | quote }}
- name: METRICS_PORT
  value: {{ $v.worker.metricsPort | int64 | quote }}
- name: MAX_ATTEMPTS
  value: {{ $v.worker.maxAttempts | int64 | quote }}
- name: WORKER_DEAD_AFTER_S
  value: {{ $v.worker.deadAfterSeconds | int64 | quote }}
- name: SHUTDOWN_GRACE_S
  value: {{ $v.worker.shutdownGraceSeconds | int64 | quote }}
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
Percent-decoding of a URL's user, password or database (ASCII only), for the consumers that take
them verbatim (KEDA, PgBouncer's auth_file). Include with (dict "s" TEXT "url" VALUE-NAME "key"
SECRET-KEY). %25 is decoded last so "%2541" stays "%41".
*/}}
{{- define "singularity.pctDecode" -}}
{{- $s := .s -}}
{{- $hex := dict "0" 0 "1" 1 "2" 2 "3" 3 "4" 4 "5" 5 "6" 6 "7" 7 "8" 8 "9" 9 "a" 10 "b" 11 "c" 12 "d" 13 "e" 14 "f" 15 -}}
{{- $codes := regexFindAll "%[0-9A-Fa-f]{2}" $s -1 | uniq -}}
{{- $ordered := list -}}
{{- range $codes }}{{ if ne (lower .) "%25" }}{{ $ordered = append $ordered . }}{{ end }}{{ end -}}
{{- range $codes }}{{ if eq (lower .) "%25" }}{{ $ordered = append $ordered . }}{{ end }}{{ end -}}
{{- range $m := $ordered -}}
{{- $n := add (mul (index $hex (lower (substr 1 2 $m))) 16) (index $hex (lower (substr 2 3 $m))) -}}
{{- if or (ge (int $n) 128) (lt (int $n) 32) -}}
{{- fail (printf "%s: the escape %s in it is not printable ASCII, which the chart cannot decode for KEDA and PgBouncer; use existingSecret (key %s)" $.url $m $.key) -}}
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
{{- $_ := set $r "user" (include "singularity.pctDecode" (dict "s" (regexReplaceAll $re $url "${3}") "url" "redis.url" "key" "redis-password")) -}}
{{- $_ := set $r "password" (include "singularity.pctDecode" (dict "s" (regexReplaceAll $re $url "${5}") "url" "redis.url" "key" "redis-password")) -}}
{{- $_ := set $r "port" (default "6379" (regexReplaceAll $re $url "${8}")) -}}
{{- $_ := set $r "db" (default "0" (regexReplaceAll $re $url "${10}")) -}}
{{- toJson $r -}}
{{- end -}}

{{/*
postgresql.url taken apart for PgBouncer (as JSON): the raw user info and database (kept encoded for
the URL the workers get), user, password and database decoded (for PgBouncer's files), host, port
and sslmode.
One host only: PgBouncer connects to one server.
*/}}
{{- define "singularity.postgresUrl" -}}
{{- $url := .Values.postgresql.url -}}
{{- $re := `^postgres(ql)?://(([^:@/?]*)(:([^@/?]*))?@)?(\[[^\]]+\]|[^:/@?,]+)(:([0-9]+))?/([^?/]+)(\?(.*))?$` -}}
{{- if not (regexMatch $re $url) -}}
{{- fail (printf "postgresql.pgbouncer needs postgresql.url as postgres://user:password@host[:port]/database[?sslmode=...] with one host; got %q" (regexReplaceAll "://([^:@/]*):[^@/]*@" $url "://${1}:***@")) -}}
{{- end -}}
{{- $r := dict "userinfo" (regexReplaceAll $re $url "${2}") "host" (regexReplaceAll $re $url "${6}") -}}
{{- $_ := set $r "user" (include "singularity.pctDecode" (dict "s" (regexReplaceAll $re $url "${3}") "url" "postgresql.url" "key" "pgbouncer-userlist.txt")) -}}
{{- $_ := set $r "password" (include "singularity.pctDecode" (dict "s" (regexReplaceAll $re $url "${5}") "url" "postgresql.url" "key" "pgbouncer-userlist.txt")) -}}
{{- $_ := set $r "port" (default "5432" (regexReplaceAll $re $url "${8}")) -}}
{{- $_ := set $r "rawDatabase" (regexReplaceAll $re $url "${9}") -}}
{{- $_ := set $r "database" (include "singularity.pctDecode" (dict "s" (regexReplaceAll $re $url "${9}") "url" "postgresql.url" "key" "pgbouncer-userlist.txt")) -}}
{{- $q := regexReplaceAll $re $url "${11}" -}}
{{- /* The workers keep the URL's other parameters; TLS and the server's address are PgBouncer's. */ -}}
{{- $keep := list -}}
{{- range $kv := splitList "&" $q -}}
{{- if and $kv (not (regexMatch "^(ssl[a-z]*|requiressl|gss[a-z]*|host|hostaddr|port|dbname|target_session_attrs|load_balance_hosts)=" $kv)) -}}
{{- $keep = append $keep $kv -}}
{{- end -}}
{{- end -}}
{{- $_ := set $r "poolQuery" (join "&" $keep) -}}
{{- $_ := set $r "sslmode" (regexReplaceAll "^(.*&)?sslmode=([^&]*)(&.*)?$" (ternary $q "" (contains "sslmode=" $q)) "${2}") -}}
{{- toJson $r -}}
{{- end -}}

{{/*
Where PgBouncer connects (as JSON: host, port, database, sslmode): postgresql.pgbouncer.upstream, else
postgresql.url (which the chart cannot read with existingSecret, so host and database are then
required).
*/}}
{{- define "singularity.pgbouncerUpstream" -}}
{{- $up := .Values.postgresql.pgbouncer.upstream -}}
{{- $u := dict "port" "5432" "sslmode" "" "host" "" "database" "" -}}
{{- if not .Values.existingSecret -}}
{{- $u = include "singularity.postgresUrl" . | fromJson -}}
{{- if not $u.password -}}
{{- fail "postgresql.pgbouncer.enabled: postgresql.url has no password; PgBouncer checks the workers with the URL's user and password and logs in to PostgreSQL with them" -}}
{{- end -}}
{{- end -}}
{{- $out := dict "host" (default $u.host $up.host) "database" (default $u.database $up.database) -}}
{{- $_ := set $out "port" (default $u.port (include "singularity.int" (dict "v" $up.port "name" "postgresql.pgbouncer.upstream.port"))) -}}
{{- $_ := set $out "sslmode" (default (default "prefer" $u.sslmode) $up.sslmode) -}}
{{- if or (not $out.host) (not $out.database) -}}
{{- fail "postgresql.pgbouncer.enabled with existingSecret: set postgresql.pgbouncer.upstream.host and .database (the chart cannot read postgresql.url inside your Secret), and give the Secret the keys secretKeys.pgbouncerDatabaseUrl and secretKeys.pgbouncerUserlist" -}}
{{- end -}}
{{- if not (has $out.sslmode (list "disable" "allow" "prefer" "require" "verify-ca" "verify-full")) -}}
{{- fail (printf "postgresql.url: sslmode=%s is not one PgBouncer knows (disable, allow, prefer, require, verify-ca, verify-full)" $out.sslmode) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- define "singularity.pgbouncerName" -}}
{{- printf "%s-pgbouncer" (include "singularity.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
How KEDA reaches Redis, decided once from the values the binaries get (as JSON): the trigger type
(`redis`, or `redis-sentinel` with redis.sentinel) and its metadata (address or addresses,
sentinelMaster, databaseIndex, enableTLS, unsafeSsl), and the TriggerAuthentication's parameters:
secret ({parameter: {name, key}}) and configMap (the same). A CA goes to KEDA as the `tls` and `ca`
parameters, which KEDA refuses beside enableTLS. Values that cannot work fail here: a TLS flag
that contradicts redis.url, a single address with Sentinel.
*/}}
{{- define "singularity.kedaRedis" -}}
{{- $_ := include "singularity.validateRedis" . -}}
{{- $k := .Values.worker.autoscaling.keda -}}
{{- $sk := .Values.secretKeys -}}
{{- $sen := .Values.redis.sentinel -}}
{{- $secret := include "singularity.secretName" . -}}
{{- $out := dict "type" (ternary "redis-sentinel" "redis" $sen.enabled) "secret" (dict) "configMap" (dict) -}}
{{- if and $sen.enabled $k.redisAddress -}}
{{- fail "worker.autoscaling.keda.redisAddress names one Redis, but redis.sentinel.enabled is true: KEDA's redis-sentinel trigger asks redis.sentinel.addresses for the primary; drop redisAddress" -}}
{{- end -}}
{{- if and (not $sen.enabled) (has "sentinelPassword" $k.existingSecretParameters) .Values.existingSecret -}}
{{- fail "worker.autoscaling.keda.existingSecretParameters lists sentinelPassword, but redis.sentinel.enabled is false" -}}
{{- end -}}
{{- $keys := dict "address" $sk.redisAddress "password" $sk.redisPassword "username" $sk.redisUsername "sentinelPassword" $sk.redisSentinelPassword -}}
{{- if .Values.existingSecret -}}
{{- $_ := set $out "tls" $k.redisTls -}}
{{- $_ := set $out "db" (default "0" (toString $k.redisDatabaseIndex)) -}}
{{- $_ := set $out "address" $k.redisAddress -}}
{{- range $p := $k.existingSecretParameters -}}
{{- if and (eq $p "address") (or $k.redisAddress $sen.enabled) -}}
{{- else -}}
{{- $_ := set $out.secret $p (dict "name" $secret "key" (get $keys $p)) -}}
{{- end -}}
{{- end -}}
{{- if and (not $sen.enabled) (not $out.address) (not (hasKey $out.secret "address")) -}}
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
{{- $_ := set $out.secret "password" (dict "name" $secret "key" $sk.redisPassword) -}}
{{- end -}}
{{- if $u.user -}}
{{- $_ := set $out.secret "username" (dict "name" $secret "key" $sk.redisUsername) -}}
{{- end -}}
{{- if and $sen.enabled $sen.password -}}
{{- $_ := set $out.secret "sentinelPassword" (dict "name" $secret "key" $sk.redisSentinelPassword) -}}
{{- end -}}
{{- end -}}
{{- if $sen.enabled -}}
{{- $_ := set $out "address" "" -}}
{{- $_ := set $out "addresses" (join "," $sen.addresses) -}}
{{- $_ := set $out "master" $sen.master -}}
{{- end -}}
{{- $t := .Values.redis.tls -}}
{{- $ca := include "singularity.redisCa" . -}}
{{- if and (not $out.tls) (or $ca $t.serverName $t.insecureSkipVerify) -}}
{{- fail "redis.tls is set but worker.autoscaling.keda.redisTls is false: with existingSecret, say that the Secret's redis-url is rediss:// (redisTls: true), or drop redis.tls" -}}
{{- end -}}
{{- if $ca -}}
{{- $c := fromJson $ca -}}
{{- $_ := set $out.configMap "tls" (dict "name" (include "singularity.redisTlsName" .) "key" "tls") -}}
{{- $_ := set (ternary $out.secret $out.configMap (eq $c.kind "Secret")) "ca" (dict "name" $c.name "key" $c.key) -}}
{{- else -}}
{{- $_ := set $out "enableTLS" (ternary "true" "false" (eq (toString $out.tls) "true")) -}}
{{- $_ := set $out "unsafeSsl" (ternary "true" "false" $t.insecureSkipVerify) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
The Redis settings that contradict each other or redis.url, in every autoscaling mode: the
binaries would refuse them at start (REDIS_TLS_* without rediss://), or they cannot both hold.
*/}}
{{- define "singularity.validateRedis" -}}
{{- $r := .Values.redis -}}
{{- $t := $r.tls -}}
{{- if and $r.sentinel.enabled (not $r.sentinel.addresses) -}}
{{- fail "redis.sentinel.enabled is true but redis.sentinel.addresses is empty: the binaries need at least one sentinel host:port to ask for the primary" -}}
{{- end -}}
{{- $sources := list -}}
{{- if $t.ca }}{{ $sources = append $sources "redis.tls.ca" }}{{ end -}}
{{- if $t.caFrom.configMap }}{{ $sources = append $sources "redis.tls.caFrom.configMap" }}{{ end -}}
{{- if $t.caFrom.secret }}{{ $sources = append $sources "redis.tls.caFrom.secret" }}{{ end -}}
{{- if gt (len $sources) 1 -}}
{{- fail (printf "%s: give the Redis CA one way only" (join " and " $sources)) -}}
{{- end -}}
{{- if and $t.insecureSkipVerify $sources -}}
{{- fail (printf "redis.tls.insecureSkipVerify is true and %s is set: without verification the CA is never checked; choose one" (first $sources)) -}}
{{- end -}}
{{- if and $t.ca (not (contains "-----BEGIN CERTIFICATE-----" $t.ca)) -}}
{{- fail "redis.tls.ca is not a PEM certificate (-----BEGIN CERTIFICATE-----); REDIS_TLS_CA_FILE would not load and both binaries would stop at start" -}}
{{- end -}}
{{- if not .Values.existingSecret -}}
{{- $u := include "singularity.redisUrl" . | fromJson -}}
{{- $set := concat $sources (ternary (list "redis.tls.serverName") (list) (ne $t.serverName "")) (ternary (list "redis.tls.insecureSkipVerify") (list) $t.insecureSkipVerify) -}}
{{- if and $set (ne $u.scheme "rediss") -}}
{{- fail (printf "%s is set but redis.url is %s://: both binaries refuse REDIS_TLS_* without TLS; use rediss:// in redis.url or drop it" (first $set) $u.scheme) -}}
{{- end -}}
{{- end -}}
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
{{- $_ := include "singularity.validateRedis" . -}}
{{- if eq $a.mode "keda" -}}
{{- $_ := include "singularity.kedaRedis" . -}}
{{- end -}}
{{- if .Values.postgresql.pgbouncer.enabled -}}
{{- $_ := include "singularity.pgbouncerUpstream" . -}}
{{- if hasKey .Values.postgresql.pgbouncer.extraSettings "pool_mode" -}}
{{- fail "postgresql.pgbouncer.extraSettings: pool_mode is always transaction (the mode the workers are written for); drop it" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "singularity.inflightQuery" -}}
{{- if .Values.worker.autoscaling.keda.inflightQuery -}}
{{- .Values.worker.autoscaling.keda.inflightQuery -}}
{{- else -}}
max(analysis_queue_inflight{namespace="{{ .Release.Namespace }}"})
{{- end -}}
{{- end -}}
