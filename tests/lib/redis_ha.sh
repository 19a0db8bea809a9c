#!/usr/bin/env bash
# Why: Redis as production runs it, on loopback in the test's temp folder: a test CA and a TLS
# server, and a primary with replicas watched by sentinels. Source after tests/lib/servers.sh.
#
#   sg_tls_ca NAME                 # $SG_TMP/tls/NAME/{ca.pem,server.pem,server.key} for localhost/127.0.0.1
#   sg_start_redis_tls CA_NAME     # sets REDIS_TLS_PORT (no plain port) and SG_REDIS_TLS_PID
#   (SG_REDIS_AOF=yes: append-only file, fsync every second, as tests/lib/servers.sh's Redis)
#   sg_start_redis_node NAME [PRIMARY_PORT]  # a primary, or a replica of 127.0.0.1:PRIMARY_PORT;
#                                  # sets SG_NODE_PORT and SG_NODE_PID
#   sg_start_sentinel NAME PRIMARY_PORT QUORUM   # sets SG_NODE_PORT and SG_NODE_PID

# A CA and a server certificate for localhost and 127.0.0.1 signed by it.
sg_tls_ca() {
  local d="$SG_TMP/tls/$1"
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test CA $1" \
    -keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1 || sg_fail "openssl: CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1 || sg_fail "openssl: CSR"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$d/ext.cnf"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/ext.cnf" -out "$d/server.pem" >/dev/null 2>&1 || sg_fail "openssl: sign"
}

sg_start_redis_tls() {
  local d="$SG_TMP/tls/$1"
  REDIS_TLS_PORT=$(sg_free_port)
  mkdir -p "$SG_TMP/redis-tls"
  redis-server --port 0 --tls-port "$REDIS_TLS_PORT" --bind 127.0.0.1 \
    --tls-cert-file "$d/server.pem" --tls-key-file "$d/server.key" --tls-ca-cert-file "$d/ca.pem" \
    --tls-auth-clients no --appendfsync everysec --dir "$SG_TMP/redis-tls" --save "" --appendonly "${SG_REDIS_AOF:-no}" \
    --logfile "$SG_TMP/redis-tls/redis.log" &
  SG_REDIS_TLS_PID=$!
  sg_track $SG_REDIS_TLS_PID
  sg_wait_for redis-cli --tls --cacert "$d/ca.pem" -p "$REDIS_TLS_PORT" ping ||
    sg_fail "TLS redis-server did not start: $(tail -3 "$SG_TMP/redis-tls/redis.log")"
}

sg_start_redis_node() {
  local name=$1 primary=${2:-}
  SG_NODE_PORT=$(sg_free_port)
  mkdir -p "$SG_TMP/$name"
  local args=(--port "$SG_NODE_PORT" --bind 127.0.0.1 --dir "$SG_TMP/$name" --save ""
    --appendonly "${SG_REDIS_AOF:-no}" --appendfsync everysec --logfile "$SG_TMP/$name/redis.log" --repl-diskless-sync yes
    --repl-diskless-sync-delay 0)
  [ -n "$primary" ] && args+=(--replicaof 127.0.0.1 "$primary")
  redis-server "${args[@]}" &
  SG_NODE_PID=$!
  sg_track $SG_NODE_PID
  sg_wait_for redis-cli -p "$SG_NODE_PORT" ping || sg_fail "redis $name did not start"
}

# A sentinel watching 127.0.0.1:PRIMARY_PORT as "mymaster"; fast timings so a failover takes a
# couple of seconds, not the production 30 s.
sg_start_sentinel() {
  local name=$1 primary=$2 quorum=$3
  SG_NODE_PORT=$(sg_free_port)
  mkdir -p "$SG_TMP/$name"
  cat >"$SG_TMP/$name/sentinel.conf" <<CONF
port $SG_NODE_PORT
bind 127.0.0.1
dir $SG_TMP/$name
logfile $SG_TMP/$name/sentinel.log
sentinel monitor mymaster 127.0.0.1 $primary $quorum
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 10000
sentinel parallel-syncs mymaster 2
CONF
  redis-server "$SG_TMP/$name/sentinel.conf" --sentinel &
  SG_NODE_PID=$!
  sg_track $SG_NODE_PID
  sg_wait_for redis-cli -p "$SG_NODE_PORT" ping || sg_fail "sentinel $name did not start"
}

# sg_wait_s SECONDS CMD...: sg_wait_for with its own limit (usable as sg_check's command).
sg_wait_s() {
  local s=$1
  shift
  SG_WAIT_S=$s sg_wait_for "$@"
}
