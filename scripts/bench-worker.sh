#!/usr/bin/env bash
# Why: the worker fleet's three numbers, measured side by side in one run on
# this machine: analyses per second with 1, 2 and 4 workers (the scaling ratio is what matters on a
# 2-core box), webhook-to-completed-check latency p50/p95 for a small repository, and findings rows
# written per second into PostgreSQL with COPY. Everything goes through the real path: signed
# webhooks -> ingress -> Redis -> workers -> GitHub simulator -> PostgreSQL. Run by hand, not in CI.
#
#   scripts/bench-worker.sh                 N=2000 webhooks per worker count, L=40 latency samples
#   N=400 L=60 WORKERS="1 2 4" ROUNDS=3 BENCH_REPO=self scripts/bench-worker.sh
#
# BENCH_REPO=sample (default) is tests/fixtures/sample-repo (8 files, 48 KB); BENCH_REPO=self is this
# repository's common/, ingress/ and worker/ sources (~760 KB), where analysis, not bookkeeping,
# dominates a job. The worker counts are measured ROUNDS times, interleaved (1 2 4 1 2 4 ...), and
# the best rate of each is reported: on a shared 2-core machine other load only ever slows a run.
#
# GitHub's per-installation pacing of mutating requests (GITHUB_PACE_MS, 1 s by default, as GitHub
# advises) would cap one installation at ~0.5 analyses/s whatever the fleet size, so it is turned
# off here (GITHUB_PACE_MS=-1) to measure the workers themselves.
#
# Before/after in one run: BENCH_BASE_BUILD=<build dir of an older commit> and worker counts with a
# "b" suffix (WORKERS="1 2 1b 2b") run that build's singularity-worker, interleaved with the current.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
N=${N:-2000}
L=${L:-40}
WORKERS=${WORKERS:-1 2 4}
ROUNDS=${ROUNDS:-2}
BENCH_REPO=${BENCH_REPO:-sample}
FINDINGS_FILES=${FINDINGS_FILES:-20}
FINDINGS_LINES=${FINDINGS_LINES:-5000}

SG_NO_NPM=1 scripts/deps.sh
cmake -S "$ROOT" -B "$ROOT/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSG_TESTS=OFF >/dev/null
ninja -C "$ROOT/build-bench" singularity-worker singularity-ingress singularity-github-sim >/dev/null
export SG_SOURCE_DIR=$ROOT SG_BUILD_DIR=$ROOT/build-bench
. "$ROOT/tests/lib/servers.sh"
. "$ROOT/tests/integration/system_lib.sh"
sg_tmpdir
export GITHUB_PACE_MS=-1

# Repositories: the small sample, and one with many findings (trailing white space on every line).
mkdir -p "$SG_TMP/repos/acme"
if [ "$BENCH_REPO" = self ]; then
  mkdir -p "$SG_TMP/repos/acme/widgets"
  git -C "$ROOT" ls-files common ingress worker | tar -C "$ROOT" -cf - -T - | tar -C "$SG_TMP/repos/acme/widgets" -xf -
else
  cp -r "$ROOT/tests/fixtures/sample-repo/acme/widgets" "$SG_TMP/repos/acme/widgets"
fi
mkdir -p "$SG_TMP/repos/acme/many"
for f in $(seq 1 "$FINDINGS_FILES"); do
  python3 -c "import sys; sys.stdout.write(''.join('value_%d = %d \n' % (i, i) for i in range(int(sys.argv[1]))))" \
    "$FINDINGS_LINES" >"$SG_TMP/repos/acme/many/m$f.py"
done

sg_start_redis
sg_start_postgres
sg_start_github_sim --repos "$SG_TMP/repos" --installation "$SYS_INSTALLATION=acme/widgets,acme/many"
# BENCH_API_DELAY_MS: every GitHub API request under /repos/ (the tarball's redirect and the check
# run's creation and completion) answered that much later, as from a distant api.github.com rather
# than a simulator on loopback; the codeload download and the token are not delayed. Jobs then wait
# on the network as they do in production, and the ratio shows what the workers share (Redis,
# PostgreSQL, locks) rather than this machine's two cores.
if [ -n "${BENCH_API_DELAY_MS:-}" ]; then
  curl -sf -X POST "$GITHUB_API_URL/_sim/faults" \
    -d "{\"path_prefix\":\"/repos/\",\"delay_ms\":$BENCH_API_DELAY_MS,\"count\":1000000000}" >/dev/null
