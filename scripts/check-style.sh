#!/usr/bin/env bash
# Why: one style (.clang-format, .editorconfig) checked by machine, not by review.
#   scripts/check-style.sh          report files that clang-format would change (exit 1 if any)
#   scripts/check-style.sh --fix    rewrite them in place
set -euo pipefail
cd "$(dirname "$0")/.."
CF=$(command -v clang-format-14 || command -v clang-format || true)
[ -n "$CF" ] || { echo "check-style: clang-format not installed (apt-get install clang-format-14)" >&2; exit 2; }
# Generated tables and test inputs are not formatted by hand.
mapfile -t files < <(git ls-files '*.c' '*.h' | grep -v -e '^tests/fixtures/' -e '^tests/fuzz/corpus/' \
  -e '^worker/analysis/an_languages.c$' -e '^worker/analysis/an_secret_rules.c$')
if [ "${1:-}" = "--fix" ]; then
  "$CF" -i "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! "$CF" --dry-run --Werror "$f" >/dev/null 2>&1; then echo "check-style: $f is not formatted (scripts/check-style.sh --fix)"; bad=1; fi
done
[ $bad -eq 0 ] && echo "check-style: ok (${#files[@]} files)"
exit $bad
