#!/usr/bin/env bash
# Why: the score and every default threshold are chosen on codebases engineers admire, not guessed.
# This script runs singularity-analyze on each reference codebase with the defaults and prints, as
# Markdown tables (docs/analysis.md shows them):
#   * per codebase: its score, what each kind of debt costs (score_breakdown), its findings per
#     rule and where the largest counts come from (rule x language);
#   * per kind of file (source, header, build, data, prose): the distribution across the reference
#     set's files of what the thresholds measure (file lines, file complexity, line length), and
#     how many files or lines each candidate threshold would flag.
# Run by hand when a rule, a threshold or the formula changes; not in CI (Linux alone is 1.2 GB).
#
#   scripts/calibrate.sh [DIR]     DIR holds the reference tarballs (default /work/calib)
#
# DIR/*.tar.gz are the codebases, as `git archive` or GitHub's tarball writes them (one top
# folder). Linux and glibc come from Debian's linux-source-6.1 and glibc-source packages and are
# recompressed once into DIR (gzip -1) when missing. singularity-analyze is built when missing
# (SG_ANALYZE=path uses another binary). The defaults are used: an empty --config file stands in
# for any .singularity.yml a codebase carries. Per-file data comes from --files (one JSON line per
# counted file, with the kind of file the engine decided).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-/work/calib}
BIN=${SG_ANALYZE:-build/worker/analysis/singularity-analyze}
[ -d "$DIR" ] || { echo "calibrate: no folder $DIR" >&2; exit 2; }
if [ -z "${SG_ANALYZE:-}" ]; then # always current: the numbers must be this tree's
  cmake -S . -B build -G Ninja >/dev/null && ninja -C build singularity-analyze >/dev/null
fi
[ -x "$BIN" ] || { echo "calibrate: $BIN missing" >&2; exit 2; }

