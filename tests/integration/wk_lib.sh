# Why: what the worker integration tests share: the backends (Redis, PostgreSQL, the GitHub
# simulator, started on sourcing), job lines as the ingress writes them, the simulator's fault
# switch, a table lock that stalls a worker's claim, and the questions every section asks (how
# many check runs and analysis rows a commit has).
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
. "$SG_SOURCE_DIR/tests/integration/system_lib.sh"
sg_tmpdir
sys_start_backends
SIM="http://127.0.0.1:$GITHUB_SIM_PORT"

job() { # job SHA [REPO] [FORCE] -> one job line
  python3 -c '
import json, sys, time, uuid
sha, repo, force = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
print(json.dumps({"v":1,"kind":"analyze","delivery":str(uuid.uuid4()),"event":"push","action":None,
  "installation":int(sys.argv[4]),"repo":{"id":int(sys.argv[5]) if repo.endswith("widgets") else 999,"full_name":repo},
  "sha":sha,"ref":"refs/heads/main","base_sha":None,"pull":None,"force":force,
  "received_at":int(time.time()*1000),"attempt":0}, separators=(",",":")))' \
    "$1" "${2:-$SYS_OWNER/$SYS_REPO}" "${3:-0}" "$SYS_INSTALLATION" "$SYS_REPO_ID"
}
enqueue() { redis-cli -p "$REDIS_PORT" lpush analysis_queue "$1" >/dev/null; }
fault() { curl -sf -X POST "$SIM/_sim/faults" -H 'Content-Type: application/json' -d "$1" >/dev/null; }
clear_faults() { curl -sf -X DELETE "$SIM/_sim/faults" >/dev/null; }
runs_for() { sys_check_runs | python3 -c "import json,sys; print(sum(1 for c in json.load(sys.stdin) if c['head_sha']==sys.argv[1]))" "$1"; }
completed_for() { sys_check_runs | python3 -c "import json,sys; print(sum(1 for c in json.load(sys.stdin) if c['head_sha']==sys.argv[1] and c['status']=='completed'))" "$1"; }
wait_completed() { SG_WAIT_S=${2:-60} sg_wait_for bash -c "[ \"\$(curl -sf $SIM/_sim/check-runs | python3 -c \"import json,sys; print(sum(1 for c in json.load(sys.stdin) if c['head_sha']=='$1' and c['status']=='completed'))\")\" -ge 1 ]"; }
rows() { psql -tAc "select count(*) from analyses where head_sha='$1' $2"; }

# A claim stalled behind a table lock held SECONDS (statement timeout 30 s): no stop hook can cut
# it short. Sets LOCK_PID; lock_waiting is true once a worker waits on it.
lock_installations() { # SECONDS
  psql -qc "begin; lock table installations in access exclusive mode; select pg_sleep($1); commit" >/dev/null &
  LOCK_PID=$!
  sleep 0.3
}
lock_waiting() { [ "$(psql -tAc "select count(*) from pg_stat_activity where application_name = 'singularity-worker' and wait_event_type = 'Lock'")" -ge 1 ]; }
wait_lock_waiting() { for _ in $(seq 50); do lock_waiting && break; sleep 0.1; done; }
