#!/usr/bin/env bash
# Why: "exactly one completed check run per (repository, sha)" must hold when a worker dies, or
# loses PostgreSQL, after GitHub created the check run but before its id was stored on the
# analysis row. The retry then finds that check run on GitHub by external_id (= the analysis id,
# GET .../commits/{sha}/check-runs) and completes it instead of creating a second one that would
# leave the first in_progress forever. A fresh analysis makes no such lookup. The window is made
# wide with a delay fault on the check run POST itself: the simulator holds the request, then
# creates the check run and answers — by then the worker is SIGKILLed, or PostgreSQL is stopped.
# Real Redis, PostgreSQL, the GitHub simulator and singularity-worker binaries.
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
. "$SG_SOURCE_DIR/tests/integration/system_lib.sh"
sg_tmpdir
REC="$SG_TMP/requests.jsonl"
sys_start_backends --record "$REC"
SIM="http://127.0.0.1:$GITHUB_SIM_PORT"
export WORKER_DEAD_AFTER_S=3 RETRY_BASE_MS=500

job() { # job SHA -> one job line, as the ingress would queue it
  python3 -c '
import json, sys, time, uuid
print(json.dumps({"v":1,"kind":"analyze","delivery":str(uuid.uuid4()),"event":"push","action":None,
  "installation":int(sys.argv[2]),"repo":{"id":int(sys.argv[3]),"full_name":sys.argv[4]},
  "sha":sys.argv[1],"ref":"refs/heads/main","base_sha":None,"pull":None,"force":False,
  "received_at":int(time.time()*1000),"attempt":0}, separators=(",",":")))' \
    "$1" "$SYS_INSTALLATION" "$SYS_REPO_ID" "$SYS_OWNER/$SYS_REPO"
}
enqueue() { redis-cli -p "$REDIS_PORT" lpush analysis_queue "$1" >/dev/null; }
fault() { curl -sf -X POST "$SIM/_sim/faults" -H 'Content-Type: application/json' -d "$1" >/dev/null; }
runs() { # runs SHA [STATUS] -> how many check runs the simulator holds for SHA
  sys_check_runs | python3 -c "import json,sys; print(sum(1 for c in json.load(sys.stdin) if c['head_sha']==sys.argv[1] and sys.argv[2] in ('', c['status'])))" "$1" "${2:-}"
}
wait_runs() { # wait_runs SHA STATUS SECONDS: until a check run for SHA is in STATUS
  SG_WAIT_S=$3 sg_wait_for bash -c "[ \"\$(curl -sf $SIM/_sim/check-runs | python3 -c \"import json,sys; print(sum(1 for c in json.load(sys.stdin) if c['head_sha']=='$1' and c['status']=='$2'))\")\" -ge 1 ]"
}
row() { psql -tAc "select $2 from analyses where head_sha='$1'"; }
recorded() { # recorded METHOD PATH [QUERY-SUBSTRING] -> how many such requests reached the simulator
  python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["method"] == sys.argv[2] and r["path"] == sys.argv[3] and sys.argv[4] in (r["query"] or ""):
        n += 1
print(n)' "$REC" "$1" "$2" "${3:-}"
}
posts_for() { # check run POSTs for SHA
  python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) for r in [json.loads(l)]
          if r["method"] == "POST" and r["path"].endswith("/check-runs") and (r["body"] or {}).get("head_sha") == sys.argv[2]))' "$REC" "$1"
}
one_completed() { # SHA: one analysis row, completed; one check run, completed, the row's, external_id = row id
  [ "$(row "$1" "count(*)")" = 1 ] && [ "$(row "$1" status)" = completed ] &&
    [ "$(runs "$1")" = 1 ] && [ "$(runs "$1" completed)" = 1 ] &&
    sys_check_runs | python3 -c "
import json, sys
c = [c for c in json.load(sys.stdin) if c['head_sha'] == sys.argv[1]][0]
assert c['id'] == int(sys.argv[2]) and c['external_id'] == sys.argv[3], (c['id'], c['external_id'], sys.argv[2:])" \
      "$1" "$(row "$1" check_run_id)" "$(row "$1" id)"
}
LIST="/repos/$SYS_OWNER/$SYS_REPO/commits"

