#!/usr/bin/env bash
# Why: managed Redis services require TLS, and Debian's hiredis has none, so both binaries carry
# it themselves (DESIGN.md section 11). Against a redis-server with only a --tls-port and a CA made
# here: both transports and both binaries connect and verify; a wrong CA, a wrong server name and
# a wrong ACL password are refused with a clear line; the ingress queues a signed delivery over
# TLS and a worker takes it over TLS and completes its check run; bad TLS settings stop both
# binaries at start naming the variable.
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
. "$SG_SOURCE_DIR/tests/lib/redis_ha.sh"
. "$SG_SOURCE_DIR/tests/integration/system_lib.sh"
sg_tmpdir
sg_tls_ca good
sg_tls_ca other
sg_start_redis_tls good
PROBE=$SG_BUILD_DIR/tests/redis_probe
GOOD_CA=$SG_TMP/tls/good/ca.pem
OTHER_CA=$SG_TMP/tls/other/ca.pem
TLS_URL=rediss://127.0.0.1:$REDIS_TLS_PORT/0
rcli() { redis-cli --tls --cacert "$GOOD_CA" -p "$REDIS_TLS_PORT" "$@"; }
rcli ACL SETUSER app on '>app-pass' '~*' '&*' '+@all' >/dev/null

# probe MODE EXPECT_RC EXPECT_TEXT VAR=value...: runs redis_probe, checks its status and output.
probe() {
  local mode=$1 rc=$2 text=$3 out got
  shift 3
  out=$(env "$@" "$PROBE" "$mode" 2>&1)
  got=$?
  [ "$got" = "$rc" ] && grep -q -- "$text" <<<"$out" && return 0
  echo "  $mode: rc $got, output: $(tail -2 <<<"$out")" >&2
  return 1
}

for m in worker ingress; do
  sg_check "$m transport: verified against REDIS_TLS_CA_FILE" \
    probe $m 0 "ok $m" REDIS_URL="$TLS_URL" REDIS_TLS_CA_FILE="$GOOD_CA"
  sg_check "$m transport: the name localhost is checked against the certificate" \
    probe $m 0 "ok $m" REDIS_URL="rediss://localhost:$REDIS_TLS_PORT" REDIS_TLS_CA_FILE="$GOOD_CA"
  sg_check "$m transport: an ACL user from the URL" \
    probe $m 0 "ok $m" REDIS_URL="rediss://app:app-pass@127.0.0.1:$REDIS_TLS_PORT" REDIS_TLS_CA_FILE="$GOOD_CA"
  sg_check "$m transport: a wrong CA is refused: certificate verify failed" \
    probe $m 1 "certificate verify failed: self-signed certificate in certificate chain" \
    REDIS_URL="$TLS_URL" REDIS_TLS_CA_FILE="$OTHER_CA"
  sg_check "$m transport: the system roots do not know the test CA" \
    probe $m 1 "certificate verify failed" REDIS_URL="$TLS_URL"
  sg_check "$m transport: a wrong REDIS_TLS_SERVER_NAME is refused: hostname mismatch" \
    probe $m 1 "certificate verify failed: hostname mismatch" \
    REDIS_URL="$TLS_URL" REDIS_TLS_CA_FILE="$GOOD_CA" REDIS_TLS_SERVER_NAME=redis.example.com
  sg_check "$m transport: REDIS_TLS_INSECURE=1 connects without verifying" \
    probe $m 0 "ok $m" REDIS_URL="$TLS_URL" REDIS_TLS_INSECURE=1
  sg_check "$m transport: plain TCP to a TLS port fails, it does not hang" \
    probe $m 1 "" REDIS_URL="redis://127.0.0.1:$REDIS_TLS_PORT"
done
sg_check "worker transport: a wrong ACL password is refused by name" \
  probe worker 1 "redis AUTH failed: WRONGPASS" \
  REDIS_URL="rediss://app:nope@127.0.0.1:$REDIS_TLS_PORT" REDIS_TLS_CA_FILE="$GOOD_CA"

