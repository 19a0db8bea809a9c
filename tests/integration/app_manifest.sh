#!/usr/bin/env bash
# Why: app.yml is validated against the manifest parameters GitHub documents, with permission
# names and levels from GitHub's OpenAPI description (app_manifest.mjs), and the validator is
# shown to catch a misspelt permission and an unknown parameter.
set -euo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
sg_tmpdir
cd "$SG_SOURCE_DIR/tests"
yaml2json() { python3 -c 'import json,sys,yaml; json.dump(yaml.safe_load(open(sys.argv[1])), open(sys.argv[2],"w"))' "$1" "$2"; }
yaml2json "$SG_SOURCE_DIR/app.yml" "$SG_TMP/app.json"
sg_check "app.yml is a manifest GitHub accepts, asking for exactly what the product needs" \
  node integration/app_manifest.mjs "$SG_TMP/app.json"
sed 's/checks: write/checks: wrtie/' "$SG_SOURCE_DIR/app.yml" >"$SG_TMP/bad1.yml"
yaml2json "$SG_TMP/bad1.yml" "$SG_TMP/bad1.json"
sg_check "a misspelt permission level is caught" bash -c "! node integration/app_manifest.mjs '$SG_TMP/bad1.json' >/dev/null"
sed 's/^public: false/public: false\nwebhook_url: https:\/\/x.example/' "$SG_SOURCE_DIR/app.yml" >"$SG_TMP/bad2.yml"
yaml2json "$SG_TMP/bad2.yml" "$SG_TMP/bad2.json"
sg_check "a parameter GitHub does not know is caught" bash -c "! node integration/app_manifest.mjs '$SG_TMP/bad2.json' >/dev/null"
sg_summary
