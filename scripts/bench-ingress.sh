#!/usr/bin/env bash
# Why: the ingress's speed claim (issue 2 "How fast"), measured side by side in one run on
# loopback with wrk: singularity-ingress + Redis, nginx answering `return 202` (the machine's HTTP
# ceiling, 1 worker process) and a minimal Node.js receiver (@octokit/webhooks-methods verify +
# ioredis LPUSH), each with a signed ~8 KB push and a ~24 KB pull_request payload from
# @octokit/webhooks-examples, every request with a fresh delivery id. Run by hand, not in CI.
#
#   scripts/bench-ingress.sh [DURATION_S]        (default 10 s per run; wrk -t2 -c64)
# Env: BENCH_CONNS (64), BENCH_THREADS (2), BENCH_TARGETS ("ingress nginx node").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DUR=${1:-10}
CONNS=${BENCH_CONNS:-64}
THREADS=${BENCH_THREADS:-2}
TARGETS=${BENCH_TARGETS:-"ingress nginx node"}
SG_DEPS=bench scripts/deps.sh
if [ ! -d scripts/bench/ingress/node_modules ]; then
  (cd scripts/bench/ingress && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DSG_TESTS=OFF >/dev/null
ninja -C build-bench singularity-ingress >/dev/null

. tests/lib/servers.sh
sg_tmpdir
sg_start_redis >/dev/null
export WEBHOOK_SECRET=bench-secret
FIX=$ROOT/tests/fixtures/webhooks
LUA=$ROOT/scripts/bench/ingress/webhook.lua

start_ingress() {
  INGRESS_PORT=$(sg_free_port)
  HOST=127.0.0.1 PORT=$INGRESS_PORT REDIS_URL=$REDIS_URL QUEUE_HIGH_WATERMARK=0 \
    "$ROOT/build-bench/ingress/singularity-ingress" >/dev/null 2>&1 &
  INGRESS_PID=$!
  sg_track $INGRESS_PID
  sg_wait_for curl -sf "http://127.0.0.1:$INGRESS_PORT/readyz"
}

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
}

start_node() {
  NODE_PORT=$(sg_free_port)
  (cd "$ROOT/scripts/bench/ingress" && PORT=$NODE_PORT REDIS_PORT=$REDIS_PORT exec node receiver.mjs) &
  NODE_PID=$!
  sg_track $NODE_PID
  sg_wait_for curl -s -o /dev/null -X POST "http://127.0.0.1:$NODE_PORT/"
}

# run NAME PORT FIXTURE EVENT -> one result line
run() {
  local name=$1 port=$2 fixture=$3 event=$4
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  export BENCH_BODY=$FIX/$fixture BENCH_EVENT=$event
  BENCH_SIG=sha256=$(openssl dgst -sha256 -hmac "$WEBHOOK_SECRET" -r <"$BENCH_BODY" | cut -d' ' -f1)
  export BENCH_SIG
  # warm up, then measure
  wrk -t"$THREADS" -c"$CONNS" -d2s -s "$LUA" "http://127.0.0.1:$port/webhooks/github" >/dev/null
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s "$LUA" "http://127.0.0.1:$port/webhooks/github")
  local rps p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk -F= '/p99_ms/ {split($2,a," "); print a[1]}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $4}')
  local rss=""
  if [ "$name" = ingress ]; then
    rss=$(awk '/VmHWM/ {printf "%.1f MB", $2/1024}' /proc/$INGRESS_PID/status)
  fi
  local queued
  queued=$(redis-cli -p "$REDIS_PORT" llen analysis_queue)
  printf '| %-8s | %-32s | %9s | %8s | %-10s | %8s | %s |\n' "$name" "$fixture ($(($(stat -c %s "$BENCH_BODY") / 1024)) KB)" \
    "$rps" "$p99" "${rss:--}" "$queued" "${non2xx:-0}"
}

for t in $TARGETS; do "start_$t"; done
echo "wrk -t$THREADS -c$CONNS -d${DUR}s, loopback, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| target   | payload                          |  req/s    | p99 ms   | peak RSS   | queued   | non-2xx |"
echo "|----------|----------------------------------|-----------|----------|------------|----------|---------|"
for payload in "push.none.5.json push" "pull_request.synchronize.1.json pull_request"; do
  set -- $payload
  for t in $TARGETS; do
    case $t in
      ingress) run ingress "$INGRESS_PORT" "$1" "$2" ;;
      nginx) run nginx "$NGINX_PORT" "$1" "$2" ;;
      node) run node "$NODE_PORT" "$1" "$2" ;;
    esac
  done
done
