#!/usr/bin/env bash
# Sets up (packages, npm, build) and runs the whole test suite, conformance runs included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node --test --test-concurrency=1 --test-timeout=1800000 $(find dist/test -name '*.test.js' | sort)
