#!/usr/bin/env bash
# Why: how the ingress starts and stops is part of its contract: bad configuration stops it with
# one clear line, secrets can come from *_FILE, logs are JSON lines without secret or payload,
# and SIGTERM drains (readyz 503, no new connections, requests in flight finish, exit 0 within
# SHUTDOWN_GRACE_S).
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
. "$SG_SOURCE_DIR/tests/integration/ingress_lib.sh"
ingress_setup

# --- configuration errors: one line naming the variable, exit 1
env -u WEBHOOK_SECRET -u WEBHOOK_SECRET_FILE REDIS_URL="$REDIS_URL" "$INGRESS_BIN" \
  >"$SG_TMP/o1" 2>"$SG_TMP/e1"
rc=$?
sg_check "missing WEBHOOK_SECRET exits 1" test $rc -eq 1
sg_check "missing WEBHOOK_SECRET: one line naming it" \
  bash -c "[ \$(wc -l <'$SG_TMP/e1') -eq 1 ] && grep -q WEBHOOK_SECRET '$SG_TMP/e1' && [ ! -s '$SG_TMP/o1' ]"
PORT=99999 "$INGRESS_BIN" >/dev/null 2>"$SG_TMP/e2"
sg_check "bad PORT named" bash -c "grep -q '^singularity-ingress: configuration error: PORT' '$SG_TMP/e2'"
REDIS_URL=http://nope "$INGRESS_BIN" >/dev/null 2>"$SG_TMP/e3"
sg_check "bad REDIS_URL named" grep -q REDIS_URL "$SG_TMP/e3"
LOG_LEVEL=loud "$INGRESS_BIN" >/dev/null 2>"$SG_TMP/e4"
sg_check "bad LOG_LEVEL named" grep -q LOG_LEVEL "$SG_TMP/e4"
sg_check "--help lists the variables" bash -c "'$INGRESS_BIN' --help | grep -q MAX_CONNECTIONS"
sg_check "--version" bash -c "'$INGRESS_BIN' --version | grep -Eq '^singularity-ingress [0-9]+\.[0-9]+'"

# --- the secret from a file (trailing newline removed); logs
printf 'file secret\n' >"$SG_TMP/secret"
# (a host name in REDIS_URL goes through libevent's async resolver; db 3 through SELECT)
REDIS_URL=redis://localhost:$REDIS_PORT/3 ingress_start WEBHOOK_SECRET= WEBHOOK_SECRET_FILE="$SG_TMP/secret" SHUTDOWN_GRACE_S=5
WEBHOOK_SECRET="file secret" ingress_py <<'PY'
from ih import *
push = fixture("push.none.5.json")
r = webhook(push, "push", "file-secret-1")
check("WEBHOOK_SECRET_FILE used", r.status == 202, r)
check("job in the database of REDIS_URL (db 3)", rcli("-n", "3", "LLEN", "analysis_queue") == "1" and rcli("LLEN", "analysis_queue") == "0")
finish()
PY
rc0=$?
sg_check "log lines are JSON with delivery, event, status, dur_ms" python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
w = [l for l in lines if l.get("msg") == "webhook"]
assert w and w[-1]["delivery"] == "file-secret-1" and w[-1]["event"] == "push" and w[-1]["status"] == 202
assert w[-1]["installation"] == 1 and w[-1]["repo"] == "Codertocat/Hello-World" and "dur_ms" in w[-1]
' "$INGRESS_LOG"
sg_check "no secret and no payload in the log" \
  bash -c "! grep -q 'file secret' '$INGRESS_LOG' && ! grep -q 'users.noreply.github.com' '$INGRESS_LOG'"

# --- SIGTERM drain
WEBHOOK_SECRET="file secret" INGRESS_PID=$INGRESS_PID ingress_py <<'PY'
import os, signal, socket, time
from ih import *
push = fixture("push.none.5.json")
pid = int(os.environ["INGRESS_PID"])
head = ("POST /webhooks/github HTTP/1.1\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\n"
        "X-GitHub-Delivery: drain-1\r\nX-Hub-Signature-256: %s\r\nContent-Length: %d\r\n\r\n"
        % (sig(push), len(push))).encode()
