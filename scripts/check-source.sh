#!/usr/bin/env bash
# Why: curl keeps a banned-function list checked by script; so do we. Unbounded string functions
# and atoi-style parsing are how C services get overflows and silent misparses. Also checks that
# every C file starts with a "why" comment. Run by ctest (label unit) and by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find common ingress worker tests -name '*.[ch]')
banned='\b(sprintf|vsprintf|strcpy|strcat|stpcpy|gets|atoi|atol|atoll|atof|strtok|tmpnam|mktemp)\s*\('
for f in $files; do
  [ -f "$f" ] || continue
  case "$f" in tests/*) continue ;; esac   # tests may use libc freely on fixed inputs
  if grep -nP "$banned" "$f" | grep -v 'sg-allow-banned' ; then
    echo "$f: banned function (use snprintf, sg_buf, sg_parse_i64, strtok_r)" >&2
    status=1
  fi
done
for f in $files; do
  [ -f "$f" ] || continue
  case "$f" in tests/fixtures/*|tests/fuzz/corpus/*) continue ;; esac   # inputs, not our code
  first=$(grep -m1 -v '^\s*$' "$f" || true)
  case "$first" in
    /\**|//*) ;;
    *) echo "$f: should start with a comment saying why the file exists" >&2; status=1 ;;
  esac
done
[ $status -eq 0 ] && echo "check-source: ok ($(echo "$files" | wc -w) files)"
exit $status
