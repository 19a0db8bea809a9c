#!/usr/bin/env bash
# Why: the ingress must never lose or double an accepted delivery across Redis outages: while
# Redis is down (stopped, or hung with SIGSTOP) it answers 503 + Retry-After within about a
# second and /readyz turns 503; after Redis returns it accepts again within seconds, and GitHub's
# redelivery of the refused deliveries leaves every delivery on the queue exactly once. A captured
# body replayed under new delivery ids is a duplicate, like a redelivery.
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
. "$SG_SOURCE_DIR/tests/integration/ingress_lib.sh"
sg_tmpdir
sg_start_redis
ingress_pylib
ingress_start REDIS_TIMEOUT_MS=500 QUEUE_HIGH_WATERMARK=0

# A steady sender in the background: delivery out-N every ~20 ms, each answer recorded.
STOP=$SG_TMP/stop-sender
ingress_py "$SG_TMP/sent.json" "$STOP" <<'PY' &
import json, os, sys, time
from ih import *
out, stop = sys.argv[1], sys.argv[2]
push = fixture("push.none.5.json")
log = []
i = 0
while not os.path.exists(stop) and i < 3000:
    t = time.time()
    try:
        r = webhook(push, "push", "out-%d" % i)
        log.append([i, r.status if r else 0, t, r.headers.get("retry-after") if r else None,
                    time.time() - t])
    except Exception as e:
        log.append([i, -1, t, None, time.time() - t])
    i += 1
    time.sleep(0.02)
json.dump(log, open(out, "w"))
PY
SENDER=$!
sg_track $SENDER

sleep 1
date +%s.%N >"$SG_TMP/t_stop"
sg_stop_redis
sleep 0.3
code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$INGRESS_URL/readyz")
sg_check "readyz 503 while Redis is down" test "$code" = 503
sleep 2
date +%s.%N >"$SG_TMP/t_start"
sg_start_redis
SG_WAIT_S=10 sg_wait_for curl -sf "$INGRESS_URL/readyz"
sg_check "readyz 200 again after Redis returns" curl -sf -o /dev/null "$INGRESS_URL/readyz"
sleep 1.5
touch "$STOP"
wait $SENDER

ingress_py "$SG_TMP/sent.json" "$(cat "$SG_TMP/t_stop")" "$(cat "$SG_TMP/t_start")" <<'PY'
import json, sys, time
from ih import *
log = json.load(open(sys.argv[1]))
t_stop, t_start = float(sys.argv[2]), float(sys.argv[3])
codes = [c for _, c, _, _, _ in log]
check("sender ran", len(log) > 50, len(log))
check("only 202 or 503 answers", set(codes) <= {202, 503}, set(codes))
refused = [e for e in log if e[1] == 503]
check("deliveries refused while Redis was down", len(refused) > 10, len(refused))
check("every 503 carries Retry-After", all(e[3] and e[3].isdigit() for e in refused))
check("503 answered within a second (+0.5 s slack for a loaded CI)", max(e[4] for e in refused) < 1.5, max(e[4] for e in refused))
first503 = min(e[2] for e in refused)
check("outage noticed within a second (+0.5 s slack)", first503 - t_stop < 1.5, first503 - t_stop)
after = [e for e in log if e[2] > t_start and e[1] == 202]
check("202 again within 5 s of Redis returning", after and after[0][2] - t_start < 5.0,
      after[0][2] - t_start if after else None)
# GitHub's redelivery of the refused ones, and of some accepted ones
push = fixture("push.none.5.json")
re = [webhook(push, "push", "out-%d" % e[0]).status for e in refused]
check("refused deliveries accepted on redelivery", all(c == 202 for c in re), re)
acc = [e for e in log if e[1] == 202][:5]
re2 = [webhook(push, "push", "out-%d" % e[0]).json()["status"] for e in acc]
check("accepted deliveries are duplicates on redelivery", all(s == "duplicate" for s in re2), re2)
ids = [j["delivery"] for j in queue()]
check("nothing lost: every delivery on the queue", set(ids) == {"out-%d" % e[0] for e in log},
      len(set(ids)))
check("nothing doubled", len(ids) == len(set(ids)), len(ids) - len(set(ids)))
finish()
PY
rc1=$?

