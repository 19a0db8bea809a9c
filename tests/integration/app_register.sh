#!/usr/bin/env bash
# Why: `singularity-worker register` (DESIGN.md section 12) as a new user meets it, with the test
# playing the browser (app_browser.py) and the simulator standing in for github.com: the form and
# the manifest in it, GitHub's redirect with a code and our state, the env file and key written
# 0600, refusals (a wrong state, a reused or expired code, an existing env file), and then the
# written configuration taking a push to a completed check run, as scripts/run.sh does.
set -euo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
. "$SG_SOURCE_DIR/tests/integration/system_lib.sh"
BROWSER="python3 $SG_SOURCE_DIR/tests/integration/app_browser.py"
WORKER=$(sys_bin worker)
sg_tmpdir
jq_() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

sg_start_redis
sg_start_postgres
"$WORKER" migrate >/dev/null || sg_fail "migrate failed"
# no --installation: the App the test registers is installed later, as a person would
sg_start_github_sim --repos "$SG_SOURCE_DIR/tests/fixtures/sample-repo" --record "$SG_TMP/rec.jsonl"
export GITHUB_URL="http://127.0.0.1:$GITHUB_SIM_PORT/_sim/web"
SIM_APP_ID=$APP_ID
unset APP_ID PRIVATE_KEY_PATH

# start_register NAME ARGS...: register in the background on a free port (REG_PORT, REG_PID)
start_register() {
  local name=$1; shift
  REG_PORT=$(sg_free_port)
  "$WORKER" register --listen "127.0.0.1:$REG_PORT" "$@" >"$SG_TMP/$name.out" 2>"$SG_TMP/$name.err" &
  REG_PID=$!
  sg_track $REG_PID
  sg_wait_for curl -sf "http://127.0.0.1:$REG_PORT/" || sg_fail "register did not listen: $(cat "$SG_TMP/$name.err")"
}

mkdir -p "$SG_TMP/conf" "$SG_TMP/conf2"
ENV="$SG_TMP/conf/.env"
cd "$SG_SOURCE_DIR" # app.yml from the working directory
start_register reg1 --public-url https://hooks.example.test/ --env-file "$ENV"
cd "$SG_TMP/conf2" # the built-in app.yml from here on

# --- the form
$BROWSER form "http://127.0.0.1:$REG_PORT/" >"$SG_TMP/form.json"
STATE=$(jq_ "$SG_TMP/form.json" 'd["state"]')
sg_check "the form posts to GITHUB_URL/settings/apps/new with a random state" \
  [ "$(jq_ "$SG_TMP/form.json" 'd["action"]')" = "$GITHUB_URL/settings/apps/new?state=$STATE" ]
sg_check "the manifest comes from the working directory's app.yml" grep -q "manifest from app.yml" "$SG_TMP/reg1.out"
sg_check "the state is 128 random bits in hex" grep -qE '^[0-9a-f]{32}$' <<<"$STATE"
sg_check "manifest: exactly the product's permissions" [ "$(jq_ "$SG_TMP/form.json" 'json.dumps(d["manifest"]["default_permissions"], sort_keys=True)')" = \
  '{"checks": "write", "contents": "read", "metadata": "read", "pull_requests": "read"}' ]
sg_check "manifest: exactly the product's events" [ "$(jq_ "$SG_TMP/form.json" 'sorted(d["manifest"]["default_events"])')" = \
  "['check_run', 'check_suite', 'pull_request', 'push']" ]
sg_check "manifest: redirect_url is this listener" [ "$(jq_ "$SG_TMP/form.json" 'd["manifest"]["redirect_url"]')" = "http://127.0.0.1:$REG_PORT/redirect" ]
sg_check "manifest: the webhook is --public-url + WEBHOOK_PATH" [ "$(jq_ "$SG_TMP/form.json" 'd["manifest"]["hook_attributes"]["url"]')" = "https://hooks.example.test/webhooks/github" ]
sg_check "manifest: public false" [ "$(jq_ "$SG_TMP/form.json" 'd["manifest"]["public"]')" = False ]
jq_ "$SG_TMP/form.json" 'json.dumps(d["manifest"])' >"$SG_TMP/form-manifest.json"
sg_check "the posted manifest matches GitHub's manifest parameters" node "$SG_SOURCE_DIR/tests/integration/app_manifest.mjs" "$SG_TMP/form-manifest.json"
sg_check "another host name is refused (DNS rebinding)" [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: evil.example:$REG_PORT" "http://127.0.0.1:$REG_PORT/")" = 400 ]
sg_check "other paths are 404" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$REG_PORT/x")" = 404 ]
sg_check "a request that is not HTTP is refused" bash -c "printf 'hello\r\n\r\n' | curl -s --max-time 5 telnet://127.0.0.1:$REG_PORT | grep -q '400 Bad Request'"

