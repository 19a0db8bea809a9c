# Why: what the worker integration tests share (sourced after system_lib.sh and
# sys_start_backends): job lines as the ingress writes them, the simulator's fault switch, and the
# questions every section asks (how many check runs and analysis rows a commit has).
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