# Configuration mistakes stop both binaries at start, naming the variable.
first_err() { # VAR=value... -- BINARY ARGS...: the first line the binary prints when it stops
  local vars=()
  while [ "$1" != -- ]; do vars+=("$1"); shift; done
  shift
  timeout 5 env "${vars[@]}" WEBHOOK_SECRET=x "$@" 2>&1 >/dev/null | head -1
}
for cmd in "$(sys_bin ingress)" "$(sys_bin worker) queue"; do
  name=$(basename "${cmd%% *}")
  # shellcheck disable=SC2086 # the command and its argument, split on purpose
  sg_check "$name: a REDIS_TLS_CA_FILE that cannot be read stops it" \
    grep -q "REDIS_TLS_CA_FILE: cannot read /nonexistent/ca.pem" \
    <<<"$(first_err REDIS_URL="$TLS_URL" REDIS_TLS_CA_FILE=/nonexistent/ca.pem -- $cmd)"
  # shellcheck disable=SC2086
  sg_check "$name: REDIS_TLS_SERVER_NAME without rediss:// stops it" \
    grep -q "REDIS_TLS_SERVER_NAME: set, but REDIS_URL is not rediss://" \
    <<<"$(first_err REDIS_URL=redis://127.0.0.1:1 REDIS_TLS_SERVER_NAME=x -- $cmd)"
done

# The binaries end to end over TLS: a signed delivery in, a completed check run out.
sg_start_postgres
sg_start_github_sim --repos "$SG_SOURCE_DIR/tests/fixtures/sample-repo" \
  --installation "$SYS_INSTALLATION=$SYS_OWNER/$SYS_REPO"
"$(sys_bin worker)" migrate >/dev/null || sg_fail "migrate failed"
export REDIS_URL="rediss://app:app-pass@localhost:$REDIS_TLS_PORT/0" REDIS_TLS_CA_FILE="$GOOD_CA"
sys_start_ingress
sg_check "ingress over TLS: /readyz 200" curl -sf -o /dev/null "http://127.0.0.1:$INGRESS_PORT/readyz"
SHA=5555555555555555555555555555555555555555
sg_check "ingress over TLS: a signed push is queued (202)" \
  [ "$(sys_send push "$(sys_push_payload $SHA)")" = 202 ]
sg_check "the job is in analysis_queue on the TLS server" [ "$(rcli LLEN analysis_queue)" = 1 ]
out=$("$(sys_bin worker)" queue 2>&1)
sg_check "worker 'queue' over TLS sees it" grep -q "pending     1" <<<"$out"
sys_start_worker a
sg_check "worker over TLS: takes the job and completes the check run" sys_wait_check_runs 1 60
sg_check "worker over TLS: queue drained" \
  sg_wait_s 30 bash -c "[ \"\$(redis-cli --tls --cacert $GOOD_CA -p $REDIS_TLS_PORT LLEN analysis_queue)\" = 0 ]"
sg_check "analysis stored" [ "$(psql -tAc "select count(*) from analyses where head_sha='$SHA' and status='completed'")" = 1 ]

# A wrong CA: the ingress runs but is not ready, and says why; the worker command fails by name.
ING2=$(sg_free_port)
HOST=127.0.0.1 PORT=$ING2 REDIS_TLS_CA_FILE="$OTHER_CA" LOG_FORMAT=json \
  "$(sys_bin ingress)" >"$SG_TMP/ingress-wrong-ca.log" 2>&1 &
sg_track $!
sg_wait_for curl -sf "http://127.0.0.1:$ING2/healthz"
sleep 1
sg_check "ingress with a wrong CA: /readyz 503" \
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ING2/readyz")" = 503 ]
sg_check "ingress with a wrong CA: a delivery gets 503, never 2xx" \
  [ "$(INGRESS_PORT=$ING2 sys_send push "$(sys_push_payload $SHA)")" = 503 ]
sg_check "ingress with a wrong CA: the log says certificate verify failed" \
  grep -q '"level":"warn".*certificate verify failed' "$SG_TMP/ingress-wrong-ca.log"
out=$(REDIS_TLS_CA_FILE="$OTHER_CA" "$(sys_bin worker)" queue 2>&1)
sg_check "worker 'queue' with a wrong CA: fails with certificate verify failed" \
  grep -q "certificate verify failed" <<<"$out"

# A hung TLS server (SIGSTOP: the kernel still accepts, the handshake never answers) costs a
# command its timeout, not the worker's life.
kill -STOP "$SG_REDIS_TLS_PID"
t0=$(date +%s%N)
out=$(REDIS_TIMEOUT_MS=500 timeout 20 "$(sys_bin worker)" queue 2>&1)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
kill -CONT "$SG_REDIS_TLS_PID"
sg_check "a hung TLS Redis: worker 'queue' fails with a timeout within 3 s (took ${ms} ms)" \
  bash -c "[ $rc = 1 ] && [ $ms -lt 3000 ] && grep -q 'timed out' <<<\"\$1\"" _ "$out"
sg_summary