# --- a redirect with another state: refused, and register keeps waiting
$BROWSER create "$GITHUB_SIM_PORT" "$SG_TMP/form.json" "" forged >"$SG_TMP/forged.json"
$BROWSER get "$(jq_ "$SG_TMP/forged.json" 'd["location"]')" >"$SG_TMP/forged-page.json"
sg_check "a wrong state is refused (400, says why)" [ "$(jq_ "$SG_TMP/forged-page.json" 'd["status"] == 400 and "state in this link is not the one" in d["body"]')" = True ]
sg_check "... and named on the terminal" grep -q "refused: the state" "$SG_TMP/reg1.err"
sg_check "... and register still waits" kill -0 "$REG_PID"
sg_check "... and nothing was written" [ ! -e "$ENV" ]

# --- GitHub's redirect with the code
$BROWSER create "$GITHUB_SIM_PORT" "$SG_TMP/form.json" >"$SG_TMP/created.json"
NEW_APP=$(jq_ "$SG_TMP/created.json" 'd["app_id"]')
CODE=$(jq_ "$SG_TMP/created.json" 'd["code"]')
$BROWSER get "$(jq_ "$SG_TMP/created.json" 'd["location"]')" >"$SG_TMP/done.json"
sg_check "the redirect completes the registration" [ "$(jq_ "$SG_TMP/done.json" 'd["status"] == 200 and "App registered" in d["body"]')" = True ]
rc=0; wait "$REG_PID" || rc=$?
sg_check "register exits 0 once the App is written" [ "$rc" = 0 ]
sg_check "register prints the installation link" grep -q "install it on a repository: $GITHUB_URL/apps/.*-$NEW_APP/installations/new" "$SG_TMP/reg1.out"
sg_check "the env file is mode 0600" [ "$(stat -c %a "$ENV")" = 600 ]
sg_check "the key file is mode 0600, beside it" [ "$(stat -c %a "$SG_TMP/conf/github-app-key.pem")" = 600 ]
sg_check "APP_ID is the new App's" grep -qx "APP_ID=$NEW_APP" "$ENV"
sg_check "PRIVATE_KEY_PATH points at the key" grep -qx "PRIVATE_KEY_PATH=$SG_TMP/conf/github-app-key.pem" "$ENV"
sg_check "WEBHOOK_SECRET, GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are set" \
  bash -c "grep -qE '^WEBHOOK_SECRET=.{20,}$' '$ENV' && grep -qE '^GITHUB_CLIENT_ID=Iv' '$ENV' && grep -qE '^GITHUB_CLIENT_SECRET=.{20,}$' '$ENV'"
sg_check "the key is an RSA private key" openssl rsa -in "$SG_TMP/conf/github-app-key.pem" -check -noout
JWT=$(sg_github_jwt "$SG_TMP/conf/github-app-key.pem" "$NEW_APP")
sg_check "GitHub accepts the written key for the new App (GET /app)" \
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $JWT" "$GITHUB_API_URL/app")" = 200 ]
JWT=$(sg_github_jwt "$SG_SOURCE_DIR/tests/fixtures/github/app-key.pem" "$NEW_APP")
sg_check "... and refuses another App's key for it (401)" \
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $JWT" "$GITHUB_API_URL/app")" = 401 ]

