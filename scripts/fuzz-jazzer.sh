#!/bin/bash
# Coverage-guided fuzzing of the attribute walkers and the flow key parser with Jazzer.js
# (libFuzzer inside Node). Usage: scripts/fuzz-jazzer.sh [SECONDS=60] [extra libFuzzer args…]
# Corpus: fuzz-corpus/jazzer/ (kept between runs; first seeded with valid flow keys/masks and
# attribute streams of every set made by lib/fuzz's generator); crashes go to
# fuzz-corpus/jazzer-crashes/. Target: scripts/fuzz-jazzer-target.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}; shift || true
[ -f dist/scripts/fuzz-jazzer-target.js ] || npx tsc -p tsconfig.json || true
# Start from generated valid keys and attribute streams (idempotent).
ls fuzz-corpus/jazzer/seed-key-0 >/dev/null 2>&1 || node dist/scripts/fuzz-jazzer-target.js --seed fuzz-corpus/jazzer
node scripts/jazzer-glibc-compat.js
mkdir -p fuzz-corpus/jazzer fuzz-corpus/jazzer-crashes

exec npx jazzer dist/scripts/fuzz-jazzer-target --sync \
  --includes dist/lib/schema --includes dist/lib/ovs --includes dist/lib/nl \
  --excludes node_modules \
  fuzz-corpus/jazzer -- -max_total_time="$SECS" -artifact_prefix=fuzz-corpus/jazzer-crashes/ -print_final_stats=1 "$@"