recompress() { # name xz-file: DIR/name.tar.gz from a Debian source tarball, once
  local name=$1 xz=$2
  [ -f "$DIR/$name.tar.gz" ] && return 0
  [ -n "$xz" ] && [ -f "$xz" ] || { echo "calibrate: $name skipped (no $xz)" >&2; return 0; }
  echo "calibrate: preparing $DIR/$name.tar.gz from $xz" >&2
  xz -dc "$xz" | gzip -1 >"$DIR/$name.tar.gz.tmp" && mv "$DIR/$name.tar.gz.tmp" "$DIR/$name.tar.gz"
}
recompress linux /usr/src/linux-source-6.1.tar.xz
recompress glibc "$(ls /usr/src/glibc/glibc-*.tar.xz 2>/dev/null | head -1)"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
: >"$WORK/defaults.yml"
names=()
for t in "$DIR"/*.tar.gz; do
  [ -f "$t" ] || continue
  n=$(basename "$t" .tar.gz)
  # findings are only sampled (largest sources); rule_counts and the score are exact
  "$BIN" "$t" --format json --files "$WORK/$n.files" --config "$WORK/defaults.yml" \
    --max-findings 20000 >"$WORK/$n.json" || [ $? -eq 1 ]
  names+=("$n")
done
[ ${#names[@]} -gt 0 ] || { echo "calibrate: no *.tar.gz in $DIR" >&2; exit 2; }

engine=$(sed -n 's/^#define AN_ENGINE_VERSION "\(.*\)"/engine \1/p' worker/analysis/an_analysis.h)
python3 - "$DIR" "$WORK" "$engine, tree $(git describe --always --dirty 2>/dev/null || echo '?')" "${names[@]}" <<'PY'
import collections, json, sys, tarfile

tardir, work, version, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def kind(f):
    return f["kind"]

KINDS = ["source", "header", "build", "data", "prose"]
CAND = {"lines": [500, 1000, 2000, 3000, 5000, 10000],
        "complexity": [100, 200, 300, 500, 1000, 2000],
        "linelen": [80, 100, 120, 150, 200]}

def hist_pct(h, p):
    total = sum(h.values())
    if not total:
        return 0
    want, acc = p / 100.0 * total, 0
    for v in sorted(h):
        acc += h[v]
        if acc >= want:
            return v
    return max(h)

def fmt(n):
    return f"{n:,}".replace(",", " ")

CONT = bytes(range(0x80, 0xC0))  # UTF-8 continuation bytes: dropped, a line's length is code points

def line_lengths(tarpath, kinds_of):
    """Per kind, a histogram of line lengths over the files the engine counted."""
    h = {k: collections.Counter() for k in KINDS}
    with tarfile.open(tarpath, "r|gz") as tf:
        for m in tf:
            if not m.isreg():
                continue
            parts = m.name.split("/", 1)
            path = parts[1] if len(parts) == 2 else parts[0]
            k = kinds_of.get(path)
            if k is None:
                continue
            data = tf.extractfile(m).read().replace(b"\r\n", b"\n").translate(None, CONT)
            lines = data.split(b"\n")
            if lines and lines[-1] == b"":
                lines.pop()
            h[k].update(map(len, lines))
    return h

results, files_by = {}, {}
print(f"# Calibration: singularity-analyze on {len(names)} reference codebases ({tardir})\n")
print(f"`scripts/calibrate.sh {tardir}` ({version}), defaults "
      "(an empty configuration).\n")
print("| codebase | files | code lines | score | cost by kind of debt | findings per rule |")
print("|---|---:|---:|---:|---|---|")
for n in names:
    d = json.load(open(f"{work}/{n}.json"))
    results[n] = d
    files_by[n] = [json.loads(l) for l in open(f"{work}/{n}.files")]
    rc = d["rule_counts"]
    bd = d.get("score_breakdown")
    if bd is None:
        cost = "(no score_breakdown)"
    else:
        parts = [f"{b['kind']} -{b['cost']:.1f}" for b in bd if b["cost"] > 0]
        cost = ", ".join(parts) if parts else "none"
    rules = ", ".join(f"{k} {fmt(v)}" for k, v in sorted(rc.items())) or "none"
    t = d["totals"]
    print(f"| {n} | {fmt(t['files'])} | {fmt(t['code'])} | **{d['score']:.1f}** | {cost} | {rules} |")

print("\n## Largest sources of findings (rule, language; from up to 20 000 kept findings per rule)\n")
for n in names:
    d = results[n]
    lang = {f["path"]: f["language"] for f in files_by[n]}
    c = collections.Counter((f["rule"], lang.get(f["path"], "(no language)")) for f in d["findings"])
    top = ", ".join(f"{r} {l} {fmt(v)}" for (r, l), v in c.most_common(8)) or "none"
    print(f"* {n}: {top}")

# ---- distributions of what the thresholds measure, per kind of file ----
def dist_table(title, unit, pcts, cands, hist_of):
    """One row per codebase, then the pooled set and the median codebase (Linux has most files:
    the pooled row is mostly Linux, the median row weighs every codebase the same). hist_of(n, k)
    is a histogram (value -> how many files or lines) of codebase n's files of kind k."""
    print(f"\n## {title}\n")
    print(f"| kind | codebase | {unit} | " + " | ".join(f"p{p:g}" for p in pcts) + " | max | " +
          " | ".join(f"> {c}" for c in cands) + " |")
    print("|---|---|---:|" + "---:|" * (len(pcts) + 1 + len(cands)))
    for k in KINDS:
        stats = [(n, hist_of(n, k)) for n in names]
        stats = [(n, h) for n, h in stats if h]
        pooled = collections.Counter()
        for _, h in stats:
            pooled.update(h)
        per = [h for _, h in stats]
        if pooled:
            stats.append(("**all**", pooled))
        for n, h in stats:
            over = [sum(v for x, v in h.items() if x > c) for c in cands]
            print(f"| {k} | {n} | {fmt(sum(h.values()))} | " +
                  " | ".join(fmt(hist_pct(h, p)) for p in pcts) +
                  f" | {fmt(max(h))} | " + " | ".join(fmt(o) for o in over) + " |")
        if len(per) > 1:
            med = lambda xs: sorted(xs)[len(xs) // 2]
            print(f"| {k} | *median codebase* | | " +
                  " | ".join(fmt(med([hist_pct(h, p) for h in per])) for p in pcts) + " | | " +
                  " | ".join("" for _ in cands) + " |")

def per_file(getter):
    return lambda n, k: collections.Counter(getter(f) for f in files_by[n] if kind(f) == k)

FPCTS = (50, 90, 95, 99, 99.9)
dist_table("File lines (code + comment + blank) per file, and files over each candidate limit",
           "files", FPCTS, CAND["lines"], per_file(lambda f: f["lines"]))
dist_table("File complexity (decision points) per file, and files over each candidate limit",
           "files", FPCTS, CAND["complexity"], per_file(lambda f: f["complexity"]))
hists = {}
for n in names:
    hists[n] = line_lengths(f"{tardir}/{n}.tar.gz", {f["path"]: kind(f) for f in files_by[n]})
dist_table("Line length (code points) per line, and lines over each candidate limit", "lines",
           (99, 99.9, 99.95, 99.99), CAND["linelen"], lambda n, k: hists[n][k])
PY