a = connect(); a.sendall(head + push[:1000])          # a webhook in flight
b = connect(); b.sendall(b"GET /readyz HTTP/1.1\r\n")   # a probe in flight
c = connect(); request("GET", "/healthz", conn=c)        # an idle keep-alive connection
time.sleep(0.2)
t0 = time.time()
os.kill(pid, signal.SIGTERM)
time.sleep(0.3)
c.settimeout(3)
check("idle keep-alive connection closed at once", c.recv(10) == b"")
try:
    d = socket.create_connection(("127.0.0.1", PORT), timeout=2)
    d.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")
    refused = d.recv(100) == b""
except OSError:
    refused = True
check("no new connections while draining", refused)
b.sendall(b"\r\n")
r, _ = read_response(b)
check("readyz 503 while draining", r is not None and r.status == 503 and r.json()["error"] == "draining", r)
a.sendall(push[1000:])
r, _ = read_response(a)
check("request in flight completes (202) during the drain", r is not None and r.status == 202, r)
check("in-flight answer closes the connection", r is not None and r.headers.get("connection") == "close")
for _ in range(50):
    try:
        os.kill(pid, 0)
        time.sleep(0.1)
    except ProcessLookupError:
        break
check("process gone soon after the last request", time.time() - t0 < 5)
check("drained job queued", "drain-1" in rcli("-n", "3", "LRANGE", "analysis_queue", "0", "-1"))
finish()
PY
rc1=$?
wait "$INGRESS_PID"
sg_check "exit status 0 after SIGTERM" test $? -eq 0

# --- a stuck client cannot hold the process past SHUTDOWN_GRACE_S
ingress_start SHUTDOWN_GRACE_S=1 HEADER_TIMEOUT_S=60
exec 7<>/dev/tcp/127.0.0.1/$INGRESS_PORT
printf 'POST /webhooks/github HTTP/1.1\r\nX-GitHub-Event: push\r\n' >&7
sleep 0.2
t0=$(date +%s%N)
kill -TERM "$INGRESS_PID"
wait "$INGRESS_PID"
rc=$?
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
exec 7>&-
sg_check "grace expiry: exit 0" test $rc -eq 0
sg_check "grace expiry: within SHUTDOWN_GRACE_S (+1 s slack), took ${dt} ms" test $dt -lt 2000

# --- METRICS_PORT: /metrics (and the probes) on a port of its own, /metrics off the public one
METRICS_PORT=$INGRESS_PORT PORT=$INGRESS_PORT "$INGRESS_BIN" >/dev/null 2>"$SG_TMP/e5"
sg_check "METRICS_PORT equal to PORT named" grep -q '^singularity-ingress: configuration error: METRICS_PORT' "$SG_TMP/e5"
METRICS_PORT=70000 "$INGRESS_BIN" >/dev/null 2>"$SG_TMP/e6"
sg_check "bad METRICS_PORT named" grep -q 'configuration error: METRICS_PORT' "$SG_TMP/e6"
TRUSTED_PROXIES="10.0.0.0/33" "$INGRESS_BIN" >/dev/null 2>"$SG_TMP/e7"
sg_check "bad TRUSTED_PROXIES named" grep -q 'configuration error: TRUSTED_PROXIES' "$SG_TMP/e7"
MPORT=$(sg_free_port)
ingress_start METRICS_PORT="$MPORT"
MURL=http://127.0.0.1:$MPORT
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
sg_check "METRICS_PORT serves /metrics" bash -c "curl -sf '$MURL/metrics' | grep -q '^analysis_queue_length '"
sg_check "METRICS_PORT serves /healthz and /readyz" test "$(code "$MURL/healthz") $(code "$MURL/readyz")" = "200 200"
sg_check "the public port answers /metrics with 404" test "$(code "$INGRESS_URL/metrics")" = 404
sg_check "the public port still serves the probes" test "$(code "$INGRESS_URL/readyz")" = 200
sg_check "no webhooks on METRICS_PORT (404)" test "$(code -X POST -d '{}' "$MURL/webhooks/github")" = 404
ingress_stop_check

sg_summary
[ $rc0 -eq 0 ] && [ $rc1 -eq 0 ] && [ "$SG_FAILED" -eq 0 ]