fi
"$(sys_bin worker)" migrate >/dev/null
# BENCH_PG_SQL: SQL run once after the migrations, for experiments (settings, function options).
[ -z "${BENCH_PG_SQL:-}" ] || psql -qc "$BENCH_PG_SQL" >/dev/null
sys_start_ingress

sha() { printf '%s%036x' "$1" "$2"; }
# send_pushes PREFIX N: N signed push webhooks (shas PREFIX + 1..N) to the ingress over one
# keep-alive connection, each checked for 202: a curl and an openssl per webhook made a round's
# set-up take longer than its drain, which kept N small and the drains short and noisy.
send_pushes() {
  INGRESS_PORT=$INGRESS_PORT python3 - "$1" "$2" "$(sys_push_payload @SHA@)" <<'PY'
import hashlib, hmac, http.client, os, sys, uuid
prefix, n, template = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conn = http.client.HTTPConnection('127.0.0.1', int(os.environ['INGRESS_PORT']))
secret = os.environ['WEBHOOK_SECRET'].encode()
for i in range(1, n + 1):
    body = template.replace('@SHA@', '%s%036x' % (prefix, i)).encode()
    sig = hmac.new(secret, body, hashlib.sha256).hexdigest()
    conn.request('POST', '/webhooks/github', body, {
        'Content-Type': 'application/json', 'X-GitHub-Event': 'push',
        'X-GitHub-Delivery': str(uuid.uuid4()), 'X-Hub-Signature-256': 'sha256=' + sig,
        'User-Agent': 'GitHub-Hookshot/sim'})
    r = conn.getresponse()
    r.read()
    if r.status != 202:
        sys.exit('webhook %d answered %d' % (i, r.status))
PY
}
completed_like() { psql -tAc "select count(*) from analyses where head_sha like '$1%' and status='completed'"; }
start_workers() { # start_workers COUNT [VAR=v...]
  local n=$1; shift
  for i in $(seq 1 "$n"); do sys_start_worker "b$i" LOG_LEVEL=warn "$@"; done
}
stop_workers() {
  local n=$1
  for i in $(seq 1 "$n"); do
    local v="WORKER_PID_b$i"
    kill "${!v}" 2>/dev/null || true
    wait "${!v}" 2>/dev/null || true
  done
}

# PIN=1 (an experiment, not the default): worker i and its PostgreSQL backend share CPU (i-1) mod
# nproc, so two workers' chains of wake-ups never queue on the same CPU; Redis, the simulator and
# the ingress float. It shows how much of the 1 -> 2 workers loss is the scheduler's placement.
pin_workers() {
  local n=$1 i cpu pid port backend
  for i in $(seq 1 "$n"); do
    local v="WORKER_PID_b$i"
    pid=${!v}
    cpu=$(((i - 1) % $(nproc)))
    taskset -apc "$cpu" "$pid" >/dev/null
    for port in $(ss -tnpH state established "( dport = :$PG_PORT )" | grep "pid=$pid," | awk '{print $3}' | sed 's/.*://'); do
      backend=$(psql -tAc "select pid from pg_stat_activity where client_port = $port")
      [ -n "$backend" ] && taskset -pc "$cpu" "$backend" >/dev/null
    done
  done
}