echo "# 1. a fresh analysis: no lookup, one check run"
F=0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f
sys_start_worker k1
enqueue "$(job $F)"
sg_check "fresh job completed" wait_runs $F completed 40
sg_check "one analysis, one completed check run with external_id = analysis id" one_completed $F
sg_check "no check run lookup for a fresh analysis row" [ "$(recorded GET "$LIST/$F/check-runs")" = 0 ]

echo "# 2. worker SIGKILLed after GitHub created the check run, before its id was stored"
K=1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a
fault '{"method":"POST","path_prefix":"/repos/acme/widgets/check-runs","delay_ms":2500,"count":1}'
enqueue "$(job $K)"
SG_WAIT_S=20 sg_wait_for bash -c "[ -n \"\$(psql -tAc \"select id from analyses where head_sha='$K'\")\" ]" ||
  sg_fail "no analysis row for $K"
sleep 1 # the claim is committed and the POST is held by the simulator
kill -9 "$WORKER_PID_k1"
wait "$WORKER_PID_k1" 2>/dev/null
sg_check "GitHub created the check run the dead worker asked for (in_progress)" wait_runs $K in_progress 10
sg_check "its id never reached the analysis row" [ "$(row $K check_run_id)" = "" ]
sys_start_worker k2
sg_check "another worker took the job over and completed it" wait_runs $K completed 40
sg_check "exactly one check run for the sha, completed, the row's" one_completed $K
sg_check "only the dead worker's POST created a check run" [ "$(posts_for $K)" = 1 ]
sg_check "the resumed job looked the check run up (check_name=Singularity, filter=all)" \
  [ "$(recorded GET "$LIST/$K/check-runs" "check_name=Singularity&filter=all")" -ge 1 ]
sg_check "the reuse was logged" grep -q '"msg":"reusing the check run an earlier attempt created".*"sha":"'$K'"' "$SG_TMP/worker-k2.log"

echo "# 3. PostgreSQL stopped after the check run was created, before its id was stored"
P=2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b
fault '{"method":"POST","path_prefix":"/repos/acme/widgets/check-runs","delay_ms":3000,"count":1}'
enqueue "$(job $P)"
SG_WAIT_S=20 sg_wait_for bash -c "[ -n \"\$(psql -tAc \"select id from analyses where head_sha='$P'\")\" ]" ||
  sg_fail "no analysis row for $P"
sg_stop_postgres
sg_check "GitHub created the check run while PostgreSQL was down" wait_runs $P in_progress 10
sg_check "storing its id failed (database) and the job was scheduled for a retry" \
  env SG_WAIT_S=10 bash -c ". '$SG_SOURCE_DIR/tests/lib/servers.sh'; sg_wait_for grep -q '\"msg\":\"job failed; retry scheduled\".*\"sha\":\"$P\",.*\"attempt\":1,.*\"err\":\"database: ' '$SG_TMP/worker-k2.log'"
sleep 2
sg_start_postgres
sg_check "the job completed once PostgreSQL was back" wait_runs $P completed 60
sg_check "exactly one check run for the sha, completed, the row's" one_completed $P
sg_check "one check run POST for the sha" [ "$(posts_for $P)" = 1 ]
sg_check "the retry looked the check run up" [ "$(recorded GET "$LIST/$P/check-runs")" -ge 1 ]
sg_check "nothing in the dead list" [ "$(redis-cli -p "$REDIS_PORT" llen analysis_queue:dead)" = 0 ]

echo "# 4. the simulator's list-for-ref endpoint (GitHub's checks/list-for-ref)"
JWT=$(sg_github_jwt "$PRIVATE_KEY_PATH" "$APP_ID")
TOKEN=$(curl -sf -X POST "$SIM/app/installations/$SYS_INSTALLATION/access_tokens" \
  -H "Authorization: Bearer $JWT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
curl -sf -X POST "$SIM/repos/$SYS_OWNER/$SYS_REPO/check-runs" -H "Authorization: token $TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"other-ci","head_sha":"'$K'","external_id":"x"}' >/dev/null
sg_check "without auth: 401" [ "$(curl -s -o /dev/null -w '%{http_code}' "$SIM$LIST/$K/check-runs")" = 401 ]
sg_check "with the App JWT instead of a token: 401" \
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $JWT" "$SIM$LIST/$K/check-runs")" = 401 ]
sg_check "a repository the installation cannot see: 404" \
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: token $TOKEN" "$SIM/repos/acme/nope/commits/$K/check-runs")" = 404 ]
sg_check "GitHub's shape, filtered by check_name" bash -c "
  curl -sf -H 'Authorization: token $TOKEN' '$SIM$LIST/$K/check-runs?check_name=Singularity&filter=all' | python3 -c '