# --- the same code again, and an expired one: refused
start_register reg2 --env-file "$SG_TMP/conf2/.env"
$BROWSER form "http://127.0.0.1:$REG_PORT/" >"$SG_TMP/form2.json"
STATE2=$(jq_ "$SG_TMP/form2.json" 'd["state"]')
$BROWSER get "http://127.0.0.1:$REG_PORT/redirect?code=$CODE&state=$STATE2" >"$SG_TMP/reused.json"
sg_check "a reused code is refused (400, says codes work once)" [ "$(jq_ "$SG_TMP/reused.json" 'd["status"] == 400 and "a code works once" in d["body"]')" = True ]
sg_check "... and named on the terminal" grep -q "refused: GitHub did not accept the code" "$SG_TMP/reg2.err"
$BROWSER create "$GITHUB_SIM_PORT" "$SG_TMP/form2.json" "" "" 0 >"$SG_TMP/expired.json"
$BROWSER get "$(jq_ "$SG_TMP/expired.json" 'd["location"]')" >"$SG_TMP/expired-page.json"
sg_check "an expired code is refused" [ "$(jq_ "$SG_TMP/expired-page.json" 'd["status"]')" = 400 ]
sg_check "... and nothing was written" [ ! -e "$SG_TMP/conf2/.env" ]
kill "$REG_PID"

# --- an organization, and HTML escaping
GITHUB_URL='http://127.0.0.1:1/"><script>x</script>' start_register reg3 --org acme-org --env-file "$SG_TMP/conf2/.env"
curl -sf "http://127.0.0.1:$REG_PORT/" >"$SG_TMP/org.html"
sg_check "--org posts to /organizations/ORG/settings/apps/new" grep -q 'action="http://127.0.0.1:1/&quot;&gt;&lt;script&gt;x&lt;/script&gt;/organizations/acme-org/settings/apps/new?state=' "$SG_TMP/org.html"
sg_check "nothing from the configuration reaches the page unescaped" bash -c "! grep -q '<script>' '$SG_TMP/org.html'"
kill "$REG_PID"
GITHUB_URL= GITHUB_API_URL=http://127.0.0.1:1/api/v3 start_register reg5 --env-file "$SG_TMP/conf2/.env"
sg_check "GitHub Enterprise Server: the form posts to the API's host when GITHUB_URL is unset" \
  [ "$($BROWSER form "http://127.0.0.1:$REG_PORT/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["action"].split("?")[0])')" = "http://127.0.0.1:1/settings/apps/new" ]
kill "$REG_PID"
rc=0; "$WORKER" register --org 'bad/org' >/dev/null 2>&1 || rc=$?
sg_check "an --org that is not a GitHub login is a usage error" [ "$rc" = 2 ]

# --- no overwrite without --force
SUM=$(sha256sum "$ENV" "$SG_TMP/conf/github-app-key.pem")
rc=0; "$WORKER" register --listen "127.0.0.1:$(sg_free_port)" --env-file "$ENV" >/dev/null 2>"$SG_TMP/exists.err" || rc=$?
sg_check "an existing env file is not overwritten (exit 1)" [ "$rc" = 1 ]
sg_check "... with a clear message" grep -q "exists; not overwriting it (use --force" "$SG_TMP/exists.err"
sg_check "... and both files are unchanged" [ "$SUM" = "$(sha256sum "$ENV" "$SG_TMP/conf/github-app-key.pem")" ]
start_register reg4 --env-file "$ENV" --force
sg_check "--force serves the form for an existing env file" kill -0 "$REG_PID"
kill "$REG_PID"

# --- the written configuration, from install to a completed check run (scripts/run.sh's flow)
SYS_INSTALLATION=77
sg_check "the App is installed on $SYS_OWNER/$SYS_REPO (the owner's click, simulated)" \
  curl -sf -o /dev/null -X POST "http://127.0.0.1:$GITHUB_SIM_PORT/_sim/apps/$NEW_APP/installations" \
  -d "{\"id\":$SYS_INSTALLATION,\"repositories\":[\"$SYS_OWNER/$SYS_REPO\"]}"
set -a; . "$ENV"; set +a
sg_check "doctor passes on the written configuration" "$WORKER" doctor --app-yml "$SG_SOURCE_DIR/app.yml"
sys_start_ingress
sys_start_worker one
SHA=1111111111111111111111111111111111111111
sg_check "a push is accepted with the written webhook secret (202)" [ "$(sys_send push "$(sys_push_payload $SHA)")" = 202 ]
sg_check "the check run completes" sys_wait_check_runs 1 90
sg_check "... on the pushed commit, as the registered App" [ "$(sys_check_runs | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["head_sha"], r["conclusion"] in ("success","failure"))')" = "$SHA True" ]
sg_summary
