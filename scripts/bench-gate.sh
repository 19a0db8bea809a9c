#!/usr/bin/env bash
# Why: the new-code gate must not be what a job waits on (DESIGN.md section 9). Measured here, by
# hand (not CI), on a real worker, PostgreSQL and the GitHub simulator: a pull request whose base
# and head have N findings each (default 100,000; 90% shared) is analysed with its base analysed
# in the same job, then a second pull request on the same base (no second download); the worker's
# log gives classify_us and store_ms (the analysis row with every fingerprint and the capped
# findings' COPY, one transaction). Then migration 0005 is timed on a database whose analyses
# and findings tables already hold BENCH_GATE_ROWS findings rows (default 2,000,000).
#
#   scripts/bench-gate.sh            Env: BENCH_GATE_FINDINGS (100000), BENCH_GATE_ROWS (2000000)
set -euo pipefail
cd "$(dirname "$0")/.."
export SG_SOURCE_DIR=$PWD SG_BUILD_DIR=${SG_BUILD_DIR:-$PWD/build}
N=${BENCH_GATE_FINDINGS:-100000}
ROWS=${BENCH_GATE_ROWS:-2000000}
. tests/lib/servers.sh
. tests/integration/system_lib.sh
sg_tmpdir
R="$SG_TMP/repos/$SYS_OWNER"
B=$(printf 'b%039x' 1) H=$(printf 'c%039x' 1) H2=$(printf 'c%039x' 2)
mkdir -p "$R/$SYS_REPO" "$R/$SYS_REPO@$B" "$R/$SYS_REPO@$H" "$R/$SYS_REPO@$H2"
# one finding per line (trailing white space), split over files of 5,000 lines
python3 - "$R/$SYS_REPO@$B" "$R/$SYS_REPO@$H" "$R/$SYS_REPO@$H2" "$N" <<'PY'
import os, sys
base, head, head2, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def write(d, lo, hi):  # line i always in file i // 5000, so shared lines share their path
    for f in range(lo // 5000, (hi + 4999) // 5000):
        with open(os.path.join(d, f"f{f:04d}.py"), "w") as o:
            o.writelines(f"v{i} = {i} \n" for i in range(max(lo, f * 5000), min(hi, f * 5000 + 5000)))
write(base, 0, n)
write(head, n // 10, n + n // 10)
write(head2, n // 5, n + n // 5)
PY
SYS_REPOS="$SG_TMP/repos" sys_start_backends
sys_start_ingress
sys_start_worker b MAX_STORED_FINDINGS=1000
sys_send pull_request "$(sys_pr_payload opened "$H" "$B" 1)" >/dev/null
sys_wait_check_runs 1 600
sys_send pull_request "$(sys_pr_payload opened "$H2" "$B" 2)" >/dev/null
sys_wait_check_runs 2 600
SG_WAIT_S=60 sg_wait_for bash -c "[ \$(grep -c '\"msg\":\"job done\"' '$SG_TMP/worker-b.log') -ge 2 ]"
echo "== $N + $N findings (worker log: job done)"
grep '"msg":"job done"' "$SG_TMP/worker-b.log" | python3 -c '
import json, sys
for l in sys.stdin:
    j = json.loads(l)
    print("findings %7d  stored %5d  classify %6.2f ms  store %4d ms  job %d ms" % (j["findings"], j["stored"], j["classify_us"] / 1000, j["store_ms"], j["dur_ms"]))'
echo "tarball downloads of the base: $(curl -sf "http://127.0.0.1:$GITHUB_SIM_PORT/_sim/requests" | python3 -c "import json,sys; print(sum(1 for q in json.load(sys.stdin) if q.get('path','').endswith('/tarball/' + sys.argv[1])))" "$B")"
psql -tAc "select head_sha, trigger, new_findings, fixed_findings, findings_total, pg_column_size(fingerprints) from analyses order by id"

echo "== migration 0005 on $ROWS findings rows"
psql -qc "create database upg"
DATABASE_URL_UPG="${DATABASE_URL%/*}/upg"
mkdir -p "$SG_TMP/mig" && cp migrations/000[123]_*.sql "$SG_TMP/mig/"
for f in "$SG_TMP"/mig/*.sql; do psql -q -1 -d upg -f "$f" >/dev/null; done
psql -q -d upg -c "select singularity_ensure_partitions(1)" >/dev/null
psql -q -d upg <<SQL
insert into analyses (repository_id, head_sha, trigger, engine_version, status, score, findings_total)
  select i % 500, md5(i::text), 'push', '1', 'completed', 8.0, 20 from generate_series(1, $ROWS / 20) i;
insert into findings (analysis_id, analysis_created_at, ordinal, path, line, rule, severity, message)
  select a.id, a.created_at, o, 'src/file.c', o, 'STY002', 'notice', 'trailing whitespace'
  from analyses a, generate_series(0, 19) o;
analyze;
SQL
psql -tAc "select count(*) from findings" -d upg | sed 's/^/findings rows: /'
start=$(date +%s%N)
psql -q -1 -d upg -v ON_ERROR_STOP=1 -f migrations/0005_new_code_gate.sql
echo "migration 0005: $(( ($(date +%s%N) - start) / 1000000 )) ms"
psql -tAc "select count(*) from findings where is_new is null" -d upg | sed 's/^/old rows still readable (is_new null): /'
