#!/usr/bin/env python3
# Why: gitleaks is the reference for the SEC rules. Given gitleaks' JSON report and
# singularity-analyze's JSON for the same tree, every line gitleaks flags must be flagged by a SEC
# rule at the same path and line, except the misses listed with a reason in known-misses.txt;
# lines only we flag must stay under 2% of gitleaks' lines. Prints the figures and the lists.
# Usage: oracle.py GITLEAKS.json SINGULARITY.json KNOWN_MISSES.txt
import json
import re
import sys

gl_path, sg_path, known_path = sys.argv[1:4]
gl = json.load(open(gl_path))
sg = json.load(open(sg_path))

def rel(p):
    # gitleaks reports paths as given (corpus/tp/...); ours are relative to the tree root
    m = re.search(r'(?:^|/)((?:tp|fp)/.*)$', p)
    return m.group(1) if m else p

theirs = {}
for f in gl:  # a path-only finding is line 0 for gitleaks, line 1 for us (a whole-file finding)
    theirs.setdefault((rel(f["File"]), max(f["StartLine"], 1)), set()).add(f['RuleID'])
ours = {}
for f in sg['findings']:
    if f['rule'].startswith('SEC'):
        ours.setdefault((f['path'], f['line']), set()).add(f['message'].split(':')[0])

known = []  # (rule id regex, path regex, reason)
for line in open(known_path):
    line = line.strip()
    if not line or line.startswith('#'):
        continue
    rid, path, reason = line.split(None, 2)
    known.append((re.compile(rid), re.compile(path), reason))

def justified(key, rules):
    return all(any(r.fullmatch(rid) and p.search(key[0]) for r, p, _ in known) for rid in rules)

miss = sorted(k for k in theirs if k not in ours)
unjustified = [k for k in miss if not justified(k, theirs[k])]
extra = sorted(k for k in ours if k not in theirs)
fp_ours = sorted(k for k in ours if k[0].startswith('fp/') and k not in theirs)
npos = len(theirs)
print('gitleaks lines: %d; ours: %d; found: %d (recall %.2f%%); missed: %d (%d justified)' % (
    npos, len(ours), npos - len(miss), 100.0 * (npos - len(miss)) / max(npos, 1), len(miss),
    len(miss) - len(unjustified)))
print('lines only we flag: %d (%.2f%% of gitleaks\' lines), of them in false-positive samples: %d'
      % (len(extra), 100.0 * len(extra) / max(npos, 1), len(fp_ours)))
for k in unjustified:
    print('MISS %s:%d %s' % (k[0], k[1], ','.join(sorted(theirs[k]))))
for k in miss:
    if k not in unjustified:
        print('justified miss %s:%d %s' % (k[0], k[1], ','.join(sorted(theirs[k]))))
for k in extra:
    print('EXTRA %s:%d %s' % (k[0], k[1], ','.join(sorted(ours[k]))))
ok = not unjustified and len(extra) < 0.02 * npos
print('oracle: %s' % ('ok' if ok else 'FAILED'))
sys.exit(0 if ok else 1)
