#!/usr/bin/env bash
# Why: the hostile inputs that once made the engine slow or big, measured with time and peak RSS
# so the bounds stay visible: 16 MiB of `github_pat_` repeated, an exclude glob of nine `**`
# against a file 30 and 40 folders deep, and an archive of 999,990 empty files. Give a second
# binary (for example one built from an older commit) to see both side by side. Runs by hand.
#
#   scripts/bench-analysis-hostile.sh [WORKDIR] [OTHER_BINARY]   (default /var/tmp/sg-hostile)
#   CAP=SECONDS bounds each run (default 120); a run stopped there shows as "> CAP".
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/var/tmp/sg-hostile}
BIN=${SG_ANALYZE:-build/worker/analysis/singularity-analyze}
OTHER=${2:-}
CAP=${CAP:-120}
[ -x "$BIN" ] || { echo "build first: $BIN missing" >&2; exit 2; }
mkdir -p "$WORK"
if [ ! -f "$WORK/pat/blob.txt" ]; then
  mkdir -p "$WORK/pat"
  python3 -c 'import sys; u=b"github_pat_"; n=16<<20; open(sys.argv[1],"wb").write((u*(n//len(u)+1))[:n])' \
    "$WORK/pat/blob.txt"
fi
for depth in 30 40; do
  d="$WORK/deep$depth"
  if [ ! -d "$d" ]; then
    p="$d/$(printf 'd/%.0s' $(seq "$depth"))"
    mkdir -p "$p" && echo x >"$p/zz" && echo 'int x;' >"$p/zy.c"
    echo 'exclude: ["**/**/**/**/**/**/**/**/**/zz"]' >"$d/.singularity.yml"
  fi
done
if [ ! -f "$WORK/empty.tar.gz" ]; then
  python3 - "$WORK/empty.tar.gz" <<'PY'
import gzip, sys
def header(name):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:107] = b"0000644"; h[124:135] = b"00000000000"; h[136:147] = b"00000000000"
    h[156] = ord("0"); h[257:263] = b"ustar\0"; h[263:265] = b"00"; h[148:156] = b" " * 8
    h[148:155] = b"%06o\0" % sum(h)
    return bytes(h)
with gzip.open(sys.argv[1], "wb", compresslevel=6) as f:
    for i in range(999990):
        f.write(header(b"top/src/d%03d/f%06d.c" % (i // 1000 % 1000, i)))
    f.write(b"\0" * 1024)
PY
fi
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
run() { # label which binary input
  local label=$1 which=$2 bin=$3 input=$4 rc
  /usr/bin/time -f "%e %M" -o "$OUT" timeout "$CAP" "$bin" "$input" --format json >/dev/null 2>&1 && rc=0 || rc=$?
  read -r wall rss < <(tail -n 1 "$OUT")
  [ "$rc" != 124 ] || wall="> $CAP"
  printf '%-34s %-6s %10s %12s\n' "$label" "$which" "$wall" "$(awk "BEGIN { printf \"%.1f\", $rss / 1024 }")"
}
printf '%-34s %-6s %10s %12s\n' input binary "wall s" "peak RSS MB"
for which in this ${OTHER:+other}; do
  b=$BIN
  [ "$which" = this ] || b=$OTHER
  run "16 MiB of github_pat_" "$which" "$b" "$WORK/pat"
  run "9x ** glob, file 30 folders deep" "$which" "$b" "$WORK/deep30"
  run "9x ** glob, file 40 folders deep" "$which" "$b" "$WORK/deep40"
  run "999,990 empty files (tar.gz)" "$which" "$b" "$WORK/empty.tar.gz"
done