# CPU time on the machine by component (nanoseconds from /proc/PID/schedstat), summed over live
# processes: taken when the drain starts and when it ends, it says where a job's CPU goes.
cpu_snapshot() {
  python3 - <<'PY'
import os, collections
t = collections.Counter()
for p in os.listdir('/proc'):
    if not p.isdigit(): continue
    try:
        comm = open('/proc/%s/comm' % p).read().strip()
        ns, wait = (int(x) for x in open('/proc/%s/schedstat' % p).read().split()[:2])
    except OSError: continue
    for k, name in (('postgres', 'postgres'), ('redis-server', 'redis'), ('singularity-wor', 'worker'),
                    ('singularity-git', 'sim'), ('singularity-ing', 'ingress')):
        if comm.startswith(k):
            t[name] += ns
            t['m_runq'] += wait
# the whole machine (jiffies): busy, idle and stolen by the hypervisor
f = [int(x) for x in open('/proc/stat').readline().split()[1:9]]
print(' '.join('%s=%d' % kv for kv in sorted(t.items())), 'm_busy=%d m_idle=%d m_steal=%d' % (
    f[0] + f[1] + f[2] + f[5] + f[6], f[3] + f[4], f[7]))
PY
}
cpu_per_job() { # cpu_per_job BEFORE AFTER N: microseconds of CPU per job by component
  python3 - "$1" "$2" "$3" <<'PY'
import sys
a = dict(kv.split('=') for kv in sys.argv[1].split()); b = dict(kv.split('=') for kv in sys.argv[2].split())
n = int(sys.argv[3]); us = {k: (int(b[k]) - int(a.get(k, 0))) / 1e3 / n for k in b if not k.startswith('m_')}
m = {k: int(b[k]) - int(a[k]) for k in ('m_busy', 'm_idle', 'm_steal')}
tot = max(1, sum(m.values()))
print('cpu/job %d us:' % sum(us.values()), ' '.join('%s %d' % (k, v) for k, v in sorted(us.items())),
      '| runnable but waiting for a CPU %d us/job' % ((int(b['m_runq']) - int(a.get('m_runq', 0))) / 1e3 / n),
      '| machine busy %d%% idle %d%% steal %d%%' % tuple(100 * m[k] // tot for k in ('m_busy', 'm_idle', 'm_steal')))
PY
}

declare -A RATE P50 P95 ALL
round=0
for r in $(seq 1 "$ROUNDS"); do
tok=0
for w in $WORKERS; do
  round=$((round + 1))
  tok=$((tok + 1))
  count=${w%b}
  build=$ROOT/build-bench
  [ "$w" = "$count" ] || build=${BENCH_BASE_BUILD:?a worker count with b needs BENCH_BASE_BUILD}
  prefix=$(printf '%02x%02x' "$round" "$tok")
  # Throughput: N jobs queued through the ingress, then w workers drain them.
  send_pushes "$prefix" "$N"

  # Start the workers on an empty queue (their start-up is not the fleet's throughput), then hand
  # them all N jobs at once, in order, with one atomic script.
  redis-cli -p "$REDIS_PORT" rename analysis_queue analysis_queue:bench-staged >/dev/null
  SG_BUILD_DIR=$build start_workers "$count"
  [ "${PIN:-0}" = 1 ] && pin_workers "$count"
  c0=$(cpu_snapshot)
  t0=$(date +%s%N)
  redis-cli -p "$REDIS_PORT" eval "local n = 0 while redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') do n = n + 1 end return n" \
    2 analysis_queue:bench-staged analysis_queue >/dev/null
  # Poll Redis until the queue is idle and only then PostgreSQL (a psql run costs ~50 ms of CPU
  # and forks a backend: polling it competed with the workers), and take the end time from the
  # database: the last analysis's finished_at, not the moment a poll happened to notice it.
  until sys_idle && [ "$(completed_like "$prefix")" -ge "$N" ]; do
    [ $(($(date +%s%N) - t0)) -lt 900000000000 ] || { echo "workers did not finish $N jobs" >&2; exit 1; }
    sleep 0.25
  done
  cpu=$(cpu_per_job "$c0" "$(cpu_snapshot)" "$N")
  t1=$(psql -tAc "select (extract(epoch from max(finished_at)) * 1e9)::bigint from analyses where head_sha like '$prefix%'")
  rate=$(python3 -c "print('%.1f' % ($N / (($t1 - $t0) / 1e9)))")
  ALL[$w]+="$rate "
  if [ -z "${RATE[$w]:-}" ] || python3 -c "import sys; sys.exit(0 if $rate > ${RATE[$w]} else 1)"; then RATE[$w]=$rate; fi
  if [ "$r" = 1 ]; then
    # Latency: L webhooks one at a time, 300 ms apart, with the workers idle; from the moment the
    # signed payload is handed to curl (sys_send's SYS_SENT_LOG) to the analysis's finished_at,
    # matched by delivery.
    lprefix=$(printf 'fe%02x' "$tok")
    : >"$SG_TMP/sent-$w"
    for i in $(seq 1 "$L"); do
      SYS_SENT_LOG="$SG_TMP/sent-$w" sys_send push "$(sys_push_payload "$(sha "$lprefix" "$i")")" >/dev/null
      sleep 0.3
    done
    SG_WAIT_S=120 sg_wait_for bash -c "[ \$(psql -tAc \"select count(*) from analyses where head_sha like '$lprefix%' and status='completed'\") -ge $L ]"
    psql -tAF' ' -c "select delivery, (extract(epoch from finished_at) * 1000)::bigint from analyses where head_sha like '$lprefix%'" >"$SG_TMP/done-$w"
    read -r P50[$w] P95[$w] < <(python3 - "$SG_TMP/sent-$w" "$SG_TMP/done-$w" <<'PY'
import sys
sent = dict(l.split() for l in open(sys.argv[1]) if l.strip())
done = dict(l.split() for l in open(sys.argv[2]) if l.strip())
lat = sorted(int(done[s]) - int(t) for s, t in sent.items() if s in done)
pick = lambda q: lat[min(len(lat) - 1, int(round(q * (len(lat) - 1))))]
print(pick(0.50), pick(0.95))
PY
)
  fi
  stop_workers "$count"
  printf 'round %s workers=%s  analyses/s=%s  latency p50=%s ms p95=%s ms  %s\n' "$r" "$w" "$rate" "${P50[$w]}" "${P95[$w]}" "$cpu"
done
done

# Findings rows per second: one analysis with FINDINGS_FILES*FINDINGS_LINES findings, all stored
# (MAX_STORED_FINDINGS raised); the worker logs the store step's time (row update + COPY + commit).
SYS_REPO=many SYS_REPO_ID=4343
total=$((FINDINGS_FILES * FINDINGS_LINES))
sys_start_worker f1 MAX_STORED_FINDINGS=$total MAX_ANNOTATIONS=50 LOG_LEVEL=info
best=0
for i in 1 2 3; do
  sys_send push "$(sys_push_payload "$(sha f1f1 "$i")")" >/dev/null
  SG_WAIT_S=300 sg_wait_for bash -c "[ \$(grep -c '\"msg\":\"job done\".*\"stored\":$total' '$SG_TMP/worker-f1.log') -ge $i ]"
  ms=$(grep '"msg":"job done"' "$SG_TMP/worker-f1.log" | tail -1 | sed 's/.*"store_ms":\([0-9]*\).*/\1/')
  rate=$(python3 -c "print(int($total / max($ms, 1) * 1000))")
  echo "findings: $total rows stored in $ms ms = $rate rows/s"
  [ "$rate" -gt "$best" ] && best=$rate
done
rows=$(psql -tAc "select count(*) from findings f join analyses a on a.id=f.analysis_id and a.created_at=f.analysis_created_at where a.head_sha like 'f1f1%'")

echo
echo "== bench-worker: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), GitHub API delay ${BENCH_API_DELAY_MS:-0} ms, N=$N webhooks per run, best of $ROUNDS rounds, L=$L latency samples, repository '$BENCH_REPO' ($(du -sh "$SG_TMP/repos/acme/widgets" | cut -f1))"
printf '| workers | analyses/s | vs 1 worker | latency p50 | latency p95 |\n|---:|---:|---:|---:|---:|\n'
# A count's ratios are against the first count of the same build ("2b" against "1b").
build_of() { [ "${1%b}" = "$1" ] && echo current || echo base; }
first_of_build() { local t; for t in $WORKERS; do [ "$(build_of "$t")" = "$(build_of "$1")" ] && { echo "$t"; return; }; done; }
for w in $WORKERS; do
  base=$(first_of_build "$w")
  printf '| %s | %s | %sx | %s ms | %s ms |\n' "$w" "${RATE[$w]}" \
    "$(python3 -c "print('%.2f' % (${RATE[$w]} / ${RATE[$base]}))")" "${P50[$w]}" "${P95[$w]}"
done
# The same-round ratios (each round runs every worker count back to back, so they share that
# moment's load): their median is steadier than the ratio of two bests.
for w in $WORKERS; do
  python3 - "$w" "${ALL[$w]}" "${ALL[$(first_of_build "$w")]}" <<'PY'
import statistics, sys
w, rates, base = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
pairs = [r / b for r, b in zip(rates, base)]
print("%s workers: rounds %s analyses/s; vs 1 worker per round %s, median %.2fx" % (
    w, " ".join("%.1f" % r for r in rates), " ".join("%.2f" % p for p in pairs), statistics.median(pairs)))
PY
done
echo "findings rows/s into PostgreSQL (COPY, best of 3, $total rows per analysis): $best  (rows in table: $rows)"
