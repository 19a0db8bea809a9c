#!/usr/bin/env bash
# Why: shared pieces of the ingress integration tests: start the real binary against the real
# redis-server started by tests/lib/servers.sh, and a small raw-socket HTTP client (Python) so
# tests can do what curl cannot: pipelining, half-sent requests, malformed HTTP, exact bytes.
# Source after tests/lib/servers.sh and sg_tmpdir.

INGRESS_BIN=${INGRESS_BIN:-$SG_BUILD_DIR/ingress/singularity-ingress}
FIXTURES=$SG_SOURCE_DIR/tests/fixtures/webhooks
export WEBHOOK_SECRET=${WEBHOOK_SECRET:-"It's a Secret to Everybody"}

# ingress_start [VAR=value ...]: starts the ingress on a free port with extra env; sets
# INGRESS_PORT, INGRESS_PID, INGRESS_URL, INGRESS_LOG.
ingress_start() {
  INGRESS_PORT=$(sg_free_port)
  INGRESS_LOG=$SG_TMP/ingress.$INGRESS_PORT.log
  env HOST=127.0.0.1 PORT="$INGRESS_PORT" REDIS_URL="$REDIS_URL" "$@" "$INGRESS_BIN" \
    >"$INGRESS_LOG" 2>&1 &
  INGRESS_PID=$!
  sg_track "$INGRESS_PID"
  INGRESS_URL=http://127.0.0.1:$INGRESS_PORT
  export INGRESS_PORT INGRESS_URL
  SG_WAIT_S=10 sg_wait_for curl -sf "$INGRESS_URL/readyz" ||
    sg_fail "ingress did not become ready: $(tail -5 "$INGRESS_LOG")"
}

# Writes the Python client module used by the tests' inline Python to $SG_TMP/ih.py.
ingress_pylib() {
  cat >"$SG_TMP/ih.py" <<'PY'
import hashlib, hmac, json, os, socket, time

SECRET = os.environ["WEBHOOK_SECRET"].encode()
PORT = int(os.environ["INGRESS_PORT"])
FIX = os.environ["FIXTURES"]
PATH = "/webhooks/github"
results = {"pass": 0, "fail": 0}

def check(name, cond, detail=""):
    if cond:
        results["pass"] += 1
        print("ok - " + name, flush=True)
    else:
        results["fail"] += 1
        print("not ok - %s %s" % (name, detail), flush=True)

def finish():
    print("%d passed, %d failed" % (results["pass"], results["fail"]), flush=True)
    raise SystemExit(1 if results["fail"] else 0)

def rcli(*args):
    import subprocess
    return subprocess.check_output(["redis-cli", "-p", os.environ["REDIS_PORT"]] +
                                   [str(a) for a in args], timeout=10).decode().rstrip("\n")

def queue():
    out = rcli("--no-raw", "LRANGE", "analysis_queue", "0", "-1")
    import subprocess
    raw_lines = subprocess.check_output(["redis-cli", "-p", os.environ["REDIS_PORT"], "--raw",
                                         "LRANGE", "analysis_queue", "0", "-1"], timeout=10)
    return [json.loads(l) for l in raw_lines.decode().splitlines() if l.strip()]

def fixture(name):
    with open(os.path.join(FIX, name), "rb") as f:
        return f.read()

def sig(body, secret=SECRET):
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()

def connect(timeout=10):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
    def json(self):
        return json.loads(self.body)
    def __repr__(self):
        return "<%d %r %r>" % (self.status, self.headers, self.body[:200])

def read_response(s, buf=b""):
    """Reads one response (Content-Length framed); returns (Resp, leftover) or (None, buf) on EOF."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            return None, buf
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, v = l.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        d = s.recv(65536)
        if not d:
            break
        rest += d
    if status == 100:
        return read_response(s, rest[n:])
    return Resp(status, headers, rest[:n]), rest[n:]

def raw(data, timeout=10):
    """Sends raw bytes on a new connection, returns the first response."""
    s = connect(timeout)
    try:
        s.sendall(data)
        r, _ = read_response(s)
        return r
    finally:
        s.close()

def request(method, path, headers=None, body=b"", conn=None):
    h = {"Host": "127.0.0.1"}
    h.update(headers or {})
    if body is not None and "Transfer-Encoding" not in h:
        h.setdefault("Content-Length", str(len(body)))
    data = ("%s %s HTTP/1.1\r\n" % (method, path)).encode()
    data += b"".join(("%s: %s\r\n" % (k, v)).encode() for k, v in h.items() if v is not None)
    data += b"\r\n" + (body or b"")
    if conn is not None:
        conn.sendall(data)
        r, _ = read_response(conn)
        return r
    return raw(data)

def own_body(body, delivery):
    """GitHub never sends one body under two delivery ids, and the ingress answers such a replay
    "duplicate"; so a field naming the delivery id (routing ignores it) is added to a JSON object
    body, and a redelivery (same id) sends the same bytes."""
    if not body.startswith(b"{"):
        return body
    head = b'{"test_delivery":' + json.dumps(delivery).encode()
    return head + (b"}" if body[1:].lstrip().startswith(b"}") else b"," + body[1:])

def webhook(body, event="push", delivery=None, signature=None, ctype="application/json",
            conn=None, extra=None, replay=False):
    """Sends a signed delivery; its body is made its own (own_body) unless signature is given or
    replay is true (the exact bytes, as a replay of a captured body sends them)."""
    delivery = delivery or os.urandom(8).hex()
    if signature is None and not replay and "json" in ctype:
        body = own_body(body, delivery)
    h = {"Content-Type": ctype, "X-GitHub-Event": event,
         "X-GitHub-Delivery": delivery,
         "X-Hub-Signature-256": signature if signature is not None else sig(body)}
    h.update(extra or {})
    return request("POST", PATH, h, body, conn)

def is_json_error(r, status):
    try:
        j = r.json()
    except Exception:
        return False
    return r.status == status and j.get("status") == "error" and bool(j.get("error")) and \
        r.headers.get("content-type", "").startswith("application/json")
PY
}

# ingress_setup: what every ingress test starts from: a temp dir, its own redis-server on a free
# port, and the Python client module.
ingress_setup() {
  sg_tmpdir
  sg_start_redis
  ingress_pylib
}

# Runs inline Python (stdin) with the client module importable.
ingress_py() {
  FIXTURES=$FIXTURES PYTHONPATH=$SG_TMP python3 - "$@"
}

# ingress_stop_check: SIGTERM, then the exit status must be 0 and the log free of sanitizer
# reports (under ASan a leak or a memory error makes the exit status non-zero).
ingress_stop_check() {
  kill -TERM "$INGRESS_PID" 2>/dev/null
  wait "$INGRESS_PID"
  local rc=$?
  sg_check "ingress exits 0 on SIGTERM" test $rc -eq 0
  sg_check "no sanitizer report in the ingress log" \
    bash -c "! grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' '$INGRESS_LOG'"
}
