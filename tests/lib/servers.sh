#!/usr/bin/env bash
# Why: every integration test starts its own redis-server and PostgreSQL on free loopback ports in
# a temp folder (memcached's t/lib idea) and removes them on exit, so tests never share state and
# never need a machine-wide service. Source this file; call sg_cleanup from an EXIT trap (done for
# you by sg_tmpdir).
#
#   . "$SG_SOURCE_DIR/tests/lib/servers.sh"
#   sg_tmpdir                 # sets SG_TMP, installs the EXIT trap
#   sg_start_redis            # sets REDIS_PORT, REDIS_URL
#   sg_start_postgres         # sets PG_PORT, DATABASE_URL, PGHOST/PGPORT/PGUSER/PGDATABASE
#   sg_stop_redis / sg_restart_redis / sg_stop_postgres / sg_restart_postgres

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
SG_PIDS=()

sg_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
sg_fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# A free TCP port on 127.0.0.1 (bind to 0, read the port, close).
sg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

sg_cleanup() {
  local rc=$?
  set +e
  for pid in "${SG_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  if [ -n "${SG_PG_DATA:-}" ] && [ -d "$SG_PG_DATA" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$SG_PG_DATA" -m immediate stop >/dev/null 2>&1
  fi
  if [ -n "${REDIS_PORT:-}" ]; then redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1; fi
  for pid in "${SG_PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  if [ -n "${SG_TMP:-}" ] && [ -z "${SG_KEEP_TMP:-}" ]; then rm -rf "$SG_TMP"; fi
  return $rc
}

sg_tmpdir() {
  SG_TMP=$(mktemp -d /tmp/sgtest.XXXXXX)
  chmod 755 "$SG_TMP"
  trap sg_cleanup EXIT
  trap 'exit 130' INT TERM
}

# Remembers a background pid for cleanup.
sg_track() { SG_PIDS+=("$1"); }

# Waits until "$@" succeeds, at most $SG_WAIT_S seconds (default 15).
sg_wait_for() {
  local deadline=$(( $(date +%s) + ${SG_WAIT_S:-15} ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

sg_start_redis() {
  REDIS_PORT=${REDIS_PORT:-$(sg_free_port)}
  mkdir -p "$SG_TMP/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$SG_TMP/redis" --save "" \
    --appendonly "${SG_REDIS_AOF:-yes}" --appendfsync everysec --daemonize no \
    --logfile "$SG_TMP/redis/redis.log" &
  SG_REDIS_PID=$!
  sg_track $SG_REDIS_PID
  sg_wait_for redis-cli -p "$REDIS_PORT" ping || sg_fail "redis-server did not start on $REDIS_PORT"
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  export REDIS_PORT REDIS_URL
}

sg_stop_redis() {
  redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || kill "$SG_REDIS_PID" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$SG_REDIS_PID" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$SG_REDIS_PID" 2>/dev/null
}

# Restart on the same port with the same data (AOF), as after a crash or an upgrade.
sg_restart_redis() {
  sg_stop_redis
  sg_start_redis
}

sg_start_postgres() {
  PG_PORT=${PG_PORT:-$(sg_free_port)}
  SG_PG_DATA="$SG_TMP/pg"
  if [ ! -d "$SG_PG_DATA" ]; then
    mkdir -p "$SG_PG_DATA"
    chown postgres:postgres "$SG_PG_DATA"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$SG_PG_DATA" -A trust -U postgres \
      --no-sync -E UTF8 >"$SG_TMP/initdb.log" 2>&1 || sg_fail "initdb failed: $(tail -5 "$SG_TMP/initdb.log")"
  fi
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$SG_PG_DATA" -w -t 30 -l "$SG_PG_DATA/server.log" \
    -o "-p $PG_PORT -k $SG_PG_DATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || sg_fail "postgres did not start: $(tail -5 "$SG_PG_DATA/server.log")"
  PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres
  export PGHOST PGPORT PGUSER
  if ! psql -d postgres -tAc "select 1 from pg_database where datname='singularity'" | grep -q 1; then
    psql -d postgres -qc "create database singularity" || sg_fail "create database failed"
  fi
  PGDATABASE=singularity
  DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/singularity"
  export PGDATABASE DATABASE_URL PG_PORT
}

sg_stop_postgres() {
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$SG_PG_DATA" -m fast -w stop >/dev/null 2>&1
}

sg_restart_postgres() {
  sg_stop_postgres
  sg_start_postgres
}

# Asserts: sg_eq EXPECTED ACTUAL MESSAGE
sg_eq() { [ "$1" = "$2" ] || sg_fail "$3: expected '$1', got '$2'"; }

# Counts of checks for the plain "N passed, N failed" closing line.
SG_PASSED=0
SG_FAILED=0
sg_check() { # sg_check NAME CMD...
  local name=$1; shift
  if "$@"; then SG_PASSED=$((SG_PASSED+1)); echo "ok - $name"; else SG_FAILED=$((SG_FAILED+1)); echo "not ok - $name"; fi
}
sg_summary() {
  echo "$SG_PASSED passed, $SG_FAILED failed"
  [ "$SG_FAILED" -eq 0 ]
}

# Starts the GitHub API simulator (tests/github-sim, see its README) with the test App key on a free
# port; extra arguments are passed on (e.g. --repos DIR --installation 1=octo/hello --record FILE).
# Sets GITHUB_SIM_PORT, GITHUB_API_URL, APP_ID, PRIVATE_KEY_PATH.
sg_start_github_sim() {
  local bin="$SG_BUILD_DIR/tests/github-sim/singularity-github-sim"
  APP_ID=${APP_ID:-12345}
  PRIVATE_KEY_PATH=${PRIVATE_KEY_PATH:-$SG_SOURCE_DIR/tests/fixtures/github/app-key.pem}
  : >"$SG_TMP/github-sim.out"
  "$bin" --port 0 --app-id "$APP_ID" --app-key "$PRIVATE_KEY_PATH" "$@" >>"$SG_TMP/github-sim.out" 2>&1 &
  SG_GITHUB_SIM_PID=$!
  sg_track $SG_GITHUB_SIM_PID
  sg_wait_for grep -q '^listening on ' "$SG_TMP/github-sim.out" || sg_fail "github simulator did not start: $(cat "$SG_TMP/github-sim.out")"
  GITHUB_SIM_PORT=$(sed -n 's/^listening on //p' "$SG_TMP/github-sim.out" | head -1)
  GITHUB_API_URL="http://127.0.0.1:$GITHUB_SIM_PORT"
  export APP_ID PRIVATE_KEY_PATH GITHUB_SIM_PORT GITHUB_API_URL
}

# A GitHub App JWT made with openssl alone (independent of the C code): sg_github_jwt KEY APP_ID.
sg_github_jwt() {
  local now b64 h c s
  now=$(date +%s)
  b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
  h=$(printf '{"alg":"RS256","typ":"JWT"}' | b64)
  c=$(printf '{"iat":%d,"exp":%d,"iss":"%s"}' $((now - 60)) $((now + 540)) "$2" | b64)
  s=$(printf '%s.%s' "$h" "$c" | openssl dgst -sha256 -sign "$1" -binary | b64)
  printf '%s.%s.%s' "$h" "$c" "$s"
}
