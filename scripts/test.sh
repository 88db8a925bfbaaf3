#!/usr/bin/env bash
# Sets up (packages, npm, build) and runs the whole test suite, conformance runs included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Tests remove the temporary folders they make: tsvirt-* and tsvirtd-* entries new after the run are
# named, and fail the run under CI=true (elsewhere other processes may have made them).
ours() { { find "$(node -p 'require("node:os").tmpdir()')" /var/tmp -maxdepth 1 \( -name 'tsvirt-*' -o -name 'tsvirtd-*' \) 2>/dev/null || true; } | sort -u; }
before=$(ours)
status=0
node --test --test-concurrency=1 --test-timeout=1800000 $(find dist/test -name '*.test.js' | sort) || status=$?
leftovers=$(comm -13 <(printf '%s\n' "$before") <(ours))
if [ -n "$leftovers" ]; then
  echo "test: the run left $(wc -l <<<"$leftovers") temporary entries behind:" >&2
  sed 's/^/  /' <<<"$leftovers" >&2
  if [ "${CI:-}" = true ]; then status=1; fi
fi
exit "$status"
