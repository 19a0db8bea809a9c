#!/usr/bin/env bash
# Why: the engine's speed targets, measured side by side in one run on the same machine: the engine
# decompressing and analysing the Linux kernel tar.gz on one thread (as the worker streams it)
# against `gzip -dc` of the same file, tokei and scc counting the extracted tree with one and two
# threads, and cloc. Prints wall time, CPU time, peak RSS and ratios. Run by hand, not in CI.
#
#   scripts/bench-analysis.sh [WORKDIR]     (default /var/tmp/sg-compare, shared with compare-tokei.sh)
#   SKIP_CLOC=1 to leave out cloc (about 100 s)
#   SG_ANALYZE_OTHER=BINARY [ROUNDS=5]: instead, this engine against another build of it (say,
#   an older commit's) on the tar.gz only, alternating in each round, medians at the end. The
#   fingerprints' cost: the other build configured with -DSG_BENCH_NO_FINGERPRINTS=ON (the same
#   engine without its fingerprint step; its JSON then differs in the fingerprints only)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/var/tmp/sg-compare}
BIN=${SG_ANALYZE:-build/worker/analysis/singularity-analyze}
command -v tokei >/dev/null || PATH=$PATH:$HOME/.cargo/bin
command -v scc >/dev/null || PATH=$PATH:$HOME/go/bin
[ -x "$BIN" ] || { echo "build first: $BIN missing" >&2; exit 2; }
TGZ=$WORK/linux.tar.gz TREE=$WORK/linux
if [ -n "${SG_ANALYZE_OTHER:-}" ]; then
  [ -f "$TGZ" ] || { mkdir -p "$WORK"; xz -dc /usr/src/linux-source-6.1.tar.xz | gzip -6 >"$TGZ.tmp" && mv "$TGZ.tmp" "$TGZ"; }
  cat "$TGZ" >/dev/null
  "$BIN" "$TGZ" --format json >"$WORK/this.json" || true
  "$SG_ANALYZE_OTHER" "$TGZ" --format json >"$WORK/other.json" || true
  cmp -s "$WORK/this.json" "$WORK/other.json" && echo "same JSON from both" || echo "the JSON differs"
  T=$(mktemp)
  for r in $(seq "${ROUNDS:-5}"); do
    for which in this other; do
      b=$BIN
      [ "$which" = this ] || b=$SG_ANALYZE_OTHER
      /usr/bin/time -f "%e %U %M" -o "$T" "$b" "$TGZ" --format json >/dev/null 2>&1 || true
      echo "$which $r $(tail -n 1 "$T")"
    done
  done | tee "$T.rows"
  python3 - "$T.rows" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
for which in ("this", "other"):
    w = [float(r[2]) for r in rows if r[0] == which]; u = [float(r[3]) for r in rows if r[0] == which]
    m = [int(r[4]) for r in rows if r[0] == which]
    print(f"{which:6} median wall {statistics.median(w):7.2f} s  user {statistics.median(u):7.2f} s  peak RSS {max(m)/1024:6.1f} MB  ({len(w)} rounds)")
PY
  rm -f "$T" "$T.rows"
  exit 0
fi
if [ ! -f "$TGZ" ] || [ ! -d "$TREE" ]; then
  echo "preparing $TGZ and $TREE (once)" >&2
  mkdir -p "$WORK"
  xz -dc /usr/src/linux-source-6.1.tar.xz | gzip -6 >"$TGZ.tmp" && mv "$TGZ.tmp" "$TGZ"
  mkdir -p "$TREE.tmp" && tar -xzf "$TGZ" -C "$TREE.tmp" && mv "$TREE.tmp" "$TREE"
fi
TREE=$(cd "$TREE" && pwd -P) # cloc does not follow a symlinked root
# warm the page cache for both inputs so every tool reads from memory
cat "$TGZ" >/dev/null
tar -cf - -C "$TREE" . >/dev/null

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
run() { # label cmd...
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$OUT" "$@" >/dev/null 2>&1 || true
  read -r wall user sys rss < <(tail -n 1 "$OUT") # (time prefixes a line when the exit status is not 0)
  printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$wall" "$user" "$sys" "$rss"
}
{
  run "singularity-analyze tar.gz (1 thread)" "$BIN" "$TGZ" --format json
  run "gzip -dc tar.gz" gzip -dc "$TGZ"
  run "tokei tree (1 thread)" env RAYON_NUM_THREADS=1 tokei "$TREE"
  run "tokei tree (2 threads)" env RAYON_NUM_THREADS=2 tokei "$TREE"
  if command -v scc >/dev/null; then
    run "scc tree (1 thread)" env GOMAXPROCS=1 scc --no-gitignore --no-ignore --directory-walker-job-workers 1 --file-process-job-workers 1 "$TREE"
    run "scc tree (2 threads)" env GOMAXPROCS=2 scc --no-gitignore --no-ignore --directory-walker-job-workers 2 --file-process-job-workers 2 "$TREE"
  fi
  [ -n "${SKIP_CLOC:-}" ] || run "cloc tree" cloc --quiet "$TREE"
} >"$OUT.rows"
python3 - "$OUT.rows" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
base = float(rows[0][1])
print(f"{'tool':40} {'wall s':>8} {'user s':>8} {'sys s':>7} {'peak RSS MB':>12} {'wall / singularity':>19}")
for label, wall, user, sys_, rss in rows:
    print(f"{label:40} {float(wall):8.2f} {float(user):8.2f} {float(sys_):7.2f} {int(rss)/1024:12.1f} {float(wall)/base:18.2f}x")
PY
rm -f "$OUT.rows"
