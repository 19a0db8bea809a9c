#!/usr/bin/env bash
# Why: runs the worker's real GitHub client (github_client_test, C) against the real simulator
# and a real redis-server, then checks every check-run body it sent against GitHub's OpenAPI
# description (github_openapi.mjs), so "the simulator accepted it" is not the only judge.
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
sg_tmpdir
sg_start_redis
# a GitHub Enterprise Server look-alike (API under /api/v3), then the github.com look-alike
sg_start_github_sim --repos "$SG_SOURCE_DIR/tests/fixtures/github/repos" \
  --installation 7=octo/hello,octo/other --max-per-page 1 --api-prefix /api/v3 --rate-limit 5000
export GHES_API_URL="$GITHUB_API_URL/api/v3"
# Probot's GHE_HOST/GHE_PROTOCOL select the Enterprise Server API when GITHUB_API_URL is unset;
# the second simulator below would answer a wrong URL, so run the worker's command first.
ghes_hostport=${GITHUB_API_URL#http://}
sg_check "worker redeliver reaches GitHub Enterprise Server through Probot's GHE_HOST" \
  env -u GITHUB_API_URL GHE_HOST="$ghes_hostport" GHE_PROTOCOL=http \
  "$SG_BUILD_DIR/worker/singularity-worker" redeliver --since 1h --dry-run
sg_check "a URL in GHE_HOST is refused with one line naming it" \
  bash -c "env -u GITHUB_API_URL GHE_HOST=http://x/ '$SG_BUILD_DIR/worker/singularity-worker' redeliver --since 1h 2>&1 | grep -q '^.*GHE_HOST: expected a host name'"
sg_start_github_sim --repos "$SG_SOURCE_DIR/tests/fixtures/github/repos" \
  --installation 7=octo/hello,octo/other,octo/third --installation 8=someone/else \
  --max-per-page 2 --record "$SG_TMP/record.jsonl" --rate-limit 5000
openssl genrsa -out "$SG_TMP/other-key.pem" 2048 2>/dev/null
export SG_OTHER_KEY="$SG_TMP/other-key.pem"
sg_check "GitHub client against the simulator" "$SG_BUILD_DIR/tests/github_client_test"
if command -v node >/dev/null && [ -d "$SG_SOURCE_DIR/tests/node_modules/ajv" ]; then
  sg_check "check-run bodies match GitHub's OpenAPI schemas" node "$SG_SOURCE_DIR/tests/integration/github_openapi.mjs" "$SG_TMP/record.jsonl"
else
  echo "not ok - node or tests/node_modules/ajv missing (run scripts/deps.sh)"; SG_FAILED=$((SG_FAILED+1))
fi
sg_summary