import json, sys
o = json.load(sys.stdin)
assert o[\"total_count\"] == 1 and len(o[\"check_runs\"]) == 1, o
c = o[\"check_runs\"][0]
assert c[\"name\"] == \"Singularity\" and c[\"head_sha\"] == \"$K\" and c[\"status\"] == \"completed\", c
assert c[\"external_id\"] == \"$(row $K id)\" and isinstance(c[\"id\"], int) and \"output\" in c and \"url\" in c, c'"
sg_check "no check_name: every check run of the ref, newest first" bash -c "
  curl -sf -H 'Authorization: token $TOKEN' '$SIM$LIST/$K/check-runs' | python3 -c '
import json, sys
o = json.load(sys.stdin)
assert o[\"total_count\"] == 2 and [c[\"name\"] for c in o[\"check_runs\"]] == [\"other-ci\", \"Singularity\"], o'"
sg_check "per_page=1 pages with a Link rel=next" bash -c "
  curl -sf -D - -o /dev/null -H 'Authorization: token $TOKEN' '$SIM$LIST/$K/check-runs?per_page=1' |
    grep -qi '^link: <.*commits/$K/check-runs?.*page=2>; rel=\"next\"'"
sg_check "an unknown sha: an empty list" bash -c "
  curl -sf -H 'Authorization: token $TOKEN' '$SIM$LIST/ffff/check-runs' | grep -q '\"total_count\":0'"
if command -v node >/dev/null && [ -d "$SG_SOURCE_DIR/tests/node_modules/ajv" ]; then
  curl -sf -H "Authorization: token $TOKEN" "$SIM$LIST/$K/check-runs?filter=all" >"$SG_TMP/list.json"
  sg_check "the answer matches GitHub's OpenAPI response schema (checks/list-for-ref)" bash -c "
    cd '$SG_SOURCE_DIR/tests' && node --input-type=module -e '
import fs from \"node:fs\";
import Ajv from \"ajv\";
const spec = JSON.parse(fs.readFileSync(\"node_modules/@octokit/openapi/generated/api.github.com.deref.json\", \"utf8\"));
function js(x) {
  if (Array.isArray(x)) return x.map(js);
  if (!x || typeof x !== \"object\") return x;
  const o = {};
  for (const [k, v] of Object.entries(x)) if (k !== \"nullable\" && k !== \"example\" && k !== \"examples\") o[k] = js(v);
  if (x.nullable === true) {
    if (typeof o.type === \"string\") { o.type = [o.type, \"null\"]; if (o.enum && !o.enum.includes(null)) o.enum = [...o.enum, null]; }
    else return { anyOf: [o, { type: \"null\" }] };
  }
  return o;
}
const op = spec.paths[\"/repos/{owner}/{repo}/commits/{ref}/check-runs\"].get;
if (op.operationId !== \"checks/list-for-ref\") throw new Error(op.operationId);
const v = new Ajv({ strict: false }).compile(js(op.responses[\"200\"].content[\"application/json\"].schema));
if (!v(JSON.parse(fs.readFileSync(\"$SG_TMP/list.json\", \"utf8\")))) { console.error(v.errors); process.exit(1); }
'"
else
  echo "not ok - node or tests/node_modules/ajv missing (run scripts/deps.sh)"; SG_FAILED=$((SG_FAILED+1))
fi
sg_check "the lookups were recorded like other requests, token auth" python3 -c '
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
rs = [r for r in rs if r["method"] == "GET" and r["path"].endswith("/check-runs") and "/commits/" in r["path"]]
assert rs and all(r["status"] in (200, 401, 404) for r in rs), rs
assert any((r["headers"]["Authorization"] or "").endswith("installation-token") and r["status"] == 200 for r in rs), rs' "$REC"
sg_summary
