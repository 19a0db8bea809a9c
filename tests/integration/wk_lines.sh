#!/usr/bin/env bash
# Why: input a worker did not choose. Queue lines written to Redis by something other than the
# ingress (a NUL byte inside, 50 MB long, text after the job object) each end in
# analysis_queue:dead once, with their last error, while the worker's memory stays bounded and it
# goes on with the next job. A repository whose file names and configuration are not valid UTF-8
# still gets a completed check run: the simulator, like GitHub, answers any body that is not
# valid UTF-8 with 400.
set -uo pipefail
. "$SG_SOURCE_DIR/tests/lib/servers.sh"
. "$SG_SOURCE_DIR/tests/integration/system_lib.sh"
sg_tmpdir
SYS_REPOS=$SG_TMP/repos
mkdir -p "$SYS_REPOS"
cp -r "$SG_SOURCE_DIR/tests/fixtures/sample-repo/." "$SYS_REPOS/"
W=$SYS_REPOS/$SYS_OWNER/$SYS_REPO
# a finding in a file whose name is not UTF-8, and a config error whose quoted key (cut at 64
# bytes) ends inside a 2-byte character
printf 'KEY = "AKIAIOSFODNN7EXAMPLE"\n' >"$W/inv"$'\xff\xfe'".py"
printf '%s\xc3\xa9: 1\n' "$(printf 'k%.0s' $(seq 63))" >"$W/.singularity.yml"
sys_start_backends
SIM="http://127.0.0.1:$GITHUB_SIM_PORT"
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
job() { # job SHA [EXTRA_FIELD_BYTES] -> one job line (with a padding field of that many bytes)
  python3 -c '
import json, sys, time, uuid
j = {"v":1,"kind":"analyze","delivery":str(uuid.uuid4()),"event":"push","action":None,
  "installation":int(sys.argv[2]),"repo":{"id":int(sys.argv[3]),"full_name":sys.argv[4]},
  "sha":sys.argv[1],"ref":"refs/heads/main","base_sha":None,"pull":None,"force":False,
  "received_at":int(time.time()*1000),"attempt":0}
if int(sys.argv[5]): j["pad"] = "p" * int(sys.argv[5])
sys.stdout.write(json.dumps(j, separators=(",",":")))' \
    "$1" "$SYS_INSTALLATION" "$SYS_REPO_ID" "$SYS_OWNER/$SYS_REPO" "${2:-0}"
}
conclusion() { # SHA -> the conclusion of its completed check run (empty when there is none)
  curl -sf "$SIM/_sim/check-runs" | python3 -c "
import json,sys
print(''.join(c['conclusion'] for c in json.load(sys.stdin) if c['head_sha']==sys.argv[1] and c['status']=='completed'))" "$1"
}
runs() { curl -sf "$SIM/_sim/check-runs" | python3 -c "import json,sys; print(sum(c['head_sha']==sys.argv[1] for c in json.load(sys.stdin)))" "$1"; }
dead_count() { rcli llen analysis_queue:dead; }
held() { rcli llen "analysis_queue:processing:$(rcli zrange analysis_queue:workers 0 0)"; }
# the dead entry at INDEX: a JSON object with a last_error, checked by the Python expression
dead_entry() { rcli lindex analysis_queue:dead "$1" | python3 -c "import json,sys; d=json.loads(sys.stdin.buffer.read()); assert d['last_error'] and ($2), d" ; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# Peak RSS is the allocator's figure: under ASan (SG_SANITIZE) freed blocks wait in a quarantine
# and every realloc copies, so there the worker runs without the quarantine and the bound is wider.
RSS_MAX_MB=70
if grep -q '^SG_SANITIZE:BOOL=ON' "$SG_BUILD_DIR/CMakeCache.txt"; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0
  RSS_MAX_MB=200
fi
sys_start_worker w1
PID=$WORKER_PID_w1

echo "# 1. a file named inv\\xff\\xfe and a config error cut inside a character"
S1=d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1
rcli lpush analysis_queue "$(job $S1)" >/dev/null
SG_WAIT_S=60 sg_wait_for bash -c "[ -n \"\$(curl -sf $SIM/_sim/check-runs | grep -o '\"status\":\"completed\"')\" ]"
sg_check "the check run is completed (failure: the key is an error finding)" [ "$(conclusion $S1)" = failure ]
s1_output() { # the path and the config error as GitHub would show them
  curl -sf "$SIM/_sim/check-runs" >"$SG_TMP/runs.json"
  python3 - "$SG_TMP/runs.json" "$S1" <<'PY'
import json, sys
c = [c for c in json.load(open(sys.argv[1])) if c["head_sha"] == sys.argv[2]][0]
paths = [a["path"] for a in c["annotations"]]
assert "inv\ufffd\ufffd.py" in paths, paths
# the engine quotes at most 64 bytes of the key: the lead byte of the cut character is replaced
assert 'unknown setting "' + "k" * 63 + '\ufffd"' in c["output"]["summary"], c["output"]["summary"]
PY
}
sg_check "U+FFFD for each invalid byte in the annotation's path and the config error" s1_output
sg_check "no GitHub 400 in the worker's log" bash -c "! grep -q 'GitHub 400' '$SG_TMP/worker-w1.log'"

echo "# 2. a job line with a NUL byte"
S2=d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2
{ job $S2; printf '\0junk'; } | rcli -x lpush analysis_queue >/dev/null
SG_WAIT_S=20 sg_wait_for bash -c "[ \$(redis-cli -p $REDIS_PORT llen analysis_queue:dead) = 1 ]"
sleep 1
sg_check "dead-lettered once, whole, with its last error" dead_entry 0 "d['raw'].endswith('\\u0000junk') and d['raw_bytes'] == len(d['raw'])"
sg_check "nothing left in the worker's processing list or the queue" \
  bash -c "[ \$(redis-cli -p $REDIS_PORT llen analysis_queue) = 0 ] && [ \$(redis-cli -p $REDIS_PORT keys 'analysis_queue:processing:*' | grep -c .) = 0 ]"
sg_check "no check run for it" [ "$(runs $S2)" = 0 ]

echo "# 3. text after the job object"
S3=d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3
rcli lpush analysis_queue "$(job $S3) {\"more\":1}" >/dev/null
SG_WAIT_S=20 sg_wait_for bash -c "[ \$(redis-cli -p $REDIS_PORT llen analysis_queue:dead) = 2 ]"
sg_check "refused as unparseable, with its last error" dead_entry 0 "'text after the job object' in d['last_error']"
sg_check "no check run for it" [ "$(runs $S3)" = 0 ]

echo "# 4. a 50 MB job line"
S4=d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4
job $S4 $((50 * 1024 * 1024)) >"$SG_TMP/big.json"
BIG=$(stat -c %s "$SG_TMP/big.json")
before=$(hwm_kb "$PID")
rcli -x lpush analysis_queue <"$SG_TMP/big.json" >/dev/null
SG_WAIT_S=30 sg_wait_for bash -c "[ \$(redis-cli -p $REDIS_PORT llen analysis_queue:dead) = 3 ]"
after=$(hwm_kb "$PID")
echo "# worker peak RSS (VmHWM) before the line: $((before / 1024)) MB, after: $((after / 1024)) MB"
sg_check "dead-lettered unparsed with a last_error saying why, its size and its first KiB" \
  dead_entry 0 "d['last_error'] == 'job line of $BIG bytes is over the 1048576-byte limit; not parsed' and d['raw_bytes'] == $BIG and len(d['raw']) == 1024"
sg_check "the worker's peak RSS grew by one copy of the line at most ($(((after - before) / 1024)) MB < $RSS_MAX_MB MB)" \
  [ $((after - before)) -lt $((RSS_MAX_MB * 1024)) ]
sg_check "no check run for it" [ "$(runs $S4)" = 0 ]

echo "# 5. the worker goes on"
S5=d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5
rcli lpush analysis_queue "$(job $S5)" >/dev/null
SG_WAIT_S=60 sg_wait_for bash -c "[ -n \"\$(curl -sf $SIM/_sim/check-runs | python3 -c \"import json,sys; print(''.join(c['status'] for c in json.load(sys.stdin) if c['head_sha']=='$S5' and c['status']=='completed'))\")\" ]"
sg_check "the next job is completed by the same worker" [ -n "$(conclusion $S5)" ]
sg_check "the worker is still the one that started" kill -0 "$PID"
sg_check "each bad line dead-lettered once" [ "$(dead_count)" = 3 ]
sg_summary
