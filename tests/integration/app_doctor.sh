#!/usr/bin/env bash
# Why: `singularity-worker doctor` must name each first-hour mistake on its own line (DESIGN.md
# section 12): a key of another App, a wrong secret file, migrations not run, Redis a replica, no
# installation, a permission missing after app.yml changed. Each is made on top of a good
# configuration and must give exactly one FAIL line, the right one, and exit 1; the good
# configuration gives exit 0. The simulator's App answers are checked against GitHub's OpenAPI.
set -euo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
. "$SG_SOURCE_DIR/tests/integration/system_lib.sh"
WORKER=$(sys_bin worker)
sg_tmpdir
sys_start_backends
export WEBHOOK_SECRET=doctor-test-secret
cd "$SG_TMP" # no app.yml here: the built-in one unless --app-yml

# doctor_fails NAME CHECK TEXT [VAR=value...]: exactly one FAIL line, for CHECK, containing TEXT
doctor_fails() {
  local name=$1 check=$2 text=$3 rc=0; shift 3
  env "$@" "$WORKER" doctor >"$SG_TMP/doctor-$name.out" 2>&1 || rc=$?
  sg_check "$name: exit 1" [ "$rc" = 1 ]
  sg_check "$name: exactly one FAIL line" [ "$(grep -c '^FAIL' "$SG_TMP/doctor-$name.out")" = 1 ]
  sg_check "$name: it is the $check check, saying what to do" grep -q "^FAIL  $check .*$text" "$SG_TMP/doctor-$name.out" ||
    cat "$SG_TMP/doctor-$name.out" >&2
}

rc=0; "$WORKER" doctor >"$SG_TMP/doctor-good.out" 2>&1 || rc=$?
cat "$SG_TMP/doctor-good.out"
sg_check "good configuration: exit 0" [ "$rc" = 0 ]
sg_check "good configuration: one ok line per check (6)" [ "$(grep -c '^ok ' "$SG_TMP/doctor-good.out")" = 6 ]
sg_check "the built-in app.yml is used when none is at hand" grep -q "cover built-in app.yml" "$SG_TMP/doctor-good.out"

openssl genrsa -out "$SG_TMP/other-app.pem" 2048 2>/dev/null
doctor_fails "key of another App" "github app" "private key is not App $APP_ID's" PRIVATE_KEY_PATH="$SG_TMP/other-app.pem"
sg_check "key of another App: the checks that need GET /app are skipped, not failed" \
  [ "$(grep -c '^--.*skipped: needs GET /app' "$SG_TMP/doctor-key of another App.out")" = 2 ]

doctor_fails "wrong secret file" "webhook" "WEBHOOK_SECRET_FILE" WEBHOOK_SECRET= WEBHOOK_SECRET_FILE="$SG_TMP/no-such-secret"
: >"$SG_TMP/empty-secret"
doctor_fails "empty secret file" "webhook" "WEBHOOK_SECRET" WEBHOOK_SECRET= WEBHOOK_SECRET_FILE="$SG_TMP/empty-secret"

psql -d postgres -qc "create database fresh" >/dev/null
doctor_fails "migrations not run" "postgres" 'run `singularity-worker migrate`' DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/fresh"

REPLICA_PORT=$(sg_free_port)
mkdir -p "$SG_TMP/replica"
redis-server --port "$REPLICA_PORT" --bind 127.0.0.1 --dir "$SG_TMP/replica" --save "" \
  --replicaof 127.0.0.1 "$REDIS_PORT" --daemonize no --logfile "$SG_TMP/replica/redis.log" &
sg_track $!
sg_wait_for redis-cli -p "$REPLICA_PORT" ping || sg_fail "replica did not start"
doctor_fails "Redis a replica" "redis" "not the primary.*REDIS_URL" REDIS_URL="redis://127.0.0.1:$REPLICA_PORT/0"
redis-cli -p "$REPLICA_PORT" shutdown nosave >/dev/null 2>&1 || true

# an App created through the manifest flow but never installed
curl -sf -X POST "http://127.0.0.1:$GITHUB_SIM_PORT/_sim/manifests" -d '{"manifest":{"name":"Lonely","url":"https://x.example","hook_attributes":{"url":"https://x.example/webhooks/github"},"redirect_url":"http://127.0.0.1:1/redirect","default_permissions":{"checks":"write","contents":"read","metadata":"read","pull_requests":"read"},"default_events":["check_run","check_suite","pull_request","push"]}}' >"$SG_TMP/created.json"
CODE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["code"])' "$SG_TMP/created.json")
mkdir -p "$SG_TMP/resp"
curl -sf -X POST "$GITHUB_API_URL/app-manifests/$CODE/conversions" >"$SG_TMP/resp/manifest-conversion.json"
sg_check "a conversion code works once (404 the second time)" \
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$GITHUB_API_URL/app-manifests/$CODE/conversions")" = 404 ]
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); open(sys.argv[2],"w").write(d["pem"]); print(d["id"])' \
  "$SG_TMP/resp/manifest-conversion.json" "$SG_TMP/lonely.pem" >"$SG_TMP/lonely.id"
doctor_fails "no installation" "installed" "no installation: install it on a repository at .*/installations/new" \
  APP_ID="$(cat "$SG_TMP/lonely.id")" PRIVATE_KEY_PATH="$SG_TMP/lonely.pem"

# app.yml asks for more than the App was registered with
sed -e 's/^  pull_requests: read/  pull_requests: read\n  issues: write/' -e 's/^  - push/  - push\n  - issues/' \
  "$SG_SOURCE_DIR/app.yml" >"$SG_TMP/app.yml"
doctor_fails "a permission missing after app.yml changed" "permissions" "permission issues: write; event issues.*App's settings"
rm "$SG_TMP/app.yml"
# and the App losing one on GitHub's side (an owner editing its settings)
curl -sf -o /dev/null -X PATCH "http://127.0.0.1:$GITHUB_SIM_PORT/_sim/apps/$APP_ID" \
  -d '{"permissions":{"checks":"read","contents":"read","metadata":"read","pull_requests":"read"}}'
doctor_fails "the App's checks permission lowered" "permissions" "permission checks: write (the App has read)"

JWT=$(sg_github_jwt "$PRIVATE_KEY_PATH" "$APP_ID")
curl -sf -H "Authorization: Bearer $JWT" "$GITHUB_API_URL/app" >"$SG_TMP/resp/app.json"
# GET /app/installations' items are checked as GET /app/installations/{id}'s answer: the published
# list schema says account is allOf [simple-user, enterprise], which no answer of GitHub's meets.
curl -sf -H "Authorization: Bearer $JWT" "$GITHUB_API_URL/app/installations" |
  python3 -c 'import json,sys; l=json.load(sys.stdin); assert len(l)==1; json.dump(l[0], sys.stdout)' >"$SG_TMP/resp/installation.json"
sg_check "conversion, GET /app and GET /app/installations answers match GitHub's OpenAPI schemas" \
  node "$SG_SOURCE_DIR/tests/integration/github_openapi.mjs" --responses "$SG_TMP/resp"
sg_summary
