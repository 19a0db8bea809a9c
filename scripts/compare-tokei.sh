#!/usr/bin/env bash
# Why: code lines for C, C Header, Makefile and Shell must agree with tokei within 1% on the
# Linux kernel and glibc; this script reproduces that comparison (and shows scc beside it,
# run with --no-gitignore --no-ignore because Debian's kernel tree ignores everything).
#
#   scripts/compare-tokei.sh [WORKDIR]        (default /var/tmp/sg-compare; needs ~4 GB)
#
# Inputs: Debian's linux-source-6.1 (/usr/src/linux-source-6.1.tar.xz) and glibc-source
# (/usr/src/glibc/glibc-*.tar.xz); tokei (`cargo install tokei`), scc (`go install
# github.com/boyter/scc/v3@latest`, optional). singularity-analyze runs on the .tar.gz (streaming,
# as the worker does) with default_excludes off and a large max_file_bytes, so it counts the same
# files tokei counts. Exit status 1 when a required language is more than 1% off.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/var/tmp/sg-compare}
BIN=${SG_ANALYZE:-build/worker/analysis/singularity-analyze}
mkdir -p "$WORK"
[ -x "$BIN" ] || { echo "build first: $BIN missing" >&2; exit 2; }
command -v tokei >/dev/null || PATH=$PATH:$HOME/.cargo/bin
command -v scc >/dev/null || PATH=$PATH:$HOME/go/bin

prepare() { # name xz-file -> $WORK/name.tar.gz and $WORK/name/ (extracted)
  local name=$1 xz=$2
  [ -f "$xz" ] || { echo "missing $xz (apt-get install linux-source-6.1 glibc-source)" >&2; exit 2; }
  if [ ! -f "$WORK/$name.tar.gz" ]; then
    echo "preparing $WORK/$name.tar.gz" >&2
    xz -dc "$xz" | gzip -6 >"$WORK/$name.tar.gz.tmp" && mv "$WORK/$name.tar.gz.tmp" "$WORK/$name.tar.gz"
  fi
  if [ ! -d "$WORK/$name" ]; then
    mkdir -p "$WORK/$name.tmp" && tar -xzf "$WORK/$name.tar.gz" -C "$WORK/$name.tmp" && mv "$WORK/$name.tmp" "$WORK/$name"
  fi
}

printf 'default_excludes: false\n' >"$WORK/all.yml"
status=0
for spec in "linux:/usr/src/linux-source-6.1.tar.xz" "glibc:$(ls /usr/src/glibc/glibc-*.tar.xz 2>/dev/null | head -1)"; do
  name=${spec%%:*}; xz=${spec#*:}
  prepare "$name" "$xz"
  "$BIN" "$WORK/$name.tar.gz" --format json --config "$WORK/all.yml" --max-file-bytes 268435456 >"$WORK/$name.sg.json" || [ $? -eq 1 ]
  tokei -o json "$WORK/$name" >"$WORK/$name.tokei.json"
  if command -v scc >/dev/null; then
    scc --no-gitignore --no-ignore -f json "$WORK/$name" >"$WORK/$name.scc.json"
  else
    echo '[]' >"$WORK/$name.scc.json"
  fi
  python3 - "$name" "$WORK/$name.sg.json" "$WORK/$name.tokei.json" "$WORK/$name.scc.json" <<'PY' || status=1
import json, sys
name, sgp, tkp, scp = sys.argv[1:5]
sg = {l["name"]: l for l in json.load(open(sgp))["languages"]}
tk = json.load(open(tkp))
sc = {l["Name"]: l for l in json.load(open(scp))}
required = ["C", "C Header", "Makefile", "Shell"]
shown = required + ["GNU Style Assembly", "Assembly", "Python", "Perl", "Markdown", "Plain Text", "Device Tree", "YAML"]
print(f"\n{name}: code lines (comment lines)  singularity vs tokei vs scc")
print(f"{'language':20} {'files sg/tokei':>15} {'singularity':>22} {'tokei':>22} {'diff':>8} {'scc':>22}")
bad = False
for lang in shown:
    s, t, c = sg.get(lang), tk.get(lang), sc.get(lang)
    if not s and not t:
        continue
    sc_code = f"{c['Code']} ({c['Comment']})" if c else "-"
    scode = s["code"] if s else 0
    tcode = t["code"] if t else 0
    diff = (scode - tcode) / tcode * 100 if tcode else 0.0
    mark = ""
    if lang in required and abs(diff) > 1.0:
        bad, mark = True, "  > 1%!"
    print(f"{lang:20} {(s['files'] if s else 0):>7}/{(len(t['reports']) if t else 0):<7} "
          f"{scode:>11} ({(s['comment'] if s else 0):>8}) {tcode:>11} ({(t['comments'] if t else 0):>8}) "
          f"{diff:>+7.2f}% {sc_code:>22}{mark}")
sys.exit(1 if bad else 0)
PY
done
exit $status
