#!/usr/bin/env bash
# Why: the ingress's speed claim, measured side by side in one run on
# loopback with wrk: singularity-ingress + Redis, nginx answering `return 202` (the machine's HTTP
# ceiling, 1 worker process) and a minimal Node.js receiver (@octokit/webhooks-methods verify +
# ioredis LPUSH), each with a signed ~8 KB push and a ~24 KB pull_request payload from
# @octokit/webhooks-examples, every request with a fresh delivery id and a body of its own. Run by
# hand, not in CI.
#
#   scripts/bench-ingress.sh [DURATION_S]        (default 10 s per run; wrk -t2 -c64)
# Env: BENCH_CONNS (64), BENCH_THREADS (2), BENCH_TARGETS ("ingress nginx node"), BENCH_ROUNDS (3),
# BENCH_REDIS_CONFIG (see below),
# BENCH_PIN=1: the server under test (ingress, nginx's worker, node) on CPU 0 and wrk + Redis on
# CPU 1, so the servers do not compete with the load generator for a core (fairer, steadier).
# BENCH_PIN=2: the server and Redis on CPU 0, wrk alone on CPU 1 (both wrk threads share it).
# BENCH_BUILD: build dir (build-bench). BENCH_BASE=/path/to/singularity-ingress adds target
# "base" (put it in BENCH_TARGETS): an older binary measured in the same run, for before/after.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DUR=${1:-10}
CONNS=${BENCH_CONNS:-64}
THREADS=${BENCH_THREADS:-2}
TARGETS=${BENCH_TARGETS:-"ingress nginx node"}
# The bench dependencies (wrk, nginx, ...) only when a tool the chosen targets use is missing;
# the receiver's npm packages only when node is measured.
need_tools="wrk"
case " $TARGETS " in *" nginx "*) need_tools+=" nginx" ;; esac
for tool in $need_tools; do
  command -v "$tool" >/dev/null || { SG_DEPS=bench scripts/deps.sh; break; }
done
case " $TARGETS " in *" node "*)
  if [ ! -d scripts/bench/ingress/node_modules ]; then
    (cd scripts/bench/ingress && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  fi ;;
esac
BUILD=${BENCH_BUILD:-build-bench}
PIN=${BENCH_PIN:-0}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSG_TESTS=OFF >/dev/null
ninja -C "$BUILD" singularity-ingress >/dev/null
# pin PID CPU: every thread of PID onto CPU (no-op unless BENCH_PIN=1)
pin() { [ "$PIN" != 0 ] && taskset -a -cp "$2" "$1" >/dev/null; return 0; }
WRK=(wrk)
[ "$PIN" != 0 ] && WRK=(taskset -c 1 wrk)
REDIS_CPU=1
[ "$PIN" = 2 ] && REDIS_CPU=0

. tests/lib/servers.sh
sg_tmpdir
sg_start_redis >/dev/null
pin "$SG_REDIS_PID" "$REDIS_CPU"
# BENCH_REDIS_CONFIG="name value ...": CONFIG SET on the bench's Redis, for experiments (for
# example "auto-aof-rewrite-min-size 1gb": with the queue never drained, the AOF grows ~10 MB/s and
# Redis forks a rewrite every few seconds at the 64 MB default).
if [ -n "${BENCH_REDIS_CONFIG:-}" ]; then
  # shellcheck disable=SC2086 # name/value pairs, split on purpose
  redis-cli -p "$REDIS_PORT" config set $BENCH_REDIS_CONFIG >/dev/null
fi
export WEBHOOK_SECRET=bench-secret
FIX=$ROOT/tests/fixtures/webhooks
LUA=$ROOT/scripts/bench/ingress/webhook.lua

# Each target's port, and the pid whose CPU time is its server's (nginx: the worker process).
declare -A PORT_OF PID_OF

start_singularity() { # start_singularity TARGET BINARY
  local port
  port=$(sg_free_port)
  HOST=127.0.0.1 PORT=$port REDIS_URL=$REDIS_URL QUEUE_HIGH_WATERMARK=0 "$2" >/dev/null 2>&1 &
  PORT_OF[$1]=$port
  PID_OF[$1]=$!
  sg_track "${PID_OF[$1]}"
  sg_wait_for curl -sf "http://127.0.0.1:$port/readyz"
  pin "${PID_OF[$1]}" 0
}
start_ingress() { start_singularity ingress "$ROOT/$BUILD/ingress/singularity-ingress"; }
start_base() { start_singularity base "$BENCH_BASE"; }

start_nginx() {
  NGINX_PORT=$(sg_free_port)
  mkdir -p "$SG_TMP/nginx"
  cat >"$SG_TMP/nginx/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $SG_TMP/nginx/nginx.pid;
error_log $SG_TMP/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $SG_TMP/nginx;
  client_max_body_size 30m;
  server { listen 127.0.0.1:$NGINX_PORT; location / { return 202; } }
}
NGX
  nginx -c "$SG_TMP/nginx/nginx.conf" &
  NGINX_PID=$!
  sg_track $NGINX_PID
  sg_wait_for curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/"
  PORT_OF[nginx]=$NGINX_PORT
  PID_OF[nginx]=$(pgrep -P "$NGINX_PID" | head -1)
  pin "$NGINX_PID" 1
  pin "${PID_OF[nginx]}" 0
}

start_node() {
  NODE_PORT=$(sg_free_port)
  (cd "$ROOT/scripts/bench/ingress" && PORT=$NODE_PORT REDIS_PORT=$REDIS_PORT exec node receiver.mjs) &
  NODE_PID=$!
  sg_track $NODE_PID
  sg_wait_for curl -s -o /dev/null -X POST "http://127.0.0.1:$NODE_PORT/"
  PORT_OF[node]=$NODE_PORT
  PID_OF[node]=$NODE_PID
  pin "$NODE_PID" 0
}

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

