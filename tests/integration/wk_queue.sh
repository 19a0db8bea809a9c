#!/usr/bin/env bash
# Why: runs the queue's Lua scripts (worker/wk_queue.c) against a real redis-server on a free port.
set -euo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
sg_tmpdir
sg_start_redis
"$SG_BUILD_DIR/tests/test_worker_queue_redis"
