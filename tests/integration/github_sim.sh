#!/usr/bin/env bash
# Why: the simulator is what the worker's GitHub client is tested against, so it gets its own test,
# made with curl and openssl only (no C code of ours on the client side): JWT check, the codeload
# redirect, real tarballs, faults, check-run validation, pagination and deliveries.
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
sg_tmpdir
KEY="$SG_SOURCE_DIR/tests/fixtures/github/app-key.pem"
sg_start_github_sim --repos "$SG_SOURCE_DIR/tests/fixtures/github/repos" \
  --installation 7=octo/hello,octo/other --installation 8=someone/else --max-per-page 1 \
  --record "$SG_TMP/record.jsonl" --rate-limit 5000
API=$GITHUB_API_URL
H=(-H 'Accept: application/vnd.github+json' -H 'X-GitHub-Api-Version: 2022-11-28' -H 'User-Agent: sim-test')
code() { curl -s -o "$SG_TMP/body" -D "$SG_TMP/hdr" -w '%{http_code}' --max-time 10 "${H[@]}" "$@"; }
hdr() { grep -i "^$1:" "$SG_TMP/hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
jq_() { python3 -c "import json,sys; d=json.load(open('$SG_TMP/body')); print($1)"; }

sg_check "healthz" [ "$(code "$API/_sim/healthz")" = 200 ]

# --- JWT authentication for the access-token endpoint
sg_check "token without auth is 401" [ "$(code -X POST "$API/app/installations/7/access_tokens")" = 401 ]
openssl genrsa -out "$SG_TMP/other.pem" 2048 2>/dev/null
BAD=$(sg_github_jwt "$SG_TMP/other.pem" "$APP_ID")
sg_check "JWT signed by another key is 401" [ "$(code -X POST -H "Authorization: Bearer $BAD" "$API/app/installations/7/access_tokens")" = 401 ]
WRONGISS=$(sg_github_jwt "$KEY" 999)
sg_check "JWT for another app id is 401" [ "$(code -X POST -H "Authorization: Bearer $WRONGISS" "$API/app/installations/7/access_tokens")" = 401 ]
JWT=$(sg_github_jwt "$KEY" "$APP_ID")
sg_check "valid JWT gets a token (201)" [ "$(code -X POST -H "Authorization: Bearer $JWT" "$API/app/installations/7/access_tokens")" = 201 ]
TOKEN=$(jq_ 'd["token"]')
mkdir -p "$SG_TMP/resp"; save() { cp "$SG_TMP/body" "$SG_TMP/resp/$1.json"; }
save token
sg_check "token looks like ghs_" [ "${TOKEN:0:4}" = ghs_ ]
sg_check "expires_at is an hour ahead" python3 -c "import json,sys,datetime as D; d=json.load(open('$SG_TMP/body')); e=D.datetime.strptime(d['expires_at'],'%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=D.timezone.utc).timestamp(); sys.exit(0 if abs(e-$(date +%s)-3600)<120 and d['repository_selection']=='selected' else 1)"
sg_check "unknown installation is 404" [ "$(code -X POST -H "Authorization: Bearer $JWT" "$API/app/installations/99/access_tokens")" = 404 ]
sg_check "installation get (JWT)" [ "$(code -H "Authorization: Bearer $JWT" "$API/app/installations/7")" = 200 ]
save installation
sg_check "installation account is the owner" [ "$(jq_ 'd["account"]["login"]')" = octo ]
sg_check "rate-limit headers" [ "$(hdr X-RateLimit-Limit)" = 5000 ] 
sg_check "request id header" [ -n "$(hdr X-GitHub-Request-Id)" ]

# --- installation repositories with pagination
AUTH=(-H "Authorization: Bearer $TOKEN")
sg_check "repos page 1" [ "$(code "${AUTH[@]}" "$API/installation/repositories?per_page=100")" = 200 ]
sg_check "repos page 1 has one repo (max-per-page 1)" [ "$(jq_ 'len(d["repositories"])')" = 1 ]
sg_check "Link rel=next" bash -c "grep -i '^Link:' '$SG_TMP/hdr' | grep -q 'page=2>; rel=\"next\"'"
sg_check "repos page 2" [ "$(code "${AUTH[@]}" "$API/installation/repositories?per_page=1&page=2")" = 200 ]
sg_check "page 2 is the last" [ "$(jq_ 'd["repositories"][0]["full_name"]')" = octo/other ]
sg_check "bad token is 401" [ "$(code -H 'Authorization: Bearer ghs_nope' "$API/installation/repositories")" = 401 ]
sg_check "401 body is GitHub's" [ "$(jq_ 'd["message"]')" = "Bad credentials" ]

# --- tarball: redirect to another host name, token in the query, no Authorization there
SHA=0123456789abcdef0123456789abcdef01234567
sg_check "tarball redirects (302)" [ "$(code "${AUTH[@]}" "$API/repos/octo/hello/tarball/$SHA")" = 302 ]
LOC=$(hdr Location)
sg_check "redirect goes to another host name" bash -c "case '$LOC' in http://localhost:$GITHUB_SIM_PORT/_codeload/octo/hello/*token=*) exit 0;; *) exit 1;; esac"
sg_check "codeload refuses an Authorization header" [ "$(code "${AUTH[@]}" "$LOC")" = 400 ]
sg_check "codeload without Authorization: 200" [ "$(curl -s -o "$SG_TMP/t.tgz" -w '%{http_code}' "$LOC")" = 200 ]
sg_check "tarball has one top folder octo-hello-0123456/" bash -c "tar tzf '$SG_TMP/t.tgz' | grep -v '^octo-hello-0123456/' | grep -v pax_global_header | wc -l | grep -qx 0"
sg_check "tarball holds src/main.c" bash -c "tar tzf '$SG_TMP/t.tgz' | grep -qx 'octo-hello-0123456/src/main.c'"
sg_check "pax global header carries the sha" python3 -c "
import tarfile,sys; t=tarfile.open('$SG_TMP/t.tgz'); sys.exit(0 if t.pax_headers.get('comment')=='$SHA' else 1)"
sg_check "file content intact" bash -c "tar xzf '$SG_TMP/t.tgz' -C '$SG_TMP' && cmp '$SG_TMP/octo-hello-0123456/src/main.c' '$SG_SOURCE_DIR/tests/fixtures/github/repos/octo/hello/src/main.c'"
sg_check "tarball of a repo of another installation is 404" [ "$(code "${AUTH[@]}" "$API/repos/someone/else/tarball/$SHA")" = 404 ]
sg_check "tarball without auth is 401" [ "$(code "$API/repos/octo/hello/tarball/$SHA")" = 401 ]

# --- faults
post_fault() { curl -s -o /dev/null -w '%{http_code}' -X POST -d "$1" "$API/_sim/faults"; }
sg_check "fault accepted" [ "$(post_fault '{"method":"GET","path_prefix":"/installation/","status":502,"count":2}')" = 201 ]
sg_check "fault 1: 502" [ "$(code "${AUTH[@]}" "$API/installation/repositories")" = 502 ]
sg_check "fault 2: 502" [ "$(code "${AUTH[@]}" "$API/installation/repositories")" = 502 ]
sg_check "fault used up: 200" [ "$(code "${AUTH[@]}" "$API/installation/repositories")" = 200 ]
post_fault '{"path_prefix":"/installation/","status":429,"retry_after":7}' >/dev/null
sg_check "429 with Retry-After" bash -c "[ \"\$(curl -s -D - -o /dev/null -H 'Authorization: Bearer $TOKEN' $API/installation/repositories | grep -i '^Retry-After:' | tr -d '\r' | cut -d' ' -f2)\" = 7 ]"
post_fault '{"path_prefix":"/installation/","status":403,"secondary":true,"retry_after":3}' >/dev/null
sg_check "403 secondary rate limit" [ "$(code "${AUTH[@]}" "$API/installation/repositories")" = 403 ]
sg_check "secondary message" bash -c "grep -q 'secondary rate limit' '$SG_TMP/body' && [ '$(hdr Retry-After)' = 3 ]"
post_fault '{"path_prefix":"/installation/","status":403,"rate_limit_reset_in":60}' >/dev/null
sg_check "primary limit 403" [ "$(code "${AUTH[@]}" "$API/installation/repositories")" = 403 ]
sg_check "primary limit headers" bash -c "[ '$(hdr X-RateLimit-Remaining)' = 0 ] && [ $(hdr X-RateLimit-Reset) -gt $(date +%s) ]"
post_fault '{"path_prefix":"/installation/","delay_ms":700}' >/dev/null
T0=$(date +%s%N)
code "${AUTH[@]}" "$API/installation/repositories" >/dev/null
sg_check "slow answer (>= 0.7 s)" [ $(( ($(date +%s%N) - T0) / 1000000 )) -ge 700 ]
post_fault '{"path_prefix":"/repos/octo/hello/tarball","truncate_after_bytes":100}' >/dev/null
code "${AUTH[@]}" "$API/repos/octo/hello/tarball/$SHA" >/dev/null
curl -s -o "$SG_TMP/cut.tgz" "$(hdr Location)"; rc=$?
sg_check "truncated tarball: curl sees a partial file (18)" [ "$rc" = 18 ]
post_fault '{"path_prefix":"/repos/octo/hello/tarball","bytes_per_s":2000}' >/dev/null
code "${AUTH[@]}" "$API/repos/octo/hello/tarball/$SHA" >/dev/null
T0=$(date +%s%N)
curl -s -o "$SG_TMP/slow.tgz" --max-time 20 "$(hdr Location)"
sg_check "slow tarball trickles (>= 0.4 s)" [ $(( ($(date +%s%N) - T0) / 1000000 )) -ge 400 ]
sg_check "slow tarball is complete" cmp "$SG_TMP/slow.tgz" "$SG_TMP/t.tgz"
post_fault '{"path_prefix":"/","status":500,"count":5}' >/dev/null
curl -s -X DELETE "$API/_sim/faults" >/dev/null
sg_check "DELETE faults clears them" [ "$(code "${AUTH[@]}" "$API/installation/repositories")" = 200 ]

# --- check runs: validation, 50 annotations per request, accumulation
cr() { code -X "$1" "${AUTH[@]}" -H 'Content-Type: application/json' -d "$3" "$API/repos/octo/hello/check-runs$2"; }
sg_check "create without name is 422" [ "$(cr POST "" "{\"head_sha\":\"$SHA\"}")" = 422 ]
sg_check "422 body is GitHub's" bash -c "grep -q 'Invalid request' '$SG_TMP/body'"
sg_check "bad status is 422" [ "$(cr POST "" "{\"name\":\"Singularity\",\"head_sha\":\"$SHA\",\"status\":\"running\"}")" = 422 ]
sg_check "completed without conclusion is 422" [ "$(cr POST "" "{\"name\":\"Singularity\",\"head_sha\":\"$SHA\",\"status\":\"completed\"}")" = 422 ]
sg_check "invalid JSON is 400" [ "$(cr POST "" "{nope")" = 400 ]
sg_check "a body that is not valid UTF-8 is 400, as on GitHub" \
  [ "$(cr POST "" "{\"name\":\"Singularity\",\"head_sha\":\"$SHA\",\"external_id\":\"inv"$'\xff\xfe'"\"}")" = 400 ]
sg_check "create (201)" [ "$(cr POST "" "{\"name\":\"Singularity\",\"head_sha\":\"$SHA\",\"status\":\"in_progress\",\"external_id\":\"42\"}")" = 201 ]
ID=$(jq_ 'd["id"]'); save checkrun-create
sg_check "created in_progress" [ "$(jq_ 'd["status"]')" = in_progress ]
anns() { python3 -c "import json; print(json.dumps([{'path':'src/main.c','start_line':i+1,'end_line':i+1,'annotation_level':'warning','message':'m%d'%i,'title':'STY001 Long line'} for i in range($1)]))"; }
sg_check "51 annotations is 422" [ "$(cr PATCH "/$ID" "{\"conclusion\":\"failure\",\"output\":{\"title\":\"Quality 1.0/10\",\"summary\":\"s\",\"annotations\":$(anns 51)}}")" = 422 ]
sg_check "summary over 65535 is 422" [ "$(cr PATCH "/$ID" "{\"output\":{\"title\":\"t\",\"summary\":\"$(head -c 65536 /dev/zero | tr '\0' x)\"}}")" = 422 ]
sg_check "annotation without path is 422" [ "$(cr PATCH "/$ID" '{"output":{"title":"t","summary":"s","annotations":[{"start_line":1,"end_line":1,"annotation_level":"notice","message":"m"}]}}')" = 422 ]
sg_check "bad annotation level is 422" [ "$(cr PATCH "/$ID" '{"output":{"title":"t","summary":"s","annotations":[{"path":"a","start_line":1,"end_line":1,"annotation_level":"error","message":"m"}]}}')" = 422 ]
sg_check "50 annotations accepted" [ "$(cr PATCH "/$ID" "{\"conclusion\":\"failure\",\"output\":{\"title\":\"Quality 1.0/10\",\"summary\":\"s\",\"annotations\":$(anns 50)}}")" = 200 ]
save checkrun-update
sg_check "completed by the conclusion" [ "$(jq_ 'd["status"]+" "+d["conclusion"]')" = "completed failure" ]
sg_check "20 more accepted" [ "$(cr PATCH "/$ID" "{\"output\":{\"title\":\"Quality 1.0/10\",\"summary\":\"s\",\"annotations\":$(anns 20)}}")" = 200 ]
sg_check "annotations accumulate (70)" [ "$(jq_ 'd["output"]["annotations_count"]')" = 70 ]
sg_check "GET check run" [ "$(cr GET "/$ID" "")" = 200 ]
save checkrun-get
sg_check "unknown check run is 404" [ "$(cr PATCH "/12" '{"status":"in_progress"}')" = 404 ]
sg_check "/_sim/check-runs lists annotations" bash -c "curl -s $API/_sim/check-runs | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if len(d)==1 and len(d[0][\"annotations\"])==70 and d[0][\"external_id\"]==\"42\" else 1)'"

# --- webhook deliveries (JWT), cursor pagination, redelivery
NOW=$(date +%s)
curl -s -o /dev/null -X POST -d "[{\"id\":1,\"guid\":\"g1\",\"status_code\":503,\"delivered_at\":$((NOW-100)),\"event\":\"push\"},
  {\"id\":2,\"guid\":\"g2\",\"status_code\":202,\"delivered_at\":$((NOW-50)),\"event\":\"push\"}]" "$API/_sim/deliveries"
sg_check "deliveries need a JWT" [ "$(code -H "Authorization: Bearer $TOKEN" "$API/app/hook/deliveries")" = 401 ]
sg_check "deliveries page 1" [ "$(code -H "Authorization: Bearer $JWT" "$API/app/hook/deliveries?per_page=1")" = 200 ]
save deliveries
sg_check "newest first" [ "$(jq_ 'd[0]["guid"]+" "+d[0]["status"]')" = "g2 OK" ]
NEXT=$(grep -i '^Link:' "$SG_TMP/hdr" | sed -n 's/.*<\([^>]*\)>; rel="next".*/\1/p')
sg_check "cursor link" [ -n "$NEXT" ]
sg_check "deliveries page 2" [ "$(code -H "Authorization: Bearer $JWT" "$NEXT")" = 200 ]
sg_check "page 2 is the failed one" [ "$(jq_ 'd[0]["guid"]+" "+str(d[0]["status_code"])')" = "g1 503" ]
sg_check "redeliver (202)" [ "$(code -X POST -H "Authorization: Bearer $JWT" "$API/app/hook/deliveries/1/attempts")" = 202 ]
sg_check "redeliver unknown (404)" [ "$(code -X POST -H "Authorization: Bearer $JWT" "$API/app/hook/deliveries/77/attempts")" = 404 ]

# --- compare: the files between two commits' trees (octo/hello@renamed moves README.md to docs/)
sg_check "compare (200)" [ "$(code "${AUTH[@]}" "$API/repos/octo/hello/compare/$SHA...renamed?per_page=1")" = 200 ]
save compare
sg_check "compare lists the move as renamed, with previous_filename" \
  [ "$(jq_ '[(f["status"], f.get("previous_filename"), f["filename"]) for f in d["files"]]')" = "[('renamed', 'README.md', 'docs/README.md')]" ]
sg_check "compare without three dots (404)" [ "$(code "${AUTH[@]}" "$API/repos/octo/hello/compare/$SHA")" = 404 ]

if command -v node >/dev/null && [ -d "$SG_SOURCE_DIR/tests/node_modules/ajv" ]; then
  sg_check "answers match GitHub's OpenAPI response schemas" node "$SG_SOURCE_DIR/tests/integration/github_openapi.mjs" --responses "$SG_TMP/resp"
else
  echo "not ok - node or tests/node_modules/ajv missing (run scripts/deps.sh)"; SG_FAILED=$((SG_FAILED+1))
fi

# --- recording: one JSON line per request, never a credential
sg_check "requests recorded" bash -c "[ \$(wc -l < '$SG_TMP/record.jsonl') -ge 40 ]"
sg_check "no token in the record" bash -c "! grep -q '$TOKEN' '$SG_TMP/record.jsonl'"
sg_check "/_sim/requests is an array" bash -c "curl -s $API/_sim/requests | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d[0][\"path\"] and \"headers\" in d[0] else 1)'"
# --- GitHub Enterprise Server layout: the API under /api/v3
"$SG_BUILD_DIR/tests/github-sim/singularity-github-sim" --port 0 --app-id "$APP_ID" --app-key "$KEY" \
  --repos "$SG_SOURCE_DIR/tests/fixtures/github/repos" --installation 7=octo/hello --api-prefix /api/v3 --rate-limit 4 >"$SG_TMP/ghes.out" 2>&1 &
sg_track $!
sg_wait_for grep -q '^listening on ' "$SG_TMP/ghes.out"
GHES="http://127.0.0.1:$(sed -n 's/^listening on //p' "$SG_TMP/ghes.out")"
sg_check "GHES: token under /api/v3" [ "$(code -X POST -H "Authorization: Bearer $JWT" "$GHES/api/v3/app/installations/7/access_tokens")" = 201 ]
GT=$(jq_ 'd["token"]')
sg_check "GHES: path without the prefix is 404" [ "$(code -X POST -H "Authorization: Bearer $JWT" "$GHES/app/installations/7/access_tokens")" = 404 ]
code -H "Authorization: Bearer $GT" "$GHES/api/v3/repos/octo/hello/tarball/$SHA" >/dev/null
GLOC=$(hdr Location)
sg_check "GHES: tarball redirect to codeload at the root" [ "${GLOC%%/octo/*}" = "http://localhost:${GHES##*:}/_codeload" ]
sg_check "GHES: codeload download" [ "$(curl -s -o /dev/null -w '%{http_code}' "$GLOC")" = 200 ]
# primary rate limit (--rate-limit 4 per hour): the tarball was request 1 of this installation
for i in 2 3 4; do code -H "Authorization: Bearer $GT" "$GHES/api/v3/installation/repositories" >/dev/null; done
sg_check "request 4 of 4 is served, remaining 0" [ "$(hdr X-RateLimit-Remaining)" = 0 ]
sg_check "request 5 of 4 is refused (403)" [ "$(code -H "Authorization: Bearer $GT" "$GHES/api/v3/installation/repositories")" = 403 ]
sg_check "refusal says rate limit, remaining 0" bash -c "grep -q 'rate limit exceeded' '$SG_TMP/body' && [ '$(hdr X-RateLimit-Remaining)' = 0 ] && [ '$(hdr X-RateLimit-Limit)' = 4 ]"
sg_summary