# run NAME FIXTURE EVENT -> "rps p99_ms cpu_us_per_req(server[+redis])"
run() {
  local name=$1 port=${PORT_OF[$1]} pid=${PID_OF[$1]} fixture=$2 event=$3
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  export BENCH_BODY=$FIX/$fixture BENCH_EVENT=$event BENCH_SIGS=$SG_TMP/sigs.$fixture
  BENCH_SIG=sha256=$(openssl dgst -sha256 -hmac "$WEBHOOK_SECRET" -r <"$BENCH_BODY" | cut -d' ' -f1)
  export BENCH_SIG
  local c0 r0 out c1 r1
  c0=$(cpu_ticks "$pid"); r0=$(cpu_ticks "$SG_REDIS_PID")
  out=$("${WRK[@]}" -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s "$LUA" "http://127.0.0.1:$port/webhooks/github")
  c1=$(cpu_ticks "$pid"); r1=$(cpu_ticks "$SG_REDIS_PID")
  local rps p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk -F= '/p99_ms/ {split($2,a," "); print a[1]}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $4}')
  [ -z "$non2xx" ] || echo "warning: $name answered $non2xx non-2xx" >&2
  python3 -c "import sys; sys.exit(float(sys.argv[1]) * float(sys.argv[2]) > float(sys.argv[3]))" \
    "$rps" "$DUR" $((THREADS * BENCH_SIGS_PER_THREAD)) ||
    echo "warning: $name sent more requests than signed bodies (BENCH_SIGS_PER_THREAD)" >&2
  [ "$name" = nginx ] && r1=$r0
  # CPU time (ms) of the server process plus Redis, per request, in us
  python3 -c "import sys; rps,d,c,r=float(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]),int(sys.argv[4]); print('%.0f %s %.1f' % (rps, sys.argv[5], c*10000.0/(rps*d)))" \
    "$rps" "$DUR" $((c1 - c0 + r1 - r0)) 0 "$p99"
}

for t in $TARGETS; do "start_$t"; done
ROUNDS=${BENCH_ROUNDS:-3}
pinned="unpinned"
[ "$PIN" = 1 ] && pinned="pinned: server CPU 0, wrk + Redis CPU 1"
[ "$PIN" = 2 ] && pinned="pinned: server + Redis CPU 0, wrk CPU 1"
echo "wrk -t$THREADS -c$CONNS -d${DUR}s x $ROUNDS rounds (targets interleaved, $pinned), loopback, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| payload | target | req/s (median) | vs nginx | p99 ms (median) | CPU us/req (server+Redis) | ingress peak RSS |"
echo "|---|---|---:|---:|---:|---:|---:|"
# Each request's body is its own (a replay of a body is a duplicate): the payload with a last
# field "bench_seq":N, signed here once per payload; Redis is flushed before every run, so each
# run reuses the same bodies. More requests than THREADS x BENCH_SIGS_PER_THREAD in one run would
# repeat bodies (then the rps line warns).
export BENCH_SIGS_PER_THREAD=${BENCH_SIGS_PER_THREAD:-400000}
sign_bodies() { # sign_bodies FIXTURE -> $SG_TMP/sigs.FIXTURE
  python3 - "$FIX/$1" "$WEBHOOK_SECRET" $((THREADS * BENCH_SIGS_PER_THREAD)) >"$SG_TMP/sigs.$1" <<'PY'
import hashlib, hmac, re, sys
head = re.sub(rb"\s*}\s*$", b"", open(sys.argv[1], "rb").read())
h0 = hmac.new(sys.argv[2].encode(), head, hashlib.sha256)
out = []
for n in range(int(sys.argv[3])):
    h = h0.copy()
    h.update(b',"bench_seq":%d}' % n)
    out.append("sha256=" + h.hexdigest())
sys.stdout.write("\n".join(out) + "\n")
PY
}
for payload in "push.none.5.json push" "pull_request.synchronize.1.json pull_request"; do
  set -- $payload
  sign_bodies "$1"
  declare -A R P C
  for t in $TARGETS; do R[$t]=""; P[$t]=""; C[$t]=""; done
  for t in $TARGETS; do # warm-up
    DUR=1 run "$t" "$1" "$2" >/dev/null
  done
  for ((i = 0; i < ROUNDS; i++)); do
    for t in $TARGETS; do
      read -r rps p99 cpu < <(run "$t" "$1" "$2")
      R[$t]+="$rps "; P[$t]+="$p99 "; C[$t]+="$cpu "
    done
  done
  med() { python3 -c "import sys,statistics; print(round(statistics.median(float(x) for x in sys.argv[1:]), 2))" $1; }
  nginx_med=$(med "${R[nginx]:-0}")
  size=$(( $(stat -c %s "$FIX/$1") / 1024 ))
  for t in $TARGETS; do
    rps=$(med "${R[$t]}")
    ratio=$(python3 -c "import sys; n=float(sys.argv[2]); print('%.0f%%' % (100*float(sys.argv[1])/n) if n else '-')" "$rps" "$nginx_med")
    rss=-
    case $t in ingress | base) rss=$(awk '/VmHWM/ {printf "%.1f MB", $2/1024}' "/proc/${PID_OF[$t]}/status") ;; esac
    cpu=$(med "${C[$t]}")
    [ "$t" = nginx ] && cpu="$cpu (nginx only)"
    printf '| %s (%d KB) | %s | %.0f | %s | %s | %s | %s |\n' "$2" "$size" "$t" "$rps" "$ratio" "$(med "${P[$t]}")" "$cpu" "$rss"
  done
  unset R P C
done
