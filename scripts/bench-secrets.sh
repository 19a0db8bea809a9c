#!/usr/bin/env bash
# Why: the secret rules must cost little next to counting. One run on the same machine measures
# singularity-analyze (all secret rules on) on the glibc and Linux tarballs against a build without
# them (SG_BASE_ANALYZE: the same tree configured with -DSG_BENCH_NO_SECRETS=ON, or an older
# commit's build), tokei on one thread and
# `gitleaks dir` on the extracted trees. Prints wall time, CPU time, peak RSS and ratios. Run by
# hand, not in CI.
#
#   SG_BASE_ANALYZE=/tmp/sg-base/build/worker/analysis/singularity-analyze \
#     scripts/bench-secrets.sh [WORKDIR]          (default /var/tmp/sg-secrets)
#   GITLEAKS_LINUX=1 also runs gitleaks on the Linux tree (tens of minutes)
#   HS_SETS="lits pre lits+pre" then also times the Hyperscan pass alone, set by set, on the first
#   MB (default 300) megabytes of the Linux tree's text (scripts/bench/secrets/hs_sets.c)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/var/tmp/sg-secrets}
BIN=${SG_ANALYZE:-build/worker/analysis/singularity-analyze}
BASE=${SG_BASE_ANALYZE:-}
command -v tokei >/dev/null || PATH=$PATH:$HOME/.cargo/bin
command -v gitleaks >/dev/null || PATH=$PATH:$HOME/go/bin
[ -x "$BIN" ] || { echo "build first: $BIN missing" >&2; exit 2; }
mkdir -p "$WORK"
prep() { # name source.tar.xz
  if [ ! -f "$WORK/$1.tar.gz" ] || [ ! -d "$WORK/$1" ]; then
    echo "preparing $WORK/$1.tar.gz and $WORK/$1 (once)" >&2
    xz -dc "$2" | gzip -6 >"$WORK/$1.tar.gz.tmp" && mv "$WORK/$1.tar.gz.tmp" "$WORK/$1.tar.gz"
    mkdir -p "$WORK/$1.tmp" && tar -xzf "$WORK/$1.tar.gz" -C "$WORK/$1.tmp" && mv "$WORK/$1.tmp" "$WORK/$1"
  fi
  cat "$WORK/$1.tar.gz" >/dev/null # page cache
  tar -cf - -C "$WORK/$1" . >/dev/null
}
prep glibc "$(ls /usr/src/glibc/glibc-*.tar.xz | head -n 1)"
prep linux /usr/src/linux-source-6.1.tar.xz

OUT=$(mktemp)
trap 'rm -f "$OUT" "$OUT.rows" "$OUT.gitleaks.json"' EXIT
run() { # label cmd...
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$OUT" "$@" >/dev/null 2>&1 || true
  read -r wall user sys rss < <(tail -n 1 "$OUT")
  printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$wall" "$user" "$sys" "$rss"
}
for t in glibc linux; do
  {
    run "singularity-analyze $t.tar.gz" "$BIN" "$WORK/$t.tar.gz" --format json
    [ -z "$BASE" ] || run "without secret rules $t.tar.gz" "$BASE" "$WORK/$t.tar.gz" --format json
    run "singularity-analyze $t.tar.gz (again)" "$BIN" "$WORK/$t.tar.gz" --format json
    [ -z "$BASE" ] || run "without secret rules (again)" "$BASE" "$WORK/$t.tar.gz" --format json
    run "tokei $t tree (1 thread)" env RAYON_NUM_THREADS=1 tokei "$WORK/$t"
    if command -v gitleaks >/dev/null && { [ "$t" = glibc ] || [ -n "${GITLEAKS_LINUX:-}" ]; }; then
      run "gitleaks dir $t tree" gitleaks dir "$WORK/$t" --no-banner --log-level error --exit-code 0 \
        --report-format json --report-path "$OUT.gitleaks.json"
    fi
  } >>"$OUT.rows"
done
python3 - "$OUT.rows" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
# CPU time (user + sys) is the steady figure on a shared machine; wall time is printed too
print(f"{'tool':42} {'wall s':>8} {'cpu s':>8} {'peak RSS MB':>12} {'cpu / ours':>11}")
base = None
for label, wall, user, sys_, rss in rows:
    cpu = float(user) + float(sys_)
    if label.startswith("singularity-analyze") and "again" not in label:
        base = cpu
    print(f"{label:42} {float(wall):8.2f} {cpu:8.2f} {int(rss)/1024:12.1f} {cpu/base:10.2f}x")
PY
if [ -n "${HS_SETS:-}" ]; then
  HSX=$(mktemp -d)
  trap 'rm -rf "$HSX" "$OUT" "$OUT.rows" "$OUT.gitleaks.json"' EXIT
  cc -O2 -o "$HSX/hs_sets" scripts/bench/secrets/hs_sets.c worker/analysis/an_secret_rules.c \
    -Iworker/analysis -Icommon -lhs
  # shellcheck disable=SC2086 # one argument per set
  find "$WORK/linux" -type f -size -1000k | sort | "$HSX/hs_sets" $HS_SETS
fi