# --- a hung Redis (SIGSTOP): the command timeout turns it into 503 within about a second
REDIS_PID=$(redis-cli -p "$REDIS_PORT" info server | tr -d '\r' | sed -n 's/^process_id://p')
kill -STOP "$REDIS_PID"
ingress_py <<'PY'
import time
from ih import *
push = fixture("push.none.5.json")
t = time.time()
r = webhook(push, "push", "hung-1")
dt = time.time() - t
check("hung Redis: 503 with Retry-After within REDIS_TIMEOUT_MS (0.5 s) + slack", r.status == 503 and "retry-after" in r.headers and dt < 2.0, (r, dt))
time.sleep(0.3)
r = request("GET", "/readyz")
check("hung Redis: readyz 503", r.status == 503, r)
finish()
PY
rc2=$?
kill -CONT "$REDIS_PID"
SG_WAIT_S=10 sg_wait_for curl -sf "$INGRESS_URL/readyz"
sg_check "ready again after SIGCONT" curl -sf -o /dev/null "$INGRESS_URL/readyz"
ingress_py <<'PY'
from ih import *
push = fixture("push.none.5.json")
r = webhook(push, "push", "hung-1")
check("hung delivery redelivered: queued or duplicate", r.status in (200, 202), r)
ids = [j["delivery"] for j in queue()]
check("hung delivery on the queue exactly once", ids.count("hung-1") == 1, ids.count("hung-1"))
finish()
PY
rc3=$?

# --- replay: the delivery id is not signed, the body is. One captured body re-sent under new ids
# is a duplicate (one job); a delivery that was not queued (Redis refusing writes, backpressure)
# leaves neither the delivery marker nor the signature marker.
ingress_py <<'PY'
import hashlib, hmac
from ih import *
body = fixture("check_run.rerequested.1.json")
hexsig = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
n0 = len(queue())
rs = [webhook(body, "check_run", "replay-%d" % i, replay=True) for i in range(3)]
check("replayed body: first 202, then 200 duplicate twice",
      [r.status for r in rs] == [202, 200, 200] and
      [r.json()["status"] for r in rs] == ["queued", "duplicate", "duplicate"], rs)
check("replayed body: one job", len(queue()) == n0 + 1 and queue()[0]["delivery"] == "replay-0",
      len(queue()) - n0)
ttl = int(rcli("TTL", "webhook:signature:" + hexsig))
check("signature marker with the dedupe TTL", 86000 < ttl <= 86400, ttl)
check("a replay leaves no delivery marker for its new id",
      rcli("EXISTS", "webhook:delivery:replay-1") == "0", rcli("KEYS", "webhook:delivery:replay-*"))
r = webhook(body, "check_run", "replay-upper", signature="sha256=" + hexsig.upper())
check("the same signature in upper-case hex is the same replay", r.status == 200 and
      r.json()["status"] == "duplicate", r)
r = webhook(body, "check_run", "replay-0", replay=True)
check("GitHub's redelivery (same id, same body): duplicate", r.status == 200 and
      r.json()["status"] == "duplicate", r)
check("still one job", len(queue()) == n0 + 1, len(queue()) - n0)

# Redis refusing writes (OOM): 503 and neither marker; accepted once Redis accepts writes again
rcli("CONFIG", "SET", "maxmemory", "1")
fresh = own_body(body, "oom-1")
r = webhook(fresh, "check_run", "oom-1", replay=True)
rcli("CONFIG", "SET", "maxmemory", "0")
fsig = hmac.new(SECRET, fresh, hashlib.sha256).hexdigest()
check("Redis refusing writes: 503", r.status == 503, r)
check("Redis refusing writes: neither marker", rcli("EXISTS", "webhook:delivery:oom-1",
      "webhook:signature:" + fsig) == "0")
r = webhook(fresh, "check_run", "oom-2", replay=True)
check("the refused body is queued later (202)", r.status == 202, r)
finish()
PY
rc4=$?
ingress_stop_check

# backpressure refuses without marking: the same body is queued once the queue has room
ingress_start QUEUE_HIGH_WATERMARK=1
ingress_py <<'PY'
import hashlib, hmac
from ih import *
body = own_body(fixture("check_run.rerequested.1.json"), "bp-1")
hexsig = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
check("queue above the watermark", len(queue()) >= 1)
r = webhook(body, "check_run", "bp-1", replay=True)
check("backpressure: 503", r.status == 503, r)
check("backpressure: neither marker", rcli("EXISTS", "webhook:delivery:bp-1",
      "webhook:signature:" + hexsig) == "0")
rcli("DEL", "analysis_queue")
r = webhook(body, "check_run", "bp-2", replay=True)
check("the refused body is queued once the queue has room (202)", r.status == 202, r)
finish()
PY
rc5=$?
ingress_stop_check
sg_summary
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ $rc3 -eq 0 ] && [ $rc4 -eq 0 ] && [ $rc5 -eq 0 ] &&
  [ "$SG_FAILED" -eq 0 ]
